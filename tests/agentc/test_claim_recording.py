"""The functions the notebook records its claims with, on hand-made rows whose verdicts are known.

Each test calls the recording function itself (not a copy of its logic) with the real claim rules, so a wrong
sign, a self-comparison or a verdict for a number that holds by construction fails here.
"""

import numpy as np
import pandas as pd
import pytest

from support.agentc import experiments as X
from support.agentc.claims import CLAIMS
from support.agentc.dsl import Event, builtin_policy
from support.agentc.monitor import EnforcedRun
from support.agentc.taubench.data import tasks
from support.agentc.taubench.env import Env
from support.agentc.traces import user_event
from support.claims import ClaimRecorder, Verdict


def _recorder(tmp_path) -> ClaimRecorder:
    return ClaimRecorder(CLAIMS, "default", tmp_path)


def _rows(u_reward, e_reward, **cols) -> pd.DataFrame:
    """A trace-track frame: compliant, harmless rows with the given rewards (other columns overridable)."""
    n = len(u_reward)
    base = {"u_conformant": [True] * n, "e_conformant": [True] * n, "u_harmful": [False] * n,
            "e_harmful": [False] * n, "u_reward": u_reward, "e_reward": e_reward, "u_n_harmful": [0] * n,
            "e_n_harmful": [0] * n, "u_n_calls": [4] * n, "e_n_calls": [4] * n, "u_n_bad_calls": [0] * n,
            "e_n_bad_calls": [0] * n, "interventions": [0] * n, "disagreements": [0] * n,
            "check_ms": [[1.0]] * n}
    base.update(cols)
    return pd.DataFrame(base)


def _summary(df: pd.DataFrame) -> dict:
    return X.summarize(df, np.random.default_rng(0), 200)


def _airline(tmp_path, gained: int, lost: int, n: int = 200):
    u = [0.0] * gained + [1.0] * lost + [1.0] * (n - gained - lost)
    e = [1.0] * gained + [0.0] * lost + [1.0] * (n - gained - lost)
    df = _rows(u, e)
    nb = _recorder(tmp_path)
    X.record_airline_utility(nb, df, _summary(df), _summary(df))
    return nb.measurements["utility_delta_airline"]


@pytest.mark.parametrize(("gained", "lost", "value", "verdict"), [
    (1, 0, 0.5, Verdict.REPRODUCED),  # the smallest rise over 200 runs
    (3, 1, 1.0, Verdict.REPRODUCED),
    (0, 0, 0.0, Verdict.PARTLY),  # no change: utility does not rise
    (1, 1, 0.0, Verdict.PARTLY),
    (0, 2, -1.0, Verdict.NOT_REPRODUCED),  # the default run's counts before this rule
    (0, 1, -0.5, Verdict.NOT_REPRODUCED),
])
def test_airline_utility_claim_is_reproduced_only_when_the_mean_rises(tmp_path, gained, lost, value, verdict):
    m = _airline(tmp_path, gained, lost)
    assert m.measured == value and m.verdict == verdict.value
    assert f"{gained} of 200 runs gained utility, {lost} lost" in m.note


def test_airline_utility_step_is_exact_for_a_smoke_sized_run(tmp_path):
    m = _airline(tmp_path, 0, 1, n=40)
    assert m.measured == -2.5 and m.verdict == Verdict.NOT_REPRODUCED.value
    assert "100/40 = 2.5 pp" in m.note


def test_airline_utility_refuses_rewards_the_rule_does_not_cover(tmp_path):
    df = _rows([0.0, 1.0], [0.5, 1.0])
    with pytest.raises(ValueError, match="0/1 rewards over at most 200 runs"):
        X.record_airline_utility(_recorder(tmp_path), df, _summary(df), _summary(df))


def test_summarize_pairs_the_utility_delta_and_counts_harm():
    df = _rows([1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 0.0, 1.0], u_harmful=[True, False, True, False],
               u_n_harmful=[2, 0, 1, 0], e_n_calls=[5, 4, 4, 4], e_n_bad_calls=[1, 0, 0, 0])
    s = _summary(df)
    assert s["n"] == 4 and s["utility_delta"][0] == pytest.approx(0.25)
    assert s["u_utility"][0] == 0.5 and s["e_utility"][0] == 0.75
    assert s["u_harmful_calls"] == 3 and s["u_harm"][0] == 0.5 and s["e_harmful_calls"] == 0
    assert s["e_call_conformance"] == pytest.approx(1 - 1 / 17)


