"""What the CSRA notebook calls: environment construction, FedAvg runs per selection policy with per-round
latency/energy accounting, generalization-constant calibration, solver and selection oracles, and sweeps.

Every function returns pandas DataFrames (or small dataclasses); figures are drawn in the notebook.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from support.claims import at_most
from support.fl.datasets import LOADERS, Dataset, load
from support.fl.fedavg import FedConfig, fedavg, make_client_data, weighted_average
from support.fl.models import LogisticRegression, make_model
from support.fl.partition import dirichlet_partition, label_distribution, shard_partition
from support.fl_selection import baselines as Bl
from support.fl_selection.allocation import (
    CostWeights,
    equal_allocation,
    joint_allocation,
    min_deadline,
    min_energy,
    min_time_convex,
    reference_units,
)
from support.fl_selection.csra import csra
from support.fl_selection.generalization import BoundFit, GenConstraint, fit_bound, skewed_sample
from support.fl_selection.heterogeneity import client_heterogeneity, mixture_discrepancy
from support.fl_selection.oracles import exhaustive_selection, kkt_joint, kkt_min_energy
from support.fl_selection.system import SystemConfig, WirelessSystem, make_system
from support.opt import InfeasibleError, OptError, count_statuses
from support.progress import progress
from support.seeding import derive
from support.validate import ParameterError, check_choice, check_int, check_range
from support.xp import one_blas_thread

METHODS = ("csra", "csra_no_het", "random", "random_opt", "best_channel", "all_clients", "power_of_choice",
           "oort")
BY_PRODUCTS = {"random_opt": "random"}  # a method that is not run itself: it comes out of another's training run
RUNNABLE = tuple(m for m in METHODS if m not in BY_PRODUCTS)  # what run_method / headline accept
# the heterogeneity-blind selectors of acc_vs_blind_best (the claim's statement lists them); CSRA's ablation counts as
# blind since it drops the heterogeneity term; random is the separate acc_vs_random claim
BLIND_SELECTORS = ("best_channel", "power_of_choice", "oort", "csra_no_het", "all_clients")
BRUTE_FORCE_TOL = 0.05  # brute_force_5pct: CSRA's cost at most 5% above the exhaustive optimum
MODELS = ("logreg", "mlp")  # support.fl.models.make_model's kinds
PARTITIONS = ("dirichlet", "shards")
ROUNDS_CLAIM_MAX_ALPHA = 0.5  # issue 11: fewer rounds than the ablation at every alpha <= 0.5 tested
MAX_BANDWIDTH_MHZ = 1e6  # 1 THz, beyond any uplink; a larger value could overflow to inf once scaled to Hz


@dataclass(frozen=True)
class Setup:
    """One FL-over-wireless scenario (defaults: the issue's headline setting)."""

    dataset: str = "mnist5k"
    n_clients: int = 50
    partition: str = "dirichlet"  # or "shards" (2 shards per client)
    alpha: float = 0.1
    participation: float = 0.2
    rounds: int = 40
    local_epochs: int = 2
    batch_size: int = 20
    lr: float = 0.1
    model: str = "logreg"
    target_accuracy: float = 0.75
    w: float = 0.5
    c1: float = 1.0
    c2: float = 2.0
    delta_max: float = 0.2
    bandwidth_hz: float = 20e6
    min_size: int = 10

    def __post_init__(self):
        check_choice(self.dataset, "dataset", LOADERS, error=ParameterError)
        check_int(self.n_clients, "n_clients", minimum=1, error=ParameterError)
        check_choice(self.partition, "partition", PARTITIONS, error=ParameterError)
        check_int(self.rounds, "rounds", minimum=1, error=ParameterError)
        check_int(self.batch_size, "batch_size", minimum=1, error=ParameterError)
        check_choice(self.model, "model", MODELS, error=ParameterError)
        check_range(self.c1, "c1", low=0, error=ParameterError)
        check_range(self.c2, "c2", low=0, error=ParameterError)
        if self.c1 == 0 and self.c2 == 0:
            raise ParameterError("c1 and c2 are both 0: the generalization constraint c1 delta + c2 / sqrt(n) <= eps "
                                 "would constrain nothing (a calibration fit that gives both 0 found no dependence "
                                 "of the error on delta or n)")
        check_int(self.min_size, "min_size", minimum=1, error=ParameterError)
        check_range(self.alpha, "alpha", low=0, low_open=True, error=ParameterError)
        check_range(self.participation, "participation", low=0, high=1, low_open=True, error=ParameterError)
        check_int(self.local_epochs, "local_epochs", minimum=1, error=ParameterError)
        check_range(self.lr, "lr", low=0, low_open=True, error=ParameterError)
        check_range(self.target_accuracy, "target_accuracy", low=0, high=1, low_open=True, high_open=True, error=ParameterError)
        check_range(self.w, "w", low=0, high=1, error=ParameterError)
        check_range(self.delta_max, "delta_max", low=0, high=1, low_open=True, error=ParameterError)
        check_range(self.bandwidth_hz, "bandwidth_hz", low=0, low_open=True, error=ParameterError)

    @property
    def m(self) -> int:
        return max(1, round(self.participation * self.n_clients))


def check_parameters(*, dataset: str, alpha: float, participation: float, w: float, delta_max: float,
                     target_accuracy: float, bandwidth_mhz: float, local_epochs: int, lr: float) -> None:
    """The notebook's parameters, checked right after ``start`` (ParameterError, exit 2, naming each as the notebook
    does: ``bandwidth_mhz`` in MHz), by the checks of the :class:`Setup` they build, before any data loads."""
    bandwidth = check_range(bandwidth_mhz, "bandwidth_mhz", low=0, low_open=True, high=MAX_BANDWIDTH_MHZ,
                            error=ParameterError)
    Setup(dataset=dataset, alpha=alpha, participation=participation, w=w, delta_max=delta_max,
          target_accuracy=target_accuracy, bandwidth_hz=bandwidth * 1e6, local_epochs=local_epochs, lr=lr)


@dataclass
class Env:
    """A built scenario: data, partition, label distributions, the cell, cost units and the constraints: ``gen`` is
    CSRA's (Sec. III; eps from ``delta_max`` at n_min = m x mean D); ``gen_no_het``, the ablation's (csra_no_het),
    drops the heterogeneity term from both sides of the generalization constraint (c1 = 0, eps = c2 / sqrt(n_min)),
    leaving a data-volume floor D_S >= n_min (written with c2 = 1 when c2 = 0)."""

    setup: Setup
    data: Dataset
    parts: list
    P: np.ndarray
    D: np.ndarray
    system: WirelessSystem
    weights: CostWeights
    gen: GenConstraint
    gen_no_het: GenConstraint
    seed: int

    @property
    def m(self) -> int:
        return self.setup.m


def build_env(setup: Setup, seed: int) -> Env:
    """Load the data, partition it, drop the clients in the cell and set units and constraints."""
    data = load(setup.dataset, seed=seed)
    rng = derive(seed, "partition")
    if setup.partition == "dirichlet":
        parts = dirichlet_partition(data.y_train, setup.n_clients, setup.alpha, rng, min_size=setup.min_size)
    elif setup.partition == "shards":
        parts = shard_partition(data.y_train, setup.n_clients, 2, rng)
    else:
        raise ValueError(f"unknown partition {setup.partition!r}; expected 'dirichlet' or 'shards'")
    P = label_distribution(data.y_train, parts, data.n_classes)
    D = np.array([len(p) for p in parts], float)
    model = make_model(setup.model, data.n_features, data.n_classes)
    cfg = SystemConfig(bandwidth_hz=setup.bandwidth_hz, local_epochs=setup.local_epochs,
                       model_bits=32.0 * model.n_params)
    system = make_system(D, derive(seed, "cell"), cfg)
    units = reference_units(system, setup.m)
    weights = replace(units, w=setup.w)
    n_min = setup.m * float(D.mean())
    gen = GenConstraint.from_targets(setup.c1, setup.c2, setup.delta_max, n_min)
    # the ablation (csra_no_het): c1 = 0 on both sides, i.e. a data-volume floor D_S >= n_min (see Env). The floor
    # is the same for every c2 > 0; when c2 = 0 (a calibration may fit it) it is written with c2 = 1, as
    # 0 <= 0 would be no floor (and eps = 0 no valid constraint)
    c2_floor = setup.c2 if setup.c2 > 0 else 1.0
    gen_no_het = GenConstraint(0.0, c2_floor, c2_floor / math.sqrt(n_min))
    return Env(setup, data, parts, P, D, system, weights, gen, gen_no_het, seed)


def _policy(env: Env, method: str) -> Bl.Policy:
    m, w = env.m, env.weights
    table = {"csra": lambda: Bl.CSRA(m, w, gen=env.gen, P=env.P),
             "csra_no_het": lambda: Bl.CSRA(m, w, gen=env.gen_no_het, P=env.P, name="csra_no_het"),
             "random": lambda: Bl.RandomEqual(m, w), "best_channel": lambda: Bl.BestChannel(m, w),
             "all_clients": lambda: Bl.AllClients(m, w), "power_of_choice": lambda: Bl.PowerOfChoice(m, w),
             "oort": lambda: Bl.OortStyle(m, w)}
    if method in BY_PRODUCTS:
        raise ValueError(f"method {method!r} is not run on its own: it comes with {BY_PRODUCTS[method]!r}, from the "
                         f"same training run; run {BY_PRODUCTS[method]!r} instead")
    if method not in table:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(RUNNABLE)} ("
                         + ", ".join(f"{k} comes with {v}" for k, v in BY_PRODUCTS.items()) + ")")
    return table[method]()


