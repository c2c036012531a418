"""Event-addition order policies: which thread's events the TruSt tree adds first.

The paper's implementation (JMC, §7) exposes a scheduling policy; the class count does not depend on
it, but the shape of the tree does, and with it the variance of every estimator (our §6 ablation).
"""

from __future__ import annotations

from support.dpor_estimate.dsl import MAX_STEPS, Program

POLICIES = ("program", "writers_first", "readers_first", "reversed")


def thread_order(program: Program, policy: str, max_steps: int = MAX_STEPS) -> list[int]:
    """The thread permutation for ``policy``.

    ``program``: as written (GenMC's order); ``writers_first``: threads sorted by the share of
    read-only events when run alone (write-heavy threads first, stable); ``readers_first``: the
    opposite; ``reversed``: the written order reversed. The solo runs stop at ``max_steps`` steps.
    """
    n = program.n_threads
    if policy == "program":
        return list(range(n))
    if policy == "reversed":
        return list(range(n))[::-1]
    if policy in ("writers_first", "readers_first"):
        share = []
        for t in range(n):
            r, w = program.solo_profile(t, max_steps)
            share.append(r / (r + w) if r + w else 0.0)
        sign = 1 if policy == "writers_first" else -1
        return sorted(range(n), key=lambda t: (sign * share[t], t))
    raise ValueError(f"unknown order policy {policy!r}; choose one of {', '.join(POLICIES)}")


def with_order(program: Program, policy: str, max_steps: int = MAX_STEPS) -> Program:
    """The same program with its threads permuted by ``policy`` (counts are unchanged)."""
    order = thread_order(program, policy, max_steps)
    if order == list(range(program.n_threads)):
        return program
    return program.reordered(order, suffix=f"[{policy}]")
