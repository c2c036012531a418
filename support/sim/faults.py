"""Fault injection for discrete-event simulations: Poisson fault processes per type, replayed in simpy.

A fault-rate table (:class:`FaultSpec` per type: rate per hour, and free-form parameters such as a
duration distribution) is turned into one pre-drawn, sorted schedule by :func:`fault_schedule` (pure:
the same seed gives the same faults for every controller under comparison, i.e. common random numbers).
:class:`FaultInjector` replays a schedule inside a simpy environment and calls a handler at each onset.

API: ``FaultSpec``, ``Fault``, ``fault_schedule``, ``scale_rates``, ``FaultInjector``; paper 05 uses them all (``scale_rates``
through its ``FaultTable.scaled``, the notebook's ``fault_scale``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import simpy

from support.sim.recorder import Recorder


@dataclass(frozen=True)
class FaultSpec:
    """One fault type: Poisson onsets at ``rate_per_hour``; ``params`` are handed to the handler."""

    kind: str
    rate_per_hour: float
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.kind:
            raise ValueError("FaultSpec.kind must be a non-empty name")
        if not np.isfinite(self.rate_per_hour) or self.rate_per_hour < 0:
            raise ValueError(f"fault {self.kind!r}: rate_per_hour must be finite and >= 0, got {self.rate_per_hour}")


@dataclass(frozen=True)
class Fault:
    """One fault occurrence: onset time (s), type, the target it hits (if targets were given), its
    index in the schedule, a uniform draw ``u`` and the spec's parameters (for the handler's own use)."""

    t: float
    kind: str
    target: str | None
    idx: int
    u: float
    params: dict


def scale_rates(specs: Sequence[FaultSpec], factor: float) -> list[FaultSpec]:
    """The same table with every rate multiplied by ``factor`` (fault-rate sweeps)."""
    if not np.isfinite(factor) or factor < 0:
        raise ValueError(f"factor must be finite and >= 0, got {factor}")
    return [replace(s, rate_per_hour=s.rate_per_hour * factor) for s in specs]


def fault_schedule(specs: Sequence[FaultSpec], horizon_s: float, rng: np.random.Generator,
                   targets: Sequence[str] | None = None, start_s: float = 0.0) -> list[Fault]:
    """All fault onsets in ``[start_s, start_s + horizon_s)``: independent Poisson processes per type
    (count ~ Poisson(rate x horizon), times uniform given the count), merged and sorted by time.
    Each fault picks a target uniformly from ``targets`` (None when no targets are given)."""
    if horizon_s <= 0:
        raise ValueError(f"horizon_s must be > 0, got {horizon_s}")
    kinds = [s.kind for s in specs]
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"duplicate fault kinds in {kinds}")
    out = []
    for s in specs:
        n = rng.poisson(s.rate_per_hour * horizon_s / 3600.0)
        ts = start_s + rng.uniform(0.0, horizon_s, n)
        us = rng.uniform(0.0, 1.0, n)
        tg = rng.integers(0, len(targets), n) if targets else [None] * n
        out += [(float(t), s.kind, None if g is None else targets[int(g)], float(u), s.params)
                for t, u, g in zip(ts, us, tg)]
    out.sort(key=lambda x: (x[0], x[1]))
    return [Fault(t, k, g, i, u, p) for i, (t, k, g, u, p) in enumerate(out)]


class FaultInjector:
    """Replays a fault schedule in ``env``: at each onset, logs ``fault`` to the recorder and calls
    ``handler(fault)`` (which may start simpy processes of its own)."""

    def __init__(self, env: simpy.Environment, schedule: Iterable[Fault], handler: Callable[[Fault], None],
                 recorder: Recorder | None = None):
        self.env, self.handler, self.recorder = env, handler, recorder
        self.schedule = sorted(schedule, key=lambda f: f.t)
        if self.schedule and self.schedule[0].t < env.now:
            raise ValueError(f"fault at t={self.schedule[0].t} lies before the simulation clock {env.now}")
        self.injected: list[Fault] = []
        self.process = env.process(self._run())

    def _run(self):
        for f in self.schedule:
            yield self.env.timeout(f.t - self.env.now)
            self.injected.append(f)
            if self.recorder is not None:
                self.recorder.log(self.env.now, "fault", fault=f.kind, target=f.target, idx=f.idx)
            self.handler(f)
