"""What the paper-05 notebook calls: real inputs (TPC-H stage timings, schema drift outcomes, Azure arrivals,
calibrated fault rates), paired static/agentic runs over seeds, the fault-rate sweep, the hand-computed
scenario, the policy checks. Functions return plain DataFrames/dicts; figures are drawn in the notebook.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from support.paths import REPO_ROOT
from support.pipeline_agents import calibration, schema, tpch
from support.pipeline_agents.claims import CLAIMS
from support.pipeline_agents.des import PIPELINES, Scenario, World, per_fault
from support.pipeline_agents.metrics import PAGE_CAUSES, cost_from_log, episodes, summarize
from support.pipeline_agents.params import FAILURE_KINDS, FaultTable, Params
from support.policy import Policy, load_policy
from support.progress import progress
from support.seeding import derive
from support.sim import FaultSpec, Streams, fault_schedule, rate_profile, resample_arrivals
from support.traces.azure import load_azure
from support.validate import ParameterError, check_choice, check_int, check_range
from support.wording import number

POLICY_DIR = REPO_ROOT / "data" / "pipeline_agents" / "policies"


def check_parameters(*, horizon_h: float, tpch_sf: float, fault_scale: float, retries: int, retry_delay_s: float,
                     exponential_backoff: bool, oncall_median_s: float, fix_median_s: float, detect_s: float,
                     actuate_s: float) -> None:
    """The notebook's parameters, checked after ``start`` so a bad value fails before DuckDB runs, naming it, its value
    and what is allowed (tpch_sf 0 picks by scale, tpch.generate refuses > 1; actuate_s divides; a bool, not "False")."""
    check_range(horizon_h, "horizon_h", low=0, low_open=True, error=ParameterError)
    check_range(tpch_sf, "tpch_sf", low=0, high=1, error=ParameterError)
    check_range(fault_scale, "fault_scale", low=0, error=ParameterError)
    check_int(retries, "retries", minimum=0, error=ParameterError)
    check_choice(exponential_backoff, "exponential_backoff", (False, True), error=ParameterError)
    for name, value in (("retry_delay_s", retry_delay_s), ("oncall_median_s", oncall_median_s),
                        ("fix_median_s", fix_median_s), ("detect_s", detect_s)):
        check_range(value, name, low=0, error=ParameterError)
    check_range(actuate_s, "actuate_s", low=0, low_open=True, error=ParameterError)


@dataclass
class Inputs:
    """Real inputs shared by every run."""

    profile: tpch.StageProfile
    drifts: pd.DataFrame
    trace_edges: np.ndarray  # 1-min rate profile of the Azure trace (requests/s)
    trace_rates: np.ndarray
    faults: FaultTable
    evidence: dict


def load_inputs(sf: float = 0.01, reps: int = 3, assumed: dict | None = None, workers: int = 8) -> Inputs:
    """TPC-H generated and run in DuckDB; drift applied for real; Azure trace profile; calibrated faults."""
    prof = tpch.profile_stages(sf, reps)
    drifts = schema.drift_outcomes(tpch.generate(sf))
    az = load_azure()
    edges, rates = rate_profile(az.t.to_numpy(), 60.0)
    table, ev = calibration.calibrate(workers=workers, attempts_per_hour=len(tpch.STAGES), assumed=assumed)
    return Inputs(prof, drifts, edges, rates, table, ev)


def static_stream_workers(inp: Inputs, p: Params) -> int:
    """Static provisioning: the trace's peak 1-minute rate at the target utilization."""
    peak = inp.trace_rates.max() * p.events_per_request
    return int(min(p.max_stream_workers, math.ceil(peak / (p.worker_rate * p.target_util))))


