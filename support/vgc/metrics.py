"""Pause and memory metrics (issue 15, step 4): percentiles, MMU, a work-to-time model, bootstrap CIs.

Pauses are measured as deterministic work units: for the tracing collectors objects + slots traced +
bytes swept / 64 (:mod:`support.vgc.marking`), for GEN the object and reference visits of CPython's
passes (:mod:`support.vgc.cpython_cost`); :func:`timeline` turns them into milliseconds with a per-work-unit cost
and a per-event mutator cost, both calibrated against real CPython runs.
"""

from __future__ import annotations

import numpy as np

from support.bootstrap import ratio_of_means_ci


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
    within each group (workload) so every workload keeps its number of runs, by the shared
    :func:`support.bootstrap.ratio_of_means_ci` seeded with ``seed``. A ratio of means (not of per-run ratios)
    stays defined when a collector never pauses on some run."""
    ratio, lo, hi = ratio_of_means_ci(num, den, np.random.default_rng(seed), n_boot, level, groups=groups)
    return {"ratio": ratio, "lo": lo, "hi": hi, "n": int(np.size(num))}
