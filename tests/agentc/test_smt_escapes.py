"""The z3 encoding of trace strings: literal, as the reference evaluator reads them."""

from __future__ import annotations

import pytest

from support.agentc import reference_eval as ref
from support.agentc.dsl import Event, parse_policy
from support.agentc.smt import SmtMonitor, _Interner

TOOLS = {"get": {"properties": {"id": {"type": "string"}}, "required": ["id"]},
         "put": {"properties": {"id": {"type": "string"}}, "required": ["id"]}}


@pytest.mark.parametrize("stored, sent", [("\\u{41}", "A"), ("\\x41", "A"), ("\\u0041", "A"), ("é", "é")])
def test_an_escape_sequence_in_a_trace_is_text_not_the_character_it_names(stored, sent):
    """z3.StringVal reads escapes: "\\u{41}" compared equal to "A", so the monitor allowed a call that the reference
    evaluator refused."""
    pol = parse_policy("rule same: Forall put(id=i): Exists get(id=j): i == j", TOOLS)
    prefix = [Event("get", {"id": stored}, {})]
    cand = Event("put", {"id": sent})
    m = SmtMonitor(pol)
    m.reset(prefix)
    assert m.check(cand).ok == (ref.check_candidate(pol, prefix, cand) == [])


@pytest.mark.parametrize("s", ["é", "a\\b", "\\u{41}", "日本", "tab\tx", "\\"])
def test_a_string_comes_back_from_z3_as_it_went_in(s):
    """Witnesses with non-ASCII text came back as z3's escapes ('日本' as '\\u{65e5}\\u{672c}')."""
    it = _Interner()
    assert it.back(it.lit(s)) == s
