"""What the notebook records for the gloo peer and the HR/Balance bars, and the model errors it reports, on hand-made
results whose claims, notes and metrics are known; each recorded through the real claim rules."""

from __future__ import annotations

import math

import nbformat
import pandas as pd
import pytest

from support.claims import ClaimRecorder, Verdict
from support.paths import REPO_ROOT
from support.r2ccl import experiments as ex
from support.r2ccl.claims import CLAIMS

NOTEBOOK = REPO_ROOT / "notebooks" / "12_r2ccl.ipynb"
R, P, N, NA = (v.value for v in (Verdict.REPRODUCED, Verdict.PARTLY, Verdict.NOT_REPRODUCED, Verdict.NOT_APPLICABLE))


def _record(tmp_path, values: dict, scale: str = "default") -> dict:
    nb = ClaimRecorder(CLAIMS, scale, tmp_path)
    nb.record_all(values)
    return nb.measurements


# ------------------------------------------------------------------------------------------ HR over Balance

@pytest.mark.parametrize(("k", "ratio"), [(2, 1.0), (3, 4 / 3), (4, 1.5), (8, 1.75), (16, 1.875)])
def test_bandwidth_theory_of_hr_over_balance_is_two_times_k_minus_one_over_k(k, ratio):
    # hot repair: the backup NIC carries 2 lanes of k (2x); Balance: k lanes over k - 1 NICs (k/(k-1)x)
    assert ex.hot_repair_over_balance_theory(k) == pytest.approx(ratio, rel=1e-12)


def test_bandwidth_theory_matches_the_claims_paper_values_at_three_and_four_nics():
    assert round(ex.hot_repair_over_balance_theory(3), 2) == CLAIMS["balance_over_hot_repair"].paper_value
    assert ex.hot_repair_over_balance_theory(4) == pytest.approx(CLAIMS["balance_over_hot_repair_k4"].paper_value)


def test_bandwidth_theory_refuses_a_single_nic():
    with pytest.raises(ValueError, match="nics"):
        ex.hot_repair_over_balance_theory(1)


def test_balance_bars_record_the_ratio_for_the_testbeds_k_and_leave_the_other_bar_not_applicable():
    c = ex.balance_bar_claims(1.25, 3, "NOTE")
    assert c == {"balance_over_hot_repair": (1.25, "k=3; HR/Balance of the per-method medians; NOTE"),
                 "balance_over_hot_repair_k4": (None, "this bar is for k=4 NICs and the testbed has k=3")}
    c = ex.balance_bar_claims(1.25, 4, "NOTE")
    assert c == {"balance_over_hot_repair": (None, "this bar is for k=3 NICs and the testbed has k=4"),
                 "balance_over_hot_repair_k4": (1.25, "k=4; HR/Balance of the per-method medians; NOTE")}


def test_balance_bars_at_a_k_without_a_bar_give_the_measured_ratio_beside_the_theory():
    c = ex.balance_bar_claims(1.046, 2, "NOTE")
    tail = " (bars exist for k = 3 and 4 only; measured 1.05x, theory 1.00x)"
    assert c == {"balance_over_hot_repair": (None, "this bar is for k=3 NICs and the testbed has k=2" + tail),
                 "balance_over_hot_repair_k4": (None, "this bar is for k=4 NICs and the testbed has k=2" + tail)}
    assert "theory 1.75x)" in ex.balance_bar_claims(1.5, 8, "")["balance_over_hot_repair"][1]


K3, K4 = "balance_over_hot_repair", "balance_over_hot_repair_k4"


@pytest.mark.parametrize(("k", "ratio", "judged", "other", "verdict"), [
    (3, 1.1, K3, K4, R), (3, 1.09, K3, K4, P), (3, 1.0, K3, K4, P), (3, 0.99, K3, K4, N),  # AtLeast(1.1, partly=1)
    (4, 1.2, K4, K3, R), (4, 1.19, K4, K3, P), (4, 0.99, K4, K3, N),  # AtLeast(1.2, partly=1.0)
])
def test_the_recorded_bar_is_judged_by_its_own_rule(tmp_path, k, ratio, judged, other, verdict):
    m = _record(tmp_path, ex.balance_bar_claims(ratio, k, "n"))
    assert m[judged].measured == ratio and m[judged].verdict == verdict
    assert m[other].measured is None and m[other].verdict == NA