def selection_rng(seed: int, t: int) -> np.random.Generator:
    """The selectors' random stream in round ``t``, keyed by (seed, round) only, so that what a method chose
    earlier or how its clients trained never shifts the draws of later rounds (common random numbers)."""
    return derive(seed, "selection", t)


def local_sgd_rng(seed: int, t: int, k: int) -> np.random.Generator:
    """Client k's minibatch stream in round ``t``: the same client trained in the same round sees the same
    batch order under every selection method."""
    return derive(seed, "local_sgd", t, k)


# one BLAS thread for every driver below (small products; on a busy 2-core machine the default-scale calibration
# took 41 s of CPU with two OpenBLAS threads spin-waiting and 2.4 s with one)
@one_blas_thread
def run_method(env: Env, method: str, rounds: int | None = None) -> pd.DataFrame:
    """FedAvg with ``method`` choosing clients and resources each round; one row per round with test
    accuracy, latency T (s), energy E (J) and cumulative sums. ``random`` also yields ``random_opt``
    (the same clients with the optimized allocation) from the same training run. Fading, the selectors'
    draws and each client's minibatches come from streams keyed by (seed, round[, client]), common to all
    methods, so methods differ only through what they select. ``rounds``: None for the Setup's budget, else >= 1.
    ``fallback`` is True in the rounds where the policy fell back (CSRA: no m-subset met the generalization
    constraint, so it took the greedy minimum-constraint set)."""
    s = env.setup
    R = s.rounds if rounds is None else check_int(rounds, "rounds", minimum=1, error=ParameterError)
    policy = _policy(env, method)
    log: list[dict] = []
    model = make_model(s.model, env.data.n_features, env.data.n_classes)
    cdata = make_client_data(env.data.X_train, env.data.y_train, env.parts)

    def select(ctx):
        sys_t = env.system.with_fading(derive(env.seed, "fading", ctx.t))
        t0, fallbacks = time.perf_counter(), getattr(policy, "fallbacks", 0)
        alloc = policy.choose(replace(ctx, rng=selection_rng(env.seed, ctx.t)), sys_t)
        row = {"round": ctx.t + 1, "T": alloc.T, "E": alloc.energy, "E_cmp": alloc.energy_cmp,
               "E_com": alloc.energy_com, "n_sel": len(alloc.S), "delta": mixture_discrepancy(env.P, env.D, alloc.S),
               "gen": env.gen.of_selection(env.P, env.D, alloc.S), "decide_s": time.perf_counter() - t0,
               "fallback": getattr(policy, "fallbacks", 0) > fallbacks}
        if method == "random":
            opt = joint_allocation(sys_t, alloc.S, env.weights)
            row.update({"T_opt": opt.T, "E_opt": opt.energy, "E_cmp_opt": opt.energy_cmp, "E_com_opt": opt.energy_com})
        log.append(row)
        return alloc.S.tolist()

    cfg = FedConfig(rounds=R, local_epochs=s.local_epochs, batch_size=s.batch_size, lr=s.lr)
    def aggregate(w, local_models, sizes, selected):
        return weighted_average(w, local_models, policy.aggregation_weights(sizes), selected)

    res = fedavg(model, cdata, cfg, select, derive(env.seed, "fedavg"), env.data.X_test, env.data.y_test,
                 aggregate=aggregate, client_rng=lambda t, k: local_sgd_rng(env.seed, t, k))
    df = pd.DataFrame(res.history)[["round", "test_acc", "test_loss"]].merge(pd.DataFrame(log), on="round")
    out = [df.assign(method=method)]
    if method == "random":
        out.append(df.assign(method="random_opt", T=df.T_opt, E=df.E_opt, E_cmp=df.E_cmp_opt, E_com=df.E_com_opt))
    df = pd.concat(out, ignore_index=True).drop(columns=["T_opt", "E_opt", "E_cmp_opt", "E_com_opt"], errors="ignore")
    df["cum_T"] = df.groupby("method").T.cumsum()
    df["cum_E"] = df.groupby("method").E.cumsum()
    return df.assign(seed=env.seed)


