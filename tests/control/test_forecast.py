"""Forecasters against independent references: statsmodels Holt-Winters, scikit-learn Ridge, exact seasonality."""

import warnings

import numpy as np
import pytest

from support.control.forecast import ForecastError, HoltWinters, PerfectForesight, RidgeLags, SeasonalNaive


def _series(n=400, m=24, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 10 + 0.01 * t + 3 * np.sin(2 * np.pi * t / m) + rng.normal(0, 0.3, n)


def test_seasonal_naive_repeats_an_exactly_periodic_series():
    m = 12
    y = np.tile(np.arange(m, dtype=float), 10)
    F = SeasonalNaive(m).fit(y[:60]).rolling(y, 60, 3)
    np.testing.assert_array_equal(F[:-2, 0], y[60:-2])
    np.testing.assert_array_equal(F[:-2, 2], y[62:])


def test_holt_winters_filter_matches_statsmodels_with_the_same_parameters():
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    m, y = 12, _series(240, 12)
    hw = HoltWinters(m, 0.3, 0.05, 0.2).fit(y)
    level, trend, season = hw._init_state(y)
    F = hw.rolling(y, m + 1, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ExponentialSmoothing(y[m:], trend="add", seasonal="add", seasonal_periods=m,
                                   initialization_method="known", initial_level=level, initial_trend=trend,
                                   initial_seasonal=season).fit(smoothing_level=0.3, smoothing_trend=0.05,
                                                                smoothing_seasonal=0.2, optimized=False)
        np.testing.assert_allclose(F[:, 0], ref.fittedvalues[1:], rtol=1e-10)
        cut = 150  # 3-step forecast from the state after y[:cut]
        ref2 = ExponentialSmoothing(y[m:cut], trend="add", seasonal="add", seasonal_periods=m,
                                    initialization_method="known", initial_level=level, initial_trend=trend,
                                    initial_seasonal=season).fit(smoothing_level=0.3, smoothing_trend=0.05,
                                                                 smoothing_seasonal=0.2, optimized=False)
    np.testing.assert_allclose(F[cut - (m + 1)], ref2.forecast(3), rtol=1e-10)


def test_holt_winters_fit_beats_seasonal_naive_on_a_noisy_seasonal_series():
    m, y = 24, _series(600, 24, 1)
    hw = HoltWinters(m).fit(y[:400])
    e_hw = np.abs(hw.rolling(y, 400, 1)[:, 0] - y[400:]).mean()
    e_sn = np.abs(SeasonalNaive(m).fit(y[:400]).rolling(y, 400, 1)[:, 0] - y[400:]).mean()
    assert e_hw < e_sn


def test_ridge_matches_sklearn_ridge_on_the_same_standardised_design():
    from sklearn.linear_model import Ridge
    m, y = 24, _series(500, 24, 2)
    r = RidgeLags(m, lags=4, ridge=2.0, horizon=2).fit(y[:400])
    for h in range(2):
        t = np.arange(r._min_t(), 400 - h)
        X = r._design(y, t, h)
        Z = (X - X.mean(0)) / X.std(0)
        sk = Ridge(alpha=2.0).fit(Z, y[t + h])
        tt = np.arange(400, 498)
        Zt = (r._design(y, tt, h) - X.mean(0)) / X.std(0)
        np.testing.assert_allclose(r.predict_rows(y, tt, h), sk.predict(Zt), rtol=1e-8)


def test_rolling_forecasts_use_only_past_data():
    m, y = 24, _series(500, 24, 3)
    r = RidgeLags(m, horizon=2).fit(y[:400])
    F1 = r.rolling(y, 420, 2)
    y2 = y.copy()
    y2[450:] += 100.0  # changing y from t = 450 on must not change any forecast of y[450] or earlier
    F2 = r.rolling(y2, 420, 2)
    np.testing.assert_array_equal(F1[:31], F2[:31])  # row 30 forecasts y[450] from y[:450]
    assert not np.allclose(F1[31:], F2[31:])


def test_ridge_refuses_a_horizon_longer_than_the_period():
    """Step h reads y[t+h-period], known at forecast time t only while h < period, i.e. horizon <= period."""
    with pytest.raises(ForecastError, match="horizon 3 exceeds the period 2"):
        RidgeLags(period=2, lags=3, horizon=3).fit(_series(300, 2, 0))


def test_ridge_with_horizon_equal_to_the_period_uses_only_past_data():
    y = _series(300, 2, 0)
    r = RidgeLags(period=2, lags=3, horizon=2).fit(y[:200])
    y2 = y.copy()
    y2[250] += 100.0  # the forecasts made at t = 250 (from y[:250]) must not move
    np.testing.assert_array_equal(r.rolling(y, 250, 2)[0], r.rolling(y2, 250, 2)[0])


def test_perfect_foresight_returns_the_truth():
    y = np.arange(10.0)
    np.testing.assert_array_equal(PerfectForesight().fit(y).rolling(y, 3, 2)[:-1], np.stack([y[3:9], y[4:10]], 1))


def test_bad_inputs_raise_forecast_error():
    with pytest.raises(ForecastError, match="at least"):
        HoltWinters(24).fit(np.ones(10))
    with pytest.raises(ForecastError, match="horizon"):
        SeasonalNaive(4).fit(np.ones(10)).rolling(np.ones(10), 5, 0)
    with pytest.raises(ForecastError, match="non-finite"):
        SeasonalNaive(2).fit(np.array([1.0, np.nan, 2.0]))


def test_holt_winters_rolling_forecasts_use_only_past_data_even_from_an_early_start():
    """A forecast made at t = 13 (m = 12) must not read y[23]: the initial trend comes from the fitted model."""
    m, y = 12, _series(200, 12, 4)
    hw = HoltWinters(m, 0.3, 0.05, 0.2).fit(y[:120])
    for start, cut in ((m + 1, 2 * m - 1), (130, 150)):
        y2 = y.copy()
        y2[cut:] += 100.0  # forecasts made at t <= cut (from y[:t]) must not move
        F1, F2 = hw.rolling(y, start, 2), hw.rolling(y2, start, 2)
        np.testing.assert_array_equal(F1[:cut - start + 1], F2[:cut - start + 1])
        assert not np.allclose(F1[cut - start + 1:], F2[cut - start + 1:])


def _statsmodels_mse(y, m, init, a, b, g):
    """One-step MSE of statsmodels' additive Holt-Winters filter from the same known initial state."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    level, trend, season = init
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = ExponentialSmoothing(y[m:], trend="add", seasonal="add", seasonal_periods=m,
                                 initialization_method="known", initial_level=level, initial_trend=trend,
                                 initial_seasonal=season).fit(smoothing_level=a, smoothing_trend=b,
                                                              smoothing_seasonal=g, optimized=False)
    return float(np.mean((y[m:] - r.fittedvalues) ** 2))


def test_holt_winters_keeps_a_given_parameter_and_fits_only_the_others():
    m, y = 12, _series(240, 12, 5)
    hw = HoltWinters(m, alpha=0.9).fit(y)
    assert hw.alpha == 0.9
    best_grid = min(_statsmodels_mse(y, m, hw._init_state(y), 0.9, b, g)
                    for b in np.linspace(0, 0.5, 6) for g in np.linspace(0, 1, 6))
    # the fitted (beta, gamma) at alpha = 0.9 is at least as good as the best point of a grid (statsmodels filter)
    assert _statsmodels_mse(y, m, hw._init_state(y), 0.9, hw.beta, hw.gamma) <= best_grid * (1 + 1e-6)
    two = HoltWinters(m, beta=0.0, gamma=1.0).fit(y)
    assert (two.beta, two.gamma) == (0.0, 1.0) and 0 < two.alpha <= 1


def test_holt_winters_refits_its_free_parameters_on_new_training_data():
    m, y1, y2 = 12, _series(240, 12, 6), 5 - _series(240, 12, 7) * np.linspace(1, 3, 240)
    hw = HoltWinters(m, gamma=0.2).fit(y1)
    ref = HoltWinters(m, gamma=0.2).fit(y2)
    hw.fit(y2)
    assert (hw.alpha, hw.beta, hw.gamma) == (ref.alpha, ref.beta, 0.2)


@pytest.mark.parametrize("kw, name", [({"alpha": 7.0}, "alpha"), ({"beta": -0.1}, "beta"),
                                      ({"gamma": float("nan")}, "gamma"), ({"alpha": True}, "alpha")])
def test_holt_winters_refuses_smoothing_parameters_outside_0_1(kw, name):
    with pytest.raises(ForecastError, match=rf"{name} must be a number in \[0, 1\]"):
        HoltWinters(12, **kw)


def test_holt_winters_rolling_needs_fit_first():
    with pytest.raises(ForecastError, match="fit"):
        HoltWinters(12, 0.3, 0.05, 0.2).rolling(np.ones(40), 20, 1)


def test_holt_winters_initial_state_is_the_simple_textbook_initialisation():
    """Hyndman & Athanasopoulos' simple initialisation (statsmodels' _initialization_simple): level = mean of the
    first season, trend = (mean of season 2 - mean of season 1) / m (per step), seasonal = first season - level.
    y = 0 1 2 3 | 8 9 10 11 with m = 4: level 1.5, trend (9.5 - 1.5) / 4 = 2, seasonal -1.5 -0.5 0.5 1.5."""
    y = np.array([0, 1, 2, 3, 8, 9, 10, 11], float)
    level, trend, season = HoltWinters(4, 0.3, 0.1, 0.1)._init_state(y)
    assert level == pytest.approx(1.5) and trend == pytest.approx(2.0)
    np.testing.assert_allclose(season, [-1.5, -0.5, 0.5, 1.5])
