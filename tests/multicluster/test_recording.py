"""11 records the nine headline claims of both federations (cluster traces, and the bursty runs with suffix _bursty)
through one function: values, verdicts, notes and metrics on a hand-written ``headline`` result, the section's own
context (``lead``, ``extra``), the not-applicable branches, and the balance-score band taken from the claim."""

import math

import pandas as pd
import pytest

from support.claims import ClaimRecorder, Verdict
from support.multicluster import recording as R
from support.multicluster.claims import BURSTY, CLAIMS, balance_score_near
from support.multicluster.experiments import OracleBound
from support.multicluster.federation import FederationConfig

CFG = FederationConfig()  # HPA target 80 %, anti-flap 10 % and 300 s
REPRODUCED, NOT_APPLICABLE = Verdict.REPRODUCED.value, Verdict.NOT_APPLICABLE.value


def _h(oracle: bool = True, large_bursts: float = 2.0, windows: int = 1, proactive_balance: float = 0.89) -> dict:
    """A headline() result written by hand: ridge against the HPA, every claim on the reproduced side of its rule."""
    bound = OracleBound({"ridge": 0.8, "oracle": 0.9}, {"ridge": 0.02, "oracle": 0.01}) if oracle else None
    return {"efficiency_gain_worst": 0.2, "efficiency_gain_federation": 0.25,
            "stabilization": -0.5, "stabilization_s": {"hpa": 400.0, "ridge": 200.0,
                                                       "oracle": 150.0 if oracle else math.nan},
            "stabilization_large": -0.4, "stabilization_large_s": {"hpa": 500.0, "ridge": 300.0, "bursts": large_bursts,
                                                                   "of_bursts": 7.0, "tolerance": 0.1},
            "recovery_s": {"hpa": 90.0, "ridge": 45.0, "oracle": 0.0},
            "latency_cv": -0.3, "latency_cv_values": {"hpa": 0.2, "ridge": 0.14},
            "balance_higher": 0.05, "balance_score": True,
            "balance_score_values": {"hpa": 0.71, "ridge": proactive_balance},
            "jain_fill": {"hpa": 0.5, "ridge": 0.6}, "fewer_events": -0.5, "events_per_hour": {"hpa": 2.0, "ridge": 1.0},
            "slo_not_worse": 0.005, "slo_not_worse_trace": ("w2", "b"), "slo_not_worse_pooled": 0.004,
            "windows": windows, "oracle_bound": True if oracle else None, "oracle_bound_parts": bound,
            "policies_hold": True}


def _record(tmp_path, h, **kw):
    rec = ClaimRecorder(CLAIMS, "default", tmp_path)
    R.record_headline_claims(rec, h, "ridge", CFG, **kw)
    return rec


def test_the_nine_claims_are_recorded_with_their_values_and_verdicts(tmp_path):
    rec = _record(tmp_path, _h())
    m = rec.measurements
    assert set(m) == set(BURSTY)
    # efficiency_gain is the worst cluster's 0.2 (>= 0.15), not the federation's 0.25
    assert {n: m[n].measured for n in BURSTY} == {
        "efficiency_gain": 0.2, "stabilization": -0.5, "latency_cv": -0.3, "balance_higher": 0.05,
        "balance_score": True, "fewer_events": -0.5, "slo_not_worse": 0.005, "oracle_bound": True, "policies_hold": True}
    assert {m[n].verdict for n in BURSTY} == {REPRODUCED}
    assert rec.metrics == {"efficiency_gain_federation": 0.25, "balance_score_values": {"hpa": 0.71, "ridge": 0.89},
                           "jain_fill": {"hpa": 0.5, "ridge": 0.6}}


def test_a_value_on_the_wrong_side_of_its_rule_is_not_reproduced(tmp_path):
    h = {**_h(), "efficiency_gain_worst": 0.01, "slo_not_worse": 0.05}  # below partly's 0.05; above partly's 0.03
    m = _record(tmp_path, h).measurements
    assert m["efficiency_gain"].verdict == m["slo_not_worse"].verdict == Verdict.NOT_REPRODUCED.value


def test_the_notes_both_federations_share(tmp_path):
    m = _record(tmp_path, _h()).measurements
    assert m["efficiency_gain"].note == "forecaster ridge; HPA target 80%; worst cluster; federation level +0.250"
    assert m["stabilization"].note == (
        "HPA 400 s, ridge 200 s, perfect foresight 150 s, with the proactive anti-flap rule (10%, 300 s); bursts are "
        "each cluster's top 2.5% of interval-to-interval changes; a change of 0 (no faster) reads partly; over the 2 "
        "of 7 bursts beyond the HPA's 10% tolerance (a sensitivity): HPA 500 s, ridge 300 s (-40%); this measures the "
        "replicas, not the service (a controller that never scales scores 0 s); time until the latency meets the SLO "
        "for good after a burst (a companion, not a claim): HPA 90 s, ridge 45 s")
    assert m["latency_cv"].note == "HPA at 80%: CV 0.2000, ridge 0.1400; a change of 0 (no less variable) reads partly"
    assert m["balance_higher"].note == ("Jain on pod utilisation saturates when every cluster is sized to its own "
                                        "load; on cluster fill (busy / capacity) HPA 0.500, ridge 0.600")
    assert m["balance_score"].note == "1 - CV: ridge 0.890 (±10% of 0.88: yes), HPA 0.710"
    assert m["fewer_events"].note == "1.00 vs 2.00 per hour (per cluster)"
    assert m["slo_not_worse"].note == "worst trace b; pooled over the clusters +0.40 pp"
    assert m["oracle_bound"].note == ("(i) efficiency <= perfect foresight's 0.900: holds (ridge 0.800); (ii) SLO "
                                      "violations >= perfect foresight's 1.00%: holds (ridge 2.00%)")
    assert m["policies_hold"].note == "z3 on every executed action, Rego on a sample"