def test_the_bars_are_not_judged_at_smoke_scale(tmp_path):
    m = _record(tmp_path, ex.balance_bar_claims(1.5, 3, "n"), scale="smoke")
    assert m["balance_over_hot_repair"].verdict == NA and "checked only at scale" in m["balance_over_hot_repair"].note


# ------------------------------------------------------------------------------------------ model errors

MED = pd.DataFrame({"method": ["hot_repair", "balance", "resilient"], "slowdown": [2.0, 1.5, 1.25],
                    "post_s": [4.0, 3.0, 2.5]})


def test_sim_error_of_the_absolute_times_is_the_largest_relative_error_over_methods():
    # |4.4 - 4| / 4 = 0.1, |2.85 - 3| / 3 = 0.05, |2.5 - 2.5| = 0
    assert ex.sim_error(MED, {"hot_repair": 4.4, "balance": 2.85, "resilient": 2.5}, col="post_s") \
        == pytest.approx(0.1)


def test_sim_error_judges_the_slowdowns_by_default():
    # |1.8 - 2| / 2 = 0.1, |1.8 - 1.5| / 1.5 = 0.2
    assert ex.sim_error(MED, {"hot_repair": 1.8, "balance": 1.8, "resilient": 1.25}) == pytest.approx(0.2)


def test_sim_error_is_nan_when_any_methods_median_is_nan_not_only_the_first():
    med = MED.assign(slowdown=[2.0, float("nan"), 1.25])  # Python's max() would return 0.1 here
    err = ex.sim_error(med, {"hot_repair": 1.8, "balance": 1.8, "resilient": 1.25})
    assert math.isnan(err) and CLAIMS["sim_predicts_testbed"].judge(err) is Verdict.NOT_REPRODUCED


# ------------------------------------------------------------------------------------------ gloo

def _gloo(**kw) -> dict:
    g = {"t_healthy": 0.5, "algbw_mbit": 30.0, "fault_injected": True, "fault_landed": True,
         "error": "Timed out waiting 3000ms for recv operation to complete", "error_after_s": 3.24, "pg_timeout": 3.0,
         "pg_dead": True, "probe_error": "Connection closed by peer"}
    return {**g, **kw}


def test_gloo_metrics_compare_our_bandwidth_in_total_and_per_nic():
    m = ex.gloo_metrics({"algbw_on_mbit": 91.04}, _gloo(algbw_mbit=30.0), 3)
    assert m == {"ours_algbw_mbit": 91.0, "gloo_algbw_mbit": 30.0, "ours_over_gloo": 3.03,
                 "ours_over_gloo_per_nic": 1.01}  # 91.04 / 30 = 3.0347; / 3 NICs = 1.0116


def test_gloo_metrics_are_none_when_gloo_did_not_run():
    assert ex.gloo_metrics({"algbw_on_mbit": 91.0}, {"error_setup": "no torch"}, 3) == {}
    assert ex.gloo_metrics({"algbw_on_mbit": 91.0}, {}, 3) == {}


def test_gloo_that_raised_and_stayed_dead_reproduces_the_abort(tmp_path):
    value, note = ex.gloo_abort_claim(_gloo())
    assert value is True
    assert note == ("gloo raised after 3.2 s (timeout 3.0 s): Timed out waiting 3000ms for recv operation to complete; "
                    "with the link healed, one more allreduce on every rank failed Connection closed by peer")
    assert _record(tmp_path, {"stock_library_aborts": (value, note)})["stock_library_aborts"].verdict == R


def test_gloo_whose_group_survived_the_healed_link_does_not_reproduce_the_abort(tmp_path):
    value, note = ex.gloo_abort_claim(_gloo(pg_dead=False))
    assert value is False and note.endswith("one more allreduce on every rank succeeded")
    assert _record(tmp_path, {"stock_library_aborts": (value, note)})["stock_library_aborts"].verdict == N


def test_gloo_that_raised_nothing_does_not_reproduce_the_abort():
    value, note = ex.gloo_abort_claim(_gloo(error=None, pg_dead=None))
    assert value is False
    assert note == "gloo raised nothing; with the link healed, one more allreduce on every rank not run"


