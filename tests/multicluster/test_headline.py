"""The claim values of paper 11 (experiments.headline) on hand-built rows, the perfect-foresight bound, the claim
rules against issue 14's acceptance thresholds, and the three oracle checks the notebook records."""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from support.multicluster import experiments as X
from support.multicluster.claims import BURSTY, CLAIMS
from support.queueing import mmc_sojourn

NAMES = ("a", "b")


def _row(key, window, eff_k, slo_k, **fields):
    base = {"key": key, "controller": key, "window": window, "efficiency_per_cluster": np.array(eff_k),
            "latency_cv_per_cluster": np.array([0.1, 0.1]), "slo_violation_per_cluster": np.array(slo_k),
            "slo_violation": float(np.mean(slo_k)), "mean_latency_ms": 110.0, "jain_fill": 0.5,
            "policy_actions": 10, "policy_violations": 0, "z3_disagreements": 0}
    return {**base, **fields}


@pytest.fixture
def rows():
    """Two windows, so that a mean over windows differs from the first window's value."""
    return [
        _row("hpa", "w1", [0.5, 0.8], [0.0, 0.01], efficiency=0.7, stabilization_s=300.0, stabilization_large_s=600.0, bursts=6, bursts_large=3, recovery_s=60.0, latency_cv=0.2, jain=0.9,
             one_minus_cv=0.70, jain_fill=0.5, events_per_hour=2.0, policy_violations=3),  # the HPA's do not count
        _row("hpa", "w2", [0.6, 0.8], [0.02, 0.0], efficiency=0.8, stabilization_s=500.0, stabilization_large_s=400.0, bursts=8, bursts_large=5, recovery_s=100.0, latency_cv=0.2, jain=0.92,
             one_minus_cv=0.72, jain_fill=0.6, events_per_hour=4.0),
        _row("ridge", "w1", [0.6, 0.82], [0.005, 0.02], efficiency=0.8, stabilization_s=100.0, stabilization_large_s=200.0, bursts=6, bursts_large=3, recovery_s=30.0, latency_cv=0.25,
             jain=0.95, one_minus_cv=0.88, jain_fill=0.7, events_per_hour=1.0),
        _row("ridge", "w2", [0.66, 0.96], [0.04, 0.01], efficiency=1.0, stabilization_s=300.0, stabilization_large_s=300.0, bursts=8, bursts_large=5, recovery_s=50.0, latency_cv=0.35,
             jain=0.97, one_minus_cv=0.90, jain_fill=0.8, events_per_hour=2.0),
        _row("oracle", "w1", [0.9, 0.95], [0.001, 0.001], efficiency=0.95, stabilization_s=150.0, stabilization_large_s=100.0, bursts=7, bursts_large=4, recovery_s=0.0, latency_cv=0.1,
             jain=0.99, one_minus_cv=0.9, events_per_hour=6.0),
        _row("oracle", "w2", [0.9, 0.95], [0.001, 0.001], efficiency=0.95, stabilization_s=150.0, stabilization_large_s=100.0, bursts=7, bursts_large=4, recovery_s=0.0, latency_cv=0.1,
             jain=0.99, one_minus_cv=0.9, events_per_hour=6.0),
    ]


def test_headline_gives_every_claim_value_of_the_proactive_controller_against_the_hpa(rows):
    h = X.headline(rows, NAMES, key="ridge")
    # efficiency per (window, cluster): gains 0.2, 0.025 (w1) and 0.1, 0.2 (w2); the headline is the worst
    assert h["efficiency_gain_worst"] == pytest.approx(0.025)
    # federation level, mean over windows: 0.9 / 0.75 - 1 (the first window alone would give 0.8 / 0.7 - 1)
    assert h["efficiency_gain_federation"] == pytest.approx(0.2)
    assert h["stabilization"] == pytest.approx(200 / 400 - 1)          # faster: negative, against the HPA
    assert h["stabilization_s"] == pytest.approx({"hpa": 400.0, "ridge": 200.0, "oracle": 150.0})
    # the sensitivity over the bursts beyond the HPA's tolerance: means over windows, bursts of the HPA's run
    assert h["stabilization_large"] == pytest.approx(250 / 500 - 1)
    assert h["stabilization_large_s"] == pytest.approx({"hpa": 500.0, "ridge": 250.0, "bursts": 4.0, "of_bursts": 7.0,
                                                  "tolerance": 0.1})
    assert h["recovery_s"] == pytest.approx({"hpa": 80.0, "ridge": 40.0, "oracle": 0.0})  # a companion, means
    assert h["latency_cv"] == pytest.approx(0.3 / 0.2 - 1)
    assert h["balance_higher"] == pytest.approx(0.96 - 0.91)            # positive: ridge balances better
    assert h["balance_score"] is True                                   # 0.89 within 10 % of 0.88, above 0.71
    assert h["balance_score_values"] == pytest.approx({"hpa": 0.71, "ridge": 0.89})
    assert h["jain_fill"] == pytest.approx({"hpa": 0.55, "ridge": 0.75})
    assert h["fewer_events"] == pytest.approx(1.5 / 3 - 1)              # against the HPA, not the oracle (6 / h)
    # SLO per (window, cluster), ridge minus HPA: 0.005, 0.01 (w1), 0.02, 0.01 (w2): the worst trace is (w2, a)
    assert h["slo_not_worse"] == pytest.approx(0.02)
    assert h["slo_not_worse_trace"] == ("w2", "a")
    assert h["slo_not_worse_pooled"] == pytest.approx((0.0125 + 0.025) / 2 - (0.005 + 0.01) / 2)
    assert h["oracle_bound"] is True
    assert h["policies_hold"] is True


