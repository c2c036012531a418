"""Per-app arrival rates from the Azure LLM inference trace (loaded by :mod:`support.traces.azure`).

Each of the trace's four request classes is one app. :func:`rate_scale` gives the per-app factors that rescale
the per-epoch rates so the server's mean load hits a target without changing the trace's shape over time.
"""

from __future__ import annotations

import numpy as np


def rate_scale(rates: np.ndarray, work: np.ndarray, capacity_cpu: float, load: float) -> np.ndarray:
    """One factor per app that scales its trace so that app i's *mean* CPU demand is ``load * capacity_cpu *
    share_i``, share_i being the app's share of trace requests: the trace's time variation and class mix are kept,
    the absolute level is set to the server size. ``work[i]`` is app i's CPU-seconds per request (e.g. d_i(1 CPU))."""
    rates = np.asarray(rates, float)
    mean = rates.mean(axis=0)
    if np.any(mean <= 0):
        raise ValueError("every app needs requests in the trace window")
    share = mean / mean.sum()
    target = load * capacity_cpu * share / np.asarray(work, float)  # req/s so that lam*work = load*C*share
    return target / mean
