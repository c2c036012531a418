"""Arithmetic in rules is exact on decimals in both evaluators (the DSL's semantics): ties stay ties, 1e-16 counts.

The reference evaluator rounded every ``+ - *`` result to a float, so 1 + 1e-16 was 1 there and 1.0000000000000001 in
z3. Each case's truth value is worked out by hand on decimals in its comment.
"""

from __future__ import annotations

import pytest

from support.agentc import reference_eval as ref
from support.agentc.dsl import Event, parse_policy
from support.agentc.smt import Candidate, SmtMonitor, trace_violations_smt

TOOLS = {"pay": {"properties": {"amount": {}, "fee": {}}}}


@pytest.mark.parametrize("cond, amount, fee, holds", [
    ("a + f <= 0.3", 0.1, 0.2, True),                    # 0.1 + 0.2 = 0.3: a tie (floats: 0.30000000000000004)
    ("a + f == 0.3", 0.1, 0.2, True),
    ("a * f <= 48", 15, 3.2, True),                      # 15 x 3.2 = 48: a tie
    ("a * f == 48", 15, 3.2, True),
    ("a - f == 0.1", 0.3, 0.2, True),                    # floats: 0.09999999999999998
    ("a + f <= 1", 1, 1e-16, False),                     # 1.0000000000000001 > 1 (floats: 1.0)
    ("a + f > 1", 1, 1e-16, True),
    ("a + f - a == f", 1, 1e-16, True),                  # (1 + 1e-16) - 1 = 1e-16 (floats: 0)
    ("a * f <= 1.000000002", 1.000000001, 1.000000001, False),  # 1.000000002000000001 > 1.000000002
    ("a * f * 3 == 0.000000000000000003", 1e-9, 1e-9, True),    # 3e-18, exactly
])
def test_both_evaluators_compute_exactly_on_decimals(cond, amount, fee, holds):
    pol = parse_policy(f"rule cap: Forall pay(amount=a, fee=f): {cond}", TOOLS)
    ev = Event("pay", {"amount": amount, "fee": fee})
    want = [] if holds else ["cap"]
    assert ref.check_candidate(pol, [], ev) == want
    assert SmtMonitor(pol).violations(ev) == want
    assert SmtMonitor(pol).check(Candidate.of(ev)).core == want
    assert trace_violations_smt(pol, [ev]) == ref.trace_violations(pol, [ev]) == [(0, n) for n in want]


def test_an_exact_sum_is_equal_to_the_same_number_in_a_list():
    """``in`` compares an arithmetic result structurally: 0.1 + 0.2 is in [0.3], 1 + 1e-16 is not in [1]."""
    pol = parse_policy("rule cap: Forall pay(amount=a, fee=f): a + f in [0.3, 1]", TOOLS)
    for amount, fee, want in ((0.1, 0.2, []), (1, 1e-16, ["cap"]), (0.5, 0.5, [])):
        ev = Event("pay", {"amount": amount, "fee": fee})
        assert ref.check_candidate(pol, [], ev) == SmtMonitor(pol).violations(ev) == want


def test_a_number_literal_a_float_cannot_hold_is_refused_at_its_position_not_rounded():
    """0.30000000000000000001 would parse to the float 0.3, a different decimal; 0.1000 is the decimal 0.1 exactly."""
    from support.agentc.dsl import PolicyError

    with pytest.raises(PolicyError, match=r"number 0\.30000000000000000001 has more significant digits") as e:
        parse_policy("rule cap: Forall pay(amount=a, fee=f):\n  a <= 0.30000000000000000001", TOOLS)
    assert (e.value.line, e.value.column) == (2, 8)
    assert "line 2, column 8" in str(e.value)
    pol = parse_policy("rule cap: Forall pay(amount=a, fee=f): a <= 0.1000", TOOLS)
    assert ref.check_candidate(pol, [], Event("pay", {"amount": 0.1, "fee": 0})) == []
