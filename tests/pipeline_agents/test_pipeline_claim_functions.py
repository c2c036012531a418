"""Paper 05: the functions whose values the notebook records as claims (MTTR, cost, manual, freshness, sweep,
z3 vs Rego, new rule, audit re-check, DES oracles), each on a case whose answer is known by hand."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from support.control.agents import AuditEntry, AuditLog
from support.pipeline_agents import experiments as X
from support.pipeline_agents.claims import CLAIMS
from support.pipeline_agents.des import Scenario, World, per_fault
from support.pipeline_agents.metrics import PAGE_CAUSES, episodes, page_cause, summarize
from support.pipeline_agents.params import FaultTable, Params
from support.policy import load_policy
from support.policy.engine import Decision, Policy
from support.sim import Fault

POLICY = load_policy(X.POLICY_DIR)


def _f(t, kind, idx=0):
    return Fault(t, kind, None, idx, 0.5, {})


def _frame(static: dict, agentic: dict) -> pd.DataFrame:
    rows = []
    for ctl, cols in (("static", static), ("agentic", agentic)):
        n = len(next(iter(cols.values())))
        rows += [{"controller": ctl, "seed": i, **{k: v[i] for k, v in cols.items()}} for i in range(n)]
    return pd.DataFrame(rows)


# three seeds whose medians differ from their means; batch and stream columns differ, so a swapped column shows
STATIC = {"mttr_s": [100.0, 200.0, 600.0], "mttr_batch_s": [400.0] * 3, "mttr_stream_s": [200.0] * 3,
          "cost": [10.0, 10.0, 40.0], "cost_batch": [5.0] * 3, "cost_stream": [5.0, 5.0, 35.0],
          "manual": [10, 0, 2], "batch_fresh": [0.5] * 3, "stream_fresh": [0.9] * 3}
AGENTIC = {"mttr_s": [30.0, 60.0, 90.0], "mttr_batch_s": [100.0] * 3, "mttr_stream_s": [150.0] * 3,
           "cost": [15.0] * 3, "cost_batch": [4.0] * 3, "cost_stream": [11.0] * 3,
           "manual": [1, 0, 2], "batch_fresh": [0.75] * 3, "stream_fresh": [0.8] * 3}


def test_reductions_are_relative_reductions_of_the_seed_means_and_freshness_differences_in_pp():
    # means: MTTR 300 -> 60 (medians 200 -> 60 would give 0.7), cost 20 -> 15, manual 4 -> 1 (medians 2 -> 1),
    # batch freshness 50% -> 75% (+25 pp), stream freshness 90% -> 80% (-10 pp)
    r = X.reductions(_frame(STATIC, AGENTIC))
    assert r["mttr"] == pytest.approx(0.8)
    assert r["mttr_batch"] == pytest.approx(0.75) and r["mttr_stream"] == pytest.approx(0.25)
    assert r["cost"] == pytest.approx(0.25)
    assert r["cost_batch"] == pytest.approx(0.2) and r["cost_stream"] == pytest.approx(1 - 11 / 15)
    assert r["manual"] == pytest.approx(0.75)
    assert r["batch_fresh_pp"] == pytest.approx(25.0) and r["stream_fresh_pp"] == pytest.approx(-10.0)


def test_reduction_of_a_quantity_the_static_baseline_never_had_is_nan_not_a_number():
    r = X.reductions(_frame({**STATIC, "manual": [0, 0, 0]}, AGENTIC))
    assert math.isnan(r["manual"])


def test_freshness_claim_is_the_worse_measured_pipeline():
    assert X.freshness_kept({"batch_fresh_pp": 25.0, "stream_fresh_pp": -10.0}) == -10.0
    assert X.freshness_kept({"batch_fresh_pp": float("nan"), "stream_fresh_pp": 3.0}) == 3.0  # no finished run
    assert math.isnan(X.freshness_kept({"batch_fresh_pp": float("nan"), "stream_fresh_pp": float("nan")}))


SWEEP_OK = {"factor": [0.5, 2.0], "mttr": [0.4, 0.6], "cost": [0.1, 0.3], "manual": [0.5, 0.7],
            "batch_fresh_pp": [-1.0, 5.0], "stream_fresh_pp": [0.0, 3.0]}


@pytest.mark.parametrize(("column", "bad"), [("mttr", 0.0), ("cost", -0.01), ("manual", 0.0),
                                             ("batch_fresh_pp", -1.01), ("stream_fresh_pp", -2.0)])
def test_sweep_directions_fail_when_one_direction_fails_at_one_multiplier(column, bad):
    assert X.directions_hold(pd.DataFrame(SWEEP_OK))  # freshness exactly -1 pp still holds
    sw = pd.DataFrame(SWEEP_OK)
    sw.loc[1, column] = bad
    assert not X.directions_hold(sw)


def test_z3_and_rego_agree_and_a_flipped_rego_verdict_is_counted_as_a_mismatch(monkeypatch):
    d = X.differential(200, 0)
    assert d["pairs"] == 200 and d["mismatches"] == 0
    assert sum(v for k, v in d.items() if k.startswith("n_")) == 200
    original = Policy.check_rego_many

    def flip_first(self, pairs):
        out = original(self, pairs)
        return [dataclasses.replace(out[0], verdict="allow" if out[0].verdict != "allow" else "deny"), *out[1:]]

    monkeypatch.setattr(Policy, "check_rego_many", flip_first)
    assert X.differential(200, 0)["mismatches"] == 1


def _entry(state: dict, action: dict) -> AuditEntry:
    return AuditEntry(0.0, "resource", action["kind"], state, action, "allow", (), True, "planted")


STATE = {"workers": 10, "price_per_worker_hour": 1.5, "region": "eu-west", "changes_last_hour": 0,
         "sink_pii_certified": False}
ACTION = {"kind": "scale", "delta_workers": 1, "memory_factor": 1.0, "price_factor": 1.0, "target_region": "eu-west",
          "writes_pii": False, "drops_required": False}


@pytest.mark.parametrize("engine", ["rego", "z3"])
def test_audit_recheck_returns_planted_denied_and_escalated_actions_that_were_executed(engine):
    # 24 + 1 workers breaks the max_workers quota (deny); a 7th change in the hour breaks change_rate (escalate)
    fine = _entry(STATE, ACTION)
    quota = _entry({**STATE, "workers": 24}, ACTION)
    budget = _entry({**STATE, "changes_last_hour": 6}, ACTION)
    log = AuditLog()
    for e in (fine, quota, budget):
        log.add(e)
    assert log.revalidate(POLICY, engine) == [quota, budget]


def test_headline_counts_the_executed_actions_that_rego_refuses_on_recheck(inputs):
    # the gate decides with z3; a Rego engine planted to refuse everything must flag every executed action
    pol = load_policy(X.POLICY_DIR)
    pol.check_rego_many = lambda pairs: [Decision("deny", ("planted",), (), "rego") for _ in pairs]
    _df, chk, _eps = X.headline(inputs, Params(horizon_h=2), inputs.faults, [0], pol)
    assert chk["executed_actions"] > 0
    assert chk["executed_violations"] == chk["executed_actions"]


def test_des_checks_report_the_lindley_match_and_each_queue_its_own_error():
    dc = X.des_checks(5000, 0)
    assert dc["lindley_equal"] is True and dc["jobs"] == 5000
    assert dc["mm1_rel_err"] != dc["mmc_rel_err"]  # two queues, two errors
    assert 0 <= dc["mm1_rel_err"] < 0.15 and 0 <= dc["mmc_rel_err"] < 0.15


def _only(faults: FaultTable, kind: str, rate: float) -> FaultTable:
    return FaultTable({k: (rate if k == kind else 0.0) for k in faults.rates})


def test_a_new_rule_file_denies_every_raise_memory_proposal_of_the_next_run(inputs, tmp_path):
    nr = X.new_rule_check(inputs, Params(horizon_h=2), _only(inputs.faults, "oom", 2.0), [0], tmp_path)
    assert nr["seeds"] == 1 and nr["raise_memory_before"] > 0 and nr["raise_memory_executed_before"] > 0
    assert nr["memory_cap_hits_before"] == 0
    assert nr["raise_memory_after"] == nr["memory_cap_hits_after"] > 0 and nr["raise_memory_executed_after"] == 0
    assert nr["enforced"] is True


def test_a_new_rule_with_no_proposal_to_deny_is_not_enforced_and_is_reported_as_unmeasured(inputs, tmp_path):
    p, none = Params(horizon_h=2), inputs.faults.scaled(0.0)
    nr = X.new_rule_check(inputs, p, none, [0, 1], tmp_path)
    assert nr["raise_memory_after"] == 0 and nr["enforced"] is False
    df, chk, _ = X.headline(inputs, p, none, [0, 1])
    sw = X.sweep(inputs, p, none, [0.5, 2.0], [0])
    gaps = X.unmeasured(df, chk, sw, nr)
    # no fault at all: no recovery time, no page, nothing swept; cost, freshness and autoscaling still measured
    assert set(gaps) == {"mttr_reduction", "manual_reduction", "sweep_directions", "new_rule_enforced"}
    assert "2 seeds" in gaps["new_rule_enforced"] and "x0.5, x2" in gaps["sweep_directions"]
    assert all(CLAIMS[name] for name in gaps)  # every reason names a declared claim


def test_a_sweep_with_an_unmeasured_multiplier_is_unmeasured_unless_a_measured_one_fails():
    df, chk, nr = _frame(STATIC, AGENTIC), {"executed_actions": 5}, {"raise_memory_after": 3, "seeds": 3}
    sw = pd.DataFrame(SWEEP_OK)
    sw.loc[0, "manual"] = float("nan")  # x0.5: the static baseline paged no human
    assert X.unmeasured(df, chk, sw, nr) == {"sweep_directions": "nothing measured for some direction (no fault "
                                                                 "episode or no static page) at x0.5"}
    sw.loc[1, "cost"] = -0.1  # x2 measured and failed: a failure, judged as one
    assert X.unmeasured(df, chk, sw, nr) == {}
    assert not X.directions_hold(sw)


def test_nothing_is_unmeasured_when_every_claim_has_data(inputs, tmp_path):
    p, faults = Params(horizon_h=6), inputs.faults.scaled(3.0)
    df, chk, _ = X.headline(inputs, p, faults, [0, 1])
    sw = X.sweep(inputs, p, faults, [1.0], [0, 1])
    nr = X.new_rule_check(inputs, p, faults, [0, 1], tmp_path)
    assert X.unmeasured(df, chk, sw, nr) == {}


def test_a_sweep_row_gives_both_controllers_page_totals_and_the_agents_pages_by_cause(inputs):
    # a negative manual reduction in a sweep (more agentic than static pages) is read from these columns
    p, faults, seeds = Params(horizon_h=6), inputs.faults.scaled(3.0), [0, 1]
    pages = X.page_causes(X.headline(inputs, p, faults, seeds)[0])
    assert pages.static.to_dict() != pages.agentic.to_dict()  # the case tells the controllers apart
    row = X.sweep(inputs, p, faults, [1.0], seeds).iloc[0]
    assert (row.pages_static, row.pages_agentic) == (pages.static.sum(), pages.agentic.sum())
    assert {c: row[f"agentic_pages_{c}"] for c in PAGE_CAUSES} == pages.agentic.to_dict()
    assert row.manual == pytest.approx(1 - row.pages_agentic / row.pages_static)


def _stream_world(controller, faults, workers=4, arrivals=1000.0, **pkw):
    p = Params(horizon_h=1, **pkw)
    sc = Scenario(np.ones(1), ("ingest",), np.full(60, arrivals), [], faults, [], [], per_fault(1000.0),
                  per_fault(1.0), workers)
    return World(p, sc, controller, POLICY if controller == "agentic" else None).run()


@pytest.mark.parametrize(("kind", "controller", "ttr"), [
    ("skew", "agentic", 30 + 15 + 60),  # detect + actuate + repartition
    ("transient", "agentic", 30 + 15 + 10),  # detect + actuate + backoff
    ("worker_loss", "agentic", 30 + 15),  # detect + actuate (replacement allowed at 4 x 1.5 USD/h)
    ("skew", "static", 1800),  # the hot-key burst passes by itself
    ("transient", "static", 300),  # retry_delay
])
def test_one_stream_fault_recovers_in_the_hand_computed_time(kind, controller, ttr):
    w = _stream_world(controller, [_f(600.0, kind)])
    assert episodes(w.rec.events).ttr_s.tolist() == [pytest.approx(ttr)]
    assert w.manual == 0


def test_mttr_is_the_mean_over_batch_and_stream_episodes_together():
    # agentic: a batch worker loss recovers in 45 s, a stream transient in 55 s -> MTTR 50 s
    p = Params(horizon_h=0.5, batch_workers=2)
    sc = Scenario(np.array([2000.0]), ("ingest",), np.full(30, 1000.0), [_f(100.0, "worker_loss")],
                  [_f(600.0, "transient")], [], [], per_fault(1000.0), per_fault(1.0), 4)
    s = summarize(World(p, sc, "agentic", POLICY).run())
    assert (s["mttr_batch_s"], s["mttr_stream_s"], s["mttr_s"]) == pytest.approx((45.0, 55.0, 50.0))


# 17 workers on a 3 USD/h price: one lost, its replacement checked as 16 + 1 = 17 x 3 = 51 > 48 USD/h
CEILING = {"workers": 17, "arrivals": 60_000.0, "spot_price": 3.0}


def test_a_replacement_the_cost_ceiling_refuses_pages_a_human_and_is_counted_by_cause():
    w = _stream_world("agentic", [_f(100.0, "worker_loss")], **CEILING)
    (e,) = [e for e in w.audit.entries if e.kind == "restart_checkpoint"]
    assert e.verdict == "deny" and e.violated == ("cost_ceiling",) and e.action["delta_workers"] == 1
    assert episodes(w.rec.events).ttr_s.tolist() == [pytest.approx(30 + 1000)]  # detect, then the human
    s = summarize(w)
    assert s["manual"] == 1 and s["pages_worker_loss_cost_ceiling"] == 1
    assert sum(s[f"pages_{c}"] for c in PAGE_CAUSES) == s["manual"]
    static = summarize(_stream_world("static", [_f(100.0, "worker_loss")], **CEILING))
    assert static["manual"] == 0  # the static baseline replaces the worker after retry_delay, no page
    rows = [{**static, "controller": "static", "seed": 0}, {**s, "controller": "agentic", "seed": 0}]
    t = X.page_causes(pd.DataFrame(rows))
    assert t.loc["worker_loss_cost_ceiling"].tolist() == [0, 1] and t.sum().tolist() == [0, 1]


@pytest.mark.parametrize(("info", "cause"), [
    ({"fault": "worker_loss", "rules": ("cost_ceiling",)}, "worker_loss_cost_ceiling"),
    ({"fault": "worker_loss", "rules": ("max_workers",)}, "other"),
    ({"fault": "oom", "rules": ("cost_ceiling",)}, "oom"),
    ({"fault": "oom", "rules": ()}, "oom"),  # the static baseline's page after its retries
    ({"fault": "schema_drift", "rules": ("pii_sink",)}, "schema_drift"),
    ({"fault": "skew", "rules": ("change_rate",)}, "other"),
])
def test_each_page_has_one_cause(info, cause):
    assert page_cause(info) == cause and cause in PAGE_CAUSES


def _audit(*executed: bool) -> AuditLog:
    log = AuditLog()
    for x in executed:
        log.add(AuditEntry(0.0, "resource", "scale_stream", {}, {}, "allow" if x else "deny", (), x, ""))
    return log


def test_summarize_counts_a_hand_built_event_log_exactly():
    # billed: batch 2 workers x 1.5 USD/h for 1 h = 3 USD, stream 4 x 1 USD/h for 0.5 h = 2 USD; episodes 45 s and
    # 105 s; batch runs of 3700 s (stale) and 3400 s (fresh, though done after 3600 s) against the 3600 s SLO; lags
    # 10/50/100/200 s against 120 s (3 of 4 fresh); pages: one refused replacement, two OOM, one skew ("other");
    # the kinds interleaved
    ev = [(0.0, "bill", {"pipeline": "batch", "workers": 2, "price": 1.5}),
          (0.0, "bill", {"pipeline": "stream", "workers": 4, "price": 1.0}),
          (60.0, "window", {"lag": 10.0}),
          (100.0, "episode_start", {"ep": 1, "fault": "worker_loss", "pipeline": "batch"}),
          (120.0, "manual", {"fault": "worker_loss", "rules": ("cost_ceiling",)}),
          (120.0, "window", {"lag": 50.0}),
          (145.0, "episode_end", {"ep": 1}),
          (180.0, "manual", {"fault": "oom", "rules": ()}),
          (180.0, "window", {"lag": 100.0}),
          (200.0, "episode_start", {"ep": 2, "fault": "transient", "pipeline": "stream"}),
          (240.0, "window", {"lag": 200.0}),
          (305.0, "episode_end", {"ep": 2}),
          (1800.0, "bill", {"pipeline": "stream", "workers": 0, "price": 1.0}),
          (3000.0, "manual", {"fault": "oom", "rules": ("cost_ceiling",)}),
          (3600.0, "bill", {"pipeline": "batch", "workers": 0, "price": 1.5}),
          (3700.0, "run", {"scheduled": 0.0, "done": 3700.0}),
          (7000.0, "manual", {"fault": "skew", "rules": ("change_rate",)}),
          (7000.0, "run", {"scheduled": 3600.0, "done": 7000.0})]
    world = SimpleNamespace(rec=SimpleNamespace(events=ev), p=Params(), audit=_audit(True, False, True))
    s = summarize(world)
    assert (s["cost_batch"], s["cost_stream"], s["cost"]) == pytest.approx((3.0, 2.0, 5.0), rel=1e-12)
    assert (s["episodes"], s["mttr_s"], s["mttr_batch_s"], s["mttr_stream_s"]) == (2, 75.0, 45.0, 105.0)
    assert (s["runs"], s["batch_fresh"], s["stream_fresh"]) == (2, 0.5, 0.75)
    assert s["manual"] == 4
    assert {c: s[f"pages_{c}"] for c in PAGE_CAUSES} == {"worker_loss_cost_ceiling": 1, "oom": 2, "schema_drift": 0,
                                                           "other": 1}
    assert (s["proposals"], s["executed"]) == (3, 2) and math.isnan(s["policy_check_ms_p95"])


def test_a_run_or_window_exactly_at_its_slo_counts_as_fresh():
    """The SLOs are "done within": a batch run of exactly 3600 s and a window lag of exactly 120 s meet them, one of
    3601 s and 121 s do not (1 of 2 fresh each)."""
    ev = [(0.0, "bill", {"pipeline": "batch", "workers": 1, "price": 1.0}),
          (60.0, "window", {"lag": 120.0}), (120.0, "window", {"lag": 121.0}),
          (3600.0, "run", {"scheduled": 0.0, "done": 3600.0}),
          (7201.0, "run", {"scheduled": 3600.0, "done": 7201.0}),
          (7201.0, "bill", {"pipeline": "batch", "workers": 0, "price": 1.0})]
    s = summarize(SimpleNamespace(rec=SimpleNamespace(events=ev), p=Params(), audit=_audit()))
    assert (s["batch_fresh"], s["stream_fresh"]) == (0.5, 0.5)


def test_manual_reduction_is_the_exact_ratio_of_the_page_totals():
    """Pages 7, 7, 6 (static) and 5, 4, 4 (agentic): 1 - 13/20 = 0.35, the claim's partly bar, exactly (a ratio of
    float seed means gives 0.3500000000000001)."""
    static = {**STATIC, "manual": [7, 7, 6]}
    agentic = {**AGENTIC, "manual": [5, 4, 4]}
    assert X.reductions(_frame(static, agentic))["manual"] == 0.35


def test_a_replacement_checked_at_the_configured_size_is_not_a_spend_increase():
    w = _stream_world("agentic", [_f(100.0, "worker_loss")], stream_replacement_delta=0, **CEILING)
    (e,) = [e for e in w.audit.entries if e.kind == "restart_checkpoint"]
    assert e.verdict == "allow" and e.action["delta_workers"] == 0
    assert episodes(w.rec.events).ttr_s.tolist() == [pytest.approx(45.0)] and w.manual == 0
    with pytest.raises(ValueError, match="stream_replacement_delta"):
        Params(stream_replacement_delta=2)


def test_the_replacement_sensitivity_reruns_the_same_seeds_without_ceiling_pages_for_replacements(inputs):
    p, faults, seeds = Params(horizon_h=6), inputs.faults.scaled(2.0), [1, 2]
    df, _chk, _ = X.headline(inputs, p, faults, seeds)
    assert X.page_causes(df).loc["worker_loss_cost_ceiling", "agentic"] > 0  # as shipped: some are refused
    sens = X.replacement_sensitivity(inputs, p, faults, seeds)
    assert sens["agentic_pages_worker_loss_cost_ceiling"] == 0
    assert sens["manual_verdict"] == CLAIMS["manual_reduction"].judge(sens["manual"]).value
    assert sens["executed_violations"] == 0


def test_autoscaling_leaves_change_reserve_changes_of_the_hourly_budget_to_remediation():
    """Load ramping up for 2 h wants a new stream size at every 5-min cadence. The change_rate rule escalates a 7th
    configuration change within an hour (changes_last_hour >= 6); optional autoscaling keeps change_reserve = 2 of
    them back, so in any rolling hour at most 6 - 2 = 4 scale actions execute (and the cap is reached)."""
    p = Params(horizon_h=2, autoscale_every_s=300.0)
    sc = Scenario(np.ones(1), ("ingest",), np.linspace(6_000.0, 90_000.0, 120), [], [], [], [], per_fault(1.0),
                  per_fault(1.0), 10)
    w = World(p, sc, "agentic", POLICY).run()
    ts = [e.t for e in w.audit.entries if e.kind == "scale" and e.executed]
    per_hour = max(sum(t <= u < t + 3600.0 for u in ts) for t in ts)
    assert per_hour == 6 - p.change_reserve


def test_restarts_from_a_checkpoint_do_not_spend_the_hourly_change_budget():
    """Six stream workers lost in 10 min, each restarted from its checkpoint, then an OOM: the change_rate rule
    exempts noop, restart_checkpoint and retry, so the raise_memory that follows is the hour's first configuration
    change and is allowed (no page). Load that keeps the stream at its 4 workers leaves the autoscaler idle."""
    faults = [_f(100.0 * (i + 1), "worker_loss", i) for i in range(6)] + [_f(700.0, "oom", 6)]
    w = _stream_world("agentic", faults, arrivals=13_200.0, stream_replacement_delta=0)
    kinds = [(e.kind, e.verdict) for e in w.audit.entries]
    assert kinds == [("restart_checkpoint", "allow")] * 6 + [("raise_memory", "allow")]
    assert w.manual == 0


def test_autoscaler_never_configures_more_workers_than_the_quota_while_a_worker_is_down():
    # 24 workers (the quota) with load that wants 24. A worker lost at 590 s is replaced at 590 + 45 = 635 s; the
    # autoscaler fires at 600 s. It used to size its step on the 23 live workers (+1), apply it to the configured
    # 24 at 645 s and run 25 workers until the next resize.
    w = World(Params(horizon_h=1), Scenario(np.ones(1), ("ingest",), np.full(60, 120_000.0), [],
                                            [_f(590.0, "worker_loss")], [], [], per_fault(1000.0),
                                            per_fault(1.0), 24), "agentic", POLICY)
    configured = []
    stream_bill = w._stream_bill

    def watch():
        configured.append(w.s_workers)
        stream_bill()

    w._stream_bill = watch
    w.run()
    live = [i["workers"] for t, k, i in w.rec.events if k == "window"]
    assert max(configured) == 24 and max(live) == 24 and min(live) == 23
