"""What the CRMS notebook calls: profiling + fit, the default scenario against baselines, oracles,
runtime scaling, the quasi-dynamic epoch study on the Azure trace, and the DES check.

Every function returns plain pandas DataFrames / dicts; figures are drawn in the notebook.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from support import fits
from support.cgroups.profile import load_profile
from support.crms import baselines as B
from support.crms.des import simulate_allocation
from support.crms.latency_model import fit_monotone, fit_paper
from support.crms.oracles import grid_dp_optimum, scip_optimum
from support.crms.problem import DEFAULT_W_POW, App, Problem, Server, evaluate
from support.crms.profiling import CELL_STATS, RECORDED, cell_table, holdout_count, holdout_split, profile
from support.crms.solver import CRMSConfig, Stage1, crms
from support.crms.traces import rate_scale
from support.crms.workloads import WORKLOADS
from support.opt import InfeasibleError, OptError
from support.progress import progress
from support.seeding import derive
from support.sim.des_check import des_check as queue_des_check
from support.traces.azure import epoch_rates, load_azure
from support.validate import ParameterError, check_choice, check_range
from support.wording import count

# ----------------------------------------------------------------------------------------------- profiling + fit

GRIDS = {  # (cpus, mem_mb, rounds, size) per scale; default has as many rounds as paper since a round costs ~1 min
    "smoke": ((0.5, 1.0), (128, 512), 1, 0.3),
    "default": ((0.15, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8, 1.0), (128, 256, 384, 512), 5, 1.0),
    "paper": ((0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1.0), (128, 192, 256, 384, 512), 5, 1.0),
}


def run_profile(scale: str, seed: int = 0):
    """Live profile at the scale's grid (recorded profile if cgroups are not usable here)."""
    cpus, mem, reps, size = GRIDS[scale]
    return profile(cpus=cpus, mem_mb=mem, reps=reps, size=size, seed=seed)


def recorded_profile() -> pd.DataFrame:
    """The recorded full-grid profile (written earlier by :func:`support.crms.profiling.profile`)."""
    return load_profile(RECORDED)


def fit_summary(table: pd.DataFrame) -> dict:
    """The fit claims from :func:`fit_profiles`'s table: the worst held-back adjusted R^2 (monotone form), R^2
    (monotone form) and R^2 of the paper's form over workloads; NaN if any workload has no held-back score."""
    return {k: float(table[c].min(skipna=False)) for k, c in (
        ("worst_adj_r2_held_back", "adj_r2_held_back"), ("worst_r2_held_back", "r2_held_back"),
        ("worst_paper_form_r2_held_back", "paper_form_r2_held_back"))}


def fit_profiles(df: pd.DataFrame, holdout_frac: float, rng: np.random.Generator, stat: str = CELL_STATS[0]):
    """Fit both latency forms per workload on the non-held-back grid cells; score on the held-back cells.

    Returns ``(table, models, cells)``: one row per workload with adjusted R^2 (train, held-back), R^2
    of the paper's form; the fitted :class:`MonotoneLatency` per workload (c in CPUs, m in GB, d in s);
    and each cell's latency (``stat`` over its repetitions, :func:`cell_table`) with predictions and a
    ``held_back`` flag.
    """
    cells = cell_table(df, stat)
    cells["m_gb"] = cells.mem_mb / 1024
    cells["held_back"] = holdout_split(cells, holdout_frac, rng) if holdout_frac > 0 else False
    spread = (df.groupby(["workload", "cpus", "mem_mb"]).cpu_s.agg(lambda x: x.max() / x.min())
              .groupby("workload").median())
    rows, models, parts = [], {}, []
    for w, g in cells.groupby("workload", sort=False):
        tr, te = g[~g.held_back], g[g.held_back]
        mono = fit_monotone(tr.cpus, tr.m_gb, tr.latency_s)
        pap = fit_paper(tr.cpus, tr.m_gb, tr.latency_s)
        g = g.assign(pred=mono(g.cpus, g.m_gb), pred_paper=pap(g.cpus, g.m_gb))
        parts.append(g)
        row = {"workload": w, "train_cells": len(tr), "held_back_cells": len(te),
               "adj_r2_train": fits.adjusted_r2(tr.latency_s, mono(tr.cpus, tr.m_gb), 6) if len(tr) > 7 else np.nan,
               "adj_r2_held_back": fits.adjusted_r2(te.latency_s, mono(te.cpus, te.m_gb), 6) if len(te) > 7 else np.nan,
               "r2_held_back": fits.r2(te.latency_s, mono(te.cpus, te.m_gb)) if len(te) > 1 else np.nan,
               "paper_form_r2_train": fits.r2(tr.latency_s, pap(tr.cpus, tr.m_gb)),
               "paper_form_r2_held_back": fits.r2(te.latency_s, pap(te.cpus, te.m_gb)) if len(te) > 1 else np.nan,
               "cpu_sensitivity": float(mono(0.25, 0.5) / mono(1.0, 0.5)),
               "mem_sensitivity": float(mono(1.0, 0.125) / mono(1.0, 0.5)),
               "cpu_time_spread": float(spread.get(w, np.nan))}
        row.update({k: v for k, v in zip(("a", "b", "beta", "h", "g", "gamma"), mono.as_tuple())})
        row.update({"k1": pap.k1, "k2": pap.k2, "k3": pap.k3})
        rows.append(row)
        models[w] = mono
    return pd.DataFrame(rows), models, pd.concat(parts, ignore_index=True)


# ----------------------------------------------------------------------------------------------- scenario