def test_gloo_error_is_cut_to_90_characters_in_the_note():
    _, note = ex.gloo_abort_claim(_gloo(error="x" * 200))
    assert f": {'x' * 90}; with" in note


@pytest.mark.parametrize(("gl", "reason"), [
    (_gloo(fault_landed=False), "the link-down took effect after gloo's last allreduce had ended: it tested nothing"),
    (_gloo(fault_landed=False, fault_injected=False), "loopback fallback: gloo's sockets cannot be faulted"),
    ({"error_setup": "gloo: torch is not installed"}, "gloo: torch is not installed"),
    ({}, "gloo not run"),
])
def test_gloo_run_that_tested_nothing_leaves_the_abort_claim_not_applicable(tmp_path, gl, reason):
    assert ex.gloo_abort_claim(gl) == (None, reason)
    m = _record(tmp_path, {"stock_library_aborts": ex.gloo_abort_claim(gl)})["stock_library_aborts"]
    assert m.verdict == NA and m.note == reason


def test_notebook_records_these_claims_through_the_tested_functions():
    code = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")
    for call in ("ex.gloo_metrics(ov, gl, K)", "ex.gloo_abort_claim(gl)", "ex.balance_bar_claims(ratio, K, reps_note)",
                 'ex.sim_error(sd, pred_s, col="post_s")', "ex.lossless_failover_claim(camp, missing)",
                 "ex.resilient_exact_claim(per_rep, H)"):
        assert call in code, call
    for inline in ("2 * (K - 1) / K", '"stock_library_aborts",', '"balance_over_hot_repair"', 'sd["post_s"]',
                   'nb.record("lossless_failover"', 'nb.record("resilient_allreduce_exact"'):
        assert inline not in code, inline


# ------------------------------------------------------------------------------------------ failover campaign

def _camp(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["fault", "completed", "exact"])


def test_a_campaign_whose_failures_all_completed_exactly_is_lossless(tmp_path):
    camp = _camp([("link_down", True, True), ("nft_drop", True, True), ("link_down", True, True)])
    value, note = ex.lossless_failover_claim(camp, ["blackhole"])
    assert value is True
    assert note == ("3 injected failures that took effect during a collective (link_down, nft_drop); bit-exact vs "
                    "NumPy on every rank; not injectable here: blackhole")


@pytest.mark.parametrize("row", [("link_down", False, True), ("link_down", True, False)])
def test_one_failure_that_aborted_or_corrupted_the_job_is_not_lossless(tmp_path, row):
    camp = _camp([("nft_drop", True, True), row])
    assert ex.lossless_failover_claim(camp)[0] is False
    assert _record(tmp_path, {"lossless_failover": ex.lossless_failover_claim(camp)})["lossless_failover"].verdict == N


def test_an_empty_campaign_is_not_applicable_instead_of_vacuously_lossless(tmp_path):
    value, note = ex.lossless_failover_claim(_camp([]), [])
    assert value is None and note == "no injected failure took effect during a collective"
    assert _record(tmp_path, {"lossless_failover": (value, note)})["lossless_failover"].verdict == NA


def _reps(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["method", "exact", "algo_after"])


def test_resilient_jobs_that_were_exact_and_used_the_split_reproduce():
    per_rep = _reps([("resilient", True, "resilient"), ("balance", True, "ring"), ("resilient", True, "resilient")])
    assert ex.resilient_exact_claim(per_rep, 3) == (
        True, "2 resilient job(s): allreduces after the failure used the R2CCL split with the degraded host localized")


@pytest.mark.parametrize("row", [("resilient", False, "resilient"), ("resilient", True, "ring")])
def test_a_resilient_job_that_was_inexact_or_fell_back_to_the_ring_does_not(row):
    per_rep = _reps([("resilient", True, "resilient"), row])
    assert ex.resilient_exact_claim(per_rep, 4)[0] is False


def test_resilient_claim_is_not_applicable_below_three_hosts_or_without_resilient_jobs():
    per_rep = _reps([("resilient", True, "resilient")])
    assert ex.resilient_exact_claim(per_rep, 2) == (None, "needs >= 3 hosts to localize the degraded server")
    assert ex.resilient_exact_claim(_reps([("balance", True, "ring")]), 3) == (None, "no resilient job ran")
