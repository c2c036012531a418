"""Processing-latency models d(c, m): seconds per request at c CPUs and m GB per container.

* :class:`MonotoneLatency` (ours, "corrected monotone form"):
  ``d = a + b*exp(-beta*c) + (h + g*exp(-gamma*m)) / c``, all coefficients >= 0. The request needs
  ``h + g*exp(-gamma*m)`` CPU-seconds (less with more memory: fewer cache misses, fewer join passes),
  delivered at rate c under a CFS quota; ``b*exp(-beta*c)`` captures saturation of single-threaded
  code. d is jointly convex (``exp(-gamma*m - log c)`` is the exponential of a convex function) and
  decreasing in both resources.
* :class:`PaperLatency` (the paper's form as quoted by a third-party summary):
  ``d = k1*(1 - exp(-k2*c)) + exp(k3*m)`` with k1 < 0, k2 > 0, k3 > 0.

:func:`fit_monotone` and :func:`fit_paper` use ``scipy.optimize.curve_fit`` with bounds;
:func:`support.fits.adjusted_r2` scores any prediction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import curve_fit


@dataclass(frozen=True)
class MonotoneLatency:
    a: float
    b: float
    beta: float
    h: float
    g: float
    gamma: float

    n_params = 6

    def __post_init__(self):
        bad = {k: v for k, v in asdict(self).items() if not (np.isfinite(v) and v >= 0)}
        if bad:
            raise ValueError(f"latency coefficients must be finite and >= 0, got {bad}")

    def __call__(self, c, m):
        c = np.asarray(c, float)
        m = np.asarray(m, float)
        return self.a + self.b * np.exp(-self.beta * c) + (self.h + self.g * np.exp(-self.gamma * m)) / c

    def cvx(self, c, m):
        """The same function as a cvxpy expression (convex: DCP-verified by the caller)."""
        import cvxpy as cp

        return (self.a + self.b * cp.exp(-self.beta * c) + self.h * cp.inv_pos(c)
                + self.g * cp.exp(-self.gamma * m - cp.log(c)))

    def scaled(self, factor: float) -> MonotoneLatency:
        """The same shape, ``factor`` times slower (a heavier request of the same app)."""
        return MonotoneLatency(self.a * factor, self.b * factor, self.beta, self.h * factor, self.g * factor,
                               self.gamma)

    def as_tuple(self):
        return (self.a, self.b, self.beta, self.h, self.g, self.gamma)


def _mono(X, a, b, beta, h, g, gamma):
    c, m = X
    return a + b * np.exp(-beta * c) + (h + g * np.exp(-gamma * m)) / c


def _paper(X, k1, k2, k3):
    c, m = X
    return k1 * (1 - np.exp(-k2 * c)) + np.exp(k3 * m)


@dataclass(frozen=True)
class PaperLatency:
    k1: float
    k2: float
    k3: float

    n_params = 3

    def __call__(self, c, m):
        return _paper((np.asarray(c, float), np.asarray(m, float)), self.k1, self.k2, self.k3)


def _check_xy(c, m, y):
    c, m, y = (np.asarray(v, float) for v in (c, m, y))
    if not (c.shape == m.shape == y.shape) or c.ndim != 1:
        raise ValueError("c, m and latency must be 1-D arrays of equal length")
    if np.any(c <= 0) or np.any(m <= 0) or np.any(y <= 0) or not np.all(np.isfinite(y)):
        raise ValueError("c, m must be > 0 and latencies finite and > 0")
    return c, m, y


def fit_monotone(c, m, y, weights=None) -> MonotoneLatency:
    """Least-squares fit of :class:`MonotoneLatency` (bounded, several starts, best kept).

    With ``weights=None`` the fit is on relative error (sigma = y), which keeps fast and slow
    allocations equally important.
    """
    c, m, y = _check_xy(c, m, y)
    sigma = y if weights is None else 1.0 / np.asarray(weights, float)
    ymin, yspan = float(y.min()), float(np.ptp(y)) + 1e-9
    lo = [0, 0, 0.05, 0, 0, 0.05]
    w = float(np.median(y * c))  # CPU-seconds per request, roughly
    hi = [ymin * 1.5 + 1e-9, 10 * y.max(), 20, 10 * w + 1e-9, 50 * w + 1e-9, 40]
    best, best_sse = None, np.inf
    for beta0, gamma0 in [(1.0, 4.0), (3.0, 10.0), (0.5, 2.0), (8.0, 6.0)]:
        p0 = [0.2 * ymin, 0.2 * yspan, beta0, 0.6 * w, 0.5 * w, gamma0]
        p0 = np.clip(p0, lo, [h - 1e-12 for h in hi])
        try:
            p, _ = curve_fit(_mono, (c, m), y, p0=p0, bounds=(lo, hi), sigma=sigma, maxfev=20000)
        except RuntimeError:
            continue
        sse = float(np.sum(((y - _mono((c, m), *p)) / sigma) ** 2))
        if sse < best_sse:
            best, best_sse = p, sse
    if best is None:
        raise RuntimeError("monotone latency fit did not converge from any start")
    return MonotoneLatency(*[float(max(0.0, v)) for v in best])


def fit_paper(c, m, y) -> PaperLatency:
    """Fit the paper's literal form with its quoted signs (k1 <= 0, k2 >= 0, k3 >= 0)."""
    c, m, y = _check_xy(c, m, y)
    p, _ = curve_fit(_paper, (c, m), y, p0=[-0.5 * float(np.ptp(y)) - 1e-3, 1.0, 0.01],
                     bounds=([-100 * y.max(), 1e-4, 0.0], [0.0, 50.0, 20.0]), maxfev=20000)
    return PaperLatency(*map(float, p))
