"""A domain the code has never seen: tools from JSON schemas plus a policy text, no code changes."""

import json

import pytest

from support.agentc import reference_eval as ref
from support.agentc.dsl import Event, parse_policy
from support.agentc.monitor import Enforcer
from support.agentc.smt import Candidate, SmtMonitor

LIBRARY_TOOLS = json.loads("""[
 {"type": "function", "function": {"name": "verify_card", "parameters": {"type": "object",
   "properties": {"card": {"type": "string"}}, "required": ["card"]}}},
 {"type": "function", "function": {"name": "lookup_book", "parameters": {"type": "object",
   "properties": {"isbn": {"type": "string"}}, "required": ["isbn"]}}},
 {"type": "function", "function": {"name": "lend_book", "parameters": {"type": "object",
   "properties": {"isbn": {"type": "string"}, "card": {"type": "string"}, "days": {"type": "integer"}},
   "required": ["isbn", "card", "days"]}}}
]""")

LIBRARY_POLICY = """
# A lending desk: verify the reader, look the book up, lend only available books, at most 3 loans,
# loan length at most 14 days (28 for members with a good record).
writes: lend_book
readonly: verify_card | lookup_book
rule verified: Before(verify_card(card=c) -> v, lend_book(card=c) where v.valid == true)
rule available: Forall lend_book(isbn=i): Exists lookup_book(isbn=i) -> b: b.copies - b.on_loan > 0
rule three_loans: AtMost(3, lend_book(card=c))
rule loan_length: Forall lend_book(card=c, days=d):
    Exists verify_card(card=c) -> v: d <= 14 or (d <= 28 and v.record == "good")
rule announce: After(lend_book(*), respond(*))
"""


def test_policy_over_new_schemas_checks_and_enforces():
    pol = parse_policy(LIBRARY_POLICY, LIBRARY_TOOLS, "library")
    trace = [Event("verify_card", {"card": "C1"}, {"valid": True, "record": "fair"}),
             Event("lookup_book", {"isbn": "978"}, {"copies": 2, "on_loan": 1})]
    ok = Event("lend_book", {"isbn": "978", "card": "C1", "days": 14})
    too_long = Event("lend_book", {"isbn": "978", "card": "C1", "days": 21})
    unknown_reader = Event("lend_book", {"isbn": "978", "card": "C2", "days": 7})
    mon = SmtMonitor(pol)
    mon.reset(trace)
    assert mon.check(ok).ok and not ref.check_candidate(pol, trace, ok)
    assert mon.check(too_long).core == ["loan_length"] == ref.check_candidate(pol, trace, too_long)
    assert mon.check(unknown_reader).core == ["loan_length", "verified"] or \
        set(mon.check(unknown_reader).core) <= set(ref.check_candidate(pol, trace, unknown_reader))
    # an open 'days' argument gets a compliant witness
    w = mon.check(Candidate("lend_book", {"isbn": "978", "card": "C1"}, complete=False), prefer=[21, 7])
    assert w.ok and w.witness["days"] == 7
    # liveness: a loan must be announced by the end
    assert ref.compliant(pol, trace + [ok], final=True) is False
    assert ref.compliant(pol, trace + [ok, Event("respond", {"text": "done"})], final=True)
    assert mon.liveness_violations(trace + [ok]) == ["announce"]


def test_monitor_blocks_a_loan_of_an_unavailable_book_in_the_new_domain():
    pol = parse_policy(LIBRARY_POLICY, LIBRARY_TOOLS, "library")
    mon = SmtMonitor(pol)
    trace = [Event("verify_card", {"card": "C1"}, {"valid": True, "record": "fair"}),
             Event("lookup_book", {"isbn": "978"}, {"copies": 1, "on_loan": 1})]
    mon.reset(trace)
    call = Event("lend_book", {"isbn": "978", "card": "C1", "days": 3})
    res = mon.check(call)
    assert not res.ok and res.core == ["available"] == ref.check_candidate(pol, trace, call)


def test_enforcer_needs_an_environment_for_the_domain_and_says_so():
    # the monitor needs only the policy and the tool schemas; the Enforcer also executes the calls, and only
    # the tau-bench retail and airline environments exist: a new domain is refused with a clear error
    pol = parse_policy(LIBRARY_POLICY, LIBRARY_TOOLS, "library")
    with pytest.raises(ValueError, match="unknown domain 'library'"):
        Enforcer(pol, "library", None)