def test_summarize_of_no_rows_has_no_statistics_and_the_claims_are_not_applicable(tmp_path):
    s = _summary(pd.DataFrame())
    assert s["n"] == 0 and np.isnan(s["u_conformance"][0]) and np.isnan(s["utility_delta"][0])
    nb = _recorder(tmp_path)
    X.record_enforcement_claims(nb, pd.DataFrame(), {})
    X.record_airline_utility(nb, pd.DataFrame(), s, s)
    X.record_unrestricted_conformance(nb, s)
    for name in ("conformance_enforced_airline", "conformance_enforced_retail", "harm_enforced",
                 "utility_delta_airline", "conformance_unrestricted_vs_claude"):
        assert nb.measurements[name].verdict == Verdict.NOT_APPLICABLE.value, name
        assert "n=0" in nb.measurements[name].note


def test_summarize_names_the_missing_columns():
    with pytest.raises(ValueError, match="missing: .*e_reward"):
        _summary(pd.DataFrame({"u_reward": [1.0]}))


def test_retail_inputs_and_retail_deltas_are_not_applicable_with_their_values(tmp_path):
    nb = _recorder(tmp_path)
    claude = _rows([0.0] * 3 + [1.0] * 7, [1.0] * 10, u_conformant=[False] * 3 + [True] * 7)
    gpt5 = _rows([1.0] * 10, [1.0] * 10)
    ret = {"claude": claude, "gpt5": gpt5}
    X.record_retail_by_construction(nb, ret, {k: _summary(v) for k, v in ret.items()})
    for name in ("retail_profile_claude", "retail_profile_gpt5", "utility_delta_retail_claude",
                 "utility_delta_retail_gpt5"):
        m = nb.measurements[name]
        assert m.verdict == Verdict.NOT_APPLICABLE.value and "by construction" in m.note, name
        assert name in nb.metrics
    assert nb.metrics["retail_profile_claude"] == 0.7 and "measured 0.7000" in nb.measurements[
        "retail_profile_claude"].note
    assert nb.metrics["utility_delta_retail_claude"] == pytest.approx(30.0)
    assert "3 of 10 trajectories gained and 0 lost" in nb.measurements["utility_delta_retail_claude"].note


@pytest.mark.parametrize(("profile", "model", "claims"), [
    ("claude", "claude-sonnet-4.5", ("retail_profile_claude", "conformance_unrestricted_vs_claude")),
    ("gpt5", "gpt-5", ("retail_profile_gpt5", "conformance_unrestricted_vs_gpt5")),
])
def test_each_retail_profile_is_calibrated_to_its_models_paper_baseline(profile, model, claims):
    assert X.RETAIL_PROFILES[profile] == X.PAPER_BASELINES[model]
    assert all(CLAIMS[c].paper_value == X.PAPER_BASELINES[model] for c in claims)


def test_unrestricted_conformance_of_another_model_is_not_a_verdict(tmp_path):
    nb = _recorder(tmp_path)
    df = _rows([1.0] * 4, [1.0] * 4, u_conformant=[True, True, True, False])
    X.record_unrestricted_conformance(nb, _summary(df))
    assert nb.metrics["conformance_unrestricted_airline_gpt4o"] == 0.75
    for name, model in (("conformance_unrestricted_vs_claude", "Claude Sonnet 4.5"),
                        ("conformance_unrestricted_vs_gpt5", "GPT-5")):
        m = nb.measurements[name]
        assert m.verdict == Verdict.NOT_APPLICABLE.value
        assert f"the paper's number is for {model}; GPT-4o on airline gives 0.750" in m.note
        assert '"yes"' in m.note


def test_enforcement_claims_count_a_disagreement_against_conformance_and_as_harm(tmp_path):
    nb = _recorder(tmp_path)
    air = _rows([1.0] * 4, [1.0] * 4, disagreements=[0, 1, 0, 0])
    ret = {"claude": _rows([1.0] * 2, [1.0] * 2, e_n_harmful=[0, 1], e_conformant=[True, False]),
           "gpt5": _rows([1.0] * 2, [1.0] * 2)}
    X.record_enforcement_claims(nb, air, ret)
    assert nb.measurements["conformance_enforced_airline"].measured == 0.75
    assert nb.measurements["conformance_enforced_retail"].measured == 0.75
    m = nb.measurements["harm_enforced"]
    assert m.measured == 2 and m.verdict == Verdict.NOT_REPRODUCED.value and "issued: 1, disagreements: 1" in m.note


