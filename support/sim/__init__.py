"""Thin discrete-event simulation layer on simpy.

* :class:`Streams` — independent, reproducible RNG streams per named component (``streams["arrivals"]``).
* :class:`Recorder` — collects samples per metric and summarizes them (mean, 95% CI, quantiles).
* :func:`simulate_fifo` — a c-server FIFO queue in simpy fed with given inter-arrival and service times.
* :func:`lindley` — the exact Lindley recursion for a single-server FIFO queue (fast path / oracle):
  on the same inter-arrival and service streams it returns the same sojourn times as the simpy run.
* :func:`nhpp_arrivals` — non-homogeneous Poisson arrivals from a piecewise-constant rate (thinning).
* :mod:`~support.sim.faults` — fault-rate tables, Poisson fault schedules and a simpy fault injector.
* :mod:`~support.sim.replay` — trace replay: rate profiles and NHPP arrivals resampled from them.
"""

from support.sim.arrivals import nhpp_arrivals, poisson_split
from support.sim.faults import Fault, FaultInjector, FaultSpec, fault_schedule, scale_rates
from support.sim.fifo import lindley, simulate_fifo
from support.sim.recorder import Recorder, Summary
from support.sim.replay import rate_profile, resample_arrivals
from support.sim.streams import Streams

__all__ = [
           "Fault",
           "FaultInjector",
           "FaultSpec",
           "Recorder",
           "Streams",
           "Summary",
           "fault_schedule",
           "lindley",
           "nhpp_arrivals",
           "poisson_split",
           "rate_profile",
           "resample_arrivals",
           "scale_rates",
           "simulate_fifo",
]