def summarize(runs: pd.DataFrame, target: float, tail: int = 3) -> pd.DataFrame:
    """Per (seed, method): final accuracy (mean of the last ``tail`` rounds), rounds / latency / energy to
    the first round with test accuracy >= target (NaN when never reached), mean per-round T and E, and the number
    of rounds in which the policy fell back (``fallback_rounds``)."""
    rows = []
    for (seed, method), g in runs.groupby(["seed", "method"], sort=False):
        g = g.sort_values("round")
        hit = g[g.test_acc >= target]
        first = hit.iloc[0] if len(hit) else None
        rows.append({"seed": seed, "method": method, "final_acc": g.test_acc.tail(tail).mean(),
                     "rounds_to_target": first["round"] if first is not None else np.nan,
                     "latency_to_target_s": first["cum_T"] if first is not None else np.nan,
                     "energy_to_target_J": first["cum_E"] if first is not None else np.nan,
                     "T_per_round_s": g["T"].mean(), "E_per_round_J": g["E"].mean(),
                     "delta_mean": g.delta.mean(), "decide_s": g.decide_s.mean(), "rounds_run": len(g),
                     "fallback_rounds": int(g.fallback.sum())})
    return pd.DataFrame(rows)


def headline(setup: Setup, seeds, methods=("csra", "csra_no_het", "random", "best_channel", "all_clients",
                                            "power_of_choice", "oort")) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every method on every seed; returns (per-round runs, per-seed summary)."""
    runs = []
    jobs = [(s, m) for s in seeds for m in methods]
    envs = {}
    for seed, method in progress(jobs, desc="FL runs"):
        if seed not in envs:
            envs[seed] = build_env(setup, seed)
        runs.append(run_method(envs[seed], method))
    runs = pd.concat(runs, ignore_index=True)
    return runs, summarize(runs, setup.target_accuracy)


def method_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per method: the to-target columns average the seeds that reached the target only;
    ``rounds_capped`` counts a never-reached run as its budget + 1 (as the rounds claim); ``reached`` = fraction."""
    g = summary.groupby("method", sort=False)
    t = g[["final_acc", "rounds_to_target", "latency_to_target_s", "energy_to_target_J", "T_per_round_s",
           "E_per_round_J", "delta_mean", "decide_s"]].mean()
    capped = summary.rounds_to_target.fillna(summary.rounds_run + 1)
    t["rounds_capped"] = capped.groupby(summary.method, sort=False).mean()
    t["reached"] = g.rounds_to_target.apply(lambda x: float(x.notna().mean()))
    return t


