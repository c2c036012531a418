"""Trace replay for discrete-event simulations: exact timestamps or a resampled rate profile.

* :func:`rate_profile` — piecewise-constant arrival rate of a timestamp trace (``edges``, ``rates`` per s) in
  complete bins (a partial last bin is dropped).
* :func:`resample_arrivals` — a fresh non-homogeneous Poisson sample of such a profile (thinning via
  :func:`support.sim.nhpp_arrivals`), optionally time-compressed, tiled and rate-scaled.
* :func:`replay_times` — the trace's own timestamps, shifted to start at 0, compressed by ``speed`` and
  optionally tiled to cover a horizon.
* :class:`TraceReplayer` — a simpy process that calls ``handler(k, t)`` at each arrival time.

Stable API (papers 05, 11): ``rate_profile``, ``resample_arrivals``, ``replay_times``, ``TraceReplayer``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import simpy

from support.sim.arrivals import nhpp_arrivals
from support.sim.recorder import Recorder


def _check_times(times) -> np.ndarray:
    t = np.asarray(times, float)
    if t.ndim != 1 or t.size == 0:
        raise ValueError("trace timestamps must be a non-empty 1-D array")
    if not np.all(np.isfinite(t)):
        raise ValueError("trace timestamps must be finite")
    return np.sort(t)


def rate_profile(times, bin_s: float, t0: float | None = None, t1: float | None = None):
    """``(edges, rates)``: arrivals/s in the complete ``bin_s`` bins [a, b) from ``t0`` (default: first arrival) to
    ``t1`` (default: last; closed there); a partial last bin is dropped, so paper 05's tiled profile has no dip."""
    t = _check_times(times)
    if not bin_s > 0:
        raise ValueError(f"bin_s must be > 0, got {bin_s}")
    t0 = t[0] if t0 is None else float(t0)
    t1 = t[-1] if t1 is None else float(t1)
    nb = int(np.floor((t1 - t0) / bin_s)) if np.isfinite(t1 - t0) else 0
    if nb < 1:
        raise ValueError(f"the trace window [{t0}, {t1}] spans {t1 - t0:.6g} s, less than one bin of {bin_s} s")
    edges = t0 + bin_s * np.arange(nb + 1)
    # histogram's last bin is closed: add the partial bin [edges[-1], t1] (if any) so that it takes the arrivals
    # at or after edges[-1], then drop it
    counts = np.histogram(t, bins=edges if edges[-1] >= t1 else np.append(edges, t1))[0][:nb]
    return edges - t0, counts / bin_s


def replay_times(times, speed: float = 1.0, horizon_s: float | None = None) -> np.ndarray:
    """The trace's timestamps from 0, divided by ``speed`` (speed 60: one trace hour in one minute), tiled
    back-to-back (period: span + median gap) until ``horizon_s`` (if given, > 0) and cut there."""
    if not speed > 0:
        raise ValueError(f"speed must be > 0, got {speed}")
    t = _check_times(times)
    t = (t - t[0]) / speed
    if horizon_s is None:
        return t
    if not (horizon_s > 0 and np.isfinite(horizon_s)):
        raise ValueError(f"horizon_s must be a finite number > 0, got {horizon_s}")
    period = t[-1] + (np.median(np.diff(t)) if t.size > 1 else 1.0)
    if not period > 0:
        raise ValueError(f"all {t.size} trace timestamps are equal: a trace of zero length cannot be tiled")
    reps = int(np.ceil(horizon_s / period))
    out = np.concatenate([t + k * period for k in range(reps)])
    return out[out < horizon_s]


def resample_arrivals(edges, rates, rng: np.random.Generator, horizon_s: float | None = None,
                      rate_scale: float = 1.0, speed: float = 1.0) -> np.ndarray:
    """NHPP arrivals following the profile (rates x ``rate_scale``, time / ``speed``, so rates x ``speed``),
    tiled back-to-back to ``horizon_s`` (if given, > 0) and cut there."""
    edges = np.asarray(edges, float)
    rates = np.asarray(rates, float) * float(rate_scale)
    if not (speed > 0 and rate_scale >= 0):
        raise ValueError(f"speed must be > 0 and rate_scale >= 0 (got {speed}, {rate_scale})")
    if (edges.ndim != 1 or rates.ndim != 1 or edges.size != rates.size + 1 or rates.size < 1
            or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0)):
        raise ValueError(f"the profile needs strictly increasing finite edges, one more than rates "
                         f"(got {edges.size} edges, {rates.size} rates)")
    if horizon_s is not None and not (horizon_s > 0 and np.isfinite(horizon_s)):
        raise ValueError(f"horizon_s must be a finite number > 0, got {horizon_s}")
    e = (edges - edges[0]) / speed
    r = rates * speed
    if horizon_s is not None:
        reps = int(np.ceil(horizon_s / e[-1]))
        e = np.concatenate([e[:-1] + k * e[-1] for k in range(reps)] + [[reps * e[-1]]])
        r = np.tile(r, reps)
    t = nhpp_arrivals(e, r, rng)
    return t if horizon_s is None else t[t < horizon_s]


class TraceReplayer:
    """simpy process: at each time in ``times`` (absolute, sorted), call ``handler(k, t)``."""

    def __init__(self, env: simpy.Environment, times, handler: Callable[[int, float], None],
                 recorder: Recorder | None = None):
        t = np.asarray(times, float)
        if t.ndim != 1 or np.any(np.diff(t) < 0) or (t.size and t[0] < env.now):
            raise ValueError("replay times must be a sorted 1-D array not before the simulation clock")
        self.env, self.times, self.handler, self.recorder = env, t, handler, recorder
        self.count = 0
        self.process = env.process(self._run())

    def _run(self):
        for k, t in enumerate(self.times):
            yield self.env.timeout(t - self.env.now)
            self.count += 1
            if self.recorder is not None:
                self.recorder.record("arrivals", 1.0)
            self.handler(k, float(t))