def test_headline_gives_the_values_behind_the_notes_as_means_over_windows(rows):
    h = X.headline(rows, NAMES, key="ridge")
    assert h["events_per_hour"] == pytest.approx({"hpa": (2.0 + 4.0) / 2, "ridge": (1.0 + 2.0) / 2})
    assert h["latency_cv_values"] == pytest.approx({"hpa": 0.2, "ridge": (0.25 + 0.35) / 2})
    assert h["windows"] == 2
    assert X.headline([r for r in rows if r["window"] == "w1"], NAMES, key="ridge")["windows"] == 1


def test_headline_oracle_bound_fails_when_perfect_foresight_has_more_slo_violations(rows):
    for r in rows:
        if r["key"] == "oracle":
            r["slo_violation"] = 0.05
    h = X.headline(rows, NAMES, key="ridge")
    assert h["oracle_bound"] is False
    assert h["oracle_bound_parts"].efficiency_holds and not h["oracle_bound_parts"].violations_holds


def test_headline_has_no_oracle_bound_without_the_perfect_foresight_run(rows):
    h = X.headline([r for r in rows if r["key"] != "oracle"], NAMES, key="ridge")
    assert h["oracle_bound"] is None and h["oracle_bound_parts"] is None
    assert math.isnan(h["stabilization_s"]["oracle"])


@pytest.mark.parametrize("field, value", [("policy_violations", 1), ("z3_disagreements", 2)])
def test_headline_policies_fail_on_one_proactive_row_that_breaks_them(rows, field, value):
    rows[3][field] = value  # ridge, second window
    assert X.headline(rows, NAMES, key="ridge")["policies_hold"] is False


def _bound(eff, slo):
    return X.OracleBound(eff, slo)


def test_oracle_bound_holds_when_no_realistic_forecaster_is_more_efficient_or_violates_less():
    b = _bound({"naive": 0.8, "ridge": 0.9, "oracle": 0.9}, {"naive": 0.01, "ridge": 0.002, "oracle": 0.002})
    assert b.efficiency_holds and b.violations_holds and b.holds  # ties respect the bound


def test_oracle_bound_fails_on_efficiency_when_a_forecaster_is_more_efficient_than_perfect_foresight():
    b = _bound({"naive": 0.8, "ridge": 0.91, "oracle": 0.9}, {"naive": 0.01, "ridge": 0.02, "oracle": 0.002})
    assert not b.efficiency_holds and b.violations_holds and not b.holds
    assert b.note().startswith("(i) efficiency <= perfect foresight's 0.900: fails (naive 0.800, ridge 0.910)")


def test_oracle_bound_fails_on_slo_when_a_forecaster_has_fewer_violations_than_perfect_foresight():
    """The default run of notebook 11: the oracle is the most efficient but two forecasters violate less."""
    b = _bound({"seasonal_naive": 0.825, "holt_winters": 0.860, "ridge": 0.870, "oracle": 0.899},
               {"seasonal_naive": 0.0030, "holt_winters": 0.0042, "ridge": 0.0065, "oracle": 0.0060})
    assert b.efficiency_holds and not b.violations_holds and not b.holds
    assert b.note().endswith("(ii) SLO violations >= perfect foresight's 0.60%: fails (seasonal naive 0.30%, "
                             "Holt-Winters 0.42%, ridge 0.65%)")


def test_oracle_bound_reads_a_summary_table_and_refuses_one_without_a_realistic_forecaster():
    s = pd.DataFrame({"key": ["hpa", "ridge", "oracle"], "efficiency": [0.99, 0.8, 0.9],
                      "slo_violation": [0.0, 0.01, 0.0]})
    b = X.oracle_bound(s)
    assert b.realistic == ["ridge"] and b.holds  # the HPA is not a forecaster: its 0.99 does not count
    assert X.oracle_bound(s[s.key != "oracle"]) is None
    with pytest.raises(ValueError, match="at least one realistic forecaster"):
        X.oracle_bound(s[s.key != "ridge"])


# ------------------------------------------------------------------------------- claim rules vs issue 14

