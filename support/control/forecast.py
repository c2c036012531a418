"""Demand forecasters for proactive control: seasonal naive, additive Holt-Winters, ridge on lags + season.

Each forecaster is fitted on a training prefix and then produces, for every time t of a series, the
forecasts of ``y[t], ..., y[t+H-1]`` made with the data ``y[:t]`` only (:meth:`Forecaster.rolling`):
the form a controller uses at each interval boundary. Intelligence layer of paper 11 (arXiv 2512.24914).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from support.validate import check_range


class ForecastError(ValueError):
    """A series too short for the forecaster, a bad horizon or a bad parameter."""


def _series(y, min_len: int, what: str) -> np.ndarray:
    y = np.asarray(y, float)
    if y.ndim != 1:
        raise ForecastError(f"{what}: expected a 1-D series, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ForecastError(f"{what}: the series has non-finite values")
    if y.size < min_len:
        raise ForecastError(f"{what}: needs at least {min_len} points, got {y.size}")
    return y


class Forecaster:
    """Base class: ``fit(train)`` then ``rolling(y, start, horizon)`` -> ``[len(y) - start, horizon]``."""

    name = "forecaster"

    def fit(self, train) -> Forecaster:  # pragma: no cover - abstract
        raise NotImplementedError

    def rolling(self, y, start: int, horizon: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _check(y, start: int, horizon: int, need: int) -> np.ndarray:
        y = _series(y, need, "rolling forecast")
        if horizon < 1:
            raise ForecastError(f"horizon must be >= 1, got {horizon}")
        if not need <= start <= y.size:
            raise ForecastError(f"start must be in [{need}, {y.size}], got {start}")
        return y


@dataclass
class SeasonalNaive(Forecaster):
    """``yhat[t+h] = y[t+h-m*ceil((h+1)/m)]``: the value one season (``period`` points) earlier."""

    period: int
    name = "seasonal naive"

    def fit(self, train) -> SeasonalNaive:
        if self.period < 1:
            raise ForecastError(f"period must be >= 1, got {self.period}")
        _series(train, self.period, "seasonal naive fit")
        return self

    def rolling(self, y, start: int, horizon: int) -> np.ndarray:
        y = self._check(y, start, horizon, self.period)
        t = np.arange(start, y.size)[:, None]
        h = np.arange(horizon)[None, :]
        back = self.period * ((h // self.period) + 1)
        return y[t + h - back]


_HW_PARAMS = ("alpha", "beta", "gamma")
_HW_X0 = {"alpha": 0.3, "beta": 0.01, "gamma": 0.1}
_HW_BOUNDS = {"alpha": (1e-4, 1.0), "beta": (0.0, 0.5), "gamma": (0.0, 1.0)}


@dataclass
class HoltWinters(Forecaster):
    """Additive Holt-Winters (level, trend, seasonal of ``period``). Each smoothing parameter not given is
    fitted by SSE of one-step errors on the training prefix (L-BFGS-B), the given ones (in [0, 1]) stay fixed.

    The initial state (level and seasonal indices from the first season, trend from the first two) is
    estimated by ``fit`` on the training prefix, like the smoothing parameters: ``rolling`` then forecasts
    ``y[t..]`` from the fitted model and ``y[:t]`` only, for any ``start`` (rows before the end of the
    training prefix are in-sample, as for every fitted forecaster)."""

    period: int
    alpha: float | None = None
    beta: float | None = None
    gamma: float | None = None
    name = "Holt-Winters"

    def __post_init__(self):
        for nm in _HW_PARAMS:
            v = getattr(self, nm)
            if v is not None:
                check_range(v, nm, low=0.0, high=1.0, error=ForecastError)
        self._fixed = {nm: getattr(self, nm) for nm in _HW_PARAMS}  # given at construction: never refitted

    def _init_state(self, y):
        m = self.period
        level = y[:m].mean()
        trend = (y[m:2 * m].mean() - y[:m].mean()) / m if y.size >= 2 * m else 0.0
        season = y[:m] - level
        return level, trend, season.copy()

    def _run(self, y, a, b, g, start=None, horizon=1, init=None):
        """Filter through ``y`` from ``init`` (default: the state estimated on ``y`` itself); return one-step
        errors and (if start) the rolling forecasts from start."""
        m = self.period
        level, trend, season = self._init_state(y) if init is None else init
        season = np.array(season, float)  # the filter updates it in place
        n = y.size
        errs = np.zeros(n)
        out = np.empty((0 if start is None else n - start, horizon))
        hs = np.arange(1, horizon + 1)
        for t in range(m, n):
            if start is not None and t >= start:
                out[t - start] = level + hs * trend + season[(t + hs - 1) % m]
            s = season[t % m]
            pred = level + trend + s
            errs[t] = y[t] - pred
            new_level = a * (y[t] - s) + (1 - a) * (level + trend)
            season[t % m] = g * (y[t] - level - trend) + (1 - g) * s  # Hyndman-Athanasopoulos form
            trend = b * (new_level - level) + (1 - b) * trend
            level = new_level
        return errs, out, (level, trend, season)

    def fit(self, train) -> HoltWinters:
        if self.period < 2:
            raise ForecastError(f"Holt-Winters needs period >= 2, got {self.period}")
        y = _series(train, 2 * self.period + 2, "Holt-Winters fit")
        self.init_ = self._init_state(y)
        free = [nm for nm in _HW_PARAMS if self._fixed[nm] is None]
        vals = dict(self._fixed)
        if free:
            scale = y.var() + 1e-12

            def sse(p):
                vals.update(zip(free, p))
                e, _, _ = self._run(y, *(vals[nm] for nm in _HW_PARAMS), init=self.init_)
                return float(np.mean(e[self.period:] ** 2) / scale)

            res = minimize(sse, x0=[_HW_X0[nm] for nm in free], bounds=[_HW_BOUNDS[nm] for nm in free],
                           method="L-BFGS-B")
            vals.update(zip(free, (float(v) for v in res.x)))
        self.alpha, self.beta, self.gamma = (vals[nm] for nm in _HW_PARAMS)
        return self

    def rolling(self, y, start: int, horizon: int) -> np.ndarray:
        if not hasattr(self, "init_"):
            raise ForecastError("call fit() before rolling()")
        y = self._check(y, start, horizon, self.period + 1)
        # the filter forecasts y[t..t+H-1] at step t before it observes y[t]: state after y[:t]
        _, out, _ = self._run(y, self.alpha, self.beta, self.gamma, start=start, horizon=horizon, init=self.init_)
        return out


def seasonal_features(t: np.ndarray, periods) -> np.ndarray:
    """Fourier features sin/cos(2 pi t k / P) for each period P in ``periods`` and harmonics k = 1, 2."""
    cols = []
    for p in periods:
        for k in (1, 2):
            cols += [np.sin(2 * np.pi * k * t / p), np.cos(2 * np.pi * k * t / p)]
    return np.stack(cols, axis=1) if cols else np.zeros((t.size, 0))


@dataclass
class RidgeLags(Forecaster):
    """Direct multi-step ridge regression: for horizon h, ``y[t+h]`` from ``y[t-1..t-lags]``, the value one
    season back ``y[t+h-period]`` and Fourier terms of the time of day. Closed-form ridge, features
    standardised on the training rows, intercept not penalised."""

    period: int
    lags: int = 6
    ridge: float = 1.0
    horizon: int = 2
    name = "ridge (lags + seasonal)"

    def _design(self, y, t, h):
        lag = np.stack([y[t - 1 - i] for i in range(self.lags)], axis=1)
        seas = y[t + h - self.period][:, None]
        return np.hstack([lag, seas, seasonal_features((t + h).astype(float), (self.period,))])

    def _min_t(self):
        return max(self.lags, self.period)

    def fit(self, train) -> RidgeLags:
        if self.lags < 1 or self.ridge < 0 or self.horizon < 1 or self.period < 1:
            raise ForecastError(f"need lags >= 1, ridge >= 0, horizon >= 1, period >= 1 (got {self.lags}, "
                                f"{self.ridge}, {self.horizon}, {self.period})")
        if self.horizon > self.period:  # step h (0-based) reads y[t+h-period], known before t only while h < period
            raise ForecastError(f"horizon {self.horizon} exceeds the period {self.period}: the seasonal feature "
                                f"y[t+h-period] would be read after the forecast time")
        y = _series(train, self._min_t() + self.horizon + 10, "ridge fit")
        self.coef_, self.mu_, self.sd_, self.icpt_ = [], [], [], []
        for h in range(self.horizon):
            t = np.arange(self._min_t(), y.size - h)
            X = self._design(y, t, h)
            mu, sd = X.mean(0), X.std(0)
            sd[sd == 0] = 1.0
            Z = (X - mu) / sd
            target = y[t + h]
            yc = target - target.mean()
            w = np.linalg.solve(Z.T @ Z + self.ridge * np.eye(Z.shape[1]), Z.T @ yc)
            self.coef_.append(w); self.mu_.append(mu); self.sd_.append(sd); self.icpt_.append(target.mean())
        return self

    def predict_rows(self, y, t: np.ndarray, h: int) -> np.ndarray:
        """Forecast of ``y[t+h]`` from data before t, for an array of times t."""
        Z = (self._design(y, t, h) - self.mu_[h]) / self.sd_[h]
        return Z @ self.coef_[h] + self.icpt_[h]

    def rolling(self, y, start: int, horizon: int) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise ForecastError("call fit() before rolling()")
        if horizon > self.horizon:
            raise ForecastError(f"fitted for horizon {self.horizon}, asked for {horizon}")
        y = self._check(y, start, horizon, self._min_t())
        t = np.arange(start, y.size)
        # y[t+h-period] must be known at time t: true while h < period
        return np.stack([self.predict_rows(y, t, h) for h in range(horizon)], axis=1)


@dataclass
class PerfectForesight(Forecaster):
    """The oracle: returns the true future values (the last value repeated past the end of the series)."""

    name = "perfect foresight"

    def fit(self, train) -> PerfectForesight:
        return self

    def rolling(self, y, start: int, horizon: int) -> np.ndarray:
        y = self._check(y, start, horizon, 0)
        idx = np.minimum(np.arange(start, y.size)[:, None] + np.arange(horizon)[None, :], y.size - 1)
        return y[idx]


def make_forecaster(kind: str, period: int, horizon: int = 2) -> Forecaster:
    """``kind`` in {"seasonal_naive", "holt_winters", "ridge", "oracle"}."""
    kinds = {"seasonal_naive": lambda: SeasonalNaive(period), "holt_winters": lambda: HoltWinters(period),
             "ridge": lambda: RidgeLags(period, horizon=horizon), "oracle": PerfectForesight}
    if kind not in kinds:
        raise ForecastError(f"unknown forecaster {kind!r}; choose one of {sorted(kinds)}")
    return kinds[kind]()