def fallback_note(summary: pd.DataFrame, method: str = "csra") -> str:
    """How many of ``method``'s rounds (all seeds) fell back to the greedy minimum-generalization set, for a claim's
    note: those rounds select by the constraint alone, not by the method's cost, so the claims say how many."""
    rows = summary[summary.method == method]
    return (f"{method} fell back to the greedy minimum-generalization set (no m-subset met the generalization "
            f"constraint) in {int(rows.fallback_rounds.sum())} of {int(rows.rounds_run.sum())} rounds")


def savings(summary: pd.DataFrame, method: str = "csra", reference: str = "random") -> dict:
    """Relative savings of ``method`` over ``reference`` (ratio of the means over seeds; NaN unless both reach the
    target on every seed, so a claim is never judged on the seeds that happened to reach it), and the accuracy gap
    with its per-seed values and paired standard error (what the seed count can resolve)."""
    a = summary[summary.method == method].set_index("seed")
    b = summary[summary.method == reference].set_index("seed")
    both = a.index[a.rounds_to_target.notna()].intersection(b.index[b.rounds_to_target.notna()])
    gap = 100 * (a.final_acc - b.final_acc.reindex(a.index))
    out = {"acc_gap_pp": 100 * float(a.final_acc.mean() - b.final_acc.mean()), "seeds_both_reached": len(both),
           "seeds": len(a), "acc_gap_per_seed_pp": gap.round(2).tolist(),
           "acc_gap_se_pp": float(gap.std(ddof=1) / np.sqrt(len(gap))) if len(gap) > 1 else float("nan")}
    if len(both) == len(a) and len(a) > 0:
        out["energy_saving"] = 1 - float(a.loc[both].energy_to_target_J.mean() / b.loc[both].energy_to_target_J.mean())
        out["latency_saving"] = 1 - float(a.loc[both].latency_to_target_s.mean() / b.loc[both].latency_to_target_s.mean())
    else:
        out["energy_saving"] = out["latency_saving"] = float("nan")
    out["energy_per_round_saving"] = 1 - float(a.E_per_round_J.mean() / b.E_per_round_J.mean())
    out["latency_per_round_saving"] = 1 - float(a.T_per_round_s.mean() / b.T_per_round_s.mean())
    return out


# the claims that compare CSRA's selection with another selector's on the same allocation or training: with every
# client selected every round they compare identical runs (energy/latency vs random still differ by allocation)
SELECTION_CLAIMS = ("acc_vs_random", "energy_vs_random_opt", "acc_vs_blind_best", "rounds_vs_ablation")


def every_client_selected(setup: Setup) -> str | None:
    """None unless ``setup`` selects every client every round (m = n_clients, e.g. participation 1): then every
    selector picks the same clients, which train on the same streams, so the :data:`SELECTION_CLAIMS` compare a run
    with itself; the reason, for ``record_unless``."""
    if setup.m < setup.n_clients:
        return None
    return (f"participation {setup.participation:g} selects all {setup.n_clients} clients every round (m = K), so "
            "every selector picks the same clients: the comparison is of a run with itself")


