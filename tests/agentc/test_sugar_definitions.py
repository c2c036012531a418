"""The shorthand operators (Before, After, Seq, Never, AtMost) on hand traces, verdicts written from their
definitions (``support.agentc.dsl`` docstring, "Shorthands"), for both evaluators.

z3 checks the DSL's kernel expansion; the reference evaluator applies each shorthand's definition itself, so a
wrong expansion (an off-by-one AtMost, a reversed Seq) fails here and in the random-trace comparison.
"""

import dataclasses

import pytest

from support.agentc import reference_eval as ref
from support.agentc.dsl import Event, FalseF, Quant, builtin_policy, parse_policy
from support.agentc.fuzz import TOY_TOOLS
from support.agentc.smt import SmtMonitor


def login(name="x", ret="a"):
    return Event("login", {"name": name}, ret)


def read(key="a"):
    return Event("read", {"key": key}, {})


def pay(key="a", amount=100):
    return Event("pay", {"key": key, "amount": amount, "method": "card"})


def ship(key="a", items=None):
    return Event("ship", {"key": key} if items is None else {"key": key, "items": items})


def close(key="a"):
    return Event("close", {"key": key})


def user(yes):
    return Event("user", {"text": "", "yes": yes})


RESPOND = Event("respond", {"text": ""})

# (rule, trace, does the last event comply?) -- each verdict from the definition in the dsl docstring
SAFETY = [
    # AtMost(k, p): at most k events so far, the trigger included, with the same values for p's variables
    ("AtMost(1, pay(key=k))", [pay("a"), pay("a")], False),
    ("AtMost(1, pay(key=k))", [pay("a"), pay("b")], True),
    ("AtMost(1, pay(key=k))", [pay("a")], True),
    ("AtMost(2, pay(key=k))", [pay("a"), pay("a")], True),
    ("AtMost(2, pay(key=k))", [pay("a"), pay("a"), pay("a")], False),
    ("AtMost(2, pay(key=k))", [pay("a"), pay("b"), pay("a")], True),
    ("AtMost(1, pay(key=k, amount=x) where x > 100)", [pay("a", 200), pay("a", 200)], False),
    ("AtMost(1, pay(key=k, amount=x) where x > 100)", [pay("a", 200), pay("a", 150)], True),  # x differs
    ("AtMost(1, pay(key=k, amount=x) where x > 100)", [pay("a", 50), pay("a", 50)], True),  # g false
    ("AtMost(1, pay(key=k) where k != \"b\")", [pay("b"), pay("b")], True),
    # Seq(p1, ..., pn): the last pattern needs the others earlier, in the order written
    ("Seq(login(*), read(*), ship(*))", [login(), read(), ship()], True),
    ("Seq(login(*), read(*), ship(*))", [read(), login(), ship()], False),
    ("Seq(login(*), read(*), ship(*))", [login(), ship()], False),
    ("Seq(login(*), read(*), ship(*))", [login(), close(), read(), ship()], True),
    ("Seq(login(*), read(*), ship(*))", [ship()], False),
    ("Seq(read(key=k), pay(key=k), ship(key=k))", [read("a"), pay("b"), ship("a")], False),
    ("Seq(read(key=k), pay(key=k), ship(key=k))", [read("a"), pay("a"), ship("a")], True),
    ("Seq(read(key=k), pay(key=k), ship(key=k))", [pay("a"), read("a"), ship("a")], False),
    # Never(p where g)
    ("Never(ship(items=it) where len(it) > 2)", [ship(items=["1", "2", "3"])], False),
    ("Never(ship(items=it) where len(it) > 2)", [ship(items=["1"])], True),
    ("Never(ship(items=it) where len(it) > 2)", [ship()], True),
    ("Never(close(*))", [read(), close()], False),
    # Before(a, b where g, without w): an earlier a (with g), and no w between the two
    ("Before(user(yes=true), pay(*), without user | pay(*))", [user(True), pay()], True),
    ("Before(user(yes=true), pay(*), without user | pay(*))", [user(True), user(False), pay()], False),
    ("Before(user(yes=true), pay(*), without user | pay(*))", [user(True), RESPOND, pay()], True),
    ("Before(user(yes=true), pay(*), without user | pay(*))", [user(True), pay(), pay()], False),
    ("Before(user(yes=true), pay(*), without user | pay(*))", [pay()], False),
    ("Before(login(*) -> u, read(key=k) where u == k)", [login(ret="a"), read("a")], True),
    ("Before(login(*) -> u, read(key=k) where u == k)", [login(ret="b"), read("a")], False),
    ("Before(login(*) -> u, read(key=k) where u == k)", [read("a"), login(ret="a"), read("b")], False),
]

