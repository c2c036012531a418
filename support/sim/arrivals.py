"""Arrival processes: non-homogeneous Poisson by thinning; random splitting of a stream over servers."""

from __future__ import annotations

import numpy as np


def nhpp_arrivals(edges, rates, rng: np.random.Generator) -> np.ndarray:
    """Arrival times of a Poisson process whose rate is ``rates[k]`` on ``[edges[k], edges[k+1])``.

    Exact thinning of a homogeneous process at the maximum rate.
    """
    edges = np.asarray(edges, float)
    rates = np.asarray(rates, float)
    if edges.size != rates.size + 1 or np.any(np.diff(edges) <= 0):
        raise ValueError("edges must be increasing with len(edges) == len(rates) + 1")
    if np.any(rates < 0):
        raise ValueError("rates must be >= 0")
    lmax = rates.max()
    if lmax == 0:
        return np.empty(0)
    horizon = edges[-1] - edges[0]
    n = rng.poisson(lmax * horizon)
    t = np.sort(rng.uniform(edges[0], edges[-1], n))
    seg = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, rates.size - 1)
    keep = rng.uniform(0, lmax, n) < rates[seg]
    return t[keep]


def poisson_split(times, n: int, rng: np.random.Generator, probs=None) -> list[np.ndarray]:
    """Route each arrival to one of ``n`` servers independently (uniform or ``probs``): each sub-stream of a
    Poisson stream is again Poisson (the per-container M/M/1 assumption)."""
    times = np.asarray(times, float)
    k = rng.choice(n, size=times.size, p=probs)
    return [times[k == j] for j in range(n)]
