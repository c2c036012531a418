"""Reference grid filter for the 2-D range-tracking model (notes §3 "Non-Gaussian low-dim").

Plain NumPy, independent of the factor algebra: the state density lives on a fine regular grid;
predict = separable Gaussian convolution, update = pointwise likelihood, normalize = sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from support.factors.models import RangeTracking


@dataclass(frozen=True)
class GridResult:
    """Filtered cell masses per step (T, n, n), cell centres (n,), and log p(y_1:T)."""

    mass: np.ndarray
    centers: np.ndarray
    log_z: float


def _kernel(c: np.ndarray, var: float) -> np.ndarray:
    """Row-stochastic-in-the-limit Gaussian transition matrix between cell centres (mass-conserving
    up to what leaves the box)."""
    h = c[1] - c[0]
    d = c[:, None] - c[None, :]
    return np.exp(-0.5 * d * d / var) * h / np.sqrt(2 * np.pi * var)


def grid_filter(model: RangeTracking, lo: float, hi: float, n: int) -> GridResult:
    """Filter ``model`` on an n×n grid over [lo, hi]²; returns per-step masses (each sums to 1)."""
    if n < 8 or hi <= lo:
        raise ValueError(f"grid needs n >= 8 and hi > lo, got n={n}, [{lo}, {hi}]")
    edges = np.linspace(lo, hi, n + 1)
    c = 0.5 * (edges[1:] + edges[:-1])
    h = c[1] - c[0]
    X, Y = np.meshgrid(c, c, indexing="ij")
    pts = np.stack([X.ravel(), Y.ravel()], axis=1)
    d = pts - model.m0
    Pi = np.linalg.inv(model.P0)
    logp = -0.5 * np.einsum("ni,ij,nj->n", d, Pi, d) - 0.5 * np.log(np.linalg.det(2 * np.pi * model.P0))
    p = np.exp(logp).reshape(n, n) * h * h
    Kq = _kernel(c, model.q)
    out, log_z = [], 0.0
    for t in range(model.T):
        if t > 0:
            p = Kq @ p @ Kq.T
        lik = np.exp(model.log_lik(pts, model.y[t])).reshape(n, n)
        p = p * lik
        z = p.sum()
        log_z += np.log(z)
        p = p / z
        out.append(p)
    return GridResult(np.stack(out), c, float(log_z))


def coarsen(mass: np.ndarray, factor: int) -> np.ndarray:
    """Sum n×n cell masses into (n/factor)² bins."""
    n = mass.shape[-1]
    if n % factor:
        raise ValueError(f"grid size {n} is not a multiple of {factor}")
    m = n // factor
    return mass.reshape(mass.shape[:-2] + (m, factor, m, factor)).sum(axis=(-3, -1))


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """½ Σ |p - q| of two mass vectors (each normalized first)."""
    p = np.asarray(p, float).ravel()
    q = np.asarray(q, float).ravel()
    return 0.5 * float(np.abs(p / p.sum() - q / q.sum()).sum())