def blind_gap(table: pd.DataFrame, method: str = "csra") -> tuple[float, str]:
    """acc_vs_blind_best from :func:`method_table`: ``method``'s final accuracy minus the best of the
    :data:`BLIND_SELECTORS` that were run, in percentage points, and that selector's name."""
    blind = [m for m in BLIND_SELECTORS if m in table.index]
    if not blind:
        raise ValueError(f"blind_gap needs at least one of the blind selectors {', '.join(BLIND_SELECTORS)} in the "
                         f"table; it has {', '.join(map(str, table.index))}")
    acc = table.final_acc
    best = str(acc[blind].idxmax())
    return 100 * float(acc[method] - acc[best]), best


# ------------------------------------------------------------------------------------ calibration

#: the learning-curve grid of :func:`calibrate` per scale (notebook 07 and benchmarks/fl_selection.py use it)
CALIBRATION = {
    "smoke": {"ns": (100, 400), "skews": (0.0, 1.0), "reps": 1, "maxiter": 40},
    "default": {"ns": (100, 200, 400, 800, 1600), "skews": (0.0, 0.33, 0.67, 1.0), "reps": 1, "maxiter": 100},
    "paper": {"ns": (100, 200, 400, 800, 1600), "skews": (0.0, 0.25, 0.5, 0.75, 1.0), "reps": 3, "maxiter": 300},
}


@one_blas_thread
def calibrate(dataset: str = "mnist5k", ns=(100, 200, 400, 800, 1600), skews=(0.0, 0.25, 0.5, 0.75, 1.0),
              n_skew_classes: int = 4, reps: int = 2, seed: int = 0, l2: float = 1e-3,
              maxiter: int = 150) -> tuple[pd.DataFrame, BoundFit]:
    """Learning-curve calibration of the generalization bound: train a centralized logistic regression
    on label-skewed subsets (n samples, mixture (1-s) p + s Uniform(4 classes)), measure test error, and
    fit err = e0 + c1 delta + c2 / sqrt(n). A sample the data cannot supply (a skewed class with fewer examples
    than requested) is skipped and listed in ``df.attrs["skipped"]`` as (n, skew, rep, reason)."""
    data = load(dataset, seed=seed)
    model = LogisticRegression(data.n_features, data.n_classes, l2=l2)
    rng = derive(seed, "calibration")
    p = np.bincount(data.y_train, minlength=data.n_classes) / data.n_train
    rows, skipped = [], []
    jobs = [(n, s, r) for n in ns for s in skews for r in range(reps)]
    for n, s, r in progress(jobs, desc="calibration fits"):
        classes = rng.choice(data.n_classes, n_skew_classes, replace=False)
        try:
            idx = skewed_sample(data.y_train, n, s, classes, rng)
        except ValueError as e:
            skipped.append((n, s, r, str(e)))
            continue
        X, y = data.X_train[idx], data.y_train[idx]
        fit = minimize(model.loss_grad, np.zeros(model.n_params), args=(X, y), jac=True, method="L-BFGS-B",
                       options={"maxiter": maxiter})
        q = np.bincount(y, minlength=data.n_classes) / y.size
        rows.append({"n": n, "skew": s, "rep": r, "delta": 0.5 * float(np.abs(q - p).sum()),
                     "test_err": 1 - model.accuracy(fit.x, data.X_test, data.y_test),
                     "train_err": 1 - model.accuracy(fit.x, X, y)})
    if not rows:
        raise ValueError(f"no calibration sample could be drawn from {dataset!r}: {skipped[0][3]}")
    df = pd.DataFrame(rows)
    df.attrs["skipped"] = skipped
    return df, fit_bound(df.n, df.delta, df.test_err)


def calibration_residuals(cal: pd.DataFrame, fit: BoundFit) -> pd.DataFrame:
    """Per skew level of :func:`calibrate`'s samples: mean discrepancy, mean residual (measured - fitted test error)
    and the measured error at the smallest and largest n. Shows where the additive form e0 + c1 delta + c2 / sqrt(n)
    misfits: a curve that stays flat as n grows (labels missing from the sample) cannot share c2 with the others."""
    if cal.empty:
        raise ValueError("no calibration samples")
    res = cal.test_err - fit.predict(cal.delta, cal.n)
    rows = []
    for skew, g in cal.assign(residual=res).groupby("skew"):
        lo, hi = g[g.n == g.n.min()], g[g.n == g.n.max()]
        rows.append({"skew": float(skew), "delta": float(g.delta.mean()), "mean_residual": float(g.residual.mean()),
                     "err_smallest_n": float(lo.test_err.mean()), "err_largest_n": float(hi.test_err.mean())})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------ oracles

def _random_system(K: int, seed: int, alpha: float = 0.5, dataset_y: np.ndarray | None = None):
    rng = derive(seed, "instance")
    y = dataset_y if dataset_y is not None else np.repeat(np.arange(10), 100)
    parts = dirichlet_partition(y, K, alpha, rng, min_size=5)
    P = label_distribution(y, parts, 10)
    D = np.array([len(p) for p in parts], float)
    return make_system(D, rng, SystemConfig(model_bits=32.0 * 7850)), P, D


