"""Enforcement never issues a call the reference evaluator rejects; it repairs instead of failing."""

import pytest

from support.agentc import reference_eval as ref
from support.agentc.dsl import Event, builtin_policy
from support.agentc.experiments import expand_retail, judge, retail_profile
from support.agentc.monitor import Enforcer
from support.agentc.taubench.data import tasks
from support.agentc.traces import airline_runs, respond_event, user_event


def _issued_calls_all_pass(pol, run):
    for j, e in enumerate(run.events):
        if e.is_call:
            assert not ref.violated_at(pol, run.events, j), (j, e.short())


def test_enforced_airline_runs_are_compliant_and_harmless():
    pol = builtin_policy("airline")
    for r in airline_runs()[::5]:
        out = Enforcer(pol, "airline", r.task).run(r.events)
        _issued_calls_all_pass(pol, out)
        assert out.disagreements == 0
        assert judge(pol, out)["n_harmful"] == 0


@pytest.fixture(scope="module")
def gold():
    return expand_retail(24, seed=3)


def test_expanded_gold_is_compliant_with_reward_one(gold):
    traces, dropped = gold
    assert dropped == 0 and len(traces) == 24
    pol = builtin_policy("retail")
    assert all(ref.compliant(pol, g.events) for g in traces)


def test_calibrated_profile_hits_its_target_and_enforcement_fixes_it(gold):
    df = retail_profile(gold[0], 0.75, 40, seed=1, name="t")
    assert df["u_conformant"].mean() == pytest.approx(0.75)
    assert df["e_conformant"].all() and (df["e_n_harmful"] == 0).all() and (df["disagreements"] == 0).all()


def test_auth_bypass_is_repaired_by_inserting_authentication():
    pol = builtin_policy("retail")
    t = tasks("retail", "test")[0]
    order = next(a["kwargs"]["order_id"] for a in t["actions"] if a["name"] == "get_order_details")
    out = Enforcer(pol, "retail", t).run([user_event(t["instruction"]), Event("get_order_details", {"order_id": order})])
    names = [e.name for e in out.events]
    assert names.index("find_user_id_by_email") < names.index("get_order_details")
    assert [i.action for i in out.interventions] == ["lookup"]


def test_refund_to_paypal_becomes_the_original_method_when_the_user_confirms_it():
    pol = builtin_policy("retail")
    t = next(t for t in tasks("retail", "test") if any(a["name"] == "return_delivered_order_items" for a in t["actions"])
             and not any(a["name"] == "return_delivered_order_items" and a["kwargs"]["payment_method_id"].startswith("gift")
                         for a in t["actions"]))
    gold_ret = next(a for a in t["actions"] if a["name"] == "return_delivered_order_items")
    wrong = Event(gold_ret["name"], {**gold_ret["kwargs"], "payment_method_id": "paypal_0000000"})
    intended = [user_event(t["instruction"])] + [Event(a["name"], a["kwargs"]) for a in t["actions"]
                                                 if a["name"] != "return_delivered_order_items"]
    intended += [respond_event("I will refund to PayPal, ok?"), user_event("yes"), wrong]
    out = Enforcer(pol, "retail", t).run(intended)
    issued = [e for e in out.events if e.name == "return_delivered_order_items"]
    assert issued and issued[-1].args["payment_method_id"] == gold_ret["kwargs"]["payment_method_id"]
    _issued_calls_all_pass(pol, out)


def test_unconfirmed_write_the_user_does_not_want_is_dropped():
    pol = builtin_policy("airline")
    t = tasks("airline", "test")[0]
    intended = [user_event("hi"), Event("get_user_details", {"user_id": t["user_id"]}),
                Event("send_certificate", {"user_id": t["user_id"], "amount": 500})]
    out = Enforcer(pol, "airline", t).run(intended)
    assert "send_certificate" not in [e.name for e in out.events]


def test_call_made_compliant_by_the_last_allowed_repair_is_issued():
    """With max_repairs=k the k-th repair must still lead to the call being issued when it succeeds
    (oracle: the reference evaluator accepts the call at that point, and the user said yes)."""
    pol = builtin_policy("airline")
    t = next(t for t in tasks("airline", "test") if any(a["name"] == "cancel_reservation" for a in t["actions"]))
    gold = next(a for a in t["actions"] if a["name"] == "cancel_reservation")
    rid = gold["kwargs"]["reservation_id"]
    lookup = Event("get_reservation_details", {"reservation_id": rid})
    cancel = Event("cancel_reservation", dict(gold["kwargs"]))
    # only 'reservation_looked_up' is violated: exactly one repair (insert the lookup) makes it compliant
    out = Enforcer(pol, "airline", t, max_repairs=1).run([user_event("hi"), cancel])
    assert [i.action for i in out.interventions] == ["lookup"]
    assert [e.name for e in out.events if e.is_call] == ["get_reservation_details", "cancel_reservation"]
    _issued_calls_all_pass(pol, out)
    assert lookup.args == out.events[1].args