def default_server(**kw) -> Server:
    base = {"cpu": 4.0, "mem": 2.0, "c_min": 0.15, "c_max": 1.0, "m_min": 0.125, "m_max": 0.5, "n_max": 8}
    base.update(kw)
    return Server(**base)


def trace_rates(epoch_s: float = 300.0):
    """Azure trace request rates per epoch and class (4 classes: code/conv x short/long context)."""
    return epoch_rates(load_azure(), epoch_s)


def scenario(models: dict, rates_row: np.ndarray, rates_all: np.ndarray, classes: list[str], server: Server,
             load: float, w_pow: float) -> Problem:
    """Apps = workloads (one per trace class) with rates = this epoch's trace rates, scaled to ``load``."""
    names = list(models)
    if len(names) != len(classes):
        raise ValueError(f"{len(names)} workloads but {len(classes)} trace classes")
    work = np.array([float(models[w](1.0, 0.256)) for w in names])  # CPU-s per request at 1 CPU
    scale = rate_scale(rates_all, work, server.cpu, load)  # from the trace means; epoch-0 rates may be 0
    lam = rates_row * scale
    apps = tuple(App(f"{w} <- {c}", models[w], float(max(x, 1e-3))) for w, c, x in zip(names, classes, lam))
    return Problem(apps, server, w_pow=w_pow)


def busy_power(p: Problem, a) -> tuple[float, float]:
    """Busy CPUs sum(lam_i d_i c_i) (a busy container uses its whole quota), capped at the reserved CPUs,
    and the power of the same linear model read as utilization instead of reservation (not a claim)."""
    reserved = min(a.cpu_used, p.server.cpu)
    busy = min(float(np.sum(p.lam * p.d(a.c, a.m) * a.c)), reserved)
    return busy, float(p.server.power_model.power(busy, a.mem_used))


def compare(p: Problem, seed: int, search: bool = True, budget_s: float | None = None) -> pd.DataFrame:
    """CRMS against every baseline on one problem (the same models, rates and power model for all); search
    baselines get CRMS's wall-clock time. Each row carries the method's allocation (n, c, m per app)."""
    res = [crms(p)]
    res += [f(p) for f in B.HEURISTICS.values()]
    budget = res[0].seconds if budget_s is None else budget_s
    if search:
        res.append(B.random_search(p, budget, derive(seed, "random search")))
        res.append(B.annealing(p, budget, seed))
    lam_tot = float(p.lam.sum())
    rows = []
    for a in res:
        busy, p_busy = busy_power(p, a)
        rows.append({"method": a.method, "latency_s": a.latency, "power_w": a.power, "objective": a.objective,
                     "requests_per_joule": lam_tot / a.power, "cpu_alloc": a.cpu_used, "mem_alloc": a.mem_used,
                     "cpu_busy": busy, "power_busy_w": p_busy, "containers": int(np.sum(a.n)), "seconds": a.seconds,
                     "evaluations": a.info.get("evaluations", np.nan),  # objective calls of a search in its budget
                     "n": a.n.tolist(), "c": a.c.tolist(), "m": a.m.tolist()})
    return pd.DataFrame(rows)


def _seed_problem(models: dict, seed: int, server: Server, w_pow: float, load_range, rates, classes):
    """The default scenario of one seed: a random trace epoch and a random load level."""
    rng = derive(seed, "crms headline")
    e = int(rng.integers(rates.shape[0]))
    load = float(rng.uniform(*load_range))
    return scenario(models, rates[e], rates, classes, server, load, w_pow), e, load


def power_weight_grid(w_pow: float, factors=(0.25, 0.5, 1, 2, 4, 8, 16)) -> tuple[list[float], float]:
    """The power weights of the frontier figure and the unit its labels count in: multiples of ``w_pow``; for
    ``w_pow = 0`` (latency only) 0 itself plus multiples of the Problem's default weight, so the sweep still moves."""
    check_range(w_pow, "w_pow", low=0, error=ParameterError)
    if w_pow > 0:
        return [w_pow * f for f in factors], w_pow
    return [0.0] + [DEFAULT_W_POW * f for f in factors], DEFAULT_W_POW


def power_frontier(models: dict, seeds, server: Server, w_pows, load_range=(0.5, 0.7),
                   epoch_s: float = 300.0) -> pd.DataFrame:
    """CRMS on the headline's scenarios with the power weight swept over ``w_pows``, beside the heuristics
    (which do not depend on the weight): latency and power per (seed, method, w_pow). Shows whether CRMS's
    extra power at the preset weight is a choice of operating point or a cost of the method."""
    w_pows = list(w_pows)
    if not w_pows:
        raise ValueError("power_frontier needs at least one power weight in w_pows")
    rates, classes, _ = trace_rates(epoch_s)
    rows = []
    for seed in progress(list(seeds), desc="power weights"):
        for w in w_pows:
            p, _, _ = _seed_problem(models, seed, server, float(w), load_range, rates, classes)
            a = crms(p)
            rows.append({"seed": seed, "method": "CRMS", "w_pow": float(w), "latency_s": a.latency,
                         "power_w": a.power})
        for name, f in B.HEURISTICS.items():
            a = f(p)
            rows.append({"seed": seed, "method": name, "w_pow": np.nan, "latency_s": a.latency, "power_w": a.power})
    return pd.DataFrame(rows)


def best_by_seed(heur: pd.DataFrame) -> pd.DataFrame:
    """Per seed, the row of ``heur`` (the heuristics' rows) with the lowest latency (the first in row order on ties;
    an unstable one, latency inf, where none is stable), indexed by seed."""
    return heur.loc[heur.groupby("seed").latency_s.idxmin()].set_index("seed")


