"""What the notebook calls (notes §4): each function runs one experiment and returns tables/arrays;
``plot_*`` draw the figures. No claim verdicts here: the notebook records measured values.
"""

from __future__ import annotations

import ast
import gzip
import inspect
import time
import tracemalloc
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from support import fits
from support.claims import Claim, Verdict
from support.factors import elimination as E
from support.factors import filtering as F
from support.factors import gaussian as G
from support.factors import grid as GR
from support.factors import models as M
from support.factors import ops, queries, reference, sum_product
from support.factors.project import Grid, discretize
from support.progress import progress
from support.seeding import derive
from support.validate import ParameterError, check_choice, check_int

MATRIX_MAPS = ("exact", "gpb1", "gpb2", "rbpf", "pf")  # rows of the notebook's mixed-representation matrix
SLDS_KINDS = ("1d", "cv")  # the 1-D SLDS and the 4-D constant-velocity SLDS (models.slds_1d, models.slds_cv)
N_INSTANCES = 5  # simulated data sets each sampled SLDS claim is judged over, fixed in advance (not tuned)


def check_parameters(representation_map: str, n_particles: int) -> None:
    """The notebook's enumerated and ranged parameters, checked right after ``start`` so a bad value fails before
    any work, naming the parameter, its value and the options (RBPF runs ``n_particles // 10``: at least 1)."""
    check_choice(representation_map, "representation_map", MATRIX_MAPS, error=ParameterError)
    check_int(n_particles, "n_particles", minimum=10, what="an integer >= 10 (RBPF uses n_particles // 10)", error=ParameterError)


def _nonempty(items, what: str) -> list:
    """``items`` as a list, refusing an empty one (a table over nothing gives NaN claims later)."""
    items = list(items)
    if not items:
        raise ValueError(f"{what} must not be empty")
    return items


def _timed(fn, *a, **k):
    t = time.perf_counter()
    out = fn(*a, **k)
    return out, time.perf_counter() - t


# ----------------------------------------------------------------------------- A1: the interface

ENGINE_MODULES = ("elimination", "filtering", "sum_product")
REPRESENTATION_MODULES = {"table", "gaussian", "particles", "density", "project"}
INTERFACE = frozenset(ops.OPS) | {"scope"}  # what an engine may reach in ``ops``: the five ops and read-only scope


def _engine_tree(name: str) -> ast.Module:
    import importlib

    return ast.parse(inspect.getsource(importlib.import_module(f"support.factors.{name}")))


