"""The functions whose values the notebook records, on scripted jobs: slowdowns over reps, the no-fault
overhead, the inference model, the campaign table, the gloo fault's landing, and the parameter checks."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from support.r2ccl import experiments as ex
from support.r2ccl import simulator as sim
from support.r2ccl.testbed import Fault, JobResult
from support.validate import ParameterError

TB = SimpleNamespace(hosts=3, nics=3, mode="netns", up=True)


def _job(durations, faults=(), land_in: int | None = None, frac: float = 0.5, algo: str = "ring") -> JobResult:
    """A finished 2-rank job whose op j lasts ``durations[j]`` s on both ranks (ends at 100 + the running sum);
    its first fault took effect at ``frac`` of op ``land_in`` (None: never)."""
    ends = 100.0 + np.cumsum(durations)
    ops = [{"seconds": float(d), "t_end": float(e), "algo": algo} for d, e in zip(durations, ends)]
    faults = list(faults)
    if faults and land_in is not None:
        start = ends[land_in - 1] if land_in > 0 else 100.0
        faults[0].injected_at = float(start + frac * durations[land_in])
    t_fail = faults[0].injected_at if faults and faults[0].injected_at else None
    rank = {"ops": ops, "first_resend": None if t_fail is None else t_fail + 0.3,
            "detections": [] if t_fail is None else [(t_fail + 0.25, 0, 2, "silence")]}
    return JobResult([rank, dict(rank)], faults, wall_s=float(ends[-1] - 100), exact=True)


def _failover_script(healthy: float, post: float) -> list[float]:
    # before = 3, after = 4: op 0 warm-up, ops 1-2 healthy, op 3 the failure (long), op 4 settles, ops 5-7 post
    return [9.0, healthy, healthy, 5.0, 3.0, post, post, post]


# slowdown = post / healthy per rep; medians (not means) hot repair 2.0, Balance 1.5, resilient 1.3, from
# different healthy times
SCRIPT = {"hot_repair": [(1.0, 2.0), (1.0, 1.8), (0.8, 1.92)],
          "balance": [(0.5, 0.75), (0.5, 0.7), (0.4, 0.76)],
          "resilient": [(0.5, 0.65), (0.5, 0.6), (0.5, 0.8)]}


def _scripted_run_job(calls, land=lambda m, attempt: 3):
    """A stand-in for run_job: the failover job of SCRIPT[method][rep] (rep = the seed failover_run passes),
    its fault landing in op ``land(method, attempt)``; each call is appended to ``calls``."""
    def run_job(tb, ops, method, faults, seed, **kw):
        attempt = sum(1 for c in calls if c[:2] == (method, seed))
        calls.append((method, seed, attempt))
        assert len(ops) == 8 and faults[0].at_op == 3
        return _job(_failover_script(*SCRIPT[method][seed]), faults, land_in=land(method, attempt), algo=method)

    return run_job


def test_failover_slowdowns_alternate_the_methods_and_divide_the_post_failure_median_by_the_healthy_one(monkeypatch):
    # the failure op (5 s) and the op after it (3 s) enter neither median (notes §4.2: steady state after the failure)
    calls = []
    monkeypatch.setattr(ex, "run_job", _scripted_run_job(calls))
    per_rep, jobs = ex.failover_slowdowns(TB, 1000, reps=3)
    assert [c[0] for c in calls] == list(ex.METHODS) * 3
    assert per_rep["rep"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    want = {m: [p / h for h, p in SCRIPT[m]] for m in ex.METHODS}
    for m in ex.METHODS:
        got = per_rep[per_rep["method"] == m]
        assert got["slowdown"].tolist() == pytest.approx(want[m], rel=1e-12)
        assert got["healthy_s"].tolist() == pytest.approx([h for h, _ in SCRIPT[m]], rel=1e-12)
        assert got["failure_op_s"].tolist() == pytest.approx([5.0] * 3, rel=1e-12)
    assert per_rep["recovery_s"].tolist() == pytest.approx([0.3] * 9) and (per_rep["reruns"] == 0).all()
    assert set(jobs) == set(ex.METHODS)


def test_the_healthy_time_leaves_out_the_warm_up_op(monkeypatch):
    """Ops 1 and 2 take 1.0 s and 1.2 s, the warm-up op 0 takes 9 s: the healthy time is their median 1.1 s (with op 0
    it would be 1.2 s), so the slowdown of a 2.2 s post-failure op is exactly 2."""
    def run_job(tb, ops, method, faults, seed, **kw):
        return _job([9.0, 1.0, 1.2, 5.0, 3.0, 2.2, 2.2, 2.2], faults, land_in=3, algo=method)
    monkeypatch.setattr(ex, "run_job", run_job)
    per_rep, _ = ex.failover_slowdowns(TB, 1000, methods=("balance",))
    assert per_rep["healthy_s"].tolist() == pytest.approx([1.1], rel=1e-12)
    assert per_rep["slowdown"].tolist() == pytest.approx([2.0], rel=1e-12)


def test_balance_over_hot_repair_and_the_model_error_are_judged_on_per_method_medians_over_reps(monkeypatch):
    monkeypatch.setattr(ex, "run_job", _scripted_run_job([]))
    per_rep, _ = ex.failover_slowdowns(TB, 1000, reps=3)
    med = ex.slowdown_medians(per_rep).set_index("method")
    assert med.loc["hot_repair", "slowdown"] == pytest.approx(2.0)  # median of 2.0, 1.8, 2.4
    assert med.loc["balance", "slowdown"] == pytest.approx(1.5)  # median of 1.5, 1.4, 1.9
    assert med.loc["resilient", "slowdown"] == pytest.approx(1.3)  # median of 1.3, 1.2, 1.6
    assert med["reps"].tolist() == [3, 3, 3] and med["exact"].all()
    assert ex.balance_over_hot_repair(med.reset_index()) == pytest.approx(2.0 / 1.5)
    pred = {"hot_repair": 1.8, "balance": 1.5, "resilient": 1.43}
    assert ex.sim_error(med.reset_index(), pred) == pytest.approx(0.1)  # |1.8 - 2| / 2 and |1.43 - 1.3| / 1.3
    note = ex.per_rep_note(per_rep)
    assert "hot_repair: 2.00x (2.00, 1.80, 2.40)" in note and "balance: 1.50x (1.50, 1.40, 1.90)" in note


def test_a_rep_whose_fault_missed_the_failure_op_is_run_again(monkeypatch):
    # the first try's fault takes effect in op 4 (after the failure op ended): re-run, and only the re-run counts
    calls = []
    monkeypatch.setattr(ex, "run_job", _scripted_run_job(calls, land=lambda m, a: 4 if (m, a) == ("balance", 0) else 3))
    per_rep, _ = ex.failover_slowdowns(TB, 1000, reps=1)
    assert [c[0] for c in calls] == ["hot_repair", "balance", "balance", "resilient"]
    assert per_rep.set_index("method")["reruns"].to_dict() == {"hot_repair": 0, "balance": 1, "resilient": 0}


def _failing_first(run_job, method: str, tries: int):
    """``run_job``, except that the first ``tries`` jobs of ``method`` end with an error on rank 1."""
    seen = []

    def run(tb, ops, m, faults, seed, **kw):
        r = run_job(tb, ops, m, faults, seed, **kw)
        if m == method and len(seen) < tries:
            seen.append(m)
            r.errors = {1: "AllNicsFailed: rank 1: every NIC towards rank 0 is dead"}
        return r

    return run


def test_a_rep_whose_failover_job_failed_is_run_again_and_the_error_is_kept_in_its_row(monkeypatch):
    calls = []
    monkeypatch.setattr(ex, "run_job", _failing_first(_scripted_run_job(calls), "balance", 1))
    per_rep, _ = ex.failover_slowdowns(TB, 1000, reps=1)
    assert [c[0] for c in calls] == ["hot_repair", "balance", "balance", "resilient"]
    row = per_rep.set_index("method").loc["balance"]
    assert row["reruns"] == 1 and row["slowdown"] == pytest.approx(0.75 / 0.5)
    assert row["failed_try_errors"] == "rank 1: AllNicsFailed: rank 1: every NIC towards rank 0 is dead"
    assert per_rep.set_index("method").loc["hot_repair", "failed_try_errors"] == ""


def test_a_failover_job_that_fails_twice_is_an_error_naming_the_method_and_the_errors(monkeypatch):
    monkeypatch.setattr(ex, "run_job", _failing_first(_scripted_run_job([]), "resilient", 2))
    with pytest.raises(RuntimeError, match="resilient: the failover job failed in the second try too: .*AllNicsFailed"):
        ex.failover_slowdowns(TB, 1000, reps=1)


def test_a_fault_that_misses_the_failure_op_twice_is_an_error_naming_the_method(monkeypatch):
    monkeypatch.setattr(ex, "run_job", _scripted_run_job([], land=lambda m, a: 2 if m == "resilient" else 3))
    with pytest.raises(RuntimeError, match="resilient: the NIC failure did not land in op 3"):
        ex.failover_slowdowns(TB, 1000, reps=1)


@pytest.mark.parametrize("land_in,frac,inside", [(3, 0.5, True), (3, 1.0, True), (2, 0.9, False), (4, 0.1, False),
                                                  (None, 0.5, False), (2, 1.0, False)])
def test_a_fault_is_in_op_j_when_it_lands_after_every_rank_ended_op_j_minus_1_and_before_all_ended_op_j(
        land_in, frac, inside):
    # the ops' spans are half-open, (end of op j-1, end of op j]: a fault at the very end of op 2 (frac 1.0) is op
    # 2's, as one at the end of op 3 is op 3's, and never both
    r = _job(_failover_script(1.0, 2.0), [Fault("link_down", 1, 2, at_op=3)], land_in=land_in, frac=frac)
    assert ex.fault_in_op(r, 3) is inside


@pytest.mark.parametrize("land_in,frac,rank0_began,want", [(3, 0.5, None, 3), (4, 0.01, +0.01, 4), (4, 0.01, -0.01, None),
                                                           (4, 0.5, None, None), (2, 0.9, None, None)])
def test_the_failure_op_is_op_3_or_op_4_when_the_fault_took_effect_after_op_3_ended_and_before_rank_0_began_op_4(
        land_in, frac, rank0_began, want):
    # run_job(hold=True) makes every rank wait there for an injection slower than op 3; rank0_began: when rank 0
    # began op 4, relative to the fault (None: not recorded)
    r = _job(_failover_script(1.0, 2.0), [Fault("link_down", 1, 2, at_op=3)], land_in=land_in, frac=frac)
    if rank0_began is not None:
        r.op_starts = {4: r.faults[0].injected_at + rank0_began}
    assert ex.failure_op(r, 3) == want


def test_a_rep_whose_fault_met_op_4_first_is_timed_from_op_4(monkeypatch):
    # The injection outlasted op 3 and took effect before op 4 began: ops 1-3 healthy (1 s), op 4 the failure (5 s),
    # op 5 settles (3 s), ops 6-7 post (1.8 s and 2.2 s): slowdown 2.0 / 1.0, no re-run. Timed from op 3 it would be
    # a failure op of 1 s and a post median of (3, 1.8, 2.2) = 2.2 s.
    calls = []

    def run_job(tb, ops, method, faults, seed, **kw):
        calls.append(method)
        r = _job([9.0, 1.0, 1.0, 1.0, 5.0, 3.0, 1.8, 2.2], faults, land_in=4, frac=0.01)
        r.op_starts = {4: faults[0].injected_at + 0.01}
        return r

    monkeypatch.setattr(ex, "run_job", run_job)
    per_rep, _ = ex.failover_slowdowns(TB, 1000, methods=("balance",))
    row = per_rep.iloc[0]
    assert calls == ["balance"] and row["reruns"] == 0 and row["failure_op"] == 4
    assert row["healthy_s"] == pytest.approx(1.0) and row["failure_op_s"] == pytest.approx(5.0)
    assert row["post_s"] == pytest.approx(2.0) and row["slowdown"] == pytest.approx(2.0)


def test_no_fault_overhead_times_failover_on_against_failover_off(monkeypatch):
    # failover off is policy "none" without the reliable transport; on is Balance with it; op 0 warms up and
    # is dropped: 1.02 s against 1.00 s is a 2 % time increase
    calls = []

    def run_job(tb, ops, policy, faults=None, cfg=None, **kw):
        calls.append((policy, cfg.reliable))
        d = 1.02 if policy == "balance" else 1.0
        return _job([7.0] + [d] * (len(ops) - 1))

    monkeypatch.setattr(ex, "run_job", run_job)
    ov = ex.no_fault_overhead(TB, 1000, reps=3, rounds=2)
    assert calls == [("none", False), ("balance", True)] * 2
    assert ov["t_on"] == pytest.approx(1.02) and ov["t_off"] == pytest.approx(1.0)
    assert ov["overhead_pct"] == pytest.approx(2.0)
    assert len(ov["samples_on"]) == len(ov["samples_off"]) == 4


def test_inference_overhead_at_two_servers_is_the_hand_computed_token_time_increase_plus_the_stall():
    # PAPER cluster, 2 servers x 8 NICs at 46 GB/s, alpha 8 us: an allreduce of 1 MiB takes 2 alpha plus the
    # busiest NIC's bytes (S/8 healthy, S/7 with Balance; a ring over 2 servers moves S per NIC set) plus one fill
    # piece (S/16) over B; a token is 30 ms + 160 allreduces; the 0.5 s stall per 600 s window adds 0.0833 pp
    s, bw = 1024 * 1024, 46e9
    t_h = 16e-6 + (s / 8 + s / 16) / bw
    t_b = 16e-6 + (s / 7 + s / 16) / bw
    want = 100 * ((0.030 + 160 * t_b) / (0.030 + 160 * t_h) - 1 + 0.5 / 600)
    serve = ex.paper_overheads()["serve"]
    assert serve["balance"] == pytest.approx(want, rel=1e-9)
    assert serve["resilient"] == pytest.approx(want, rel=1e-9)  # 2 servers: no healthy sub-ring, the split is Balance
    assert sim.inference_overhead(sim.ServingJob(), sim.PAPER, "hot_repair") > want


def test_campaign_resends_are_counted_once_per_job():
    # a job's frames_resent is repeated on each of its fault rows: job 1 had two link-downs and re-sent 5 frames
    camp = pd.DataFrame({"job": [1, 1, 2, 3], "method": ["balance"] * 3 + ["hot_repair"],
                         "fault": ["link_down", "link_down", "link_down", "blackhole"],
                         "exact": [True] * 4, "completed": [True] * 4, "frames_resent": [5, 5, 3, 7]})
    tab = ex.campaign_table(camp)
    assert tab.loc[("balance", "link_down")].to_dict() == {"faults": 3, "jobs": 2, "exact": True, "completed": True,
                                                           "frames_resent": 8}
    assert tab.loc[("hot_repair", "blackhole"), "frames_resent"] == 7


def test_fault_kinds_the_testbed_cannot_inject_are_listed(monkeypatch):
    monkeypatch.setattr(ex, "nft_available", lambda: False)
    assert ex.unavailable_fault_kinds(SimpleNamespace(mode="netns")) == ["nft_drop"]
    assert ex.unavailable_fault_kinds(SimpleNamespace(mode="loopback")) == list(ex.FAULT_KINDS[:4])


@pytest.mark.parametrize("injected,error,landed", [(None, None, False), (+1.0, None, False), (-0.1, None, True),
                                                   (+1.0, "Timed out", True)])
def test_the_gloo_fault_counts_only_if_it_broke_an_op_or_took_effect_before_the_last_op_ended(
        monkeypatch, injected, error, landed):
    # a link-down after gloo's last allreduce ended tests nothing: the notebook then records "not applicable"
    from support.r2ccl import gloo_baseline

    def run_gloo(tb, n, iters, nic, fault, pg_timeout):
        ops = [{"seconds": 0.2, "t_end": 100.0 + 0.2 * j} for j in range(iters if error is None else iters - 1)]
        fault.injected_at = None if injected is None else ops[-1]["t_end"] + injected
        rk = {"ops": ops, "exact": True, "error": error, "error_after_s": 3.0 if error else None,
              "pg_dead": True if error else None, "probe_error": None}
        return {"ranks": [rk, dict(rk)], "errors": {}, "pg_timeout": pg_timeout}

    monkeypatch.setattr(gloo_baseline, "run_gloo", run_gloo)
    g = ex.gloo_compare(SimpleNamespace(mode="netns"), 1000, iters=4)
    assert g["fault_injected"] and g["fault_landed"] is landed


@pytest.mark.parametrize("good", [(0, 0, 0.0, 0), (2, 2, 0.5, 1), (3, 16, 20, 50), (254, 2, 1, 1)])
def test_notebook_parameters_in_range_pass(good):
    ex.check_parameters(*good)


@pytest.mark.parametrize("bad,match", [
    ((1, 0, 0.0, 0), r"hosts must be 0 \(picks by scale\) or an integer in 2\.\.254, got 1"),
    ((-1, 0, 0.0, 0), r"hosts must be .* 2\.\.254, got -1"),
    ((2.5, 0, 0.0, 0), r"hosts must be .* 2\.\.254, got 2.5"),
    ((255, 0, 0.0, 0), r"hosts must be .* 2\.\.254, got 255"),
    ((0, 1, 0.0, 0), r"nics must be 0 \(picks by scale\) or an integer in 2\.\.16, got 1"),
    ((0, 17, 0.0, 0), r"nics must be .* 2\.\.16, got 17"),
    ((0, 0, -5.0, 0), r"rate_mbit must be 0 \(picks by scale\) or a rate in Mbit/s above 0\.008 .*, got -5.0"),
    ((0, 0, float("nan"), 0), r"rate_mbit must be 0 \(picks by scale\) or a rate .*, got nan"),
    ((0, 0, 0.0, -1), r"n_faults must be 0 \(picks by scale\) or an integer >= 1, got -1"),
])
def test_bad_notebook_parameters_are_usage_errors_naming_the_parameter(bad, match):
    with pytest.raises(ParameterError, match=match):
        ex.check_parameters(*bad)


def test_a_campaign_without_faults_is_refused_before_running_any_job(monkeypatch):
    # -p n_faults=-1 used to return an empty table and fail later with KeyError: 'completed'
    monkeypatch.setattr(ex, "run_job", lambda *a, **k: pytest.fail("a job ran"))
    for n in (0, -1):
        with pytest.raises(ParameterError, match="n_faults must be an integer >= 1"):
            ex.fault_campaign(SimpleNamespace(hosts=2, nics=2, mode="loopback"), n, np.random.default_rng(0))
