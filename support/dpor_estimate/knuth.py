"""Knuth's estimator on the TruSt tree (the paper's Algorithm T, §4).

A probe walks from the root to a leaf choosing a child uniformly at random; the product of the
branching factors along the path is an unbiased estimate of the number of complete leaves
(= Mazurkiewicz classes), and the running sum of partial products estimates the node count (Knuth 1975).
Scoring the same product only at deadlocked leaves estimates the number of deadlocked executions.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from support.dpor_estimate.dsl import MAX_STEPS, Program, check_max_steps
from support.dpor_estimate.trust import Graph, is_blocked, is_deadlock, memo_children, root


@dataclass(frozen=True)
class Probe:
    """One random root-to-leaf path: class, explored-graph and deadlock estimates, depth, leaf kind."""

    classes: int  # product of branching factors (0 at a blocked leaf)
    nodes: int  # sum over depths of the product of branching factors above that depth
    depth: int
    blocked: bool
    deadlocks: int = 0  # product of branching factors at a deadlocked leaf (trust.is_deadlock), else 0


def knuth_probe(program: Program, rng: np.random.Generator, max_steps: int = MAX_STEPS,
                start: Graph | None = None) -> Probe:
    """One Knuth probe (§4, Algorithm T): uniform child choice, weight = product of branching factors.

    Exact integers (no overflow); unbiased for the number of classes, of tree nodes and of deadlocked
    leaves (``Exploration.deadlocks``). An execution longer than ``max_steps`` steps raises
    :class:`~support.dpor_estimate.dsl.StepLimitError`. ``start``: a ``trust.root(program)`` shared by the
    probes of one run, so the nodes they share are expanded once (:func:`~trust.memo_children`); same draws.
    """
    check_max_steps(max_steps)
    g = root(program) if start is None else start
    weight = 1
    nodes = 1
    depth = 0
    while True:
        ch = memo_children(program, g, max_steps)
        if ch is None:
            blocked = is_blocked(g, program)
            dead = weight if blocked and is_deadlock(g, program) else 0
            return Probe(0 if blocked else weight, nodes, depth, blocked, dead)
        if not ch:  # a dead end: an atomic RMW read a write another RMW already read (e.g. cinc, ainc);
            # it is no execution, so it scores 0 here as in the exhaustive count
            return Probe(0, nodes, depth, True)
        d = len(ch)
        weight *= d
        nodes += weight
        depth += 1
        g = ch[int(rng.integers(d))] if d > 1 else ch[0]


class _Scripted:
    """A stand-in for ``Generator.integers`` that replays a fixed list of choices."""

    def __init__(self, script: list[int]):
        self.script, self.pos, self.dims = script, 0, []

    def integers(self, d: int) -> int:
        self.dims.append(int(d))
        c = self.script[self.pos] if self.pos < len(self.script) else 0
        self.pos += 1
        return c


def exact_expectation(program: Program, field: str = "classes", max_paths: int = 200_000,
                      max_steps: int = MAX_STEPS) -> Fraction:
    """E[knuth_probe(program).field] exactly: every root-to-leaf path, weighted by its probability.

    §4 (unbiasedness): this must equal the class count (``classes``), the node count (``nodes``) or the
    number of deadlocked executions (``deadlocks``).
    Drives the real probe with scripted choices in odometer order, so it checks the implementation.
    """
    total = Fraction(0)
    script: list[int] = []
    start = root(program)  # shared by every path, so each node's children are computed at most twice
    for _ in range(max_paths):
        rng = _Scripted(script)
        res = knuth_probe(program, rng, max_steps, start)  # type: ignore[arg-type]
        dims = rng.dims
        script = script[: len(dims)] + [0] * (len(dims) - len(script))
        p = Fraction(1)
        for d in dims:
            p /= d
        total += p * getattr(res, field)
        j = len(dims) - 1
        while j >= 0 and script[j] + 1 >= dims[j]:
            j -= 1
        if j < 0:
            return total
        script = script[:j] + [script[j] + 1]
    raise ValueError(f"{program.name}: more than {max_paths} probe paths; use a smaller program")