@one_blas_thread
def allocation_check(n_instances: int, seed: int = 0, K: int = 12) -> pd.DataFrame:
    """cvxpy allocation vs the scipy KKT oracle: fixed deadline, joint deadline, and minimum round time."""
    rows = []
    for i in progress(range(n_instances), desc="allocation vs KKT"):
        system, _, _ = _random_system(K, seed * 1000 + i)
        rng = derive(seed, "check", i)
        m = int(rng.integers(2, K + 1))
        S = np.sort(rng.choice(K, m, replace=False))
        Tmin = min_deadline(system, S)
        T = Tmin * float(rng.uniform(1.02, 3.0))
        wts = replace(reference_units(system, m), w=float(rng.uniform(0.1, 0.9)))
        o, jo = kkt_min_energy(system, S, T), kkt_joint(system, S, wts)
        with count_statuses() as st_alloc:
            a, j = min_energy(system, S, T), joint_allocation(system, S, wts)
        with count_statuses() as st_time:
            tmin_cvx = min_time_convex(system, S)
        rows.append({"instance": i, "m": m, "E_cvx": a.energy, "E_kkt": o.energy,
                     "rel_err_energy": abs(a.energy - o.energy) / o.energy,
                     "rel_err_joint": abs(j.cost(wts) - jo.cost(wts)) / jo.cost(wts),
                     "Tmin_bisect": Tmin, "Tmin_cvx": tmin_cvx, "rel_err_min_time": abs(tmin_cvx - Tmin) / Tmin,
                     "solves_alloc": sum(st_alloc.values()), "inaccurate_alloc": st_alloc["optimal_inaccurate"],
                     "solves_min_time": sum(st_time.values()), "inaccurate_min_time": st_time["optimal_inaccurate"]})
    return pd.DataFrame(rows)


def _feasible_under(gen: GenConstraint, P: np.ndarray, D: np.ndarray):
    return lambda S: gen.feasible(P, D, S)




@one_blas_thread
def selection_study(n_instances: int, seed: int = 0, Ks=(6, 8, 10, 12), m: int = 3, delta_max: float = 0.25,
                    c1: float = 1.0, c2: float = 2.0, w: float = 0.5) -> pd.DataFrame:
    """CSRA vs exhaustive enumeration of all C(K, m) subsets (K <= 12) under the same constraints."""
    rows = []
    for i in progress(range(n_instances), desc="CSRA vs brute force"):
        K = Ks[i % len(Ks)]
        system, P, D = _random_system(K, seed * 1000 + 500 + i)
        gen = GenConstraint.from_targets(c1, c2, delta_max, m * float(D.mean()))
        wts = replace(reference_units(system, m), w=w)
        t0 = time.perf_counter()
        try:
            res = csra(system, P, m, gen, wts)
            c_csra = res.allocation.cost(wts)
        except InfeasibleError:
            c_csra = math.inf
        t1 = time.perf_counter()
        best, n_feas = exhaustive_selection(system, m, wts, feasible=_feasible_under(gen, P, D))
        t2 = time.perf_counter()
        if best is None:
            continue
        c_opt = best.cost(wts)
        rows.append({"instance": i, "K": K, "m": m, "feasible_subsets": n_feas, "cost_csra": c_csra,
                     "cost_opt": c_opt, "gap": c_csra / c_opt - 1, "csra_s": t1 - t0, "brute_s": t2 - t1})
    return pd.DataFrame(rows)


def brute_force_fraction(sel: pd.DataFrame, tol: float = BRUTE_FORCE_TOL) -> float:
    """brute_force_5pct from :func:`selection_study`: the fraction of instances where CSRA's cost is at most ``tol``
    above the exhaustive optimum, the bar included (a CSRA failure, gap inf, is not within)."""
    if sel.empty:
        raise ValueError("brute_force_fraction needs at least one instance; the selection study kept none (no "
                         "instance had a feasible subset)")
    return float(at_most(sel.gap, tol).mean())  # c = 21, opt = 20: the gap is 0.05 + 4e-17, on the bar


# ------------------------------------------------------------------------------------ sweeps