def fault_draws(p: Params, seed: int, pipe: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The human time (on-call response + fix, lognormal) and upstream delay of faults 0..n-1 of ``pipe``, each from
    its own stream ``derive(seed, "sim", what, pipe, idx)``: they depend only on the seed, the pipeline and the idx."""
    if pipe not in PIPELINES:
        raise ValueError(f"pipe must be one of {PIPELINES}, got {pipe!r}")
    on, fix, up = np.log(p.oncall_median_s), np.log(p.fix_median_s), np.log(p.upstream_median_s)
    hum, delay = np.empty(n), np.empty(n)
    for i in range(n):
        g = derive(seed, "sim", "human", pipe, i)
        hum[i] = g.lognormal(on, p.oncall_sigma) + g.lognormal(fix, p.fix_sigma)
        delay[i] = derive(seed, "sim", "upstream", pipe, i).lognormal(up, p.upstream_sigma)
    return hum, delay


def scenario(inp: Inputs, p: Params, faults: FaultTable, seed: int) -> Scenario:
    """One seed's common random numbers: arrivals, fault schedules, and each fault's human time and upstream delay
    (the same for both controllers, keyed by pipeline and fault idx)."""
    st = Streams(seed)
    horizon = p.horizon_h * 3600.0
    work = inp.profile.fractions() * p.batch_run_s * p.batch_workers
    t = resample_arrivals(inp.trace_edges, inp.trace_rates, st["arrivals"], horizon_s=horizon)
    nwin = math.ceil(horizon / p.window_s)
    arr = np.histogram(t, bins=np.arange(nwin + 1) * p.window_s)[0] * p.events_per_request
    # worker loss per pipeline-hour grows with the pipeline's workers: the batch's, and the static stream's (21 at
    # the defaults; the table was calibrated at the batch's 8, and the stream used to get that rate too)
    sw = static_stream_workers(inp, p)
    sched = {"batch": fault_schedule(faults.for_workers(p.batch_workers).specs(FAILURE_KINDS), horizon,
                                     st["batch_faults"]),
             "stream": fault_schedule(faults.for_workers(sw).specs(FAILURE_KINDS), horizon, st["stream_faults"])}
    draws = {pipe: fault_draws(p, seed, pipe, len(sched[pipe])) for pipe in PIPELINES}
    return Scenario(
        stage_work=work, stage_names=inp.profile.stages, arrivals=arr.astype(float),
        batch_faults=sched["batch"], stream_faults=sched["stream"],
        spikes=fault_schedule([FaultSpec("cost_spike", faults.rates["cost_spike"])], horizon, st["spikes"]),
        drift_table=inp.drifts.to_dict("records"), human_s={pipe: d[0] for pipe, d in draws.items()},
        upstream_s={pipe: d[1] for pipe, d in draws.items()}, static_stream_workers=sw)


def run_pair(inp: Inputs, p: Params, faults: FaultTable, seed: int, policy=None):
    """Static and agentic on the same scenario; returns (rows, worlds)."""
    policy = policy or load_policy(POLICY_DIR)
    sc = scenario(inp, p, faults, seed)
    rows, worlds = [], {}
    for ctl in ("static", "agentic"):
        t0 = time.perf_counter()
        w = World(p, sc, ctl, policy if ctl == "agentic" else None).run()
        r = summarize(w)
        r.update(seed=seed, controller=ctl, sim_wall_s=time.perf_counter() - t0)
        rows.append(r)
        worlds[ctl] = w
    return rows, worlds


def headline(inp: Inputs, p: Params, faults: FaultTable, seeds, policy=None, desc="seeds"):
    """Per-seed metrics of both controllers, plus the audit re-validation of every executed action."""
    policy = policy or load_policy(POLICY_DIR)
    rows, bad, executed, eps = [], 0, 0, []
    for s in progress(list(seeds), desc=desc):
        r, w = run_pair(inp, p, faults, s, policy)
        rows += r
        bad += len(w["agentic"].audit.revalidate(policy, "rego"))
        executed += len(w["agentic"].audit.executed())
        for ctl in ("static", "agentic"):
            e = episodes(w[ctl].rec.events).assign(controller=ctl, seed=s)
            eps.append(e)
    return pd.DataFrame(rows), {"executed_actions": executed, "executed_violations": bad}, pd.concat(eps)


def reductions(df: pd.DataFrame) -> dict:
    """Relative reductions of the seed means (agentic vs static; manual from exact integer page totals) and
    freshness differences in pp."""
    m = df.groupby("controller").mean(numeric_only=True)
    s, a = m.loc["static"], m.loc["agentic"]
    red = lambda k: float(1 - a[k] / s[k]) if s[k] else float("nan")
    pages = df.groupby("controller")["manual"].sum()  # integer page totals over the same seeds: an exact ratio
    manual = float(1 - Fraction(int(pages["agentic"]), int(pages["static"]))) if pages["static"] else float("nan")
    return {"mttr": red("mttr_s"), "mttr_batch": red("mttr_batch_s"), "mttr_stream": red("mttr_stream_s"),
            "cost": red("cost"), "cost_batch": red("cost_batch"), "cost_stream": red("cost_stream"),
            "manual": manual,
            "batch_fresh_pp": 100 * float(a["batch_fresh"] - s["batch_fresh"]),
            "stream_fresh_pp": 100 * float(a["stream_fresh"] - s["stream_fresh"])}


def freshness_kept(red: dict) -> float:
    """The freshness claim's value: the worse of the batch and streaming differences (pp) that were measured, NaN when
    neither was (a horizon shorter than one batch run has no batch freshness)."""
    measured = [v for v in (red["batch_fresh_pp"], red["stream_fresh_pp"]) if math.isfinite(v)]
    return min(measured) if measured else float("nan")


def mttr_note(red: dict, seeds: int, horizon_h: float, retry_delay_s: float) -> str:
    """The ``mttr_reduction`` note: seeds, horizon and the batch and stream reductions, and why a reduction above the
    paper's "up to" value (its paper value in ``CLAIMS``) can happen here: the baseline's retry delay and pages."""
    paper = CLAIMS["mttr_reduction"].paper_value
    note = (f"{seeds} seeds x {horizon_h:g} h; batch {number(red['mttr_batch'], '.0%')}, "
            f"stream {number(red['mttr_stream'], '.0%')}")  # n/a, not nan%, where nothing was measured
    if red["mttr"] > paper:
        note += (f"; exceeds the paper's 'up to {paper:.0%}': the baseline's {retry_delay_s:g} s retry delay and "
                 "on-call pages dominate its MTTR")
    return note


PAPER_LINES = (("mttr_reduction", "paper MTTR"), ("cost_reduction", "paper cost"), ("manual_reduction", "paper manual"))


def paper_reductions_pct() -> list[tuple[float, str]]:
    """The paper's MTTR, cost and manual reductions in percent, each with its label, for a figure's reference lines:
    read from the claims' paper values, so a figure cannot draw another number than the claims table states."""
    return [(round(100 * float(CLAIMS[name].paper_value), 9), label) for name, label in PAPER_LINES]


def cost_band() -> tuple[float, float]:
    """The band of cost reductions that ``cost_reduction`` counts as reproduced (the issue's 15-35 %), as fractions,
    from the claim's own rule: the edges a figure shades or a printed line names."""
    c = CLAIMS["cost_reduction"]
    lo, hi = c.rule.bounds(c.paper_value)[:2]
    return round(lo, 12), round(hi, 12)


def page_causes(df: pd.DataFrame) -> pd.DataFrame:
    """Pages summed over the seeds of ``headline``'s rows, one row per cause of :data:`.metrics.PAGE_CAUSES`, one
    column per controller (the manual claim's note gives the agents' split)."""
    t = df.groupby("controller")[[f"pages_{c}" for c in PAGE_CAUSES]].sum().T
    t.index = list(PAGE_CAUSES)
    return t.reindex(columns=["static", "agentic"], fill_value=0).astype(int)


def replacement_sensitivity(inp: Inputs, p: Params, faults: FaultTable, seeds, policy=None) -> dict:
    """Sensitivity, never a claim value: the headline on the same seeds with a lost stream worker's replacement checked
    at the configured size (``stream_replacement_delta`` 0); reductions, pages by cause, the manual rule's verdict."""
    df, chk, _ = headline(inp, replace(p, stream_replacement_delta=0), faults, seeds, policy,
                          desc="replacement at the configured size")
    red = reductions(df)
    m = red["manual"]
    verdict = CLAIMS["manual_reduction"].judge(m).value if math.isfinite(m) else "none (no static page to reduce)"
    pages = page_causes(df)["agentic"]
    return {**red, **chk, **{f"agentic_pages_{c}": int(pages[c]) for c in PAGE_CAUSES}, "manual_verdict": verdict}


def _reductions_row(inp: Inputs, p: Params, faults: FaultTable, seeds, policy, desc: str) -> dict:
    """One sweep point: reductions vs static over ``seeds``, the audit check counts, and both controllers' page totals
    with the agents' split by cause (a negative manual reduction, more pages than static, shows its cause)."""
    df, chk, _ = headline(inp, p, faults, seeds, policy, desc=desc)
    pages = page_causes(df)
    return {**reductions(df), **chk, "pages_static": int(pages["static"].sum()),
            "pages_agentic": int(pages["agentic"].sum()),
            **{f"agentic_pages_{c}": int(pages.loc[c, "agentic"]) for c in PAGE_CAUSES}}


def sweep(inp: Inputs, p: Params, faults: FaultTable, factors, seeds, policy=None) -> pd.DataFrame:
    """Reductions at each fault-rate multiplier."""
    return pd.DataFrame([{"factor": f, **_reductions_row(inp, p, faults.scaled(f), seeds, policy, f"x{f:g}")}
                         for f in factors])


def sizing_sweep(inp: Inputs, p: Params, faults: FaultTable, headrooms, cadences_s, seeds,
                 policy=None) -> pd.DataFrame:
    """Reductions vs static when the resource agent sizes more or less tightly: ``headroom`` over the max
    1-min rate of the last cadence window, re-sized every ``cadence`` seconds (the change-rate rule still
    applies). Shows how much of the paper's cost saving a tighter agent buys, and what it costs in freshness."""
    return pd.DataFrame([{"headroom": h, "cadence_s": c,
                          **_reductions_row(inp, replace(p, headroom=float(h), autoscale_every_s=float(c)), faults,
                                            seeds, policy, f"headroom {h:g}, every {c:g} s")}
                         for c in cadences_s for h in headrooms])


def memory_raise_sweep(inp: Inputs, p: Params, faults: FaultTable, hours, seeds, policy=None) -> pd.DataFrame:
    """Reductions vs static when a stream OOM fix keeps (and bills) the raised memory for ``hours`` (0: never
    billed, the accounting before 2026-11-29; inf: to the end of the run, the default), with the policy's
    cost ceiling and, at the longest raise, without it: after a billed raise the ceiling holds the agentic
    stream below it, while the static deployment has no ceiling."""
    policy = policy or load_policy(POLICY_DIR)
    no_ceiling = Policy(policy.schema, [r for r in policy.rules if r.id != "cost_ceiling"])
    runs = [(h, True, policy) for h in hours] + [(max(hours), False, no_ceiling)]
    return pd.DataFrame([{"raise_h": h, "cost_ceiling": c,
                          **_reductions_row(inp, replace(p, stream_memory_raise_h=float(h)), faults, seeds, pol,
                                            f"raise {h:g} h" + ("" if c else ", no ceiling"))}
                         for h, c, pol in runs])


# ------------------------------------------------------------------------------ hand-computed scenario

HAND = {"work": (600.0, 1200.0, 300.0), "workers": 2, "fault_t": 400.0, "retry_delay_s": 300.0,
        "detect_s": 30.0, "actuate_s": 15.0, "checkpoint_s": 30.0, "price": 1.5}


def hand_scenario(controller: str, policy=None):
    """3-stage batch DAG (600/1200/300 worker-s on 2 workers = 300/600/150 s), one worker loss at t = 400 s,
    no other faults, no streaming. Returns (mttr_s, cost_usd, done_s)."""
    h = HAND
    p = Params(horizon_h=0.5, batch_workers=h["workers"], retry_delay_s=h["retry_delay_s"], detect_s=h["detect_s"],
               actuate_s=h["actuate_s"], checkpoint_s=h["checkpoint_s"], spot_price=h["price"])
    from support.sim import Fault
    sc = Scenario(np.array(h["work"]), ("ingest", "schema_validate", "transform_join"), np.zeros(1),
                  [Fault(h["fault_t"], "worker_loss", None, 0, 0.5, {})], [], [], [], per_fault(1.0, 1),
                  per_fault(1.0, 1), 0)
    w = World(p, sc, controller, policy or (load_policy(POLICY_DIR) if controller == "agentic" else None),
              stream=False).run()
    ep = episodes(w.rec.events)
    done = next(i["done"] for t, k, i in w.rec.events if k == "run")
    return float(ep.ttr_s.iloc[0]), cost_from_log(w.rec.events)["batch"], done


def hand_expected(controller: str) -> tuple[float, float, float]:
    """The same scenario computed by hand (see the notebook for the arithmetic)."""
    h = HAND
    w, price = h["workers"], h["price"]
    d = [x / w for x in h["work"]]  # 300, 600, 150 s
    progress_at_fault = h["fault_t"] - d[0]  # 100 s of stage 2 done
    if controller == "static":
        mttr = h["retry_delay_s"]  # retry after retry_delay, stage restarts from scratch
        busy = d[0] + progress_at_fault + d[1] + d[2]
    else:
        mttr = h["detect_s"] + h["actuate_s"]
        ckpt = math.floor(progress_at_fault / h["checkpoint_s"]) * h["checkpoint_s"]  # 90 s
        busy = d[0] + progress_at_fault + (d[1] - ckpt) + d[2]
    return mttr, busy * w * price / 3600.0, d[0] + progress_at_fault + mttr + (busy - d[0] - progress_at_fault)


# The simulator bills a run segment by segment, the hand formula in one product: the two sums can round differently in
# the last bits (the static bill is 1 ulp apart). 1e-12 relative is far below a cent of the 0.96 USD bill (1e-2).
HAND_COST_REL_TOL = 1e-12


def hand_scenario_agrees(hand: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]]) -> bool:
    """``hand_scenario``: for every controller, (MTTR, cost, completion) of :func:`hand_scenario` equals
    :func:`hand_expected`'s; the two times exactly (sums of whole seconds, exact in floating point), the cost within
    :data:`HAND_COST_REL_TOL` relative (summation order only). ``hand`` maps controller -> (simulated, by hand)."""
    if not hand:
        raise ValueError("hand_scenario_agrees needs at least one controller's (simulated, hand) pair")
    return all(sim[0] == by_hand[0] and sim[2] == by_hand[2]
               and math.isclose(sim[1], by_hand[1], rel_tol=HAND_COST_REL_TOL, abs_tol=0.0)
               for sim, by_hand in hand.values())