#: issue 14, acceptance: "efficiency >= +15 %, stabilisation time -25 % or better, latency CV -20 % or better,
#: higher balance, fewer scaling events, SLO violations not worse than HPA + 1 pp; ... Erlang-C within 5 %"
#: (value -> verdict, at and around each threshold; the partly bands are this project's)
ISSUE_14 = {
    "efficiency_gain": [(0.15, "reproduced"), (0.1499, "partly"), (0.05, "partly"), (0.0499, "not reproduced")],
    "stabilization": [(-0.25, "reproduced"), (-0.2499, "partly"), (0.0, "partly"), (0.0001, "not reproduced")],
    "latency_cv": [(-0.20, "reproduced"), (-0.1999, "partly"), (0.0, "partly"), (0.0001, "not reproduced")],
    "balance_higher": [(1e-6, "reproduced"), (-1e-6, "not reproduced")],  # a tie is left to the rule's strictness
    "fewer_events": [(-0.01, "reproduced"), (0.0, "not reproduced"), (0.2, "not reproduced")],
    "slo_not_worse": [(0.01, "reproduced"), (0.0101, "partly"), (0.03, "partly"), (0.0301, "not reproduced")],
    "erlang_des": [(0.05, "reproduced"), (0.0501, "partly"), (0.08, "partly"), (0.0801, "not reproduced")],
    "oracle_bound": [(True, "reproduced"), (False, "not reproduced")],
    "policies_hold": [(True, "reproduced"), (False, "not reproduced")],
    "hpa_docs": [(True, "reproduced"), (False, "not reproduced")],
    "milp_brute_force": [(True, "reproduced"), (False, "not reproduced")],
}


@pytest.mark.parametrize("name", sorted(ISSUE_14))
def test_claim_rule_gives_issue_14_verdicts_at_its_thresholds(name):
    for value, verdict in ISSUE_14[name]:
        assert CLAIMS[name].judge(value).value == verdict, (name, value)


def test_claim_rules_and_bounds_are_issue_14_thresholds_and_the_bursty_claims_share_them():
    bounds = {"efficiency_gain": (0.15, 0.05), "stabilization": (-0.25, 0.0), "latency_cv": (-0.20, 0.0),
              "fewer_events": (-0.001,), "slo_not_worse": (0.01, 0.03), "erlang_des": (0.05, 0.08)}
    for name, b in bounds.items():
        assert CLAIMS[name].rule.bounds(CLAIMS[name].paper_value) == pytest.approx(b), name
    for name in BURSTY:
        assert CLAIMS[name + "_bursty"].rule == CLAIMS[name].rule, name
    assert "worst trace" in CLAIMS["efficiency_gain"].statement and "worst trace" in CLAIMS["slo_not_worse"].statement


# ------------------------------------------------------------------------------- oracles the notebook records


def test_hpa_documented_examples_marks_each_row_ok_exactly_when_the_result_is_the_documented_one():
    docs = X.hpa_documented_examples()
    assert docs.expected.tolist() == [10, 5, 10, 60, 72, 64, 75, [5, 10, 20], [10, 10, 10, 5]]  # from the docs
    assert docs.ok.tolist() == [e == g for e, g in zip(docs.expected, docs.got)]
    assert docs.ok.all()


def test_hpa_documented_examples_flags_a_broken_ratio_rule(monkeypatch):
    monkeypatch.setattr(X, "replica_recommendation", lambda current, metric, target, tolerance=0.1: current + 1)
    docs = X.hpa_documented_examples()
    assert docs.ok.tolist() == [False] * 4 + [True] * 5  # the four ratio-rule examples, not the behaviour ones


def test_milp_vs_brute_force_match_is_the_two_optima_agreeing():
    bf = X.milp_vs_brute_force(4, np.random.default_rng(5))
    agree = [bool(np.isclose(b, m, rtol=1e-6, atol=1e-6) or (np.isinf(b) and np.isinf(m)))
             for b, m in zip(bf.brute_force, bf.milp)]
    assert bf.match.tolist() == agree and all(agree)


def test_milp_vs_brute_force_flags_a_milp_that_misses_the_optimum(monkeypatch):
    real = X.decide

    def worse(*a, **k):
        d = real(*a, **k)
        return SimpleNamespace(objective=d.objective + 1.0, n=d.n)

    monkeypatch.setattr(X, "decide", worse)
    bf = X.milp_vs_brute_force(4, np.random.default_rng(5))
    feasible = np.isfinite(bf.brute_force.to_numpy(float))
    assert feasible.any() and not bf.match[feasible].any()


def test_erlang_vs_des_columns_are_the_closed_form_the_des_and_their_relative_error():
    des = X.erlang_vs_des([(2, 0.8), (10, 0.9)], 4000, np.random.default_rng(2))
    for r in des.itertuples():
        assert r.erlang_c_ms == pytest.approx(1000 * mmc_sojourn(r.servers, r.utilisation * r.servers * 10.0, 10.0))
        assert r.rel_error == pytest.approx(abs(r.des_ms - r.erlang_c_ms) / r.erlang_c_ms)
        assert r.rel_error > 0  # 4,000 jobs never hit the mean exactly