@one_blas_thread
def per_round_costs(env: Env, n_draws: int, methods=("csra", "random", "random_opt", "best_channel")) -> pd.DataFrame:
    """Per-round latency and energy of each method on each of ``n_draws`` fading draws (no training: selection +
    allocation only; loss-based selectors are excluded). A method with no feasible selection or allocation on a
    draw gets a row with ``failed`` True and NaN costs, so that callers compare methods on the same draws."""
    rows = []
    policies = {m: _policy(env, m) for m in methods if m in ("csra", "csra_no_het", "best_channel", "all_clients")}
    for t in range(n_draws):
        sys_t = env.system.with_fading(derive(env.seed, "sweep", t))
        for method in methods:
            try:
                if method in policies:
                    a = policies[method].choose(None, sys_t)
                elif method in ("random", "random_opt"):
                    S_rand = np.sort(derive(env.seed, "sweep_sel", t).choice(env.system.K, env.m, replace=False))
                    a = (equal_allocation(sys_t, S_rand) if method == "random"
                         else joint_allocation(sys_t, S_rand, env.weights))
                else:
                    raise ValueError(f"per_round_costs does not support {method!r}")
            except (InfeasibleError, OptError):
                rows.append({"draw": t, "method": method, "T": np.nan, "E": np.nan, "delta": np.nan, "failed": True})
                continue
            rows.append({"draw": t, "method": method, "T": a.T, "E": a.energy,
                         "delta": mixture_discrepancy(env.P, env.D, a.S), "failed": False})
    return pd.DataFrame(rows, columns=["draw", "method", "T", "E", "delta", "failed"])


