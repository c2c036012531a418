"""Pause and memory metrics (issue 15, step 4): percentiles, MMU, a work-to-time model, bootstrap CIs.

Pauses are measured as deterministic work units: for the tracing collectors objects + slots traced +
bytes swept / 64 (:mod:`support.vgc.marking`), for GEN the object and reference visits of CPython's
passes (:mod:`support.vgc.cpython_cost`); :func:`timeline` turns them into milliseconds with a per-work-unit cost
and a per-event mutator cost, both calibrated against real CPython runs.
"""

from __future__ import annotations

import numpy as np


def pause_stats(p: np.ndarray) -> dict:
    """p50 / p95 / p99 / max / count / total of a pause sample (zeros when there are no pauses)."""
    p = np.asarray(p, dtype=np.float64)
    if p.size == 0:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0, "count": 0, "total": 0.0}
    q = np.percentile(p, [50, 95, 99])
    return {"p50": float(q[0]), "p95": float(q[1]), "p99": float(q[2]), "max": float(p.max()),
            "count": int(p.size), "total": float(p.sum())}


def timeline(pos: np.ndarray, work: np.ndarray, ns_per_event: float, ns_per_work: float):
    """Pause start times and durations (ns) on one mutator thread: events cost ``ns_per_event``, pauses
    ``work * ns_per_work``; returns ``(start_ns, dur_ns)``."""
    dur = np.asarray(work, dtype=np.float64) * ns_per_work
    before = np.concatenate(([0.0], np.cumsum(dur)[:-1]))
    return np.asarray(pos, dtype=np.float64) * ns_per_event + before, dur


def mmu(start: np.ndarray, dur: np.ndarray, total: float, window: float) -> float:
    """Minimum mutator utilisation for windows of length ``window`` (Cheng & Blelloch, PLDI'01).

    The worst window starts at a pause start or ends at a pause end; GC time inside a window comes from
    the cumulative pause-time function evaluated at both ends."""
    if window <= 0:
        raise ValueError(f"window must be positive, got {window}")
    if len(start) == 0:
        return 1.0
    if window >= total:
        return max(0.0, 1.0 - float(np.sum(dur)) / total)
    s, d = np.asarray(start, float), np.asarray(dur, float)
    e = s + d
    cum_end = np.cumsum(d)

    def gc_upto(t):
        k = np.searchsorted(s, t, side="right")  # pauses started at or before t
        done = np.where(k > 0, cum_end[np.maximum(k - 1, 0)], 0.0)
        part = np.where(k > 0, np.clip(e[np.maximum(k - 1, 0)] - t, 0, None), 0.0)
        return done - part

    cand = np.concatenate([s, e - window])
    cand = np.clip(cand, 0, max(total - window, 0))
    g = gc_upto(cand + window) - gc_upto(cand)
    return float(max(0.0, 1.0 - g.max() / window))


def bootstrap_ratio(num: np.ndarray, den: np.ndarray, groups: np.ndarray, n_boot: int = 2000,
                    seed: int = 0, level: float = 0.95) -> dict:
    """Ratio of means ``sum(num) / sum(den)`` over paired runs with a percentile bootstrap CI, resampling runs
    within each group (workload) so every workload keeps its number of runs. A ratio of means (not of
    per-run ratios) stays defined when a collector never pauses on some run."""
    num, den = np.asarray(num, float), np.asarray(den, float)
    if num.shape != den.shape or num.size == 0:
        raise ValueError("num and den must be non-empty arrays of the same shape")
    if (num < 0).any() or (den < 0).any() or den.sum() <= 0:
        raise ValueError("ratios need non-negative values and a positive denominator")
    groups = np.asarray(groups)
    idx = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    rng = np.random.default_rng(seed)
    boots = np.empty(n_boot)
    for b in range(n_boot):
        ix = np.concatenate([rng.choice(i, i.size) for i in idx])
        boots[b] = num[ix].sum() / max(den[ix].sum(), 1e-300)
    lo, hi = np.quantile(boots, [(1 - level) / 2, 1 - (1 - level) / 2])
    return {"ratio": float(num.sum() / den.sum()), "lo": float(lo), "hi": float(hi), "n": int(num.size)}
