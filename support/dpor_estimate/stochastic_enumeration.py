"""Stochastic enumeration with budget B on the TruSt tree (the paper's Algorithm S, §5).

A population of at most B partial paths advances one depth at a time; the children of the whole
population are pooled and B of them are kept uniformly without replacement. The product of
(pooled children / population size) estimates the number of nodes per depth, and leaves met on the
way contribute that estimate times the share of leaves (Rubinstein 2013; Vaisman & Kroese 2017).
B = 1 is Knuth's estimator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from support.dpor_estimate.dsl import MAX_STEPS, Program, check_max_steps
from support.dpor_estimate.trust import Graph, is_blocked, is_deadlock, memo_children, root
from support.validate import check_int


@dataclass(frozen=True)
class SETrial:
    """One stochastic-enumeration run: class, explored-graph and deadlock estimates, graphs expanded."""

    classes: float
    nodes: float
    work: int  # number of children() calls (cost of the trial)
    deadlocks: float = 0.0  # estimate of the deadlocked leaves (trust.is_deadlock), as classes for complete ones


def se_trial(program: Program, budget: int, rng: np.random.Generator, max_steps: int = MAX_STEPS,
             start: Graph | None = None) -> SETrial:
    """One SE run with population budget ``budget`` (§5, Algorithm S); unbiased for classes, nodes, deadlocks.

    An execution longer than ``max_steps`` steps raises :class:`~support.dpor_estimate.dsl.StepLimitError`.
    ``start``: a ``trust.root(program)`` shared by the trials of one run (:func:`~trust.memo_children`); same draws.
    """
    budget = check_int(budget, "SE budget", minimum=1)  # nan would pass `< 1` and enumerate the whole tree
    check_max_steps(max_steps)
    pop = [root(program) if start is None else start]
    level = 1.0  # estimate of the number of tree nodes at the current depth
    est = 0.0
    dead_est = 0.0
    nodes = 1.0
    work = 0
    while pop:
        kids = []
        complete = dead = 0
        for g in pop:
            ch = memo_children(program, g, max_steps)
            work += 1
            if ch is None:
                if not is_blocked(g, program):
                    complete += 1
                elif is_deadlock(g, program):
                    dead += 1
            else:
                kids.extend(ch)
        est += level * complete / len(pop)
        dead_est += level * dead / len(pop)
        if not kids:
            break
        level *= len(kids) / len(pop)
        nodes += level
        if len(kids) > budget:
            idx = rng.choice(len(kids), size=budget, replace=False)
            pop = [kids[i] for i in idx]
        else:
            pop = kids
    return SETrial(est, nodes, work, dead_est)

