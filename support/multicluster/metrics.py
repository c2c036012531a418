"""Metrics of a federation run (paper 11, "resource efficiency, stabilization, performance variability").

* efficiency = busy replica-seconds / requested replica-seconds (used / allocated);
* stabilisation time after a burst = time until the requested replicas stay within +-5 % (at least one
  replica) of their settled value, the settled value being the mean over the last third of a
  ``window_intervals`` window after the burst; the same over the "large" bursts only, those beyond the HPA's
  10 % tolerance (``stabilization_large_s``: a sensitivity, not a claim; many top-2.5 % changes of a smooth
  trace are smaller than that, and the HPA ignores those). It follows the notes' definition, which measures the
  replicas, not the service: a controller that never scales scores 0 s and one that follows a ramp is charged
  for following it. Hence a companion, not a claim: ``recovery_s``, the time after a burst until the cluster's
  latency meets the SLO for the rest of the window (0 s when it never breaks it);
* latency variability = coefficient of variation of the per-step mean response time of each cluster;
* balance = Jain's index of the cluster utilisations (and 1 - CV), averaged over steps; Jain on pod
  utilisation (busy / requested) saturates near 1 when every cluster is sized to its own load, so Jain of the
  cluster fill (busy / capacity) is reported too (``jain_fill``, when the capacities are given);
* scaling events per hour (changes of the requested replicas), SLO violations (share of cluster-steps whose
  M/M/c mean response time exceeds the SLO).
"""

from __future__ import annotations

import numpy as np

from support.control.hpa import HPAConfig
from support.multicluster.simulate import Trajectory


def jain(x, axis=-1) -> np.ndarray:
    """Jain's fairness index (sum x)^2 / (n sum x^2): 1 when all equal, 1/n when one takes everything."""
    x = np.asarray(x, float)
    if np.any(x < 0):
        raise ValueError("Jain's index needs non-negative values")
    n = x.shape[axis]
    s2 = (x ** 2).sum(axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s2 > 0, x.sum(axis) ** 2 / (n * s2), 1.0)


def one_minus_cv(x, axis=-1) -> np.ndarray:
    """1 - coefficient of variation across clusters (1 when all equal)."""
    x = np.asarray(x, float)
    m = x.mean(axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m > 0, 1 - x.std(axis) / m, 1.0)


#: the HPA's default tolerance (support.control.hpa): a burst must change demand by more than this fraction to
#: count as "large", i.e. one that the HPA cannot ignore (the sensitivity metric ``stabilization_large_s``)
LARGE_BURST = HPAConfig.tolerance
#: a burst is a change of a cluster's origin demand in the top (1 - BURST_QUANTILE), i.e. 2.5 %, of its held-back ones
BURST_QUANTILE = 0.975


def burst_times(rates: np.ndarray, start: int, stop: int, quantile: float = BURST_QUANTILE,
                min_change: float = 0.0) -> list[tuple[int, int]]:
    """Boundaries t (and cluster k) in [start, stop) where origin demand jumps: |log R[t+1] - log R[t]| in the
    top (1 - quantile) of that cluster's held-back changes and, with ``min_change``, |R[t+1] / R[t] - 1| above it
    (the HPA's tolerance test on the ratio)."""
    if not min_change >= 0:
        raise ValueError(f"min_change must be >= 0, got {min_change}")
    r = np.asarray(rates[start:stop + 1], float)
    if np.any(~(r > 0)):
        raise ValueError(f"burst detection needs positive demand (log-changes); {int(np.sum(~(r > 0)))} held-back "
                         "values are zero or not finite: give the federation a burst_floor")
    out = []
    d = np.diff(np.log(r), axis=0)
    big = np.abs(np.expm1(d)) > min_change
    d = np.abs(d)
    for k in range(rates.shape[1]):
        thr = np.quantile(d[:, k], quantile)
        out += [(start + int(i), k) for i in np.nonzero((d[:, k] >= thr) & big[:, k])[0]]
    return sorted(out)


def _seconds_until_good(bad: np.ndarray, dt: float) -> float:
    """Seconds of ``dt``-long steps up to and including the last ``bad`` one (0 when none is)."""
    out = np.nonzero(bad)[0]
    return 0.0 if out.size == 0 else float((out[-1] + 1) * dt)


