"""The shared log-log fit against exact power laws."""

import numpy as np
import pytest

from support.fits import adjusted_r2, loglog_slope, r2


@pytest.mark.parametrize("k", [-0.5, 1.0, 2.5])
def test_loglog_slope_recovers_the_exponent_of_an_exact_power_law(k):
    x = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    assert loglog_slope(x, 3.0 * x**k) == pytest.approx(k, abs=1e-12)


def test_loglog_slope_is_the_least_squares_line_through_noisy_points():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    y = np.array([1.0, 0.8, 0.45, 0.36])
    lx, ly = np.log(x), np.log(y)
    expected = ((lx - lx.mean()) * (ly - ly.mean())).sum() / ((lx - lx.mean()) ** 2).sum()
    assert loglog_slope(x, y) == pytest.approx(expected, rel=1e-12)


def test_loglog_slope_rejects_nonpositive_or_mismatched_input():
    with pytest.raises(ValueError, match="positive"):
        loglog_slope([1, 2], [0.0, 1.0])
    with pytest.raises(ValueError, match="equally long"):
        loglog_slope([1, 2, 3], [1, 2])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["x", "y"])
def test_loglog_slope_rejects_non_finite_input(bad, where):
    x, y = np.array([1.0, 2.0, 4.0]), np.array([1.0, 2.0, 4.0])
    (x if where == "x" else y)[1] = bad
    with pytest.raises(ValueError, match=f"finite x and y; {where}\\[1\\]"):
        loglog_slope(x, y)


def test_r2_is_one_minus_residual_over_total_sum_of_squares_by_hand():
    y, yhat = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 2.0, 2.5, 4.0])
    assert r2(y, yhat) == pytest.approx(1 - 0.5 / 5.0, rel=1e-15)  # SS_res = 0.25 + 0.25, SS_tot = 5
    assert adjusted_r2(y, yhat, 1) == pytest.approx(1 - 0.1 * 3 / 2, rel=1e-15)


@pytest.mark.parametrize("seed", range(4))
def test_r2_and_adjusted_r2_agree_with_sklearn(seed):
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    y = rng.normal(size=30)
    yhat = y + rng.normal(scale=0.5 + seed, size=30)  # seed 3: worse than the mean, R^2 < 0
    ref = metrics.r2_score(y, yhat)
    assert r2(y, yhat) == pytest.approx(ref, rel=1e-12)
    assert adjusted_r2(y, yhat, 4) == pytest.approx(1 - (1 - ref) * 29 / 25, rel=1e-12)


@pytest.mark.parametrize("yhat, expected", [([2.0, 2.0, 2.0], 1.0), ([2.0, 2.5, 2.0], 0.0), ([9.0, 9.0, 9.0], 0.0)])
def test_a_constant_target_scores_one_when_predicted_exactly_and_zero_otherwise_as_sklearn_does(yhat, expected):
    """SS_tot = 0: the old copies disagreed (r2 NaN; adjusted_r2 1 or -inf); the one rule is sklearn's default."""
    y = np.array([2.0, 2.0, 2.0])
    assert r2(y, yhat) == expected
    metrics = pytest.importorskip("sklearn.metrics")
    assert metrics.r2_score(y, yhat) == expected
    assert adjusted_r2(y, yhat, 1) == 1 - (1 - expected) * 2 / 1


def test_r2_refuses_mismatched_or_single_points_and_adjusted_r2_too_few_points():
    with pytest.raises(ValueError, match="one shape"):
        r2([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least 2 points"):
        r2([1.0], [1.0])
    with pytest.raises(ValueError, match="more than 3 points"):
        adjusted_r2([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 2)
    with pytest.raises(ValueError, match="n_params must be an integer >= 0"):
        adjusted_r2([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], -1)


def test_loglog_slope_matches_scipy_linregress_on_curved_log_log_data():
    """Oracle: scipy.stats.linregress on the logs. The points are not on a line nor on a parabola with zero curvature in
    log-log space (1, 0.8, 0.5, 0.36: 0.36 != 0.8 * 0.5), so a quadratic or a wrong-degree fit reads differently."""
    stats = pytest.importorskip("scipy.stats")
    x, y = np.array([1.0, 2.0, 4.0, 8.0, 16.0]), np.array([1.0, 0.8, 0.5, 0.36, 0.3])
    assert loglog_slope(x, y) == pytest.approx(stats.linregress(np.log(x), np.log(y)).slope, rel=1e-12)


@pytest.mark.parametrize("x,y", [([0.0, 1.0, 2.0], [1.0, 2.0, 3.0]), ([-1.0, 1.0, 2.0], [1.0, 2.0, 3.0]),
                                 ([1.0, 2.0, 3.0], [1.0, -2.0, 3.0])])
def test_loglog_slope_refuses_a_zero_or_negative_x_as_well_as_y(x, y):
    with pytest.raises(ValueError, match="strictly positive"):
        loglog_slope(x, y)


def test_loglog_slope_refuses_a_single_point_and_arrays_of_different_shape():
    """One point fixes no slope; a (2, 2) x beside a length-4 y is not one series of pairs."""
    with pytest.raises(ValueError, match="at least 2 points"):
        loglog_slope([2.0], [3.0])
    with pytest.raises(ValueError, match="equally long"):
        loglog_slope(np.ones((2, 2)), np.ones(4))