def frontier_summary(fr: pd.DataFrame) -> pd.DataFrame:
    """Per power weight: CRMS's median latency reduction and mean power ratio against the per-seed best
    heuristic (by latency), over the seeds where some heuristic is stable."""
    best = best_by_seed(fr[fr.method != "CRMS"])
    best = best[np.isfinite(best.latency_s)]
    c = fr[(fr.method == "CRMS") & fr.seed.isin(best.index)].copy()
    c["reduction"] = 1 - c.latency_s / best.latency_s.reindex(c.seed).to_numpy()
    c["power_ratio"] = c.power_w / best.power_w.reindex(c.seed).to_numpy()
    return c.groupby("w_pow").agg(latency_reduction_median=("reduction", "median"),
                                  power_ratio_mean=("power_ratio", "mean"), seeds=("seed", "count"))


def frontier_label_groups(fs: pd.DataFrame, dx: float = 0.004, dy_pct: float = 1.5) -> list[tuple[float, float, list]]:
    """Figure 3b's labels: :func:`frontier_summary`'s weights, in order, grouped so that a weight whose point (power
    ratio, latency reduction in %) lies within ``dx`` and ``dy_pct`` of its group's first point shares that label.

    Returns ``(power ratio, reduction %, [weights])`` per group, at the group's first point."""
    groups: list[tuple[float, float, list]] = []
    for w, r in fs.iterrows():
        x, y = float(r.power_ratio_mean), float(r.latency_reduction_median) * 100
        if groups and abs(x - groups[-1][0]) < dx and abs(y - groups[-1][1]) < dy_pct:
            groups[-1][2].append(w)
        else:
            groups.append((x, y, [w]))
    return groups


def headline(models: dict, seeds, server: Server, w_pow: float, load_range=(0.5, 0.7), epoch_s: float = 300.0):
    """Per seed: a random trace epoch and load level; CRMS vs all baselines. Returns (per-method rows, per-seed summary).

    The best heuristic is chosen per seed by latency; power ratios are NaN where no heuristic is stable."""
    rates, classes, _ = trace_rates(epoch_s)
    rows, summ = [], []
    for seed in progress(list(seeds), desc="seeds"):
        p, e, load = _seed_problem(models, seed, server, w_pow, load_range, rates, classes)
        t = compare(p, seed).assign(seed=seed, epoch=e, load=load)
        rows.append(t)
        crm = t[t.method == "CRMS"].iloc[0]
        heur = t[t.method.isin(list(B.HEURISTICS))]
        best_h = heur.loc[heur.latency_s.idxmin()]
        srch = t[t.method.isin(B.SEARCHES)]
        best_s = srch.loc[srch.latency_s.idxmin()]
        evals = dict(zip(srch.method, srch.evaluations))
        summ.append({"seed": seed, "epoch": e, "load": load, "best_heuristic": best_h.method,
                     "heuristics_all_unstable": bool(not np.isfinite(best_h.latency_s)),
                     "reduction_vs_heuristic": 1 - crm.latency_s / best_h.latency_s,
                     "reduction_vs_search": 1 - crm.latency_s / best_s.latency_s,
                     "searches_all_unstable": bool(not np.isfinite(best_s.latency_s)),
                     # no stable heuristic: no allocation that serves the load to compare power with
                     "power_ratio": crm.power_w / best_h.power_w if np.isfinite(best_h.latency_s) else np.nan,
                     "efficiency_ratio": (crm.requests_per_joule / best_h.requests_per_joule
                                          if np.isfinite(best_h.latency_s) else np.nan),
                     # the same power model read as utilization (busy CPUs), not reservation: not a claim
                     "power_ratio_busy": (crm.power_busy_w / best_h.power_busy_w
                                          if np.isfinite(best_h.latency_s) else np.nan),
                     "crms_seconds": crm.seconds,
                     # the searches stop on CRMS's wall-clock time (the rule), so how far they get moves
                     # with the machine's load: their objective calls in that time
                     "random_search_evaluations": evals[B.RANDOM_SEARCH], "annealing_evaluations": evals[B.ANNEALING]})
    return pd.concat(rows, ignore_index=True), pd.DataFrame(summ)


HEADLINE_MARGIN = 0.10  # the margin over the best heuristic (seeds_10pct)


def headline_summary(summ: pd.DataFrame, margin: float = HEADLINE_MARGIN) -> dict:
    """The headline's latency claims from :func:`headline`'s per-seed summary: median reduction against the best
    heuristic and against the best search, and the fraction of seeds with a reduction >= ``margin`` (seeds_10pct)."""
    if summ.empty:
        raise ValueError("headline_summary needs at least one seed; the headline ran none")
    r = summ.reduction_vs_heuristic
    return {"seeds": len(summ), "latency_vs_heuristic": float(r.median()), "mean_vs_heuristic": float(r.mean()),
            "seeds_10pct": float((r >= margin).mean()), "latency_vs_search": float(summ.reduction_vs_search.median()),
            "crms_seconds_median": float(summ.crms_seconds.median()),
            "random_search_evaluations_median": float(summ.random_search_evaluations.median()),
            "annealing_evaluations_median": float(summ.annealing_evaluations.median()),
            "heuristics_all_unstable": int(summ.heuristics_all_unstable.sum()),
            "searches_all_unstable": int(summ.searches_all_unstable.sum())}


def _kept_heuristics(left_out: tuple[str, ...]) -> list[str]:
    """The heuristics of :data:`B.HEURISTICS` not in ``left_out``; an unknown name or none left is a ValueError."""
    unknown = set(left_out) - set(B.HEURISTICS)
    if unknown:
        raise ValueError(f"unknown heuristics {sorted(unknown)}; known: {', '.join(B.HEURISTICS)}")
    kept = [h for h in B.HEURISTICS if h not in left_out]
    if not kept:
        raise ValueError("at least one heuristic must be left")
    return kept