def policy_table(directory: Path = POLICY_DIR) -> pd.DataFrame:
    return pd.DataFrame(load_policy(directory).describe())


# ----------------------------------------------------------------------------------------------- checks

def des_checks(n_jobs: int, seed: int) -> dict:
    """simpy vs closed forms (M/M/1 at rho 0.8, M/M/3 at rho 0.8, first 5 % of jobs dropped) and vs Lindley
    on the same streams (:func:`support.sim.des_check.des_check`)."""
    from support.sim.des_check import des_check
    st = Streams(seed)
    one = des_check(1, 0.8, 1.0, n_jobs, st["mm1_a"], st["mm1_s"], warmup=0.05, lindley_too=True)
    three = des_check(3, 2.4, 1.0, n_jobs, st["mmc_a"], st["mmc_s"], warmup=0.05)
    return {"lindley_equal": one.lindley_equal, "mm1_rel_err": one.rel_err, "mmc_rel_err": three.rel_err,
            "jobs": n_jobs}


def differential(n_pairs: int, seed: int, directory: Path = POLICY_DIR) -> dict:
    """z3 vs Rego on ``n_pairs`` random pairs: mismatches and the verdict mix."""
    check_int(n_pairs, "n_pairs", minimum=1)
    pol = load_policy(directory)
    pairs = pol.sample_pairs(n_pairs, np.random.default_rng(seed))
    t0 = time.perf_counter()
    z = pol.check_many(pairs)
    tz = time.perf_counter() - t0
    r = []
    t0 = time.perf_counter()
    for i in range(0, len(pairs), 2500):
        r += pol.check_rego_many(pairs[i:i + 2500])
    tr = time.perf_counter() - t0
    mism = sum((a.verdict, a.violated) != (b.verdict, b.violated) for a, b in zip(z, r))
    mix = pd.Series([d.verdict for d in z]).value_counts().to_dict()
    return {"pairs": n_pairs, "mismatches": int(mism), "z3_ms_per_pair": 1e3 * tz / n_pairs,
            "rego_ms_per_pair": 1e3 * tr / n_pairs, **{f"n_{k}": int(v) for k, v in mix.items()}}


