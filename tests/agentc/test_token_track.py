"""Token track pieces that run without the model: the call grammar and the boundary scanner."""

import json

import pytest

from support.agentc.dsl import normalize_tools
from support.agentc.taubench.data import tool_schemas
from support.agentc.token_track.decode import call_schema, scan


def test_scanner_finds_closed_name_and_completed_arguments():
    text = '{"name":"return_delivered_order_items","arguments":{"order_id":"#W1","item_ids":["1","2"],"payment'
    name, at, args, closed = scan(text)
    assert name == "return_delivered_order_items" and text[at] == '"'
    assert [(k, v) for k, v, _ in args] == [("order_id", "#W1"), ("item_ids", ["1", "2"])]
    assert text[args[0][2]] == '"' and not closed
    assert scan(text[:20])[0] is None
    full = text + '_method_id":"gift_card_1"}}'
    assert scan(full)[3] and json.loads(full)["arguments"]["payment_method_id"] == "gift_card_1"


def test_call_schema_accepts_exactly_the_tools():
    tools = normalize_tools(tool_schemas("retail"))
    s = call_schema(tools)
    assert len(s["anyOf"]) == 16
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate({"name": "get_order_details", "arguments": {"order_id": "#W1"}}, s)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "get_order_details", "arguments": {"oops": 1}}, s)


@pytest.mark.slow
def test_smollm2_episodes_are_compliant_with_enforcement():
    pytest.importorskip("llguidance")
    from support.agentc.token_track.episodes import run_token_track

    rows = run_token_track(2, 1, 1, 48, seed=0)
    on = [r for r in rows if r["enforce"]]
    assert on and all(r["compliant"] and r["schema_valid"] for r in on)


def test_unconstrained_violations_count_only_complete_calls():
    """A call cut off by the token budget is not a policy violation: counted apart (hand-made rows)."""
    import pandas as pd

    from support.agentc.experiments import token_violation_counts

    rows = pd.DataFrame([
        {"enforce": False, "complete": True, "compliant": True, "violations": []},
        {"enforce": False, "complete": True, "compliant": False, "violations": ["authenticate_first"]},
        {"enforce": False, "complete": False, "compliant": False, "violations": []},
        {"enforce": False, "complete": False, "compliant": False, "violations": []},
    ])
    assert token_violation_counts(rows) == {"calls": 4, "violating": 1, "incomplete": 2}
