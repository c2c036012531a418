"""Thin discrete-event simulation layer on simpy.

* :class:`Streams` — independent, reproducible RNG streams per named component (``streams["arrivals"]``).
* :class:`Recorder` — collects samples per metric and summarizes them (mean, 95% CI, quantiles).
* :func:`simulate_fifo` — a c-server FIFO queue in simpy fed with given inter-arrival and service times.
* :func:`lindley` — the exact Lindley recursion for a single-server FIFO queue (fast path / oracle):
  on the same inter-arrival and service streams it returns the same sojourn times as the simpy run.
* :func:`nhpp_arrivals` — non-homogeneous Poisson arrivals from a piecewise-constant rate (thinning).
"""

from support.sim.arrivals import nhpp_arrivals, poisson_split
from support.sim.fifo import lindley, simulate_fifo, simulate_mm1
from support.sim.recorder import Recorder, Summary
from support.sim.streams import Streams

__all__ = [
           "Recorder",
           "Streams",
           "Summary",
           "lindley",
           "nhpp_arrivals",
           "poisson_split",
           "simulate_fifo",
           "simulate_mm1",
]