def _retail_trace():
    """Two reads before authentication (bad calls that are not harmful), then authenticate, look the order up and
    cancel it without an explicit "yes" (one harmful write)."""
    t = tasks("retail", "test")[0]
    order = next(a["kwargs"]["order_id"] for a in t["actions"] if a["name"] == "get_order_details")
    env = Env("retail", t)
    email = env.db["users"][t["user_id"]]["email"]
    early = Event("get_order_details", {"order_id": order}, {"user_id": t["user_id"]})
    events = [user_event("hi"), early, early, Event("find_user_id_by_email", {"email": email}, t["user_id"]),
              Event("get_order_details", {"order_id": order}, {"user_id": t["user_id"], "status": "pending"}),
              user_event("hm"), Event("cancel_pending_order", {"order_id": order, "reason": "no longer needed"})]
    return t, env, events


def test_unrestricted_runs_the_intended_events_as_they_are_with_no_intervention():
    """The baseline issues the unconfirmed cancel of a pending order (#W6247578 of this task's user): the order is
    cancelled, and each call carries the environment's reply, not the one written in the intended event."""
    from support.agentc.monitor import unrestricted

    t, _, events = _retail_trace()
    events[-1] = Event("cancel_pending_order", {"order_id": "#W6247578", "reason": "no longer needed"})
    run = unrestricted("retail", t, events)
    assert [e.name for e in run.events] == [e.name for e in events] and run.interventions == []
    assert run.env.db["orders"]["#W6247578"]["status"] == "cancelled" and run.events[-1].ret["status"] == "cancelled"
    assert run.events[3].ret == t["user_id"] and run.events[1].ret["status"] == "delivered"  # not the {"user_id"} given


def test_judge_counts_an_unconfirmed_write_as_harm_and_premature_reads_as_bad_calls_only():
    pol = builtin_policy("retail")
    _, env, events = _retail_trace()
    j = X.judge(pol, EnforcedRun(events, env))
    assert j["n_calls"] == 5 and j["n_bad_calls"] == 3 and j["n_harmful"] == 1 and j["harmful"]
    assert not j["conformant"] and j["rules"] == ["authenticate_first", "confirm_before_write"]


def _token(**bad):
    """Four enforced calls (one of them overridden by ``bad``) and four unconstrained ones that violate."""
    on = [{"task": k, "seed": 0, "enforce": True, "schema_valid": True, "compliant": True, "complete": True,
           "backtracks": 0, "fallback": False, "violations": []} for k in range(4)]
    on[2].update(bad)
    off = [{**r, "enforce": False, "compliant": False, "violations": ["authenticate_first"]} for r in on]
    return {"available": True, "rows": pd.DataFrame(on + off), "check_ms_median": 1.0, "seconds": 1.0}


@pytest.mark.parametrize("bad", [{}, {"schema_valid": False}, {"compliant": False}, {"complete": False}])
def test_token_claim_holds_only_when_every_enforced_call_is_valid_complete_and_compliant(tmp_path, bad):
    nb = _recorder(tmp_path)
    X.record_token_claims(nb, _token(**bad))
    assert nb.measurements["token_enforced_compliant"].measured is (not bad)
    assert nb.measurements["token_unconstrained_violates"].measured is True


def test_token_claims_without_calls_are_not_applicable(tmp_path):
    nb = _recorder(tmp_path)
    X.record_token_claims(nb, {"available": True, "rows": pd.DataFrame(), "check_ms_median": 1.0, "seconds": 0.0})
    assert {k: m.measured for k, m in nb.measurements.items()} == {"token_enforced_compliant": None,
                                                                    "token_unconstrained_violates": None}
    assert "no calls" in nb.measurements["token_enforced_compliant"].note


def test_property_agreement_compares_z3_with_the_reference_on_real_prefixes():
    p = X.property_agreement(30, 0, max_len=5, n_real_runs=5)
    assert p["random_traces"] == 30 and p["real_prefixes"] == len(p["latency"]) > 20
    assert p["random_disagreements"] == 0 and p["real_disagreements"] == 0 and p["core_not_subset"] == 0


