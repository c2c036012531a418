"""What the notebook calls: the trace-track experiments, statistics and the checks behind the claims.

Definitions used throughout:

* **conformance** of a trajectory: no event violates a safety rule of the domain policy (judged by the
  reference evaluator on the executed trace) and every liveness rule holds at the end;
* **harmful call**: a consequential (``writes:``) call issued to the environment at a position where the
  reference evaluator finds a violation; a trajectory is *harmful* if it issues at least one;
* **utility**: the tau-bench reward of the executed trajectory (final database + required outputs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from support.agentc import reference_eval as ref
from support.agentc.dsl import Event, Policy, builtin_policy
from support.agentc.monitor import EnforcedRun, Enforcer, unrestricted
from support.agentc.smt import SmtMonitor
from support.agentc.taubench.data import tasks
from support.agentc.taubench.env import gold_replay_reward
from support.agentc.traces import (
    MUTATIONS,
    Run,
    airline_runs,
    execute,
    gold_skeleton,
    mutate,
    replay,
    retail_tasks,
)
from support.progress import progress
from support.seeding import derive
from support.validate import check_int

PAPER_BASELINES = {"claude-sonnet-4.5": 0.774, "gpt-5": 0.837}


def check_parameters(n_boot: int, token_tasks: int, token_seeds: int) -> None:
    """The notebook's ranged parameters, checked right after ``start`` so a bad value fails before any work, naming
    the parameter, its value and the range (``token_tasks`` draws from tau-bench's retail test split)."""
    check_int(n_boot, "n_boot", minimum=1)
    check_int(token_tasks, "token_tasks", minimum=1, maximum=len(tasks("retail", "test")))
    check_int(token_seeds, "token_seeds", minimum=1)


# ------------------------------------------------------------------------------------------------ stats
def bootstrap_ci(x, rng: np.random.Generator, n_boot: int = 2000, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and percentile bootstrap CI of ``x``.
    NaN in ``x`` is an error (a missing measurement), not a value to average."""
    x = np.asarray(x, dtype=float)
    if np.isnan(x).any():
        raise ValueError(f"bootstrap_ci: {int(np.isnan(x).sum())} NaN value(s) in the sample")
    if x.size == 0:
        return float("nan"), float("nan"), float("nan")
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    means = x[idx].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(x.mean()), float(lo), float(hi)


def paired_delta_ci(after, before, rng: np.random.Generator, n_boot: int = 2000) -> tuple[float, float, float]:
    """Mean paired difference ``after - before`` with a bootstrap CI over pairs."""
    return bootstrap_ci(np.asarray(after, float) - np.asarray(before, float), rng, n_boot)


# ------------------------------------------------------------------------------------------------ judging
def judge(policy: Policy, run: EnforcedRun) -> dict[str, Any]:
    """Conformance, violations and harmful calls of an executed trajectory (reference evaluator)."""
    viol = ref.trace_violations(policy, run.events)
    bad_pos = {j for j, _ in viol if j >= 0}
    calls = [j for j, e in enumerate(run.events) if e.is_call]
    harmful = [j for j in bad_pos if run.events[j].name in policy.writes]
    return {"conformant": not viol, "n_calls": len(calls), "n_bad_calls": len(bad_pos),
            "n_harmful": len(harmful), "harmful": bool(harmful), "reward": run.reward,
            "rules": sorted({n for _, n in viol})}


def _nonneg(name: str, n: int | None) -> None:
    """Reject a negative count (slicing would silently take a suffix or numpy a negative size)."""
    if n is not None and n < 0:
        raise ValueError(f"{name} must be >= 0 (or None for all); got {n}")


def _pair(policy: Policy, domain: str, task: dict, intended: list[Event], oracle: str = "always-yes") -> dict[str, Any]:
    u = unrestricted(policy, domain, task, intended)
    e = Enforcer(policy, domain, task, oracle=oracle).run(intended)
    ju, je = judge(policy, u), judge(policy, e)
    row = {f"u_{k}": v for k, v in ju.items()}
    row.update({f"e_{k}": v for k, v in je.items()})
    row["interventions"] = len(e.interventions)
    row["actions"] = ",".join(sorted({i.action for i in e.interventions}))
    row["disagreements"] = e.disagreements
    row["check_ms"] = [1e3 * t for t in e.latencies]
    return row


# ------------------------------------------------------------------------------------------------ airline (real)
def airline_trace_track(n_runs: int | None = None, progress_desc: str = "airline GPT-4o runs",
                        oracle: str = "always-yes") -> pd.DataFrame:
    """Every call of the recorded GPT-4o airline runs through the monitor: unrestricted vs enforced.
    ``oracle`` is the user answering the enforcer's confirmation questions (see monitor.UserOracle)."""
    _nonneg("n_runs", n_runs)
    pol = builtin_policy("airline")
    runs = airline_runs()
    if n_runs is not None:
        runs = runs[:n_runs]
    rows = []
    for r in progress(runs, desc=progress_desc):
        row = {"key": r.key, "task_id": r.task_id, "trial": r.trial, "recorded_reward": r.recorded_reward,
               "has_reward_info": r.has_reward_info}
        row.update(_pair(pol, "airline", r.task, r.events, oracle))
        rows.append(row)
    return pd.DataFrame(rows)


def recorded_reward_agreement() -> dict[str, Any]:
    """Replay every recorded airline run's calls in our environment; compare with the recorded reward."""
    runs = airline_runs()
    agree, mism, eq, tot = 0, [], 0, 0
    for r in progress(runs, desc="replay recorded airline runs"):
        rp = replay(r)
        eq += rp.outputs_equal
        tot += rp.outputs_total
        if rp.reward == r.recorded_reward:
            agree += 1
        else:
            why = ("recorded run has no reward_info (episode ended abnormally; recorded reward 0)"
                   if not r.has_reward_info else "unexplained")
            mism.append({"run": r.key, "recorded": r.recorded_reward, "replayed": rp.reward, "why": why})
    return {"agree": agree, "total": len(runs), "mismatches": mism, "tool_outputs_equal": eq, "tool_outputs": tot}


def gold_replay(splits: dict[str, tuple[str, ...]] | None = None) -> pd.DataFrame:
    """Gold-action replay reward of every task (must be 1.0)."""
    splits = splits or {"retail": ("test", "train", "dev"), "airline": ("test",)}
    jobs = [(dom, s, i, t) for dom, ss in splits.items() for s in ss for i, t in enumerate(tasks(dom, s))]
    rows = []
    for dom, s, i, t in progress(jobs, desc="gold replay"):
        rows.append({"domain": dom, "split": s, "task": i, "reward": gold_replay_reward(dom, t)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ retail (synthetic)
@dataclass
class RetailGold:
    split: str
    index: int
    task: dict
    events: list[Event]  # expanded, compliant, reward 1


def expand_retail(n_tasks: int | None, seed: int) -> tuple[list[RetailGold], int]:
    """Gold action lists expanded into compliant dialogue traces (lookups inserted by the enforcer,
    which may not substitute arguments here). Returns the usable traces and the number dropped
    (expanded trace not compliant or not reward 1)."""
    _nonneg("n_tasks", n_tasks)
    pol = builtin_policy("retail")
    all_tasks = retail_tasks()
    if n_tasks is not None and n_tasks < len(all_tasks):
        pick = np.sort(derive(seed, "retail-tasks").choice(len(all_tasks), n_tasks, replace=False))
        all_tasks = [all_tasks[i] for i in pick]
    out, dropped = [], 0
    for s, i, t in progress(all_tasks, desc="expand retail gold"):
        e = Enforcer(pol, "retail", t, allow_witness=False).run(gold_skeleton(t, pol))
        if e.reward == 1.0 and ref.compliant(pol, e.events):
            out.append(RetailGold(s, i, t, e.events))
        else:
            dropped += 1
    return out, dropped


def retail_profile(gold: list[RetailGold], target: float, n_traj: int, seed: int, name: str,
                   oracle: str = "always-yes") -> pd.DataFrame:
    """Synthetic retail trajectories whose unrestricted conformance is ``target`` *by construction*:
    draw one seeded mutation per trajectory, keep those that really violate the policy, and mutate
    exactly ``round((1 - target) * n_traj)`` of them (the rest stay gold). Then run unrestricted vs
    enforced."""
    if not 0.0 <= target <= 1.0:
        raise ValueError(f"target conformance must be in [0, 1]; got {target}")
    _nonneg("n_traj", n_traj)
    if not gold and n_traj:
        raise ValueError("retail_profile needs at least one expanded gold trace")
    pol = builtin_policy("retail")
    base = [gold[k % len(gold)] for k in range(n_traj)]
    mutants = []
    for k, g in enumerate(base):
        rng = derive(seed, "mutation", name, k)
        ev, kind = mutate(g.events, rng, pol, _env_for(g))
        executed, _ = execute("retail", g.task, ev)
        violating = bool(kind) and not ref.compliant(pol, executed)
        mutants.append((ev, kind, violating))
    cand = [k for k, (_, _, v) in enumerate(mutants) if v]
    n_mut = min(len(cand), round((1 - target) * n_traj))
    chosen = set(derive(seed, "choose", name).choice(cand, n_mut, replace=False).tolist()) if n_mut else set()
    rows = []
    for k, g in enumerate(progress(base, desc=f"retail profile {name}")):
        ev, kind = (mutants[k][0], mutants[k][1]) if k in chosen else (g.events, "")
        row = {"profile": name, "traj": k, "task": f"{g.split}/{g.index}", "mutation": kind}
        row.update(_pair(pol, "retail", g.task, [x for x in ev], oracle))
        rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["n_violating_mutants"] = len(cand)
    return df


def _env_for(g: RetailGold):
    from support.agentc.taubench.env import Env

    return Env("retail", g.task)


# ------------------------------------------------------------------------------------------------ summaries
def summarize(df: pd.DataFrame, rng: np.random.Generator, n_boot: int = 2000) -> dict[str, Any]:
    """Conformance, harm and utility, unrestricted vs enforced, with bootstrap CIs (paired for utility)."""
    out: dict[str, Any] = {"n": len(df)}
    for side in ("u", "e"):
        out[f"{side}_conformance"] = bootstrap_ci(df[f"{side}_conformant"].astype(float), rng, n_boot)
        out[f"{side}_harm"] = bootstrap_ci(df[f"{side}_harmful"].astype(float), rng, n_boot)
        out[f"{side}_utility"] = bootstrap_ci(df[f"{side}_reward"].astype(float), rng, n_boot)
        out[f"{side}_harmful_calls"] = int(df[f"{side}_n_harmful"].sum())
        calls = df[f"{side}_n_calls"].sum()
        out[f"{side}_call_conformance"] = float(1 - df[f"{side}_n_bad_calls"].sum() / max(calls, 1))
    out["utility_delta"] = paired_delta_ci(df["e_reward"], df["u_reward"], rng, n_boot)
    out["intervention_rate"] = float((df["interventions"] > 0).mean())
    out["disagreements"] = int(df["disagreements"].sum())
    lat = np.concatenate([np.asarray(x, float) for x in df["check_ms"]]) if len(df) else np.zeros(0)
    out["check_ms_median"] = float(np.median(lat)) if lat.size else float("nan")
    out["check_ms_p99"] = float(np.percentile(lat, 99)) if lat.size else float("nan")
    out["n_checks"] = int(lat.size)
    return out


def monitor_conformance(df: pd.DataFrame) -> float:
    """Share of enforced trajectories that are conformant AND in which the SMT monitor never accepted a
    call the reference evaluator rejects (so the figure tests the monitor, not the reference gate)."""
    if not len(df):
        return float("nan")
    return float((df["e_conformant"].astype(bool) & (df["disagreements"] == 0)).mean())


def monitor_harm(df: pd.DataFrame) -> int:
    """Harmful calls issued with enforcement plus calls the SMT monitor accepted but the reference
    evaluator rejected (the harm the monitor alone would have let through, counted conservatively)."""
    return int(df["e_n_harmful"].sum() + df["disagreements"].sum())


def summary_table(summaries: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per setting: the headline numbers with their CIs, as percentages."""
    rows = []
    for name, s in summaries.items():
        def pct(t):
            return f"{100 * t[0]:.1f} [{100 * t[1]:.1f}, {100 * t[2]:.1f}]"

        rows.append({"setting": name, "n": s["n"], "conformance unrestricted %": pct(s["u_conformance"]),
                     "conformance enforced %": pct(s["e_conformance"]), "harm unrestricted %": pct(s["u_harm"]),
                     "harm enforced %": pct(s["e_harm"]), "utility unrestricted %": pct(s["u_utility"]),
                     "utility enforced %": pct(s["e_utility"]), "utility delta pp": pct(s["utility_delta"]),
                     "interventions %": f"{100 * s['intervention_rate']:.1f}"})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ latency
def latency_comparison(n_runs: int | None = None, repeats: int = 1) -> pd.DataFrame:
    """Per-check latency of the SMT monitor vs the reference evaluator on every call of the real
    airline runs (same prefix, same candidate)."""
    _nonneg("n_runs", n_runs)
    pol = builtin_policy("airline")
    runs = airline_runs()[: n_runs or None]
    rows = []
    for r in progress(runs, desc="latency: SMT vs reference"):
        mon = SmtMonitor(pol)
        for j, e in enumerate(r.events):
            if e.is_call:
                mon.reset(r.events[:j])
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    res = mon.check(e)
                    t1 = time.perf_counter()
                    v = ref.check_candidate(pol, r.events[:j], e)
                    t2 = time.perf_counter()
                rows.append({"run": r.key, "pos": j, "prefix_len": j, "tool": e.name, "smt_ms": 1e3 * (t1 - t0),
                             "ref_ms": 1e3 * (t2 - t1), "agree": res.ok == (not v)})
    return pd.DataFrame(rows)


def property_agreement(n_traces: int, seed: int, max_len: int = 8, n_real_runs: int | None = None) -> dict[str, Any]:
    """z3 vs reference on random traces (built-in policies + the toy policy) and on every prefix of the
    real airline runs."""
    from support.agentc.fuzz import compare, toy_policy

    pols = [builtin_policy("retail"), builtin_policy("airline"), toy_policy()]
    a = compare(pols, n_traces, seed, max_len=max_len)
    lat = latency_comparison(n_real_runs)
    return {"random_traces": a.traces, "random_checks": a.checks, "random_disagreements": a.disagreements,
            "core_not_subset": a.core_not_subset, "real_prefixes": len(lat),
            "real_disagreements": int((~lat["agree"]).sum()), "latency": lat, "random_seconds": a.seconds}


def policy_table() -> pd.DataFrame:
    """The rules of both built-in policies (domain, rule, kind, first line of its text)."""
    rows = []
    for dom in ("retail", "airline"):
        pol = builtin_policy(dom)
        for r in pol.rules:
            rows.append({"domain": dom, "rule": r.name, "kind": "liveness" if r.liveness else "safety",
                         "text": r.text})
    return pd.DataFrame(rows)


def airline_trajectories(n: int | None = None) -> list[Run]:
    return airline_runs()[: n or None]


__all__ = [
    "MUTATIONS",
    "PAPER_BASELINES",
    "airline_trace_track",
    "bootstrap_ci",
    "builtin_policy",
    "check_parameters",
    "expand_retail",
    "gold_replay",
    "latency_comparison",
    "monitor_conformance",
    "monitor_harm",
    "paired_delta_ci",
    "policy_table",
    "property_agreement",
    "record_token_claims",
    "recorded_reward_agreement",
    "retail_profile",
    "summarize",
    "summary_table",
    "token_track",
    "token_violation_counts",
]


# ------------------------------------------------------------------------------------------------ token track
def token_track(n_tasks: int, n_seeds: int, max_tokens: int, seed: int, xp=np, calls_per_episode: int = 1) -> dict:
    """SmolLM2-135M generating retail tool calls, grammar-masked, with vs without SMT checks in decoding.
    Returns the per-call rows and a summary table; ``available`` is False (with the reason) when the
    model packages are missing."""
    try:
        from support.agentc.token_track.episodes import run_token_track
        from support.lm.gguf_loader import ModelFileError, smollm2_path

        smollm2_path()
    except (ImportError, ModelFileError) as e:  # pragma: no cover - depends on the install
        return {"available": False, "reason": str(e), "rows": pd.DataFrame(), "table": pd.DataFrame()}
    t0 = time.perf_counter()
    rows = pd.DataFrame(run_token_track(n_tasks, n_seeds, calls_per_episode, max_tokens, seed, xp=xp,
                                        progress=progress))
    table = rows.groupby("enforce").agg(calls=("tool", "size"), schema_valid=("schema_valid", "mean"),
                                        compliant=("compliant", "mean"), backtracks_per_call=("backtracks", "mean"),
                                        fallbacks=("fallback", "sum"), tokens_per_call=("tokens", "mean"),
                                        seconds_per_call=("seconds", "mean"))
    table.index = ["without SMT check" if not e else "with SMT check" for e in table.index]
    checks = [x for lst in rows.loc[rows.enforce, "check_ms"] for x in lst]
    return {"available": True, "rows": rows, "table": table, "seconds": time.perf_counter() - t0,
            "check_ms_median": float(np.median(checks)) if checks else float("nan"), "n_checks": len(checks)}


def token_violation_counts(rows: pd.DataFrame) -> dict[str, int]:
    """Generated calls that violate the policy (complete calls the reference evaluator rejects), kept
    apart from calls cut off by the token budget (no call, hence no violation)."""
    complete = rows["complete"].astype(bool)
    violating = complete & rows["violations"].map(bool)
    return {"calls": len(rows), "violating": int(violating.sum()), "incomplete": int((~complete).sum())}


# A fallback call (transfer to a human) is compliant by construction. Bound fixed by the fix brief (the
# audit found the claim could not fail otherwise): if more than a quarter of the enforced calls are the
# fallback, "100% compliant" would mostly describe the fallback, not decoding under SMT checks.
TOKEN_FALLBACK_BOUND = 0.25


def record_token_claims(nb, tok: dict) -> None:
    """Record the token-track claims (or why they could not be measured); the compliance claim also
    needs the fallback share of enforced calls to stay within TOKEN_FALLBACK_BOUND."""
    if not tok.get("available"):
        for name in ("token_enforced_compliant", "token_unconstrained_violates"):
            nb.not_applicable(name, tok.get("reason", "token track not run"))
        return
    rows = tok["rows"]
    on, off = rows[rows.enforce], rows[~rows.enforce]
    n_ep = on.groupby(["task", "seed"]).ngroups
    fb_rate = float(on["fallback"].mean()) if len(on) else float("nan")
    ok = bool(on["schema_valid"].all() and on["compliant"].all() and on["complete"].all())
    nb.metric("token_fallback_rate", fb_rate)
    nb.record("token_enforced_compliant", ok and fb_rate <= TOKEN_FALLBACK_BOUND,
              note=f"{len(on)} calls in {n_ep} episodes; {int(on['backtracks'].sum())} backtracks, "
                   f"{int(on['fallback'].sum())} fallbacks ({100 * fb_rate:.0f}% of calls; bound "
                   f"{100 * TOKEN_FALLBACK_BOUND:.0f}%); all valid and compliant: {ok}; "
                   f"check median {tok['check_ms_median']:.1f} ms")
    c = token_violation_counts(off)
    nb.record("token_unconstrained_violates", c["violating"] > 0,
              note=f"{c['violating']}/{c['calls']} calls without the check violate the policy "
                   f"({c['incomplete']} more cut off by the token budget, not counted)")
    nb.metric("token_seconds", round(tok["seconds"], 1))
