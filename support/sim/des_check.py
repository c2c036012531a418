"""DES-vs-formula check of an M/M/c FIFO queue, shared by papers 05, 06 and 11.

Exponential streams go through the simpy queue (:func:`~support.sim.fifo.simulate_fifo`) and, for one server,
also through the Lindley recursion on the same streams; the mean sojourn after a warm-up is compared with the
closed form of :mod:`support.queueing` (``mm1_sojourn`` for one server, ``mmc_sojourn`` otherwise).
An unstable queue (lam >= c mu) is refused before anything is simulated.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from support.queueing import mm1_sojourn, mmc_sojourn
from support.sim.fifo import lindley, simulate_fifo
from support.validate import check_int


@dataclass(frozen=True)
class DesCheck:
    """Outcome of :func:`des_check`: times in the unit of 1/mu, wall-clock seconds in the ``*_s`` fields.

    The Lindley fields are None unless the check ran with ``lindley_too=True`` (one server only)."""

    servers: int
    lam: float
    mu: float
    jobs: int  # jobs simulated
    warmup_jobs: int  # leading jobs left out of the means
    simulated: float  # simpy mean sojourn over the kept jobs
    analytic: float  # closed-form mean sojourn
    rel_err: float  # |simulated - analytic| / analytic
    simpy_s: float
    lindley_mean: float | None = None  # Lindley mean sojourn over the kept jobs
    lindley_max_abs_diff: float | None = None  # over every job, simpy vs Lindley
    lindley_equal: bool | None = None  # every job agrees to 1e-9 (relative and absolute)
    lindley_s: float | None = None


def des_check(c: int, lam: float, mu: float, n_jobs: int, rng: np.random.Generator,
              service_rng: np.random.Generator | None = None, *, warmup: float = 0.0,
              lindley_too: bool = False) -> DesCheck:
    """Simulate M/M/c (inter-arrivals from ``rng``, then services from ``service_rng`` or ``rng``), drop the
    first ``int(warmup * n_jobs)`` jobs, compare with the closed form; ``lindley_too`` (c = 1) adds Lindley."""
    c = check_int(c, "number of servers c", minimum=1)
    n_jobs = check_int(n_jobs, "n_jobs", minimum=1)
    if not (math.isfinite(lam) and lam > 0):
        raise ValueError(f"arrival rate lam must be finite and > 0, got {lam}")
    if not (math.isfinite(mu) and mu > 0):
        raise ValueError(f"service rate mu must be finite and > 0, got {mu}")
    if not 0.0 <= warmup < 1.0:
        raise ValueError(f"warmup must be a share of the jobs in [0, 1), got {warmup}")
    warm = int(warmup * n_jobs)  # < n_jobs since warmup < 1
    if lindley_too and c != 1:
        raise ValueError(f"the Lindley recursion is for one server, got c = {c}")
    analytic = mm1_sojourn(lam, mu) if c == 1 else mmc_sojourn(c, lam, mu)  # raises if unstable
    ia = rng.exponential(1 / lam, n_jobs)
    sv = (rng if service_rng is None else service_rng).exponential(1 / mu, n_jobs)
    t0 = time.perf_counter()
    x = simulate_fifo(ia, sv, servers=c)
    simpy_s = time.perf_counter() - t0
    sim = float(x[warm:].mean())
    lind = {}
    if lindley_too:
        t0 = time.perf_counter()
        y = lindley(ia, sv)
        lind = {"lindley_s": time.perf_counter() - t0, "lindley_mean": float(y[warm:].mean()),
                "lindley_max_abs_diff": float(np.max(np.abs(x - y))),
                "lindley_equal": bool(np.allclose(x, y, rtol=1e-9, atol=1e-9))}
    return DesCheck(c, float(lam), float(mu), n_jobs, warm, sim, float(analytic), abs(sim - analytic) / analytic,
                    simpy_s, **lind)