def engine_imports() -> dict[str, list[str]]:
    """Per engine module, the support.factors modules it imports (should be only ``ops`` and errors)."""
    out = {}
    for name in ENGINE_MODULES:
        used = set()
        for node in ast.walk(_engine_tree(name)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("support.factors"):
                used.add(node.module.split(".")[-1] if node.module != "support.factors" else "")
                used.update(a.name for a in node.names if node.module == "support.factors")
            elif isinstance(node, ast.Import):
                used.update(a.name.split(".")[-1] for a in node.names if a.name.startswith("support.factors."))
        out[name] = sorted(u for u in used if u)
    return out


def engine_bypasses() -> dict[str, list[str]]:
    """Per engine module, the names it reaches through ``ops`` beyond the five ops and ``scope`` (should be
    none): ``ops.G.product`` or ``from ...ops import G`` would skip the interface and its op counter (notes A1)."""
    out = {}
    for name in ENGINE_MODULES:
        tree = _engine_tree(name)
        aliases, bad = {"support.factors.ops"}, set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "support.factors":
                aliases.update(a.asname or a.name for a in node.names if a.name == "ops")
            elif isinstance(node, ast.ImportFrom) and node.module == "support.factors.ops":
                bad.update(a.name for a in node.names if a.name not in INTERFACE)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and ast.unparse(node.value) in aliases and node.attr not in INTERFACE:
                bad.add(f"ops.{node.attr}")
        out[name] = sorted(bad)
    return out


def interface_check(seed: int = 0) -> tuple[bool, pd.DataFrame]:
    """Run each engine under op counting; True when engines import no representation module, reach nothing
    in ``ops`` beyond the five ops and scope, each call product, marginalize and normalize, and exact runs make
    no ``project`` call."""
    imports, bypasses = engine_imports(), engine_bypasses()
    clean = (all(not (set(v) & REPRESENTATION_MODULES) for v in imports.values())
             and not any(bypasses.values()))
    rows = []
    bn = M.load_discrete("asia")
    fs, heads = bn.factors()
    with ops.counted() as c:
        E.variable_elimination(fs, ["lung"], {"xray": 0, "smoke": 0}, heads)
    rows.append({"engine": "variable_elimination (asia)", **c})
    m = M.slds_1d(2)
    _, _, y = m.simulate(6, derive(seed, "iface"))
    m = m.with_data(y)
    for rmap in (F.EXACT, F.GPB1, F.rbpf(50), F.bootstrap_pf(50)):
        with ops.counted() as c:
            F.forward_filter(m, rmap, rng=derive(seed, "iface", rmap.name))
        rows.append({"engine": f"forward_filter ({rmap.name})", **c})
    chain = lgssm_chain(5, derive(seed, "chain"))
    with ops.counted() as c:
        sum_product.sum_product(chain)
    rows.append({"engine": "sum_product (Gaussian chain)", **c})
    df = pd.DataFrame(rows).fillna(0)
    exact_rows = df[df.engine.str.contains("elimination|exact|sum_product")]
    ok = (clean and bool((df[["product", "marginalize", "normalize"]] > 0).all(axis=None))
          and bool((exact_rows.project == 0).all()))
    module_of = {"variable_elimination": "elimination", "forward_filter": "filtering", "sum_product": "sum_product"}
    df["imports"] = [", ".join(imports[module_of[e.split(" ")[0]]]) for e in df.engine]
    df["beyond the interface"] = [", ".join(bypasses[module_of[e.split(" ")[0]]]) or "none" for e in df.engine]
    return ok, df


def lgssm_chain(T: int, rng: np.random.Generator, a: float = 0.9, q: float = 0.3, r: float = 0.5) -> list:
    """Factors of a 1-D linear Gaussian state-space model with simulated data (synthetic)."""
    x, ys = rng.standard_normal(), []
    for _ in range(T):
        ys.append(x + np.sqrt(r) * rng.standard_normal())
        x = a * x + np.sqrt(q) * rng.standard_normal()
    fs = [G.from_moments((), (("x1", 1),), [0.0], [[1.0]])]
    for t in range(2, T + 1):
        fs.append(G.linear_gaussian((f"x{t}", 1), [(f"x{t - 1}", 1)], [[a]], [0.0], [[q]]))
    for t in range(1, T + 1):
        lik = G.linear_gaussian((f"y{t}", 1), [(f"x{t}", 1)], [[1.0]], [0.0], [[r]])
        fs.append(G.condition(lik, {f"y{t}": ys[t - 1]}))
    return fs


# ----------------------------------------------------------------------------- A2: discrete BNs

def _pgmpy_model(name: str):
    from pgmpy.readwrite import BIFReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with gzip.open(M._pgmpy_file(name)) as fh:
            return BIFReader(string=fh.read().decode("utf-8")).get_model()


def discrete_bn_table(names, n_queries: int = 3, n_evidence: int = 5, seed: int = 0) -> pd.DataFrame:
    """Per network: our VE vs pgmpy VE (pgmpy's own BIF reader), time and max |diff| of posteriors."""
    names = _nonempty(names, "networks")
    check_int(n_queries, "n_queries", minimum=1)
    check_int(n_evidence, "n_evidence", minimum=0)
    with warnings.catch_warnings():  # pgmpy 1.1's own import of its deprecated estimators.StructureScore, not ours
        warnings.filterwarnings("ignore", r"`pgmpy\.estimators\.StructureScore` is deprecated", FutureWarning)
        from pgmpy.inference import VariableElimination

    rows = []
    for name in progress(names, desc="discrete BNs"):
        bn = M.load_discrete(name)
        fs, heads = bn.factors()
        sizes = {v: len(s) for v, s in bn.states.items()}
        pm = _pgmpy_model(name)
        ve = VariableElimination(pm)
        rng = derive(seed, "bn", name)
        queries_ = [M.sample_evidence(bn, n_evidence, 1, rng) for _ in range(n_queries)]
        ours = theirs = diff = 0.0
        for ev, qs in queries_:
            r, t1 = _timed(E.variable_elimination, fs, qs, ev, heads, sizes)
            ours += t1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pr, t2 = _timed(ve.query, qs, evidence={k: bn.states[k][v] for k, v in ev.items()},
                                show_progress=False)
            theirs += t2
            order = [pr.state_names[qs[0]].index(s) for s in bn.states[qs[0]]]
            diff = max(diff, float(np.abs(np.exp(r.posterior.logp) - pr.values[order]).max()))
        tracemalloc.start()  # separate pass: tracing slows allocation-heavy code
        for ev, qs in queries_:
            E.variable_elimination(fs, qs, ev, heads, sizes)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append({"network": name, "nodes": len(bn.states), "ours_s": ours, "pgmpy_s": theirs,
                     "ours/pgmpy": ours / theirs, "max_abs_diff": diff, "peak_MiB": peak / 2**20})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- A3: Gaussian BNs, Kalman

def gaussian_bn_table(names, n_evidence: int = 5, n_query: int = 3, seed: int = 0) -> pd.DataFrame:
    """VE on canonical-form CPDs vs the closed form from pgmpy's ``to_joint_gaussian`` (Schur complement)."""
    from pgmpy.utils import get_example_model

    names = _nonempty(names, "networks")
    check_int(n_evidence, "n_evidence", minimum=0)
    check_int(n_query, "n_query", minimum=1)

    rows = []
    for name in progress(names, desc="Gaussian BNs"):
        bn = M.load_gaussian(name)
        fs, heads = bn.factors()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pm = get_example_model(name)
            mean, cov = pm.to_joint_gaussian()
        import networkx as nx

        order = list(nx.topological_sort(pm))
        if n_evidence + n_query > len(order):
            raise ValueError(f"{name}: need n_evidence + n_query <= {len(order)} nodes, got n_evidence={n_evidence}, "
                             f"n_query={n_query}")
        ix = {v: i for i, v in enumerate(order)}
        rng = derive(seed, "gbn", name)
        pick = rng.permutation(len(order))
        ev_names = [order[i] for i in pick[:n_evidence]]
        q_names = [order[i] for i in pick[n_evidence:n_evidence + n_query]]
        e_idx = [ix[v] for v in ev_names]
        q_idx = [ix[v] for v in q_names]
        vals = mean[e_idx] + rng.standard_normal(n_evidence) * np.sqrt(np.diag(cov)[e_idx])
        r, t1 = _timed(E.variable_elimination, fs, q_names, {v: [vals[i]] for i, v in enumerate(ev_names)}, heads)
        S_qe = cov[np.ix_(q_idx, e_idx)]
        S_ee = cov[np.ix_(e_idx, e_idx)]
        m_ref = mean[q_idx] + S_qe @ np.linalg.solve(S_ee, vals - mean[e_idx])
        C_ref = cov[np.ix_(q_idx, q_idx)] - S_qe @ np.linalg.solve(S_ee, S_qe.T)
        post = r.posterior
        _, m_ours, C_ours = G.moments(post)
        perm = post.index(q_names)
        m_ours, C_ours = m_ours[perm], C_ours[np.ix_(perm, perm)]
        rows.append({"network": name, "nodes": len(order), "ours_s": t1,
                     "max_abs_diff_mean": float(np.abs(m_ours - m_ref).max()),
                     "max_abs_diff_cov": float(np.abs(C_ours - C_ref).max())})
    return pd.DataFrame(rows)


def kalman_check(T: int = 50, seed: int = 0) -> float:
    """Max relative error of the forward filter (exact map) on a 4-D constant-velocity LGSSM vs a
    covariance-form Kalman filter (log Z, filtered means and covariances)."""
    base = M.lgssm_cv()
    _, y = base.simulate(T, derive(seed, "kf"))
    m = base.with_data(y)
    res = F.forward_filter(m, F.EXACT)
    ll, means, covs = reference.kalman(m.A, m.Q, m.H, m.R, m.m0, m.P0, y)
    err = abs(res.log_z - ll) / abs(ll)
    for t, b in enumerate(res.beliefs, start=1):
        mu, P = queries.state_moments(b, m.x(t))
        err = max(err, float(np.abs(mu - means[t - 1]).max() / np.abs(means[t - 1]).max()),
                  float(np.abs(P - covs[t - 1]).max() / np.abs(covs[t - 1]).max()))
    return float(err)


# ----------------------------------------------------------------------------- A4/A5: SLDS vs enumeration, funsor

def _summaries(belief, m) -> dict:
    T = m.T
    mean, cov = queries.state_moments(belief, m.x(T))
    return {"mode_posterior": queries.mode_posterior(belief, m.s(T), m.x(T)), "mean": mean, "cov": cov}


def _err(a: dict, b: dict) -> float:
    return max(abs(a["log_z"] - b["log_z"]), float(np.abs(a["mode_posterior"] - b["mode_posterior"]).max()),
               float(np.abs(a["mean"] - b["mean"]).max()), float(np.abs(a["cov"] - b["cov"]).max()))


def slds_instance(K: int, T: int, seed: int, kind: str = "1d", instance: int | None = None) -> M.SLDS:
    """A synthetic SLDS with data simulated from it, fixed per (K, T, seed, instance): ``instance`` i is the
    i-th data set a sampled claim is judged over, ``None`` the one data set of the tables."""
    check_choice(kind, "kind", SLDS_KINDS)
    keys = ("slds", kind, K, T)
    if instance is not None:
        keys += (check_int(instance, "instance", minimum=0),)
    base = M.slds_1d(K) if kind == "1d" else M.slds_cv(K)
    _, _, y = base.simulate(T, derive(seed, *keys))
    return base.with_data(y)


def slds_sweep(cases, maps, seed: int = 0, funsor: bool = True, repeats: int = 1) -> pd.DataFrame:
    """For each (K, T): every representation map and (optionally) funsor eager / moment matching:
    runtime (best of ``repeats``; both sides timed with their read-outs, funsor imported beforehand) and error
    vs enumeration (max over log Z, P(s_T|y), E/Cov[x_T|y])."""
    from support.factors import funsor_ref

    cases = _nonempty(cases, "cases")
    check_int(repeats, "repeats", minimum=1)

    def ours(m, rmap, rng):  # the filter and its read-outs, as funsor_ref.slds_filter does both
        res = F.forward_filter(m, rmap, rng=rng)
        return {"log_z": res.log_z, **_summaries(res.beliefs[-1], m)}

    if funsor:  # once untimed: the first call pays funsor's import, which is not filtering work
        funsor_ref.slds_filter(slds_instance(2, 2, seed), "eager")
    rows = []
    for K, T in progress(cases, desc="SLDS sweep"):
        m = slds_instance(K, T, seed)
        ref = reference.slds_enumerate(m)
        for name, n in maps:
            rmap = F.representation_map(name, n)
            best = np.inf
            for rep in range(repeats):
                s, dt = _timed(ours, m, rmap, rng=derive(seed, "map", name, K, T, rep))
                best = min(best, dt)
            rows.append({"K": K, "T": T, "method": name if not n else f"{name} (N={n})", "impl": "ours",
                         "seconds": best, "abs_err_log_z": abs(s["log_z"] - ref["log_z"]), "max_err": _err(s, ref),
                         "log_z": s["log_z"]})
        if funsor:
            for interp, label in (("eager", "exact"), ("moment_matching", "gpb2"), ("gpb1", "gpb1")):
                best = np.inf
                for _ in range(repeats):
                    fr, dt = _timed(funsor_ref.slds_filter, m, interp)
                    best = min(best, dt)
                s = {"log_z": fr.log_z, "mode_posterior": fr.mode_posterior, "mean": fr.mean, "cov": fr.cov}
                rows.append({"K": K, "T": T, "method": label, "impl": "funsor", "seconds": best,
                             "abs_err_log_z": abs(fr.log_z - ref["log_z"]), "max_err": _err(s, ref),
                             "log_z": fr.log_z})
    return pd.DataFrame(rows)


def funsor_agreement(sweep: pd.DataFrame) -> pd.DataFrame:
    """Ours vs funsor on the same instance and method: |Δ log Z| and runtime ratio (funsor / ours)."""
    o = sweep[sweep.impl == "ours"].set_index(["K", "T", "method"])
    f = sweep[sweep.impl == "funsor"].set_index(["K", "T", "method"])
    j = o.add_suffix("_ours").join(f.add_suffix("_funsor"), how="inner")
    out = pd.DataFrame({"abs_diff_log_z": (j.log_z_ours - j.log_z_funsor).abs(),
                        "ours_s": j.seconds_ours, "funsor_s": j.seconds_funsor,
                        "funsor/ours": j.seconds_funsor / j.seconds_ours})
    return out.reset_index()


def record_funsor_speedup(nb, agree: pd.DataFrame) -> float:
    """Record "funsor_speedup": the geometric mean of the runtime ratios funsor / ours over the rows of
    :func:`funsor_agreement` (sizes x maps), their range in the note; returns it. A geometric mean, so a 4x
    faster case and a 4x slower one cancel. No row, or a ratio that is not positive and finite, is a ValueError."""
    r = np.asarray(agree["funsor/ours"], dtype=float)
    if r.size == 0 or not (np.isfinite(r).all() and (r > 0).all()):
        raise ValueError(f"funsor/ours must be non-empty, positive and finite runtime ratios, got {r.tolist()}")
    speed = float(np.exp(np.log(r).mean()))
    nb.record("funsor_speedup", speed, note=f"range {r.min():.1f}x .. {r.max():.1f}x")
    return speed


def slds_vs_funsor_summaries(cases, seed: int = 0) -> float:
    """Max difference of every summary (log Z, P(s_T|y), E/Cov[x_T|y]) between ours and funsor for the
    exact, GPB2 and GPB1 maps."""
    from support.factors import funsor_ref

    worst = 0.0
    for K, T in _nonempty(cases, "cases"):
        m = slds_instance(K, T, seed)
        for name, interp in (("exact", "eager"), ("gpb2", "moment_matching"), ("gpb1", "gpb1")):
            res = F.forward_filter(m, F.representation_map(name))
            s = {"log_z": res.log_z, **_summaries(res.beliefs[-1], m)}
            fr = funsor_ref.slds_filter(m, interp)
            worst = max(worst, _err(s, {"log_z": fr.log_z, "mode_posterior": fr.mode_posterior,
                                        "mean": fr.mean, "cov": fr.cov}))
    return worst


def mixed_matrix(maps, K: int = 2, T: int = 10, seed: int = 0, kind: str = "cv",
                 instances=None) -> pd.DataFrame:
    """One model, one engine, rows = representation map: error vs enumeration, runtime, op counts (notes §1.4a).
    ``instances``: rows per data set i of :func:`slds_instance` (column ``data set``; the RBPF run there is filter
    seed 0 of :func:`rbpf_logz_errors`); None: the tables' one data set."""
    keys = [None] if instances is None else _nonempty(instances, "instances")
    rows = []
    for i in keys:
        m = slds_instance(K, T, seed, kind, instance=i)
        ref = reference.slds_enumerate(m)
        for name, n in maps:
            rmap = F.representation_map(name, n)
            rng = derive(seed, "mixed", name) if i is None else derive(seed, "mixed", name, i, 0)
            with ops.counted() as c:
                res, dt = _timed(F.forward_filter, m, rmap, rng=rng)
            s = {"log_z": res.log_z, **_summaries(res.beliefs[-1], m)}
            row = {"map": rmap.name, "discrete": rmap.discrete, "continuous": rmap.continuous,
                   "collapse": rmap.collapse, "N": n, "abs_err_log_z": abs(s["log_z"] - ref["log_z"]),
                   "err_P(s_T)": float(np.abs(s["mode_posterior"] - ref["mode_posterior"]).max()),
                   "err_E[x_T]": float(np.abs(s["mean"] - ref["mean"]).max()), "seconds": dt,
                   "project_calls": c["project"]}
            rows.append(row if i is None else {"data set": i, **row})
    return pd.DataFrame(rows)


def rbpf_logz_errors(n_particles: int, n_seeds: int, K: int = 2, T: int = 10, seed: int = 0,
                     kind: str = "cv", n_instances: int = N_INSTANCES) -> np.ndarray:
    """|Δ log Z| vs enumeration of the RBPF map (N = ``n_particles``), shape (n_instances, n_seeds): row i is data
    set ``slds_instance(..., instance=i)``, column s filter seed s; rbpf_mixed is the mean of all (notes §1.4a)."""
    check_int(n_seeds, "n_seeds", minimum=1)
    check_int(n_particles, "n_particles", minimum=1)
    check_int(n_instances, "n_instances", minimum=1)
    out = np.zeros((n_instances, n_seeds))
    for i in progress(range(n_instances), desc="RBPF data sets"):
        m = slds_instance(K, T, seed, kind, instance=i)
        ref = reference.slds_enumerate(m)["log_z"]
        out[i] = [abs(F.forward_filter(m, F.rbpf(n_particles), rng=derive(seed, "mixed", "rbpf", i, s),
                                       keep_beliefs=False).log_z - ref) for s in range(n_seeds)]
    return out


# ----------------------------------------------------------------------------- A6: particles

def pf_error_vs_n(Ns, n_seeds: int, K: int = 2, T: int = 10, seed: int = 0,
                  n_instances: int = N_INSTANCES) -> pd.DataFrame:
    """Bootstrap PF |Δ log Z| vs enumeration of the 1-D SLDS, one row per (data set ``instance``, N, filter seed);
    data set i is ``slds_instance(K, T, seed, instance=i)``, and every (i, N, seed) draws its own stream."""
    check_int(n_seeds, "n_seeds", minimum=1)
    check_int(n_instances, "n_instances", minimum=1)
    Ns = list(Ns)
    if not Ns:
        raise ValueError("pf_error_vs_n needs at least one particle count N")
    for n in Ns:
        check_int(n, "N", minimum=1)
    rows, data = [], {}
    for i, n in progress([(i, n) for i in range(n_instances) for n in Ns], desc="PF error vs N"):
        if i not in data:
            m = slds_instance(K, T, seed, instance=i)
            data[i] = m, reference.slds_enumerate(m)["log_z"]
        m, ref = data[i]
        for s in range(n_seeds):
            res = F.forward_filter(m, F.bootstrap_pf(n), rng=derive(seed, "pf", i, n, s), keep_beliefs=False)
            rows.append({"instance": i, "N": n, "seed": s, "abs_err_log_z": abs(res.log_z - ref)})
    return pd.DataFrame(rows)


def loglog_slope(df: pd.DataFrame) -> float:
    """Least-squares slope of log(mean error) vs log N (the mean over every row at that N)."""
    g = df.groupby("N").abs_err_log_z.mean()
    return fits.loglog_slope(g.index, g.values)


def pf_per_instance(df: pd.DataFrame, n: int) -> pd.DataFrame:
    """Per data set of ``pf_error_vs_n``: mean |Δ log Z| at N = ``n`` and the log-log slope over all N."""
    if n not in set(df.N):
        raise ValueError(f"no rows at N = {n}; the table has N = {sorted(set(df.N))}")
    rows = [{"instance": i, "err_at_n": float(g[g.N == n].abs_err_log_z.mean()), "slope": loglog_slope(g)}
            for i, g in df.groupby("instance")]
    return pd.DataFrame(rows)


def instance_note(claim: Claim, per_instance, fmt: str = ".3f") -> str:
    """A note for a claim judged over data sets: each data set's value and how many pass the claim's own rule
    on their own."""
    vals = [float(v) for v in per_instance]
    passed = sum(claim.judge(v) == Verdict.REPRODUCED for v in vals)
    return (f"per data set: {', '.join(format(v, fmt) for v in vals)}; {passed} of {len(vals)} pass "
            f"({claim.rule.describe(claim.paper_value)}) on their own")


# ----------------------------------------------------------------------------- A7: circular observations

@dataclass
class CircularRun:
    """Per seed: TV to the grid over time (PF, Gaussian), posterior-mean errors, and one example run."""

    tv_pf: np.ndarray
    tv_gauss: np.ndarray
    mean_err_pf: np.ndarray
    mean_err_gauss: np.ndarray
    example: dict


def circular_experiment(T: int, n_seeds: int, n_particles: int, grid_n: int = 256, bins: int = 32,
                        box: float = 7.0, seed: int = 0) -> CircularRun:
    """Single-beacon range tracking: PF and Gaussian ADF (same engine, two maps) vs a grid filter."""
    for name, value in (("T", T), ("n_seeds", n_seeds), ("bins", bins)):
        check_int(value, name, minimum=1)
    check_int(n_particles, "n_particles", minimum=2, what="an integer >= 2 (the Gaussian ADF moment-matches "
              "its particles: one gives no covariance)")
    if grid_n % bins:
        raise ValueError(f"grid_n ({grid_n}) must be a multiple of bins ({bins})")
    tv_pf, tv_g, me_pf, me_g = [], [], [], []
    example = {}
    for s in progress(range(n_seeds), desc="circular"):
        base = M.range_tracking()
        x, r = base.simulate(T, derive(seed, "circ", s))
        m = base.with_data(r)
        ref = GR.grid_filter(m, -box, box, grid_n)
        pf = F.forward_filter(m, F.bootstrap_pf(n_particles), rng=derive(seed, "circ-pf", s))
        ad = F.forward_filter(m, F.adf(n_particles), rng=derive(seed, "circ-adf", s))
        coarse = GR.coarsen(ref.mass, grid_n // bins)
        c = ref.centers
        tp, tg, ep, eg = [], [], [], []
        for t in range(T):
            grid = Grid(m.x(t + 1), (np.linspace(-box, box, bins + 1),) * 2)
            p_pf = np.exp(discretize(pf.beliefs[t], grid).logp)
            p_g = np.exp(discretize(ad.beliefs[t], grid).logp)
            tp.append(GR.total_variation(coarse[t], p_pf))
            tg.append(GR.total_variation(coarse[t], p_g))
            ref_mean = np.array([ref.mass[t].sum(axis=1) @ c, ref.mass[t].sum(axis=0) @ c])
            ep.append(np.linalg.norm(queries.state_moments(pf.beliefs[t], m.x(t + 1))[0] - ref_mean))
            eg.append(np.linalg.norm(queries.state_moments(ad.beliefs[t], m.x(t + 1))[0] - ref_mean))
        tv_pf.append(tp)
        tv_g.append(tg)
        me_pf.append(ep)
        me_g.append(eg)
        if s == 0:
            ref_means = np.stack([np.array([mm.sum(axis=1) @ c, mm.sum(axis=0) @ c]) for mm in ref.mass])
            example = {"truth": x, "grid_mean": ref_means,
                       "pf_mean": np.stack([queries.state_moments(b, m.x(t + 1))[0] for t, b in enumerate(pf.beliefs)]),
                       "gauss_mean": np.stack([queries.state_moments(b, m.x(t + 1))[0]
                                               for t, b in enumerate(ad.beliefs)]),
                       "grid_final": ref.mass[-1], "centers": c, "pf_final": pf.beliefs[-1].values[m.x(T)],
                       "pf_final_w": np.exp(pf.beliefs[-1].logw), "gauss_final": queries.state_moments(
                           ad.beliefs[-1], m.x(T)), "beacon": m.beacon}
    return CircularRun(np.array(tv_pf), np.array(tv_g), np.array(me_pf), np.array(me_g), example)


# ----------------------------------------------------------------------------- scaling

def chain_scaling(Ts, seed: int = 0) -> pd.DataFrame:
    """Runtime of the forward filter vs chain length per representation map (K=2 1-D SLDS)."""
    rows = []
    for T in progress(list(Ts), desc="chain scaling"):
        m = slds_instance(2, T, seed)
        for name, n in (("exact", 0), ("gpb1", 0), ("rbpf", 200), ("pf", 2000)):
            if name == "exact" and T > 16:
                continue
            _, dt = _timed(F.forward_filter, m, F.representation_map(name, n), rng=derive(seed, "chain", name, T),
                           keep_beliefs=False)
            rows.append({"T": T, "map": name, "seconds": dt})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- figures

def plot_slds(sweep: pd.DataFrame):
    """Error vs T and runtime vs T per method (colour), ours solid and funsor dashed, one marker and line per K."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    methods = list(dict.fromkeys(sweep["method"]))
    color = {m: f"C{i}" for i, m in enumerate(methods)}
    style = {"ours": "-", "funsor": "--"}
    marker = {K: "osD^v"[i % 5] for i, K in enumerate(sorted(set(sweep["K"])))}
    for (method, impl, K), g in sweep.groupby(["method", "impl", "K"]):
        g = g.sort_values("T")
        kw = {"ls": style[impl], "marker": marker[K], "color": color[method]}
        axes[0].plot(g["T"], np.maximum(g.abs_err_log_z, 1e-16), **kw)
        axes[1].plot(g["T"], g.seconds, **kw)
    for ax in axes:
        ax.set_xticks(sorted(set(sweep["T"])))
    axes[0].set(yscale="log", xlabel="time steps T", ylabel="|log Z − log Z_enum| (log scale)",
                title="SLDS accuracy vs exact enumeration")
    axes[1].set(yscale="log", xlabel="time steps T", ylabel="runtime per filter run (s, log scale)",
                title="SLDS runtime")
    handles = ([Line2D([], [], color=color[m], label=m) for m in methods]
               + [Line2D([], [], color="black", ls=style[i], label=i) for i in style if i in set(sweep.impl)]
               + [Line2D([], [], color="black", ls="none", marker=marker[K], label=f"K = {K} modes") for K in marker])
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.tight_layout()
    return fig


def plot_circular(run: CircularRun):
    """Example trajectory and final posterior, and TV to the grid over time (mean ± sd over seeds)."""
    import matplotlib.pyplot as plt

    ex = run.example
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    c = ex["centers"]
    axes[0].contourf(c, c, ex["grid_final"].T, levels=20, cmap="Greys")
    idx = np.random.default_rng(0).choice(len(ex["pf_final"]), size=min(500, len(ex["pf_final"])), replace=False)
    axes[0].scatter(ex["pf_final"][idx, 0], ex["pf_final"][idx, 1], s=3, alpha=0.4, label="PF particles")
    mu, P = ex["gauss_final"]
    th = np.linspace(0, 2 * np.pi, 100)
    ell = mu[:, None] + 2 * np.linalg.cholesky(P) @ np.stack([np.cos(th), np.sin(th)])
    axes[0].plot(ell[0], ell[1], "-", color="C1", label="Gaussian ADF (2σ)")
    axes[0].plot(*ex["truth"][-1], "k*", ms=12, label="truth")
    axes[0].plot(*ex["beacon"], "g^", ms=10, label="beacon")
    axes[0].set(xlabel="x position (m)", ylabel="y position (m)", title="final posterior (grid in grey)")
    axes[0].legend(fontsize=7)
    axes[1].plot(*ex["truth"].T, "k-", label="truth")
    axes[1].plot(*ex["grid_mean"].T, "-", color="0.55", lw=2, label="grid mean")
    axes[1].plot(*ex["pf_mean"].T, "C0--", label="PF mean")
    axes[1].plot(*ex["gauss_mean"].T, "C1:", lw=2, label="Gaussian mean")
    axes[1].plot(*ex["beacon"], "g^", ms=10)
    axes[1].set(xlabel="x position (m)", ylabel="y position (m)", title="mean marginal over t = 1..T")
    axes[1].legend(fontsize=7)
    t = np.arange(1, run.tv_pf.shape[1] + 1)
    for arr, lbl in ((run.tv_pf, "particles"), (run.tv_gauss, "Gaussian (ADF)")):
        m, s = arr.mean(0), arr.std(0)
        axes[2].plot(t, m, label=lbl)
        axes[2].fill_between(t, m - s, m + s, alpha=0.2)
    axes[2].set(xlabel="time step t", ylabel="total variation to grid", title="TV distance over time", ylim=(0, 1))
    axes[2].legend()
    fig.tight_layout()
    return fig


def plot_scaling(pf_df: pd.DataFrame, chain_df: pd.DataFrame, bn_df: pd.DataFrame | None = None):
    """PF error vs N (log-log, with an N^-1/2 guide), runtime vs chain length, runtime vs BN size."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ncols = 3 if bn_df is not None else 2
    fig, axes = plt.subplots(1, ncols, figsize=(5 * ncols, 4))
    g = pf_df.groupby("N").abs_err_log_z.mean()
    axes[0].loglog(g.index, g.values, "o-", label="bootstrap PF")
    axes[0].loglog(g.index, g.values[0] * (g.index / g.index[0]) ** -0.5, "k:", label="slope $N^{-1/2}$")
    axes[0].set(xlabel="particles N", ylabel="mean |Δ log Z|", title="PF error vs N")
    axes[0].legend()
    for name, gg in chain_df.groupby("map"):
        axes[1].semilogy(gg["T"], gg.seconds, "o-", label=name)
    axes[1].set(xlabel="chain length T", ylabel="runtime (s)", title="forward filter runtime")
    axes[1].legend()
    if bn_df is not None:
        axes[2].loglog(bn_df.nodes, bn_df.ours_s, "o", label="ours")
        axes[2].loglog(bn_df.nodes, bn_df.pgmpy_s, "s", label="pgmpy")
        for k, (_, r) in enumerate(bn_df.sort_values("nodes").iterrows()):  # names of neighbours above / below
            axes[2].annotate(r.network, (r.nodes, r.ours_s), xytext=(5, 3 if k % 2 == 0 else -3),
                             textcoords="offset points", ha="left", va="bottom" if k % 2 == 0 else "top",
                             fontsize=8)
        axes[2].margins(x=0.15, y=0.15)  # room for the network names at the ends of the axes
        axes[2].xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))  # 10, 20, 50, ... in plain numbers
        axes[2].xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axes[2].xaxis.set_minor_formatter(NullFormatter())
        axes[2].set(xlabel="network nodes", ylabel="VE runtime, all queries (s)", title="discrete BN VE")
        axes[2].legend()
    fig.tight_layout()
    return fig
