"""The enforcer's witness for a re-opened argument does not depend on what z3 solved before in the process.

A retail cancel with the reason "found a better price" (the ``bad_reason`` mutation) breaks ``cancel_reason``;
no allowed reason appears in the trace, so before the fallback values the witness was z3's first model, which
changed with the solver work done earlier in the same process.
"""

import pytest

from support.agentc.dsl import Event, builtin_policy
from support.agentc.experiments import expand_retail
from support.agentc.fuzz import compare, toy_policy
from support.agentc.monitor import Enforcer, fallback_values


@pytest.fixture(scope="module")
def cancels():
    gold, _ = expand_retail(60, seed=0)
    out = []
    for g in gold:
        ev = list(g.events)
        i = next((k for k, e in enumerate(ev) if e.name == "cancel_pending_order"), None)
        if i is not None:
            ev[i] = Event(ev[i].name, {**ev[i].args, "reason": "found a better price"})
            out.append((g, ev))
    return out


def _reasons(cases) -> list[str]:
    pol = builtin_policy("retail")
    out = []
    for g, ev in cases:
        run = Enforcer(pol, "retail", g.task).run(ev)
        out.append(next(e.args["reason"] for e in run.events if e.name == "cancel_pending_order"))
    return out


def test_fallback_values_are_the_policy_constants_and_schema_enums_sorted():
    vals = fallback_values(builtin_policy("retail"))
    assert vals == sorted(vals) and len(vals) == len(set(vals))
    assert {"no longer needed", "ordered by mistake", "pending", "delivered"} <= set(vals)


def test_bad_reason_witness_is_the_same_fresh_and_after_unrelated_solver_work(cancels):
    assert len(cancels) >= 10
    fresh = _reasons(cancels)
    compare([builtin_policy("retail"), builtin_policy("airline"), toy_policy()], 300, seed=0, max_len=8)
    after = _reasons(cancels)
    assert fresh == after
    # the first allowed reason in the sorted fallback order, for every order (no trace value is allowed)
    assert set(fresh) == {"no longer needed"}
