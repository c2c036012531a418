"""Estimating model-checking cost: the same probes weighted over all explored graphs (§6).

Exhaustive TruSt explores every node of its tree, not only the complete leaves, so its cost is the
node count. Knuth's partial-product sum (or SE's per-depth estimates) estimates that count without
bias; multiplied by the measured seconds per expanded node it predicts the exhaustive run time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from support.dpor_estimate.dsl import MAX_STEPS, Program
from support.dpor_estimate.knuth import knuth_probe
from support.dpor_estimate.stochastic_enumeration import se_trial


@dataclass(frozen=True)
class CostEstimate:
    """Mean estimates from ``trials`` probes and the predicted exhaustive time."""

    trials: int
    budget: int
    classes: float  # estimated #complete leaves
    nodes: float  # estimated #explored graphs (exhaustive cost)
    seconds: float  # time spent estimating
    seconds_per_node: float  # measured cost of one children() call during the probes
    predicted_seconds: float  # nodes * seconds_per_node


def estimate_cost(program: Program, trials: int, rng: np.random.Generator, budget: int = 1,
                  max_steps: int = MAX_STEPS) -> CostEstimate:
    """Estimate classes, explored graphs and exhaustive time from ``trials`` probes (§6).

    ``budget`` = 1 uses Knuth's estimator (Algorithm T), larger values stochastic enumeration.
    """
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    t0 = time.perf_counter()
    cls = nodes = 0.0
    work = 0
    for _ in range(trials):
        if budget == 1:
            p = knuth_probe(program, rng, max_steps)
            cls += p.classes
            nodes += p.nodes
            work += p.depth + 1
        else:
            s = se_trial(program, budget, rng, max_steps)
            cls += s.classes
            nodes += s.nodes
            work += s.work
    dt = time.perf_counter() - t0
    spn = dt / work
    return CostEstimate(trials, budget, cls / trials, nodes / trials, dt, spn, nodes / trials * spn)