def test_a_section_adds_its_context_after_the_first_part_and_a_lead_before_the_held_back_claims(tmp_path):
    m = _record(tmp_path, _h(), suffix="_bursty", lead="indicative only: 3 bursts in 16 held-back minutes",
                extra={"stabilization": "without it 350 s", "oracle_bound": "bounds interval-mean forecasting only"}
                ).measurements
    assert set(m) == {n + "_bursty" for n in BURSTY}
    for name in R.HELD_BACK:
        assert m[name + "_bursty"].note.startswith("indicative only: 3 bursts in 16 held-back minutes; ")
    assert m["policies_hold_bursty"].note == "z3 on every executed action, Rego on a sample"  # every action: no lead
    assert m["stabilization_bursty"].note.startswith(
        "indicative only: 3 bursts in 16 held-back minutes; HPA 400 s, ridge 200 s, perfect foresight 150 s, with the "
        "proactive anti-flap rule (10%, 300 s); without it 350 s; bursts are each")
    assert m["oracle_bound_bursty"].note.endswith("holds (ridge 2.00%); bounds interval-mean forecasting only")


def test_the_worst_trace_names_its_window_only_when_several_windows_ran(tmp_path):
    m = _record(tmp_path, _h(windows=3)).measurements
    assert m["slo_not_worse"].note == "worst trace b in window w2; pooled over the clusters +0.40 pp"


def test_without_the_perfect_foresight_run_its_bound_is_not_applicable_and_its_time_left_out(tmp_path):
    m = _record(tmp_path, _h(oracle=False)).measurements
    assert m["oracle_bound"].verdict == NOT_APPLICABLE
    assert m["oracle_bound"].note == "the perfect-foresight controller was not run at this scale"
    assert m["stabilization"].note.startswith("HPA 400 s, ridge 200 s, with the proactive anti-flap rule")


def test_without_large_bursts_the_sensitivity_says_none_went_beyond_the_tolerance(tmp_path):
    m = _record(tmp_path, _h(large_bursts=0.0)).measurements
    assert "reads partly; none of the 7 bursts goes beyond the HPA's 10% tolerance; this measures" in m["stabilization"].note


@pytest.mark.parametrize(("proactive", "near"), [(0.96, "yes"), (0.80, "yes"), (0.98, "no"), (0.78, "no")])
def test_the_balance_score_note_says_whether_the_value_is_in_the_claims_band(tmp_path, proactive, near):
    m = _record(tmp_path, _h(proactive_balance=proactive)).measurements  # 0.88 ± 10 %: [0.792, 0.968]
    assert m["balance_score"].note == f"1 - CV: ridge {proactive:.3f} (±10% of 0.88: {near}), HPA 0.710"


def test_balance_score_near_is_the_claims_band_around_0_88():
    assert balance_score_near(0.88) and balance_score_near(0.967) and balance_score_near(0.793)
    assert not balance_score_near(0.969) and not balance_score_near(0.791) and not balance_score_near(math.nan)


def test_an_extra_note_for_no_headline_claim_is_refused_naming_it(tmp_path):
    with pytest.raises(ValueError, match=r"extra names no headline claim: stabilisation; the claims are "):
        _record(tmp_path, _h(), extra={"stabilisation": "typo"})


def test_a_stopped_headline_run_marks_every_claim_of_its_federation_not_applicable(tmp_path):
    rec = ClaimRecorder(CLAIMS, "default", tmp_path)
    R.mark_headline_not_applicable(rec, "_bursty", "the ridge run stopped: infeasible")
    assert set(rec.measurements) == {n + "_bursty" for n in BURSTY}
    assert {(m.verdict, m.note) for m in rec.measurements.values()} == {
        (NOT_APPLICABLE, "the ridge run stopped: infeasible")}


@pytest.fixture
def sweep():
    return pd.DataFrame({"target": [0.9, 0.7, 0.8], "efficiency": [0.88, 0.69, 0.79],
                         "latency_cv": [0.31, 0.0006, 0.01], "slo_violation": [0.05, 0.0, 0.0]})


def test_the_latency_sweep_note_compares_at_matched_efficiency(sweep):
    # efficiency 0.835 is halfway from 80 % (CV 0.01) to 90 % (CV 0.31): CV 0.16 there, so 0.13 is 0.13/0.16 - 1 = -19 %
    assert R.latency_sweep_note(sweep, {"efficiency": 0.835, "latency_cv": 0.13}, "ridge") == (
        "at matched efficiency (HPA sweep interpolated at 0.835) the change is -19%; at no single HPA target of the "
        "sweep is ridge both more efficient and less variable; HPA latency CV along its sweep: 90% 0.3100, 70% 0.0006, "
        "80% 0.0100")
    # 0.85 beats 70 % and 80 % on efficiency; CV 0.005 beats 80 % (0.01) and 90 %, not 70 % (0.0006)
    assert "both more efficient and less variable: 80%;" in R.latency_sweep_note(
        sweep, {"efficiency": 0.85, "latency_cv": 0.005}, "ridge")


def test_the_held_back_sample_counts_the_hpa_runs_bursts():
    rows = [{"key": "hpa", "bursts": 3}, {"key": "ridge", "bursts": 3}]
    assert R.held_back_sample(rows, 16 * 60) == "3 bursts in 16 held-back minutes"
    with pytest.raises(ValueError, match="exactly one HPA run"):
        R.held_back_sample(rows + [{"key": "hpa", "bursts": 4}], 960)