def test_property_agreement_counts_every_real_prefix_where_the_verdicts_differ(monkeypatch):
    orig = X.ref.check_candidate
    monkeypatch.setattr(X.ref, "check_candidate", lambda pol, prefix, cand: [] if orig(pol, prefix, cand) else ["x"])
    p = X.property_agreement(3, 0, max_len=3, n_real_runs=2)
    assert p["real_prefixes"] > 0 and p["real_disagreements"] == p["real_prefixes"]


def _check_claims(tmp_path, prop_over=None, gold_rewards=(1.0, 1.0), agreement=None):
    lat = pd.DataFrame({"tool": ["book_reservation", "get_user_details", "cancel_reservation"],
                        "smt_ms": [3.0, 0.1, 5.0]})
    prop = {"random_traces": 30, "random_disagreements": 0, "real_prefixes": 3, "real_disagreements": 0,
            "core_not_subset": 0, "latency": lat, **(prop_over or {})}
    agreement = agreement or {"agree": 198, "total": 200, "mismatches": [{"why": "no reward_info"}] * 2}
    nb = _recorder(tmp_path)
    X.record_check_claims(nb, prop, agreement, pd.DataFrame({"reward": list(gold_rewards)}))
    return nb.measurements


def test_check_claims_judge_agreement_write_latency_replay_and_gold(tmp_path):
    m = _check_claims(tmp_path)
    assert m["smt_matches_reference"].measured is True
    assert m["check_latency_ms"].measured == 4.0  # median over the two write calls only
    assert m["recorded_reward_agreement"].measured == 198 and m["gold_replay"].measured is True
    for over in ({"real_disagreements": 1}, {"random_disagreements": 2}, {"core_not_subset": 1}):
        assert _check_claims(tmp_path, over)["smt_matches_reference"].measured is False, over
    assert _check_claims(tmp_path, gold_rewards=(1.0, 0.0))["gold_replay"].measured is False


def test_check_claims_without_data_are_not_applicable(tmp_path):
    m = _check_claims(tmp_path, {"random_traces": 0, "real_prefixes": 0,
                                 "latency": pd.DataFrame({"tool": ["get_user_details"], "smt_ms": [0.1]})},
                      gold_rewards=(), agreement={"agree": 0, "total": 0, "mismatches": []})
    for name in ("smt_matches_reference", "check_latency_ms", "recorded_reward_agreement", "gold_replay"):
        assert m[name].verdict == Verdict.NOT_APPLICABLE.value, name


def test_summarize_intervention_rate_is_the_share_of_trajectories_with_an_intervention():
    """interventions (0, 2, 0, 1): two of four trajectories were intervened on, so the rate is 0.5 (not the share of
    rows, 1.0, nor the mean count, 0.75)."""
    s = _summary(_rows([1.0] * 4, [1.0] * 4, interventions=[0, 2, 0, 1]))
    assert s["intervention_rate"] == 0.5
    assert X.summary_table({"x": s})["interventions %"].iloc[0] == "50.0"


def test_check_latency_is_the_median_over_write_calls_not_the_mean(tmp_path):
    """Write calls taking 3, 5 and 100 ms and a 0.1 ms read: the median over the writes is 5 ms (their mean, 36 ms,
    and the median over all four calls, 4 ms, are other numbers), so one slow outlier does not fail the 20 ms bar."""
    lat = pd.DataFrame({"tool": ["book_reservation", "get_user_details", "cancel_reservation", "cancel_reservation"],
                        "smt_ms": [3.0, 0.1, 5.0, 100.0]})
    m = _check_claims(tmp_path, {"latency": lat})["check_latency_ms"]
    assert m.measured == 5.0 and m.verdict == Verdict.REPRODUCED.value


def test_summarize_reports_each_sides_own_conformance_and_harm():
    """Unrestricted: 2 of 4 trajectories conformant and 1 harmful; enforced: all conformant, none harmful. Each side's
    share comes from its own columns (0.5 / 0.25 unrestricted, 1.0 / 0.0 enforced)."""
    df = _rows([1.0] * 4, [1.0] * 4, u_conformant=[False, True, False, True], u_harmful=[True, False, False, False])
    s = _summary(df)
    assert (s["u_conformance"][0], s["u_harm"][0]) == (0.5, 0.25)
    assert (s["e_conformance"][0], s["e_harm"][0]) == (1.0, 0.0)
