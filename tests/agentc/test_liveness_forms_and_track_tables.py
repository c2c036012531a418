"""Paths of 01 that no other test ran: liveness rules written as a top-level Exists (both evaluators, hand
verdicts), the After kernel without its shorthand, the token-track summary table, the airline loop, and the
empty-input and n = 0 branches of the experiment helpers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from support.agentc import experiments as X
from support.agentc import reference_eval as ref
from support.agentc.dsl import Event, builtin_policy, parse_policy
from support.agentc.fuzz import TOY_TOOLS, compare, random_trace
from support.agentc.smt import Candidate, SmtMonitor
from support.agentc.traces import airline_runs

LIVE = parse_policy(r'''
rule greeted: Exists respond(*)
rule big_payment: Exists pay(key=k, amount=a): a > 10
rule closes_answered: After(close(key=k), respond(*))
rule read_first: Forall pay(key=k): Exists read(key=k)
''', TOY_TOOLS, "live")


def _pay(amount, key="a"):
    return Event("pay", {"key": key, "amount": amount, "method": "card"}, {})


R = Event("respond", {"text": ""})
C = Event("close", {"key": "a"}, {})

# hand verdicts: the liveness rules that fail on each complete trace
CASES = [
    ([], {"greeted", "big_payment"}),
    ([_pay(5)], {"greeted", "big_payment"}),  # 5 is not > 10
    ([_pay(5), _pay(11), R], set()),  # the second payment satisfies big_payment
    ([R, _pay(11)], set()),  # a top-level Exists ranges over the whole trace, not before an event
    ([R, _pay(11), C], {"closes_answered"}),  # the close has no later respond
    ([C, _pay(20), R], set()),
]


@pytest.mark.parametrize(("trace", "failing"), CASES)
def test_top_level_exists_and_after_liveness_verdicts_match_hand_derived_ones_in_both_evaluators(trace, failing):
    assert {r.name for r in LIVE.liveness if not ref.liveness_ok(r, trace)} == failing
    assert set(SmtMonitor(LIVE).liveness_violations(trace)) == failing


@pytest.mark.parametrize(("trace", "failing"), CASES)
def test_the_reference_judges_after_by_its_kernel_as_by_its_shorthand(trace, failing):
    """The parser keeps After's shorthand; with it stripped, the reference evaluates the Forall/future-Exists kernel
    (a path the DSL never reaches otherwise) and must give the same verdict."""
    rule = next(r for r in LIVE.liveness if r.name == "closes_answered")
    bare = dataclasses.replace(rule, sugar=None)
    assert ref.liveness_ok(bare, trace) == ("closes_answered" not in failing)


def test_random_traces_agree_on_top_level_exists_liveness_rules_and_are_not_vacuous():
    a = compare([LIVE], 200, seed=5, max_len=5)
    assert a.disagreements == 0, a.examples
    rng = np.random.default_rng(5)
    traces = [random_trace(LIVE, rng, 5) for _ in range(200)]
    for rule in LIVE.liveness:  # each rule both holds and fails on some random trace
        verdicts = {ref.liveness_ok(rule, t) for t in traces}
        assert verdicts == {True, False}, rule.name


# -------------------------------------------------------------------------------------- token track summary
def _token_rows():
    """Off: 2 calls; on: 3 calls. Hand summary: off schema 0.5, compliant 0, tokens 15, seconds 2;
    on schema 1, compliant 2/3, backtracks 2, fallbacks 2, tokens 6; checks (on only) 1, 2, 3 -> median 2."""
    return [
        {"enforce": False, "tool": "a", "schema_valid": True, "compliant": False, "backtracks": 0, "fallback": False, "tokens": 10,
             "seconds": 1.0, "check_ms": [100.0]},
        {"enforce": False, "tool": "b", "schema_valid": False, "compliant": False, "backtracks": 0, "fallback": False, "tokens": 20,
             "seconds": 3.0, "check_ms": [100.0]},
        {"enforce": True, "tool": "a", "schema_valid": True, "compliant": True, "backtracks": 0, "fallback": False, "tokens": 5,
             "seconds": 1.0, "check_ms": [1.0, 2.0]},
        {"enforce": True, "tool": "b", "schema_valid": True, "compliant": True, "backtracks": 2, "fallback": True, "tokens": 5,
             "seconds": 2.0, "check_ms": [3.0]},
        {"enforce": True, "tool": "c", "schema_valid": True, "compliant": False, "backtracks": 4, "fallback": True, "tokens": 8,
             "seconds": 3.0, "check_ms": []},
    ]


def test_token_track_summarises_calls_with_and_without_the_smt_check(monkeypatch):
    import sys
    import types

    from support.lm import gguf_loader

    monkeypatch.setattr(gguf_loader, "smollm2_path", lambda: "model.gguf")
    fake = types.ModuleType("support.agentc.token_track.episodes")  # the real one loads the model stack (slow)
    fake.run_token_track = lambda *a, **k: _token_rows()
    monkeypatch.setitem(sys.modules, "support.agentc.token_track.episodes", fake)
    out = X.token_track(n_tasks=1, n_seeds=1, max_tokens=8, seed=0)
    assert out["available"]
    t = out["table"]
    assert list(t.index) == ["without SMT check", "with SMT check"]
    assert t["calls"].tolist() == [2, 3]
    assert t["schema_valid"].tolist() == pytest.approx([0.5, 1.0])
    assert t["compliant"].tolist() == pytest.approx([0.0, 2 / 3])
    assert t["backtracks_per_call"].tolist() == pytest.approx([0.0, 2.0])
    assert t["fallbacks"].tolist() == [0, 2]
    assert t["tokens_per_call"].tolist() == pytest.approx([15.0, 6.0])
    assert t["seconds_per_call"].tolist() == pytest.approx([2.0, 2.0])
    assert out["n_checks"] == 3 and out["check_ms_median"] == 2.0  # only the enforced calls' checks


# -------------------------------------------------------------------------------------- airline loop
def test_airline_trace_track_runs_the_first_n_recorded_runs_in_order_with_every_call_replayed():
    runs = airline_runs()[:3]
    df = X.airline_trace_track(n_runs=3)
    assert df["key"].tolist() == [r.key for r in runs]
    assert df["recorded_reward"].tolist() == [r.recorded_reward for r in runs]
    # without enforcement every intended call is issued, so the count is the recorded run's number of calls
    assert df["u_n_calls"].tolist() == [sum(e.is_call for e in r.events) for r in runs]
    assert X.airline_trace_track(n_runs=0).empty


# -------------------------------------------------------------------------------------- empty / n = 0 branches
def test_monitor_metrics_of_an_empty_table_are_nan_and_zero():
    empty = pd.DataFrame({"e_conformant": [], "disagreements": [], "e_n_harmful": []})
    assert np.isnan(X.monitor_conformance(empty))
    assert X.monitor_harm(empty) == 0


def test_monitor_metrics_count_a_disagreement_as_nonconformant_and_as_harm():
    """Two runs, both conformant, one with a monitor/reference disagreement: conformance 1/2, harm 1 + 1 = 2."""
    df = pd.DataFrame({"e_conformant": [True, True], "disagreements": [0, 1], "e_n_harmful": [1, 0]})
    assert X.monitor_conformance(df) == 0.5
    assert X.monitor_harm(df) == 2


def test_retail_profile_refuses_trajectories_without_any_gold_trace():
    with pytest.raises(ValueError, match="at least one expanded gold trace"):
        X.retail_profile([], 0.5, 3, seed=0, name="claude")


def test_expand_retail_drops_and_counts_gold_traces_that_do_not_reach_reward_1(monkeypatch):
    """A fake enforcer gives reward 1 to the first task only: one kept, one dropped."""
    rewards = iter([1.0, 0.0])

    class FakeEnforcer:
        def __init__(self, *a, **k):
            pass

        def run(self, skeleton):
            return type("E", (), {"reward": next(rewards), "events": []})()

    monkeypatch.setattr(X, "Enforcer", FakeEnforcer)
    monkeypatch.setattr(X, "gold_skeleton", lambda t, pol: [])
    out, dropped = X.expand_retail(2, seed=0)
    assert (len(out), dropped) == (1, 1)


class _NB:
    def __init__(self):
        self.na, self.metrics = {}, {}

    def not_applicable(self, name, why):
        self.na[name] = why

    def metric(self, name, value):
        self.metrics[name] = value


def test_retail_profiles_without_trajectories_are_not_applicable_and_record_no_metric():
    nb = _NB()
    X.record_retail_by_construction(nb, {n: pd.DataFrame() for n in X.RETAIL_PROFILES},
                                    {n: {"n": 0} for n in X.RETAIL_PROFILES})
    assert nb.metrics == {}
    assert set(nb.na) == {f"{c}_{n}" for n in X.RETAIL_PROFILES for c in ("retail_profile", "utility_delta_retail")}
    assert all("n=0" in why for why in nb.na.values())


def test_policy_table_lists_every_rule_of_both_policies_with_its_kind():
    t = X.policy_table()
    for dom in ("retail", "airline"):
        pol = builtin_policy(dom)
        got = t[t["domain"] == dom]
        assert got["rule"].tolist() == [r.name for r in pol.rules]
        live = {r.name for r in pol.liveness}
        assert got["kind"].tolist() == ["liveness" if n in live else "safety" for n in got["rule"]]


# -------------------------------------------------------------------------------------- numbers the figures compute
def test_rules_figure_counts_trajectories_per_violated_rule_most_common_first():
    import matplotlib.pyplot as plt

    from support.agentc import figures

    fig = figures.rules_figure(pd.DataFrame({"u_rules": [["b", "a"], ["a"], [], ["c", "a"]]}), "t")
    try:
        ax = fig.axes[0]
        got = {t.get_text(): p.get_width() for t, p in zip(ax.get_yticklabels(), ax.patches)}
        assert got == {"a": 3, "b": 1, "c": 1}
        assert ax.get_yticklabels()[0].get_text() == "a"
    finally:
        plt.close(fig)


def test_token_figure_shows_the_compliant_share_per_setting_and_the_enforced_backtracks():
    """From the rows above: off 0 of 2 compliant, on 2 of 3 -> 0 % and 66.7 %; on backtracks 0 + 2 + 4 = 6."""
    import matplotlib.pyplot as plt

    from support.agentc import figures

    fig = figures.token_figure({"available": True, "rows": pd.DataFrame(_token_rows())})
    try:
        ax = fig.axes[0]
        assert [p.get_height() for p in ax.patches] == pytest.approx([0.0, 200 / 3])
        assert "6 backtracks" in [t.get_text() for t in ax.texts]
        assert sum(p.get_height() for p in fig.axes[1].patches) == 3  # the enforced calls' three checks
    finally:
        plt.close(fig)


def test_log_bins_span_whole_decades_covering_every_positive_value():
    from support.agentc.figures import _log_bins

    b = _log_bins([0.0, 0.03, 7.0, 250.0])  # decades 1e-2 .. 1e3, 10 bins each; the 0 is ignored
    assert b[0] == pytest.approx(1e-2) and b[-1] == pytest.approx(1e3) and len(b) == 51
    assert np.allclose(np.diff(np.log10(b)), 0.1)
    assert len(_log_bins([5.0])) == 11  # one value: one whole decade


# -------------------------------------------------------------------------------------- compound values in the SMT monitor
WTOOLS = {"read": {"properties": {"key": {}}, "required": ["key"]},
          "ship": {"properties": {"key": {}, "items": {}, "amount": {}, "gift": {}, "meta": {}}}}
COPY = parse_policy(r'''
rule same_items: Forall ship(key=k, items=it): Exists read(key=k) -> d: it == d.items
rule same_amount: Forall ship(key=k, amount=a): Exists read(key=k) -> d: a == d.limit
rule same_gift: Forall ship(key=k, gift=g): Exists read(key=k) -> d: g == d.gift
rule same_meta: Forall ship(key=k, meta=m): Exists read(key=k) -> d: m == d.meta
''', WTOOLS, "copy")
RETURNS = [{"items": ["p", 1.0, {"a": [True, None]}], "limit": 2.5, "gift": True, "meta": {"x": 1}},
           {"items": [], "limit": 3, "gift": False, "meta": None}]


@pytest.mark.parametrize("ret", RETURNS)
def test_open_arguments_get_the_only_compliant_values_back_lists_objects_numbers_and_booleans(ret):
    """Each rule forces one argument to equal a field of the read's return, so the witness is that field,
    with its JSON type (3 stays an int, 2.5 a float, True a bool); the reference accepts the completed call."""
    prefix = [Event("read", {"key": "a"}, ret)]
    mon = SmtMonitor(COPY)
    mon.reset(prefix)
    res = mon.check(Candidate("ship", {"key": "a"}, complete=False))
    want = {"items": ret["items"], "amount": ret["limit"], "gift": ret["gift"], "meta": ret["meta"]}
    assert res.ok and res.witness == want
    assert {k: type(v) for k, v in res.witness.items()} == {k: type(v) for k, v in want.items()}
    assert ref.check_candidate(COPY, prefix, Event("ship", {"key": "a", **res.witness})) == []


def test_structural_equality_of_compound_values_matches_the_reference_numbers_by_value_booleans_apart():
    prefix = [Event("read", {"key": "a"}, RETURNS[0])]
    mon = SmtMonitor(COPY)
    mon.reset(prefix)
    # 1 == 1.0 inside a list; True is not 1
    same = Event("ship", {"key": "a", "items": ["p", 1, {"a": [True, None]}], "amount": 2.5, "gift": True,
                          "meta": {"x": 1.0}})
    assert mon.check(same).ok and ref.check_candidate(COPY, prefix, same) == []
    differ = Event("ship", {"key": "a", "items": ["p", 1.0, {"a": [1, None]}], "amount": 2.5, "gift": 1,
                            "meta": {"x": 1, "y": 2}})
    want = ["same_gift", "same_items", "same_meta"]
    assert sorted(ref.check_candidate(COPY, prefix, differ)) == want
    res = mon.check(differ)
    assert not res.ok and len(res.core) == 1 and set(res.core) <= set(want)  # a minimal core: one rule suffices
    assert mon.violations(differ) == want


def test_a_call_without_a_name_yet_gets_a_tool_name_whose_completed_call_the_reference_accepts():
    pol = parse_policy('rule no_read: Never(read(*))\nrule copy: Forall ship(key=k, items=it): '
                       'Exists read(key=k) -> d: it == d.items', WTOOLS, "named")
    mon = SmtMonitor(pol)
    mon.reset([])
    res = mon.check(Candidate(None, {"key": "a"}, complete=False))
    assert res.ok
    name = res.witness.pop("__name__")
    assert name in pol.tools and name != "read"  # a read is never allowed
    assert ref.check_candidate(pol, [], Event(name, {"key": "a", **res.witness})) == []


def _summ(u, e, uh, eh, d):
    return {"u_conformance": u, "e_conformance": e, "u_harm": uh, "e_harm": eh, "utility_delta": d}


SUMMARIES = {"A (x)": _summ((0.5, 0.4, 0.6), (0.9, 0.8, 1.0), (0.3, 0.2, 0.35), (0.0, 0.0, 0.0), (0.05, -0.01, 0.1)),
             "B": _summ((0.25, 0.1, 0.3), (1.0, 1.0, 1.0), (0.1, 0.0, 0.2), (0.02, 0.0, 0.05), (0.0, 0.0, 0.0))}


def test_conformance_figure_draws_percent_bars_with_their_confidence_intervals():
    """Bars are 100 x the mean, unrestricted then enforced per setting; error bars run from 100 x lo to 100 x hi."""
    import matplotlib.pyplot as plt

    from support.agentc import figures

    fig = figures.conformance_figure(SUMMARIES)
    try:
        conf, harm = fig.axes[0], fig.axes[1]
        assert [p.get_height() for p in conf.patches] == pytest.approx([50, 25, 90, 100])
        assert [p.get_height() for p in harm.patches] == pytest.approx([30, 10, 0, 2])
        spans = sorted(tuple(np.round(sorted(s[:, 1]), 9)) for c in conf.collections for s in c.get_segments())
        assert spans == sorted([(40.0, 60.0), (10.0, 30.0), (80.0, 100.0), (100.0, 100.0)])
        assert [t.get_text() for t in harm.texts] == ["0%", "2%"]
        assert [t.get_text() for t in conf.get_xticklabels()] == ["A\n(x)", "B"]
    finally:
        plt.close(fig)


def test_utility_figure_puts_the_measured_delta_in_points_beside_the_papers_and_leaves_a_missing_one_empty():
    import matplotlib.pyplot as plt

    from support.agentc import figures

    fig = figures.utility_figure(SUMMARIES, {"A (x)": (3.4, "Claude")})
    try:
        ax = fig.axes[0]
        h = [p.get_height() for p in ax.patches]
        assert h[:2] == pytest.approx([5.0, 0.0]) and h[2] == pytest.approx(3.4) and np.isnan(h[3])
        assert [t.get_text() for t in ax.texts] == ["Claude"]
    finally:
        plt.close(fig)