POWER_TIE = 1e-9  # relative: a per-seed power or efficiency ratio this close to 1 is a tie


def ties_to_one(ratios: np.ndarray) -> np.ndarray:
    """Per-seed power or efficiency ratios with those within :data:`POWER_TIE` of 1 set to exactly 1: equal
    reservations up to solver tolerance are a tie, so no mean, count or strict rule reads that noise as a difference
    (energy_efficiency's "> 1" once took 1 + 4e-10 as better)."""
    return np.where(np.abs(ratios - 1) <= POWER_TIE, 1.0, ratios)


def margin_without(rows: pd.DataFrame, left_out: tuple[str, ...] = (B.VPA_STYLE,),
                   margin: float = HEADLINE_MARGIN) -> dict:
    """CRMS's latency reduction against the per-seed best heuristic when ``left_out`` heuristics are not offered: by
    default the issue's named heuristics only, without the VPA-style share that we added (issue 10's acceptance).
    Median over seeds and the fraction of seeds with a reduction >= ``margin``; no stable heuristic reads 1. Also
    the power ratio to that best heuristic per seed where it is stable and its mean (NaN where none is)."""
    kept = _kept_heuristics(left_out)
    best = best_by_seed(rows[rows.method.isin(kept)])
    crm = rows[rows.method == "CRMS"].set_index("seed").reindex(best.index)
    r = 1 - crm.latency_s / best.latency_s
    stable = np.isfinite(best.latency_s)
    power = (crm.power_w / best.power_w)[stable]
    power = ties_to_one(power.to_numpy(float))
    return {"heuristics": kept, "seeds": len(r), "median": float(r.median()),
            "seeds_margin": float((r >= margin).mean()),
            "power_ratio_mean": float(power.mean()) if len(power) else np.nan,
            "power_ratios": [float(x) for x in power]}


