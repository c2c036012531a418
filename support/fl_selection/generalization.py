"""Generalization constraint of CSRA and its calibration (reconstructed for arXiv 2512.24286 Sec. III).

The paper bounds the generalization error of the global model by a data-heterogeneity term plus a
sample-size term; our domain-adaptation-style form is
    err(S) <= e0 + c1 delta(S) + c2 / sqrt(D_S),      constraint:  c1 delta(S) + c2 / sqrt(D_S) <= eps,
with delta(S) the TV discrepancy of the selected label mixture and D_S the selected sample count. The
constants are calibrated by a least-squares fit of centralized test error on label-skewed subsets of
size n (a learning curve in n and delta).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from support import fits
from support.fl_selection.heterogeneity import mixture_discrepancy, selection_weights


@dataclass(frozen=True)
class GenConstraint:
    """``c1 delta + c2 / sqrt(n) <= eps``."""

    c1: float
    c2: float
    eps: float

    def __post_init__(self):
        if not all(math.isfinite(v) for v in (self.c1, self.c2, self.eps)) or self.c1 < 0 or self.c2 < 0 \
                or not self.eps > 0:
            raise ValueError(f"need finite c1, c2 >= 0 and eps > 0; got {self}")

    def value(self, delta: float, n: float) -> float:
        if n <= 0:
            raise ValueError("sample count must be positive")
        return self.c1 * delta + self.c2 / math.sqrt(n)

    def of_selection(self, P, sizes, S) -> float:
        D = np.asarray(sizes, float)
        a = selection_weights(S, D.size)
        return self.value(mixture_discrepancy(P, D, a), float(a @ D))

    def feasible(self, P, sizes, S, tol: float = 1e-9) -> bool:
        return self.of_selection(P, sizes, S) <= self.eps + tol

    @staticmethod
    def from_targets(c1: float, c2: float, delta_max: float, n_min: float) -> GenConstraint:
        """eps chosen so that a selection with discrepancy delta_max and n_min samples is just feasible."""
        return GenConstraint(c1, c2, c1 * delta_max + c2 / math.sqrt(n_min))


@dataclass(frozen=True)
class BoundFit:
    """Least-squares fit ``err = e0 + c1 delta + c2 / sqrt(n)`` (non-negative coefficients)."""

    e0: float
    c1: float
    c2: float
    r2: float
    rmse: float

    def predict(self, delta, n):
        return self.e0 + self.c1 * np.asarray(delta, float) + self.c2 / np.sqrt(np.asarray(n, float))


def fit_bound(n, delta, err) -> BoundFit:
    """Fit e0, c1, c2 >= 0 by non-negative least squares on (n, delta, test error) triples."""
    n, delta, err = (np.asarray(v, float).ravel() for v in (n, delta, err))
    if not (n.size == delta.size == err.size) or n.size < 4:
        raise ValueError("need at least 4 (n, delta, err) triples of equal length")
    if np.any(n <= 0):
        raise ValueError("sample counts must be positive")
    X = np.column_stack([np.ones_like(n), delta, 1 / np.sqrt(n)])
    coef, _ = nnls(X, err)
    pred = X @ coef
    return BoundFit(float(coef[0]), float(coef[1]), float(coef[2]), fits.r2(err, pred),
                    float(np.sqrt(((err - pred) ** 2).mean())))


def skewed_sample(y: np.ndarray, n: int, skew: float, classes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of n samples whose label mixture is (1 - skew) p + skew Uniform(classes); p = label
    distribution of ``y``. Its TV discrepancy to p is skew * TV(Uniform(classes), p)."""
    y = np.asarray(y)
    C = int(y.max()) + 1
    if not 0 <= skew <= 1:
        raise ValueError(f"skew must be in [0, 1]; got {skew}")
    p = np.bincount(y, minlength=C) / y.size
    u = np.zeros(C)
    u[np.asarray(classes)] = 1.0 / len(classes)
    q = (1 - skew) * p + skew * u
    counts = np.floor(q * n).astype(int)
    counts[np.argsort(-(q * n - counts))[: n - counts.sum()]] += 1
    out = []
    for c in range(C):
        pool = np.flatnonzero(y == c)
        if counts[c] > pool.size:
            raise ValueError(f"class {c} has {pool.size} samples, {counts[c]} requested")
        out.append(rng.choice(pool, counts[c], replace=False))
    return np.concatenate(out)
