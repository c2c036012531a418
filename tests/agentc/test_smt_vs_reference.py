"""The z3 monitor against the independently written reference evaluator (the oracle)."""

import numpy as np
import pytest

from support.agentc import reference_eval as ref
from support.agentc.dsl import Event, builtin_policy, parse_policy
from support.agentc.fuzz import compare, random_trace, toy_policy
from support.agentc.smt import Candidate, SmtMonitor, trace_violations_smt
from support.agentc.traces import airline_runs


@pytest.fixture(scope="module")
def policies():
    return [builtin_policy("retail"), builtin_policy("airline"), toy_policy()]


def test_10000_random_traces_zero_disagreements(policies):
    a = compare(policies, 10_000, seed=2024, max_len=6)
    assert a.traces == 10_000
    assert a.disagreements == 0, a.examples
    assert a.core_not_subset == 0


def test_random_traces_are_not_vacuous(policies):
    rng = np.random.default_rng(0)
    for pol in policies:
        verdicts = [bool(ref.violated_at(pol, t, len(t) - 1)) for t in (random_trace(pol, rng, 6) for _ in range(300))]
        assert 0.1 < np.mean(verdicts) < 0.9, pol.domain


def test_every_prefix_of_the_real_airline_runs():
    pol = builtin_policy("airline")
    runs = airline_runs()
    n = 0
    for r in runs:
        mon = SmtMonitor(pol)
        for j, e in enumerate(r.events):
            if e.is_call:
                res = mon.check(e)
                viol = ref.violated_at(pol, r.events, j)
                assert res.ok == (not viol), (r.key, j, res.core, viol)
                assert set(res.core) <= set(viol)
                n += 1
            mon.append(e)
    assert n == 1164


def test_per_rule_verdicts_match_on_a_sample(policies):
    rng = np.random.default_rng(7)
    for pol in policies:
        for _ in range(40):
            t = random_trace(pol, rng, 6)
            assert sorted(trace_violations_smt(pol, t)) == sorted(ref.trace_violations(pol, t))


TOOLS = {"get_order_details": {"properties": {"order_id": {}}},
         "return_delivered_order_items": {"properties": {"order_id": {}, "payment_method_id": {}},
                                          "required": ["order_id", "payment_method_id"]}}
REFUND = parse_policy('''
rule refund: Forall return_delivered_order_items(order_id=o, payment_method_id=p):
   Exists get_order_details(order_id=o) -> d: p == d.payment_history[0].payment_method_id or startswith(p, "gift_card_")
''', TOOLS)
PREFIX = [Event("get_order_details", {"order_id": "#1"},
                {"status": "delivered", "payment_history": [{"payment_method_id": "credit_card_1"}]})]


def test_open_argument_gets_a_witness_that_the_reference_accepts():
    mon = SmtMonitor(REFUND)
    mon.reset(PREFIX)
    res = mon.check(Candidate("return_delivered_order_items", {"order_id": "#1"}, complete=False),
                    prefer=["paypal_2", "credit_card_1"])
    assert res.ok and res.witness["payment_method_id"] == "credit_card_1"
    done = Event("return_delivered_order_items", {"order_id": "#1", "payment_method_id": res.witness["payment_method_id"]})
    assert ref.check_candidate(REFUND, PREFIX, done) == []


def test_no_completion_is_unsat_with_the_rule_in_the_core():
    mon = SmtMonitor(REFUND)
    mon.reset(PREFIX)
    res = mon.check(Candidate("return_delivered_order_items", {"order_id": "#2"}, complete=False))
    assert not res.ok and res.core == ["refund"]
    for p in ["credit_card_1", "gift_card_9", "paypal_1"]:  # every completion is rejected by the oracle too
        assert ref.check_candidate(REFUND, PREFIX, Event("return_delivered_order_items", {"order_id": "#2", "payment_method_id": p}))


def test_excluded_values_are_not_proposed():
    mon = SmtMonitor(REFUND)
    mon.reset(PREFIX)
    res = mon.check(Candidate("return_delivered_order_items", {"order_id": "#1"}, complete=False),
                    prefer=["credit_card_1"], exclude={"payment_method_id": ["credit_card_1"]})
    assert res.ok and res.witness["payment_method_id"].startswith("gift_card_")


def test_witness_is_the_first_compliant_preferred_value_whatever_ran_before():
    # two preferred values comply (credit_card_1 is the order's payment, gift cards always do); the witness
    # must follow the preference order alone, not z3's search history on this or another monitor
    cand = Candidate("return_delivered_order_items", {"order_id": "#1"}, complete=False)
    warm = SmtMonitor(REFUND)
    warm.reset(PREFIX)
    for order in (["gift_card_7", "credit_card_1", "paypal_2"], ["paypal_2", "credit_card_1", "gift_card_7"],
                  ["gift_card_7", "credit_card_1", "paypal_2"]):
        for mon in (warm, SmtMonitor(REFUND)):
            mon.reset(PREFIX)
            res = mon.check(cand, prefer=order)
            expected = next(v for v in order if v != "paypal_2")  # paypal_2 is refused by the rule
            assert res.ok and res.witness["payment_method_id"] == expected
            assert ref.check_candidate(REFUND, PREFIX, Event("return_delivered_order_items",
                                                              {"order_id": "#1", "payment_method_id": expected})) == []
