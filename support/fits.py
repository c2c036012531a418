"""Small curve fits shared by several papers' experiments.

:func:`loglog_slope` is the exponent of a power law fitted by least squares on log-log axes (papers 02,
06 and 10 report error, running time and convergence rates this way).
"""

from __future__ import annotations

import numpy as np


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