def method_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per method: mean latency, power and requests per joule over the seeds where it is stable (an unstable
    allocation's power is that of a placeholder), how many seeds it is unstable on, containers and wall time."""
    fin = rows.assign(stable=np.isfinite(rows.latency_s))
    g = fin.groupby("method")

    def stable_mean(col):
        return g.apply(lambda d: d[col][d.stable].mean(), include_groups=False)
    out = pd.DataFrame({"latency_s (stable seeds)": stable_mean("latency_s"),
                        "unstable_seeds": g.apply(lambda d: int((~d.stable).sum()), include_groups=False),
                        "power_w (stable seeds)": stable_mean("power_w"),
                        "requests_per_joule (stable seeds)": stable_mean("requests_per_joule"),
                        "containers": g.containers.mean(), "seconds": g.seconds.mean()})
    return out.sort_values(["unstable_seeds", "latency_s (stable seeds)"])


def constant_power(p_idle: float, p_max: float, beta_mem: float) -> str | None:
    """None unless the linear power model draws the same power for every allocation (p_idle == p_max and
    beta_mem == 0): then the power and efficiency claims would compare a constant with itself; the reason, for
    ``record_unless``."""
    if p_idle == p_max and beta_mem == 0:
        return (f"the power model is constant (p_idle = p_max = {p_idle:g} W, beta_mem = 0): every allocation draws "
                f"the same power, so the ratio is 1 by construction")
    return None


def power_summary(summ: pd.DataFrame, column: str = "power_ratio") -> dict:
    """A per-seed ratio of :func:`headline` (``power_ratio``, ``efficiency_ratio``, ``power_ratio_busy``) over the
    seeds where it is defined: mean, 95% t-CI over seeds, seeds above / below 1, and whether the CI resolves 1; a
    ratio within :data:`POWER_TIE` of 1 counts as exactly 1 (a tie) in all of them."""
    if column not in summ:
        raise ValueError(f"power_summary: no column {column!r}; headline's summary has {list(summ.columns)}")
    v = ties_to_one(summ[column].dropna().to_numpy(float))
    n, nan = len(v), float("nan")
    mean = float(v.mean()) if n else nan
    if n < 2:
        lo = hi = nan
    elif np.ptp(v) == 0:  # every seed the same: the CI is that value
        lo = hi = mean
    else:
        lo, hi = (float(x) for x in stats.t.interval(0.95, n - 1, loc=mean, scale=stats.sem(v)))
    includes_1 = not (lo > 1 or hi < 1)  # also when there is no CI (fewer than 2 seeds)
    resolution = ""
    if includes_1:
        resolution = (f"not resolved by {count(n, 'seed')} (95% t-CI includes 1)" if n >= 2 else
                      f"not resolved by {count(n, 'seed')} (no t-CI from fewer than 2 seeds)")
    return {"column": column, "seeds": n, "mean": mean, "ci_low": lo, "ci_high": hi,
            "above_1": int((v > 1).sum()), "below_1": int((v < 1).sum()),
            "min": float(v.min()) if n else nan, "max": float(v.max()) if n else nan,
            "ci_includes_1": includes_1, "resolution": resolution}


def cpu_saturated_seeds(rows: pd.DataFrame, server_cpu: float) -> tuple[int, int]:
    """``(k, seeds)``: on k of the seeds of :func:`headline`'s rows every stable method reserves all
    ``server_cpu`` CPUs, so power differs between them only by reserved memory (Figure 3)."""
    stable = rows[np.isfinite(rows.latency_s)]
    full = stable.groupby("seed").cpu_alloc.min() >= server_cpu * (1 - 1e-6)
    return int(full.reindex(rows.seed.unique(), fill_value=False).sum()), int(rows.seed.nunique())


# ----------------------------------------------------------------------------------------------- oracles

def random_small_problem(models: dict, rng: np.random.Generator, n_apps=(2, 4), n_max: int = 4) -> Problem:
    """A small instance: apps drawn from the fitted models (random speed factor 0.5-2), rates so that each
    app needs 1-3 containers, a server sized for a random load 0.5-0.8."""
    names = list(models)
    N = int(rng.integers(n_apps[0], n_apps[1] + 1))
    apps = []
    for i in range(N):
        mdl = models[names[int(rng.integers(len(names)))]].scaled(float(rng.uniform(0.5, 2.0)))
        dmin = float(mdl(1.0, 0.5))
        apps.append(App(f"app{i}", mdl, float(rng.uniform(0.4, 2.6)) / dmin))
    work = sum(a.lam * float(a.model(1.0, 0.256)) for a in apps)
    load = float(rng.uniform(0.5, 0.8))
    server = default_server(cpu=float(np.clip(work / load, 0.5 * N, 1.5 * N * n_max)),
                            mem=float(rng.uniform(0.25, 0.6)) * N * n_max * 0.5, n_max=n_max)
    return Problem(tuple(apps), server, w_pow=float(rng.uniform(0.0, 0.004)))


def scip_on_crms_infeasible(p: Problem, scip_time_limit: float) -> dict:
    """SCIP on an instance CRMS calls infeasible: it agrees (proves infeasibility), disagrees (returns a point
    that :func:`evaluate` finds feasible: gap inf, failing both bars), or cannot tell (error; a NaN gap)."""
    try:
        s = scip_optimum(p, time_limit=scip_time_limit)
    except InfeasibleError:
        return {"scip_agrees_infeasible": True, "scip_status": "infeasible"}
    except OptError as e:  # SCIP's own failure, or stopped without any feasible point: it cannot tell
        return {"scip_agrees_infeasible": None, "scip_status": f"error: {e}"[:200]}
    feasible = bool(np.isfinite(s.objective))
    return {"scip_agrees_infeasible": False if feasible else None, "scip_status": s.info["status"],
            "crms": np.inf, "scip": s.objective, "gap": np.inf if feasible else np.nan, "scip_n": s.n.tolist()}


def oracle_study(models: dict, n_instances: int, seed: int, scip_time_limit: float = 30.0) -> pd.DataFrame:
    """CRMS vs the SCIP global optimum (and the exact grid DP for N <= 3) on random small instances; where
    CRMS calls an instance infeasible, SCIP is asked too (:func:`scip_on_crms_infeasible`)."""
    rows = []
    for k in progress(range(n_instances), desc="oracle instances"):
        rng = derive(seed, "oracle", k)
        p = random_small_problem(models, rng)
        try:
            a = crms(p)
        except InfeasibleError as e:
            rows.append({"instance": k, "N": p.N, "infeasible": e.binding, **scip_on_crms_infeasible(p, scip_time_limit)})
            continue
        try:
            s = scip_optimum(p, time_limit=scip_time_limit)
        except OptError as e:  # SCIP's own numerical failure: the instance has no oracle value
            rows.append({"instance": k, "N": p.N, "infeasible": None, "scip_status": f"error: {e}"[:200]})
            continue
        if s.info["status"] not in ("optimal", "gaplimit"):  # stopped (time limit) without a proven optimum
            rows.append({"instance": k, "N": p.N, "infeasible": None, "scip_status": f"stopped: {s.info['status']}"})
            continue
        row = {"instance": k, "N": p.N, "crms": a.objective, "scip": s.objective, "scip_status": s.info["status"],
               "scip_messages": s.info.get("solver_messages", ""),
               "gap": (a.objective - s.objective) / s.objective, "crms_s": a.seconds, "scip_s": s.seconds,
               "crms_n": a.n.tolist(), "scip_n": s.n.tolist(), "infeasible": None}
        if p.N <= 3:
            g = grid_dp_optimum(p)
            row.update(dp=g.objective, gap_dp=(a.objective - g.objective) / g.objective)
        rows.append(row)
    return pd.DataFrame(rows)


def oracle_summary(orc: pd.DataFrame) -> dict:
    """scip_2pct, scip_5pct_all and grid_dp from :func:`oracle_study`'s rows, judged on every gap (a refuted CRMS
    "infeasible" is gap inf); both-infeasible, SCIP-failed and NaN-gap (SCIP point rejected) rows counted apart."""
    if orc.empty:
        raise ValueError("oracle_summary needs at least one instance row; the study ran none")

    def col(name):  # a column the study may not have produced (no infeasible instance, no N <= 3): all missing
        return orc[name] if name in orc else pd.Series(None, index=orc.index, dtype=object)

    status = col("scip_status").astype(str)
    gap = pd.to_numeric(col("gap"), errors="coerce")
    crms_inf = col("infeasible").notna()
    agree = crms_inf & col("scip_agrees_infeasible").map(lambda x: x is True or x is np.True_)
    err = status.str.startswith(("error", "stopped"))
    judged = gap.notna()
    nan_gap = ~judged & ~agree & ~err
    g = gap[judged]
    dp = pd.to_numeric(col("gap_dp"), errors="coerce").dropna()
    nan = float("nan")
    return {"instances": len(orc), "judged": int(judged.sum()),
            "frac_2pct": float((g <= 0.02).mean()) if len(g) else nan,
            "worst_gap": float(g.max()) if len(g) else nan, "median_gap": float(g.median()) if len(g) else nan,
            "crms_infeasible": int(crms_inf.sum()), "both_infeasible": int(agree.sum()),
            "scip_refutes_infeasible": int((crms_inf & judged).sum()),
            "scip_errors": int(err.sum()), "nan_gap": int(nan_gap.sum()),
            "nan_gap_instances": [int(k) for k in orc.instance[nan_gap]],
            "dp_instances": len(dp), "dp_within_half_pct": bool((dp <= 0.005).all()) if len(dp) else None}


PROVEN = ("optimal", "gaplimit")  # SCIP statuses that prove the optimum (gaplimit: within the 1e-6 gap asked)


def oracle_gaps(crms_objective: float, primal: float, dual: float) -> tuple[float, float]:
    """Relative gaps of CRMS to SCIP's best primal value and to SCIP's dual (lower) bound.

    dual <= optimum <= primal, so the dual gap upper-bounds CRMS's true gap even when SCIP stops early
    (a non-positive dual bound bounds nothing: inf)."""
    if not (np.isfinite(primal) and primal > 0):
        raise ValueError(f"SCIP's primal value must be finite and > 0 (the objective is positive), got {primal}")
    if dual > primal * (1 + 1e-6):
        raise ValueError(f"SCIP's dual bound {dual} is above its primal value {primal}; the two are swapped")
    gap = (crms_objective - primal) / primal
    gap_dual = (crms_objective - dual) / dual if np.isfinite(dual) and dual > 0 else np.inf
    return float(gap), float(gap_dual)


def screened_oracle_row(p: Problem, k: int, scip_time_limit: float, config: CRMSConfig | None = None) -> dict:
    """One instance of the screened-path oracle study: CRMS, then SCIP with a time limit; the gap to SCIP's
    best primal value (the claim's, where SCIP proved optimality) and to its dual bound (valid either way)."""
    cfg = config or CRMSConfig()
    row = {"instance": k, "N": p.N, "screened": bool(2 * p.N > cfg.exhaustive_below), "infeasible": None,
           "proven": False}
    try:
        a = crms(p, cfg)
    except InfeasibleError as e:
        return {**row, "infeasible": e.binding}
    row.update(crms=a.objective, crms_s=a.seconds, crms_n=a.n.tolist())
    try:
        s = scip_optimum(p, time_limit=scip_time_limit)
    except OptError as e:  # SCIP failed numerically or found no feasible point in time: no primal, no bound
        return {**row, "scip_status": f"error: {e}"[:200]}
    primal, dual = float(s.info["scip_objective"]), float(s.info["dual_bound"])
    gap, gap_dual = oracle_gaps(a.objective, primal, dual)
    return {**row, "scip_primal": primal, "scip_dual": dual, "scip_eval": s.objective,
            "scip_status": s.info["status"], "scip_messages": s.info.get("solver_messages", ""),
            "proven": s.info["status"] in PROVEN, "gap": gap, "gap_dual": gap_dual,
            "scip_s": s.seconds, "scip_n": s.n.tolist()}


def screened_oracle_study(models: dict, n_instances: int, seed: int, n_apps=(7, 8), scip_time_limit: float = 30.0,
                          config: CRMSConfig | None = None) -> pd.DataFrame:
    """CRMS's screened path against SCIP on random instances of 7-8 apps (the generator of :func:`oracle_study`,
    more apps), one row per instance from :func:`screened_oracle_row`."""
    rows = []
    for k in progress(range(n_instances), desc="screened oracle instances"):
        p = random_small_problem(models, derive(seed, "screened oracle", k), n_apps=n_apps)
        rows.append(screened_oracle_row(p, k, scip_time_limit, config))
    return pd.DataFrame(rows)


def screened_summary(df: pd.DataFrame) -> dict:
    """The screened study's claim values: fraction within 2% and worst gap to SCIP's primal over the proven
    instances only (the scip_2pct convention), and the dual-bound gaps over every instance SCIP returned."""
    if df.empty:
        raise ValueError("screened_summary needs at least one instance row; the study ran none")
    fea = df[df.infeasible.isna()]
    proven = fea[fea.proven.astype(bool)]
    bound = fea[fea.gap_dual.notna()] if "gap_dual" in fea else fea.iloc[:0]
    nan = float("nan")
    return {"instances": len(df), "feasible": len(fea), "proven": len(proven),
            "scip_errors": int(fea.scip_status.astype(str).str.startswith("error").sum()) if len(fea) else 0,
            "frac_2pct": float((proven.gap <= 0.02).mean()) if len(proven) else nan,
            "worst_gap": float(proven.gap.max()) if len(proven) else nan,
            "median_gap": float(proven.gap.median()) if len(proven) else nan,
            "with_bound": len(bound),
            "frac_2pct_dual": float((bound.gap_dual <= 0.02).mean()) if len(bound) else nan,
            "worst_gap_dual": float(bound.gap_dual.max()) if len(bound) else nan,
            "worst_gap_dual_proven": float(proven.gap_dual.max()) if len(proven) else nan}


def synthetic_problem(models: dict, N: int, rng: np.random.Generator, load: float = 0.6) -> Problem:
    """N apps drawn from the fitted models with random speed factors; server of N CPUs and N/2 GB."""
    names = list(models)
    apps = []
    for i in range(N):
        mdl = models[names[i % len(names)]].scaled(float(rng.uniform(0.5, 2.0)))
        apps.append(App(f"app{i}", mdl, 1.0))
    server = default_server(cpu=float(N), mem=0.5 * N)
    w = rng.uniform(0.5, 1.5, N)
    work = np.array([float(a.model(1.0, 0.256)) for a in apps])
    lam = w / np.sum(w * work) * server.cpu * load
    return Problem(tuple(apps), server).with_rates(lam)


def runtime_vs_n(models: dict, Ns, seed: int, reps: int = 1) -> pd.DataFrame:
    """Wall time of CRMS (including compiling stage 1) vs the number of apps."""
    rows = []
    for N in progress(list(Ns), desc="runtime vs N"):
        for r in range(reps):
            p = synthetic_problem(models, N, derive(seed, "runtime", N, r))
            t0 = time.perf_counter()
            a = crms(p)
            rows.append({"N": N, "rep": r, "seconds": time.perf_counter() - t0, "iterations": a.info["iterations"],
                         "convex_solves": a.info["convex_solves"], "objective": a.objective})
    return pd.DataFrame(rows)


def loglog_slope(df: pd.DataFrame) -> float:
    g = df.groupby("N").seconds.median()
    return fits.loglog_slope(g.index, g.to_numpy())


def runtime_at(df: pd.DataFrame, N: int = 50) -> float | None:
    """The slowest of :func:`runtime_vs_n`'s repetitions at ``N`` apps (runtime_n50), or None where N was not run."""
    s = df[df.N == N].seconds
    return float(s.max()) if len(s) else None


# ----------------------------------------------------------------------------------------------- quasi-dynamic

def epoch_study(models: dict, server: Server, w_pow: float, load: float, epoch_s: float = 300.0,
                max_epochs: int | None = None) -> pd.DataFrame:
    """Re-solve CRMS every epoch as the trace's rates change (warm-started from the previous counts) and
    compare with the heuristics re-applied each epoch, plus CRMS's first-epoch allocation kept static. An epoch
    whose demand the server cannot hold (the trace's peaks can exceed the mean load) is a row with CRMS at inf and
    the binding constraint in ``infeasible``, not the end of the study; the static allocation is then the first
    feasible epoch's."""
    rates, classes, starts = trace_rates(epoch_s)
    E = rates.shape[0] if max_epochs is None else min(max_epochs, rates.shape[0])
    rows, prev, st, first = [], None, None, None
    for e in progress(range(E), desc="epochs"):
        p = scenario(models, rates[e], rates, classes, server, load, w_pow)
        if st is None:
            st = Stage1(p)
        t0 = time.perf_counter()
        try:
            a, why = crms(p, stage1=st, n0=prev), ""
        except InfeasibleError as err:
            a, why = None, err.binding or str(err)
        dt = time.perf_counter() - t0
        if a is not None:
            prev = a.n
            first = a if first is None else first
        stat = evaluate(p, first.n, first.c, first.m) if first is not None else None
        row = {"epoch": e, "t_min": starts[e] / 60, "total_rate": float(p.lam.sum()),
               "CRMS": a.latency if a is not None else np.inf, "CRMS power": a.power if a is not None else np.nan,
               "CRMS static (epoch 0)": stat.latency if stat is not None else np.inf, "resolve_s": dt,
               "containers": int(a.n.sum()) if a is not None else 0, "infeasible": why}
        for name, f in B.HEURISTICS.items():
            h = f(p)
            row[name] = h.latency
            row[name + " power"] = h.power
        rows.append(row)
    df = pd.DataFrame(rows)
    df["best heuristic"] = df[list(B.HEURISTICS)].min(axis=1)
    return df


QUASI_MARGIN = HEADLINE_MARGIN  # the headline's margin, applied per epoch by quasi_dynamic


def epoch_summary(ep: pd.DataFrame, margin: float = QUASI_MARGIN) -> dict:
    """quasi_dynamic from :func:`epoch_study`: CRMS's margin 1 - CRMS / best heuristic per epoch and the fraction
    of epochs >= ``margin``; beside it, how often re-solving beats the epoch-0 allocation after the first epoch."""
    if ep.empty:
        raise ValueError("epoch_summary needs at least one epoch; the study ran none")
    crm, best = ep["CRMS"].to_numpy(float), ep["best heuristic"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = 1 - crm / best  # best inf, CRMS finite: 1; both inf: NaN, not a win
    later = ep.iloc[1:]
    return {"epochs": len(ep), "margins": [float(x) for x in m], "frac_margin": float(np.mean(m >= margin)),
            "wins": int(np.sum(crm < best)), "median_margin": float(np.nanmedian(m)) if np.isfinite(m).any() else np.nan,
            "resolve_epochs": len(later),
            "frac_resolve_lowers": (float((later["CRMS"] < later["CRMS static (epoch 0)"]).mean()) if len(later)
                                    else np.nan)}


def epoch_summary_without(ep: pd.DataFrame, left_out: tuple[str, ...] = (B.VPA_STYLE,),
                          margin: float = QUASI_MARGIN) -> dict:
    """:func:`epoch_summary` with the best heuristic taken over the heuristics not in ``left_out`` (a metric, not a
    claim): by default the issue's named three, without the VPA-style share that we added."""
    kept = _kept_heuristics(left_out)
    return epoch_summary(ep.assign(**{"best heuristic": ep[kept].min(axis=1)}), margin)


# ----------------------------------------------------------------------------------------------- checks

def des_check(p: Problem, a, jobs_per_app: int, seed: int) -> pd.DataFrame:
    return pd.DataFrame(simulate_allocation(p, a, jobs_per_app, seed))


def des_summary(des: pd.DataFrame, rho_max: float = 0.8) -> dict:
    """The des_5pct claim from :func:`des_check`'s rows: the worst relative error over the apps whose containers
    run at load <= ``rho_max`` (NaN when none does), how many apps that is and the jobs simulated in all."""
    low = des[des.rho <= rho_max]
    return {"apps": len(low), "worst_rel_err": float(low.rel_err.max()) if len(low) else float("nan"),
            "jobs": int(des.jobs.sum()), "rho_max": rho_max}


def lindley_vs_simpy(n_jobs: int, seed: int, lam: float = 0.8, mu: float = 1.0) -> dict:
    """The same M/M/1 streams through simpy and the Lindley recursion (every job, no warm-up dropped)."""
    r = queue_des_check(1, lam, mu, n_jobs, derive(seed, "lindley vs simpy"), lindley_too=True)
    return {"jobs": n_jobs, "simpy_mean": r.simulated, "lindley_mean": r.lindley_mean, "analytic": r.analytic,
            "max_abs_diff": r.lindley_max_abs_diff, "equal": r.lindley_equal, "simpy_s": r.simpy_s,
            "lindley_s": r.lindley_s}


def infeasible_check(p: Problem, factor: float = 20.0) -> dict:
    """Scale the demand far above capacity and report the error CRMS raises."""
    q = p.with_rates(p.lam * factor)
    q = replace(q, server=replace(q.server, n_max=64))
    try:
        crms(q)
    except InfeasibleError as e:
        return {"raised": True, "binding": e.binding, "message": str(e)}
    return {"raised": False, "binding": None, "message": ""}


def stage1_dcp(p: Problem) -> bool:
    st = Stage1(p)
    return bool(st.is_dcp and st.is_dpp)


def recorded_models(seed: int, holdout_frac: float = 1 / 3, stat: str = CELL_STATS[0]) -> dict:
    """The latency models fitted to the recorded full-grid profile (the fit smoke uses), with the same held-back
    split as :func:`profile_and_fit`: to show how far a live-profile result moves with the profile alone."""
    return fit_profiles(recorded_profile(), holdout_frac, derive(seed, "holdout"), stat)[1]


def profile_and_fit(scale: str, seed: int, holdout_frac: float = 1 / 3, stat: str = CELL_STATS[0]) -> dict:
    """Live-profile at the scale's grid, then fit on each cell's ``stat`` over its rounds. At ``smoke`` the live
    grid is too small to fit six coefficients and hold points back, so the fit uses the recorded full-grid
    profile (labelled). ``other_fit`` is :func:`fit_summary` of the same fit and split with the other statistic
    of :data:`CELL_STATS`, so that a reader sees what the choice of statistic does."""
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    prof = run_profile(scale, seed)
    t_prof = time.perf_counter() - t0
    load_after = os.getloadavg()[0]  # the live profile's latencies move with other load on the machine
    if scale == "smoke" or not prof.source.startswith("live"):
        fit_df, fit_source = recorded_profile(), f"recorded full-grid profile ({RECORDED.name})"
    else:
        fit_df, fit_source = prof.data, f"this run's {prof.source} profile"
    table, models, cells = fit_profiles(fit_df, holdout_frac, derive(seed, "holdout"), stat)
    other = next(s for s in CELL_STATS if s != stat)
    return {"profile": prof, "profile_seconds": t_prof, "profile_load_1min": (load_before, load_after),
            "live": prof.source.startswith("live"), "fit_source": fit_source, "fit_data": fit_df,
            "table": table, "models": models, "cells": cells, "stat": stat, "other_stat": other,
            "other_fit": fit_summary(fit_profiles(fit_df, holdout_frac, derive(seed, "holdout"), other)[0])}


def check_parameters(*, scale: str, p_idle: float, p_max: float, beta_mem: float, server_cpu: float,
                     server_mem: float, w_pow: float, load_lo: float, load_hi: float, epoch_s: float,
                     holdout_frac: float, cell_stat: str) -> None:
    """The notebook's parameters, checked right after ``start`` so that a bad value fails before the live
    profile with a :class:`ParameterError` (exit 2) naming the parameter, its value and what is allowed."""
    s = default_server()
    n_apps = len(WORKLOADS)
    check_range(p_idle, "p_idle", low=0, error=ParameterError)
    check_range(p_max, "p_max", low=p_idle, error=ParameterError)  # LinearPowerModel needs 0 <= p_idle <= p_max
    check_range(beta_mem, "beta_mem", low=0, error=ParameterError)
    check_range(server_cpu, "server_cpu", low=n_apps * s.c_min, error=ParameterError)  # one c_min container per app at least
    check_range(server_mem, "server_mem", low=n_apps * s.m_min, error=ParameterError)
    check_range(w_pow, "w_pow", low=0, error=ParameterError)  # negative: CRMS would maximise power, silently
    check_range(load_lo, "load_lo", low=0, low_open=True, high=1, high_open=True, error=ParameterError)
    check_range(load_hi, "load_hi", low=load_lo, high=1, high_open=True, error=ParameterError)
    check_range(epoch_s, "epoch_s", low=0, low_open=True,
                high=float(load_azure().t.max()) / 2, error=ParameterError)  # >= 2 epochs of the Azure trace (quasi_dynamic)
    check_range(holdout_frac, "holdout_frac", low=0, high=1, low_open=True, high_open=True, error=ParameterError)
    check_choice(cell_stat, "cell_stat", CELL_STATS, error=ParameterError)
    # the fit may use the live grid of this scale or the recorded profile (the default grid; smoke always)
    for grid in dict.fromkeys(("default", "paper" if scale == "paper" else "default")):
        cpus, mem, _, _ = GRIDS[grid]
        cells = len(cpus) * len(mem)
        k = holdout_count(holdout_frac, cells)
        if not 8 <= k <= cells - 8:  # adjusted R^2 with 6 coefficients needs more than 7 points on each side
            raise ParameterError(
                f"holdout_frac must hold back 8 to {cells - 8} of the {cells} (CPU, memory) cells of the {grid} "
                f"grid (about {8 / cells:.2f} to {(cells - 8) / cells:.2f}) at scale {scale!r}; got {holdout_frac!r} "
                f"({k} cells)")
