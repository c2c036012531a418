"""Small curve fits and fit scores shared by several papers' experiments.

:func:`loglog_slope` is the exponent of a power law fitted by least squares on log-log axes (papers 02,
06 and 10 report error, running time and convergence rates this way). :func:`r2` and :func:`adjusted_r2` score a
prediction (papers 06 and 07), with one rule for a constant target (see :func:`r2`).
"""

from __future__ import annotations

import numpy as np

from support.validate import check_int


def loglog_slope(x, y) -> float:
    """Least-squares slope of log(y) against log(x): the exponent k of a fitted power law y ~ x^k."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"need two equally long arrays of at least 2 points, got shapes {x.shape} and {y.shape}")
    for name, v in (("x", x), ("y", y)):
        if not np.all(np.isfinite(v)):
            i = int(np.flatnonzero(~np.isfinite(v))[0])
            raise ValueError(f"a log-log fit needs finite x and y; {name}[{i}] is {v.flat[i]}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("a log-log fit needs strictly positive x and y")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def r2(y, yhat) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot`` of predictions ``yhat`` of ``y``.

    A constant ``y`` (SS_tot = 0) leaves it undefined; the one rule, sklearn's ``r2_score`` default: 1.0 when the
    predictions are exact (SS_res = 0), else 0.0 (no better than the mean). Needs >= 2 points of equal shape."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    if y.shape != yhat.shape or y.size < 2:
        raise ValueError(f"R^2 needs y and yhat of one shape with at least 2 points, got shapes {y.shape} and "
                         f"{yhat.shape}")
    ss_res = float(np.sum((y - yhat) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if ss_tot > 0:
        return 1 - ss_res / ss_tot
    return 1.0 if ss_res == 0 else 0.0


def adjusted_r2(y, yhat, n_params: int) -> float:
    """Adjusted R^2 ``1 - (1 - R^2) (n - 1) / (n - p - 1)`` of a model with ``n_params`` fitted parameters.

    Penalises parameters so models of different size compare; :func:`r2` (and its constant-target rule) inside.
    Needs n > p + 1 points."""
    p = check_int(n_params, "n_params", minimum=0)
    n = np.asarray(y).size
    if n <= p + 1:
        raise ValueError(f"adjusted R^2 needs more than {p + 1} points, got {n}")
    return 1 - (1 - r2(y, yhat)) * (n - 1) / (n - p - 1)
