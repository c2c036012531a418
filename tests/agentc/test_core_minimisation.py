"""SmtMonitor shrinks an unsat core to a minimal one: no rule of it can go and leave the rest unsatisfiable.

The oracle is brute force with the reference evaluator: a set of rules is unsatisfiable when every completion of the
candidate from a pool of values (one on, one inside and one beyond every threshold the rules name, plus non-numbers)
breaks one of them, and a minimal core is such a set with no unsatisfiable proper subset.
"""

from __future__ import annotations

from itertools import combinations

import pytest

from support.agentc import reference_eval as ref
from support.agentc.dsl import Event, parse_policy
from support.agentc.smt import Candidate, SmtMonitor

TOOLS = {"pay": {"properties": {"amount": {}}, "required": ["amount"]}}
RULES = {"tiny": "a * 2 < 2", "above": "a > 15", "exact": "a == 39", "under": "a < 100", "high": "a > 20",
         "cap": "a < 30"}
POOL = [-1, 0.5, 1, 8, 15, 17, 20, 25, 30, 35, 39, 50, 100, 150, "39", None, True]


def policy(order):
    return parse_policy("\n".join(f"rule {n}: Forall pay(amount=a): {RULES[n]}" for n in order), TOOLS)


def unsat(pol, names, completions) -> bool:
    """Every completion breaks one of ``names`` (reference evaluator, no solver)."""
    return all(set(ref.check_candidate(pol, [], Event("pay", args))) & set(names) for args in completions)


def minimal_cores(pol, completions) -> set[frozenset]:
    """All minimal unsatisfiable sets of rules, by brute force over every subset."""
    names = [r.name for r in pol.safety]
    bad = [frozenset(c) for k in range(1, len(names) + 1) for c in combinations(names, k) if unsat(pol, c, completions)]
    return {s for s in bad if not any(t < s for t in bad)}


class FullCore:
    """A z3 solver whose unsat core is every assumption of the last check: a valid core, never a minimal one."""

    def __init__(self, solver):
        self._s, self._last = solver, []

    def check(self, *lits):
        self._last = list(lits)
        return self._s.check(*lits)

    def unsat_core(self):
        return self._last

    def __getattr__(self, name):
        return getattr(self._s, name)


def test_brute_force_oracle_finds_the_hand_derived_minimal_cores():
    """By hand: a < 1 clashes with a > 15, a == 39 and a > 20; a < 30 clashes with a == 39; nothing else does."""
    want = {frozenset(p) for p in [("tiny", "above"), ("tiny", "exact"), ("tiny", "high"), ("cap", "exact")]}
    assert minimal_cores(policy(RULES), [{"amount": x} for x in POOL]) == want


ORDERS = [list(RULES)[i:] + list(RULES)[:i] for i in range(len(RULES))]
ORDERS += [o[::-1] for o in ORDERS]


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: "-".join(o))
@pytest.mark.parametrize("args, complete", [({}, False), ({"amount": 39}, True), ({"amount": "39"}, True)])
def test_a_core_of_every_rule_is_shrunk_to_a_minimal_core(order, args, complete):
    """Whatever the rule order, the core of all six rules (the open amount, or a given one) comes back minimal."""
    pol = policy(order)
    completions = [{"amount": x} for x in POOL] if not complete else [args]
    raw = SmtMonitor(pol, minimize_core=False)
    raw.solver = FullCore(raw.solver)
    assert sorted(raw.check(Candidate("pay", args, complete)).core) == sorted(RULES)  # the full core reaches _minimize
    mon = SmtMonitor(pol)
    mon.solver = FullCore(mon.solver)
    res = mon.check(Candidate("pay", args, complete))
    assert not res.ok and frozenset(res.core) in minimal_cores(pol, completions)


def test_z3s_own_core_is_shrunk_to_a_minimal_core():
    """Three rules on an open amount: z3 5.4.1 answers with all three, though a < 1 clashes with each of the others
    alone; the monitor's core is one of the two minimal ones."""
    pol = policy(["tiny", "above", "exact"])
    res = SmtMonitor(pol).check(Candidate("pay", {}, complete=False))
    assert not res.ok
    assert frozenset(res.core) in minimal_cores(pol, [{"amount": x} for x in POOL])
    assert frozenset(res.core) in {frozenset({"tiny", "above"}), frozenset({"tiny", "exact"})}