def settle_time(spec: np.ndarray, dt: float, band: float = 0.05) -> float:
    """Seconds until ``spec`` (one cluster, after a burst) stays within the band around its settled value."""
    final = spec[-max(1, spec.size // 3):].mean()
    return _seconds_until_good(np.abs(spec - final) > max(band * final, 1.0), dt)


def recovery_time(latency: np.ndarray, slo_s: float, dt: float) -> float:
    """Seconds until ``latency`` (one cluster, after a burst) stays within ``slo_s`` to the end: 0 when it never
    breaks it, the whole window when it ends broken."""
    return _seconds_until_good(latency > slo_s + 1e-12, dt)


def summarize(tr: Trajectory, rates: np.ndarray, start: int, mu: float, slo_s: float, interval_s: int,
              window_intervals: int = 3, quantile: float = BURST_QUANTILE, capacity=None) -> dict:
    """All metrics of one trajectory (per cluster and over the federation); ``capacity`` (replicas per
    cluster) adds the cluster-fill Jain index, nan without it. ``start`` must be the trajectory's first interval
    (its bursts are looked up in ``rates`` from there)."""
    if tr.t.size and not np.isclose(tr.t[0], start * interval_s):
        raise ValueError(f"the trajectory starts at {tr.t[0]:g} s, not at interval {start} ({start * interval_s} s): "
                         "its bursts would be read from the wrong part of the trace")
    busy = np.minimum(tr.load / mu, tr.ready)
    dt = float(tr.t[1] - tr.t[0]) if tr.t.size > 1 else float(interval_s)
    steps = round(interval_s / dt)
    eff_k = busy.sum(0) / np.maximum(tr.spec.sum(0), 1)
    util = busy / np.maximum(tr.spec, 1)
    lat = tr.latency
    cv_k = lat.std(0) / lat.mean(0)
    viol = lat > slo_s + 1e-12
    changes = (np.diff(tr.spec, axis=0) != 0).sum(0)
    if capacity is not None:
        cap = np.asarray(capacity, float)
        if cap.shape != (tr.spec.shape[1],) or np.any(cap <= 0):
            raise ValueError(f"capacity needs one positive entry per cluster, got {capacity}")
        jain_fill = float(jain(busy / cap, axis=1).mean())
    else:
        jain_fill = float("nan")
    hours = tr.t.size * dt / 3600
    stop = start + tr.t.size // steps
    last = stop - window_intervals + 1  # a burst at boundary t needs intervals t .. t + window - 1 simulated
    large = set(burst_times(rates, start, last, quantile, LARGE_BURST))
    settle, settle_large, recover = [], [], []
    for t, k in burst_times(rates, start, last, quantile):
        win = slice((t - start) * steps, (t - start + window_intervals) * steps)
        seg = tr.spec[win, k]
        if seg.size == window_intervals * steps:
            settle.append(settle_time(seg, dt))
            recover.append(recovery_time(lat[win, k], slo_s, dt))
            if (t, k) in large:
                settle_large.append(settle[-1])
    return {
        "controller": tr.name,
        "efficiency": float(busy.sum() / max(tr.spec.sum(), 1)),
        "efficiency_per_cluster": eff_k,
        "latency_cv": float(cv_k.mean()),
        "latency_cv_per_cluster": cv_k,
        "mean_latency_ms": float(1000 * lat.mean()),
        "slo_violation": float(viol.mean()),
        "slo_violation_per_cluster": viol.mean(0),
        "jain": float(jain(util, axis=1).mean()),
        "one_minus_cv": float(one_minus_cv(util, axis=1).mean()),
        "jain_fill": jain_fill,
        "events_per_hour": float(changes.sum() / hours / tr.spec.shape[1]),
        "stabilization_s": float(np.mean(settle)) if settle else float("nan"),
        "bursts": len(settle),
        "stabilization_large_s": float(np.mean(settle_large)) if settle_large else float("nan"),
        "bursts_large": len(settle_large),
        "recovery_s": float(np.mean(recover)) if recover else float("nan"),
        "replica_hours": float(tr.spec.sum() * dt / 3600),
    }