# After(a, b where g) is a liveness rule: judged on the complete trace
LIVENESS = [
    ("After(close(*), respond(*))", [close()], False),
    ("After(close(*), respond(*))", [close(), RESPOND], True),
    ("After(close(*), respond(*))", [RESPOND, close()], False),
    ("After(close(*), respond(*))", [read()], True),
    ("After(pay(key=k), ship(key=j) where j == k)", [pay("a"), ship("b")], False),
    ("After(pay(key=k), ship(key=j) where j == k)", [pay("a"), ship("b"), ship("a")], True),
    # a and b matching the same event: the trigger is not its own "later b"
    ("After(pay(*), pay(*))", [pay()], False),
    ("After(pay(*), pay(*))", [pay(), pay()], False),
]


def _policy(rule: str):
    return parse_policy(f"rule r: {rule}", TOY_TOOLS, "toy")


@pytest.mark.parametrize(("rule", "trace", "ok"), SAFETY)
def test_safety_shorthand_verdict_follows_its_definition(rule, trace, ok):
    pol = _policy(rule)
    j = len(trace) - 1
    assert (ref.violated_at(pol, trace, j) == []) is ok, "reference evaluator"
    mon = SmtMonitor(pol)
    mon.reset(trace[:j])
    assert mon.check(trace[j]).ok is ok, "z3 on the kernel expansion"


@pytest.mark.parametrize(("rule", "trace", "ok"), LIVENESS)
def test_after_verdict_follows_its_definition(rule, trace, ok):
    pol = _policy(rule)
    assert ref.liveness_ok(pol.rules[0], trace) is ok, "reference evaluator"
    assert (SmtMonitor(pol).liveness_violations(trace) == []) is ok, "z3 on the kernel expansion"


def test_shorthand_rules_keep_their_written_form():
    ops = {r.name: r.sugar.op if r.sugar else None for r in builtin_policy("retail").rules}
    assert ops["confirm_before_write"] == "before" and ops["items_once"] == "atmost"
    assert ops["cancel_reason"] == "never" and ops["one_user"] is None
    s = _policy("Seq(login(*), read(key=k), ship(key=k))").rules[0].sugar
    assert [sorted(p.names) for p in s.pats] == [["login"], ["read"], ["ship"]]


def test_reference_evaluates_a_shorthand_without_its_kernel_expansion():
    """A kernel that rejects everything does not change the reference's verdicts on a shorthand rule."""
    pol = _policy("AtMost(2, pay(key=k))")
    rule = pol.rules[0]
    broken = dataclasses.replace(rule, formula=Quant("forall", rule.formula.pat, None, FalseF()))
    trace = [pay("a"), pay("a")]
    assert ref.step_ok(broken, trace, 1) and not ref.step_ok(broken, trace + [pay("a")], 2)


# kernel forms no shipped policy writes, so the random-trace comparison never reaches them: the kernel's own
# "Exists p without w" (a p earlier than the trigger, no w strictly between them) and a nested AtMost
KERNEL_WITHOUT = "Forall pay(*): Exists user(yes=true) without user | pay(*)"
KERNEL = [
    (KERNEL_WITHOUT, [user(True), pay()], True),  # nothing between: the witness itself is no "w between"
    (KERNEL_WITHOUT, [user(True), RESPOND, pay()], True),
    (KERNEL_WITHOUT, [user(True), user(False), pay()], False),  # a user turn between
    (KERNEL_WITHOUT, [user(True), RESPOND, user(False), pay()], False),  # two positions after the witness
    (KERNEL_WITHOUT, [user(True), pay(), pay()], False),  # a pay between
    (KERNEL_WITHOUT, [user(True), user(False), user(True), pay()], True),  # the later "yes" is a witness
    (KERNEL_WITHOUT, [pay()], False),
    # AtMost nested in a formula is no top-level shorthand: both evaluators read its kernel (Forall + CountLess)
    ("Forall ship(*): AtMost(1, pay(*))", [ship()], True),
    ("Forall ship(*): AtMost(1, pay(*))", [pay(), ship()], True),
    ("Forall ship(*): AtMost(1, pay(*))", [pay(), pay(), ship()], False),  # the second pay is the second so far
    ("Forall ship(*): AtMost(2, pay(*))", [pay(), pay(), ship()], True),
    ("Forall ship(*): AtMost(2, pay(*))", [pay(), read(), pay(), pay(), ship()], False),
]


@pytest.mark.parametrize(("rule", "trace", "ok"), KERNEL)
def test_kernel_forms_verdict_follows_their_definition(rule, trace, ok):
    """``Exists ... without`` outside a Before, and AtMost inside a formula (CountLess), are evaluated by each
    evaluator's own kernel code, which no shipped policy reaches: verdicts written from the definitions, for both."""
    pol = _policy(rule)
    assert pol.rules[0].sugar is None
    j = len(trace) - 1
    assert (ref.violated_at(pol, trace, j) == []) is ok, "reference evaluator"
    mon = SmtMonitor(pol)
    mon.reset(trace[:j])
    assert mon.check(trace[j]).ok is ok, "z3"
