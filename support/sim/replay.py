"""Trace replay for discrete-event simulations: a trace's rate profile and fresh arrivals resampled from it.

* :func:`rate_profile` — piecewise-constant arrival rate of a timestamp trace (``edges``, ``rates`` per s) in
  complete bins (a partial last bin is dropped).
* :func:`resample_arrivals` — a fresh non-homogeneous Poisson sample of such a profile (thinning via
  :func:`support.sim.nhpp_arrivals`), optionally time-compressed, tiled and rate-scaled.

Used by paper 05 (both) and, through :mod:`support.traces.azure`'s binning, papers 06 and 11 (``rate_profile``).
"""

from __future__ import annotations

import numpy as np

from support.sim.arrivals import nhpp_arrivals


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