def engines_agree(diff: dict) -> bool:
    """``z3_rego_agree``: z3 and Rego gave the same verdict and violated-rule set on every pair :func:`differential`
    drew (no mismatch); a comparison of no pair tested nothing and is refused."""
    if diff["pairs"] < 1:
        raise ValueError(f"engines_agree needs at least one compared pair, got pairs={diff['pairs']}")
    return diff["mismatches"] == 0


NEW_RULE = ("id: memory_cap\neffect: deny\ndescription: added at run time - no memory increase above 1.5x\n"
            "when: \"action.kind == 'raise_memory'\"\nrequire: \"action.memory_factor <= 1.5\"\n")


def new_rule_check(inp: Inputs, p: Params, faults: FaultTable, seeds, tmp_dir: Path) -> dict:
    """Copy the policy directory, add one rule file, re-run the same seeds: the new rule must deny every
    raise-memory proposal above 1.5x (and nothing it forbids may execute). A proposal at memory already raised
    asks for 1x and is not the rule's business. Returns counts before and after."""
    import shutil
    d = Path(tmp_dir) / "policies_plus"
    if d.exists():
        shutil.rmtree(d)
    shutil.copytree(POLICY_DIR, d)
    (d / "memory_cap.yaml").write_text(NEW_RULE)
    seeds = list(seeds)
    out = {"seeds": len(seeds)}
    for tag, pol in (("before", load_policy(POLICY_DIR)), ("after", load_policy(d))):
        ent = []
        for seed in seeds:
            w = World(p, scenario(inp, p, faults, seed), "agentic", pol).run()
            ent += [e for e in w.audit.entries if e.kind == "raise_memory" and e.action["memory_factor"] > 1.5]
        out[f"raise_memory_{tag}"] = len(ent)
        out[f"raise_memory_executed_{tag}"] = sum(e.executed for e in ent)
        out[f"memory_cap_hits_{tag}"] = sum("memory_cap" in e.violated for e in ent)
    out["enforced"] = bool(out["raise_memory_after"] > 0 and out["raise_memory_executed_after"] == 0
                           and out["memory_cap_hits_after"] == out["raise_memory_after"]
                           and out["memory_cap_hits_before"] == 0)
    return out


