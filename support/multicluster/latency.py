"""Per-cluster latency model: M/M/c (Erlang C) on arrays, and the SLO capacity curve used by the LP.

Each cluster is an M/M/c queue (c = ready replicas, mu = requests/s one replica serves). The LP needs
the largest load a cluster of n replicas can carry within the mean-latency SLO, ``L*(n)``; being convex
in n, it is represented by one secant through integers near the operating point (below ``L*`` at every
integer).
Performance layer of paper 11 (arXiv 2512.24914), checked against :mod:`support.queueing` and a DES.
"""

from __future__ import annotations

import numpy as np

from support.opt import bisect_boundary
from support.queueing import mmc_sojourn_array


def mean_latency(c, lam, mu: float, cap_s: float) -> np.ndarray:
    """Mean response time W_q + 1/mu of M/M/c (:func:`support.queueing.mmc_sojourn_array`), at most ``cap_s``
    (a request timeout, also where c*mu <= lam or c = 0); 1/mu where nothing arrives."""
    lam = np.asarray(lam, float)
    w = mmc_sojourn_array(c, lam, mu)  # inf where unstable or no server
    w = np.where(lam <= 0, 1.0 / mu, w)
    return np.minimum(w, cap_s)


def slo_load(n_max: int, mu: float, slo_s: float, iters: int = 60) -> np.ndarray:
    """``L*(n)`` for n = 0..n_max: the largest arrival rate with mean M/M/n latency <= slo_s (bisection)."""
    if slo_s <= 1.0 / mu:
        raise ValueError(f"SLO {slo_s} s is not above the bare service time {1 / mu} s")
    n = np.arange(0, n_max + 1)
    # "above" the boundary = not within the SLO (written as a negation so a NaN latency counts as a miss)
    lo, _ = bisect_boundary(lambda lam: ~(mean_latency(n, lam, mu, cap_s=np.inf) <= slo_s),
                            np.zeros(n.size), n * mu * (1 - 1e-12), iters)
    lo[0] = 0.0
    return lo


def min_replicas_for(load, curve: np.ndarray) -> np.ndarray:
    """Smallest n with ``curve[n] >= load`` (``len(curve)`` if none): replicas needed to meet the SLO."""
    load = np.asarray(load, float)
    return np.searchsorted(curve, load, side="left")


def secant_at(curve: np.ndarray, anchor) -> np.ndarray:
    """Rows (slope, intercept) of the secant of ``curve`` through integers ``anchor`` and ``anchor + 1``.

    ``L*(n)`` is convex in n for a mean-latency SLO (``n mu`` minus a shrinking queueing allowance), so
    this one line lies on or below the curve at every integer n: ``load <= slope n + intercept`` is a
    safe linear SLO constraint, exact at the two anchor points (where the LP's choice lands)."""
    a = np.clip(np.asarray(anchor, dtype=np.int64), 0, curve.size - 2)
    slope = curve[a + 1] - curve[a]
    return np.stack([slope, curve[a] - slope * a], axis=-1)
