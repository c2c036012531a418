"""The policy DSL: it parses the shipped policies, and errors point at the offending token."""

import pytest

from support.agentc.dsl import PolicyError, Quant, builtin_policy, parse_policy

TOOLS = {"get_order_details": {"properties": {"order_id": {}}},
         "cancel_pending_order": {"properties": {"order_id": {}, "reason": {}}}}


@pytest.mark.parametrize("domain", ["retail", "airline"])
def test_shipped_policies_parse_and_are_safety_rules(domain):
    pol = builtin_policy(domain)
    assert len(pol.rules) >= 7
    assert all(isinstance(r.formula, Quant) and r.formula.kind == "forall" for r in pol.rules)
    assert pol.writes and pol.readonly and not (pol.writes & pol.readonly)


def test_sugar_expands_to_the_kernel():
    pol = parse_policy("rule r: Before(get_order_details(order_id=o), cancel_pending_order(order_id=o))", TOOLS)
    f = pol.rules[0].formula
    assert f.kind == "forall" and f.pat.names == {"cancel_pending_order"}
    assert f.body.kind == "exists" and f.body.pat.names == {"get_order_details"}


def _error(text, tools=TOOLS) -> PolicyError:
    with pytest.raises(PolicyError) as e:
        parse_policy(text, tools)
    return e.value


def test_syntax_error_points_at_the_token():
    text = "rule r: Before(get_order_details(*) cancel_pending_order(*))"
    e = _error(text)
    assert e.line == 1 and text[e.column - 1:].startswith("cancel_pending_order")
    assert "^" in str(e) and "cancel_pending_order" in e.token


def test_unknown_tool_points_at_the_name_and_suggests():
    text = "rule r:\n  Never(cancel_pending_ordr(*))"
    e = _error(text)
    assert (e.line, e.column) == (2, 9)
    assert "did you mean 'cancel_pending_order'" in str(e)


def test_unknown_argument_points_at_the_key():
    e = _error("rule r: Never(get_order_details(orderid=x))")
    assert e.token == "orderid" and e.column == 33


def test_unbound_variable_points_at_its_use():
    text = 'rule r: Forall cancel_pending_order(order_id=o): o == zz'
    e = _error(text)
    assert e.token == "zz" and text[e.column - 1:].startswith("zz")


def test_trigger_return_value_cannot_be_bound():
    e = _error("rule r: Forall cancel_pending_order(*) -> d: d.status == \"x\"")
    assert "return value" in str(e) and e.token == "d"


def test_unexpected_character_and_early_end():
    assert _error("rule r: Never(get_order_details(*)) ;").token == ";"
    e = _error("rule r: Forall cancel_pending_order(*):")
    assert "ends too early" in str(e)


def test_empty_policy_is_an_error():
    assert "no rule" in str(_error("# nothing here\n"))