def directions_hold(sw: pd.DataFrame) -> bool:
    """MTTR, cost and manual interventions down and freshness not worse than -1 pp at every multiplier."""
    return bool(((sw.mttr > 0) & (sw.cost > 0) & (sw.manual > 0) & (sw.batch_fresh_pp >= -1)
                 & (sw.stream_fresh_pp >= -1)).all())


SWEPT = ("mttr", "cost", "manual", "batch_fresh_pp", "stream_fresh_pp")


def unmeasured(df: pd.DataFrame, chk: dict, sw: pd.DataFrame | None = None,
               nr: dict | None = None) -> dict[str, str]:
    """Claims this run measured nothing for, with the reason (``fault_scale`` 0, or a horizon too short for a fault,
    a page or an OOM), recorded as not applicable, not judged on NaN; the headline's alone without ``sw``, ``nr``."""
    n = df.seed.nunique()
    st = df[df.controller == "static"]
    red = reductions(df)
    out = {}
    if not math.isfinite(red["mttr"]):
        none = [c for c in ("static", "agentic") if df[df.controller == c].episodes.sum() == 0]
        out["mttr_reduction"] = f"no fault episode (no recovery time) under {' and '.join(none)} in {n} seeds"
    if not math.isfinite(red["cost"]):
        out["cost_reduction"] = f"no billed worker-hour under the static baseline in {n} seeds"
    if st.manual.sum() == 0:
        out["manual_reduction"] = f"the static baseline paged no human in {n} seeds: nothing to reduce"
    if not math.isfinite(freshness_kept(red)):
        out["freshness_kept"] = f"no finished batch run and no stream window under both controllers in {n} seeds"
    if chk["executed_actions"] == 0:
        out["zero_violations"] = f"no agent action executed in {n} seeds: nothing to re-validate"
    if sw is not None:
        finite = np.isfinite(sw[list(SWEPT)].to_numpy(float)).all(axis=1)
        blank = [f"x{f:g}" for f, ok in zip(sw.factor, finite) if not ok]
        if blank and directions_hold(sw[finite]):  # a direction measured and failed elsewhere stays a failure
            out["sweep_directions"] = ("nothing measured for some direction (no fault episode or no static page) "
                                       "at " + ", ".join(blank))
    if nr is not None and nr["raise_memory_after"] == 0:
        out["new_rule_enforced"] = (f"no raise-memory proposal above 1.5x in the {nr['seeds']} seeds the check runs: "
                                    "the new rule had nothing to deny")
    return out


def timeline(inp: Inputs, p: Params, faults: FaultTable, seed: int, policy=None):
    """Streaming windows (t, workers, arrivals, backlog, lag) and fault episodes of both controllers."""
    _rows, worlds = run_pair(inp, p, faults, seed, policy)
    win, eps = [], []
    for ctl, w in worlds.items():
        win += [{"controller": ctl, "t": t, **i} for t, k, i in w.rec.events if k == "window"]
        eps.append(episodes(w.rec.events).assign(controller=ctl))
    return pd.DataFrame(win), pd.concat(eps, ignore_index=True), worlds


def audit_frame(world) -> pd.DataFrame:
    """The agentic audit log as a table (time, agent, action, verdict, violated rules, executed)."""
    return pd.DataFrame([{"t_s": e.t, "agent": e.agent, "action": e.kind, "verdict": e.verdict,
                          "violated": ",".join(e.violated), "executed": e.executed, "reason": e.reason}
                         for e in world.audit.entries])