def common_draw_means(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Per method, the mean T, E and delta of :func:`per_round_costs` over the draws on which every method
    succeeded (NaN where there is none), and how many draws were dropped because some method failed on them."""
    failed_draws = set(df.draw[df.failed.astype(bool)])
    kept = df[~df.draw.isin(failed_draws)]
    means = kept.groupby("method")[["T", "E", "delta"]].mean().reindex(sorted(set(df.method)))
    return means, len(failed_draws)


def sweep(setup: Setup, param: str, values, seeds, n_draws: int) -> pd.DataFrame:
    """Per-round latency/energy of CSRA and baselines as one Setup field varies: the mean over seeds of each
    seed's mean over the draws where every method is feasible (:func:`common_draw_means`); ``dropped_draws``
    counts, over the seeds, the draws left out, and a value whose seed kept no draw is NaN."""
    rows = []
    for v in progress(list(values), desc=f"sweep {param}"):
        for seed in seeds:
            env = build_env(replace(setup, **{param: v}), seed)
            means, dropped = common_draw_means(per_round_costs(env, n_draws))
            for method, g in means.iterrows():
                rows.append({param: v, "seed": seed, "method": method, "T": g["T"], "E": g["E"], "delta": g.delta,
                             "dropped_draws": dropped})
    df = pd.DataFrame(rows)
    out = df.groupby([param, "method"], as_index=False)[["T", "E", "delta"]].agg(lambda x: x.mean(skipna=False))
    dropped = df.groupby([param, "method"], as_index=False).dropped_draws.sum()
    return out.merge(dropped, on=[param, "method"])


def constraint_sweep(setup: Setup, delta_maxes, seeds, summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """CSRA trained end to end as the generalization constraint tightens (eps set from ``delta_max``), beside
    random selection: final accuracy, energy and latency per run. ``summary`` (the headline's per-seed table)
    supplies the runs at ``setup.delta_max`` and random's (for ``seeds`` only), so they are not trained twice."""
    seeds = list(seeds)
    if summary is not None:
        summary = summary[summary.seed.isin(seeds)]
    rows = []
    for dm in progress(list(delta_maxes), desc="constraint sweep"):
        if summary is not None and dm == setup.delta_max:
            got = summary[summary.method == "csra"].assign(delta_max=dm)
        else:
            got = pd.concat([summarize(run_method(build_env(replace(setup, delta_max=dm), s), "csra"),
                                       setup.target_accuracy) for s in seeds], ignore_index=True).assign(delta_max=dm)
        rows.append(got)
    if summary is not None:
        rows.append(summary[summary.method == "random"].assign(delta_max=np.nan))
    out = pd.concat(rows, ignore_index=True)
    out["energy_J"] = out.E_per_round_J * out.rounds_run
    out["latency_s"] = out.T_per_round_s * out.rounds_run
    return out[["method", "delta_max", "seed", "final_acc", "energy_J", "latency_s", "delta_mean"]]


def weight_tradeoff(setup: Setup, ws, seed: int, n_draws: int) -> pd.DataFrame:
    """CSRA's mean per-round latency and energy as the latency weight w varies, over the draws where it is
    feasible (``dropped_draws``: the others)."""
    rows = []
    for w in progress(list(ws), desc="weight sweep"):
        env = build_env(replace(setup, w=w), seed)
        means, dropped = common_draw_means(per_round_costs(env, n_draws, methods=("csra",)))
        rows.append({"w": w, "T": means.loc["csra", "T"], "E": means.loc["csra", "E"], "dropped_draws": dropped})
    return pd.DataFrame(rows)


def alpha_rounds(setup: Setup, alphas, seeds, methods=("csra", "csra_no_het", "random"),
                 known: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rounds / latency / energy to the target accuracy as the Dirichlet alpha varies (FL runs). ``known``:
    a per-seed summary already run at ``setup.alpha`` (e.g. the headline), reused instead of re-running."""
    out = []
    seeds = list(seeds)
    for a in alphas:
        if known is not None and a == setup.alpha:
            want = set(methods) | ({"random_opt"} if "random" in methods else set())
            k = known[known.method.isin(want) & known.seed.isin(seeds)]
            if set(k.method) == want and set(k.seed) == set(seeds):
                out.append(k.assign(alpha=a))
                continue
        _, summ = headline(replace(setup, alpha=a), seeds, methods)
        out.append(summ.assign(alpha=a))
    return pd.concat(out, ignore_index=True)


def rounds_vs_ablation(summary: pd.DataFrame, cap: int, alphas, method: str = "csra",
                       ablation: str = "csra_no_het") -> tuple[bool, pd.DataFrame]:
    """Issue 11's rounds claim on an ``alpha_rounds`` frame: is the mean of ``method`` strictly below the ablation's
    at every tested alpha <= 0.5 (never reached = ``cap``)? Also per alpha: means, per-seed pairs, paired diff + SE."""
    cap = check_int(cap, "cap", minimum=1)
    covered = [float(a) for a in alphas if a <= ROUNDS_CLAIM_MAX_ALPHA]
    if not covered:
        raise ValueError(f"rounds_vs_ablation needs at least one alpha <= {ROUNDS_CLAIM_MAX_ALPHA:g}; "
                         f"got {list(alphas)!r}")
    rows = []
    for a in covered:
        rounds = {}
        for name in (method, ablation):
            g = summary[(summary.alpha == a) & (summary.method == name)]
            if g.empty:
                raise ValueError(f"no {name!r} runs at alpha = {a:g} in the summary")
            seen = g.rounds_to_target.max()
            if seen >= cap:  # a run never reaching the target must count as slower than every run that did
                raise ValueError(f"cap = {cap} must exceed every observed round count ({name!r} at alpha = {a:g} "
                                 f"reached the target in round {seen:g})")
            rounds[name] = g.set_index("seed").rounds_to_target.fillna(cap).sort_index()
        x, y = rounds[method], rounds[ablation]
        if list(x.index) != list(y.index):
            raise ValueError(f"alpha = {a:g}: {method!r} ran seeds {list(x.index)} but {ablation!r} ran "
                             f"{list(y.index)}; the comparison is paired")
        d = x - y
        rows.append({"alpha": a, "seeds": len(d), "method_mean": float(x.mean()), "ablation_mean": float(y.mean()),
                     "pairs": [(int(u), int(v)) for u, v in zip(x, y)], "diff_mean": float(d.mean()),
                     "diff_se": float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else float("nan")})
    table = pd.DataFrame(rows).set_index("alpha")
    return bool((table.method_mean < table.ablation_mean).all()), table


def partition_heterogeneity(setup: Setup, alpha: float, seed: int) -> np.ndarray:
    """TV heterogeneity of every client for a Dirichlet(alpha) split (partition only, no cell)."""
    data = load(setup.dataset, seed=seed)
    parts = dirichlet_partition(data.y_train, setup.n_clients, alpha, derive(seed, "partition"),
                                min_size=setup.min_size)
    P = label_distribution(data.y_train, parts, data.n_classes)
    return client_heterogeneity(P, np.array([len(p) for p in parts], float))


def heterogeneity_profile(env: Env) -> pd.DataFrame:
    """Per-client data size, TV heterogeneity and mean channel gain of a built scenario."""
    return pd.DataFrame({"client": np.arange(env.system.K), "D": env.D,
                         "delta_tv": client_heterogeneity(env.P, env.D, "tv"),
                         "delta_w1": client_heterogeneity(env.P, env.D, "w1"),
                         "distance_km": env.system.distance_km})


def infeasible_ok(errs: dict[str, str]) -> bool:
    """infeasible_named from :func:`infeasible_errors`: every setting raised an InfeasibleError whose message names
    that setting's own cause (the setting's key: "deadline" or "bandwidth"), not merely some cause."""
    if not errs:
        raise ValueError("infeasible_ok needs at least one setting's error; got none")
    unknown = sorted(set(errs) - {"deadline", "bandwidth"})
    if unknown:
        raise ValueError(f"infeasible_ok knows the settings 'deadline' and 'bandwidth'; got {unknown}")
    return all(v.startswith("InfeasibleError") and k in v for k, v in errs.items())


def infeasible_errors() -> dict:
    """The two infeasible settings of the issue, and the error each raises."""
    system, _, _ = _random_system(6, 0)
    S = np.arange(3)
    out = {}
    try:
        min_energy(system, S, 0.5 * float(system.t_cmp_min[S].min()))
        out["deadline"] = "no error"
    except InfeasibleError as e:
        out["deadline"] = f"{type(e).__name__}: {e}"
    try:
        equal_allocation(replace(system, B=0.0), S)
        out["bandwidth"] = "no error"
    except (InfeasibleError, ValueError) as e:
        out["bandwidth"] = f"{type(e).__name__}: {e}"
    return out
