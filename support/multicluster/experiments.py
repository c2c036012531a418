"""What the paper-11 notebook calls: oracle checks (HPA documentation examples, MILP vs brute force,
Erlang C vs DES), the federation runs (HPA vs proactive controllers on the held-back 30 % of the three real
traces), the HPA target sweep and the headline numbers. Figures are drawn in the notebook.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from support.control.forecast import make_forecaster
from support.control.hpa import HPA, HPAConfig, ScalingPolicy, ScalingRules, replica_recommendation
from support.multicluster.claims import balance_score_holds
from support.multicluster.decision import FederationPolicy, PolicyConfigError, Weights, anchors_for, decide
from support.multicluster.federation import (
    Federation,
    FederationConfig,
    load_bursty_federation,
    load_federation,
)
from support.multicluster.latency import secant_at, slo_load
from support.multicluster.metrics import LARGE_BURST, summarize
from support.multicluster.oracles import brute_force_decision
from support.multicluster.simulate import run_hpa, run_proactive
from support.progress import progress
from support.sim.des_check import des_check
from support.validate import ParameterError, check_choice

FORECASTERS = {"seasonal_naive": "seasonal naive", "holt_winters": "Holt-Winters", "ridge": "ridge",
               "oracle": "perfect foresight"}
HEADLINE = "ridge"  # the realistic forecaster behind the headline comparison (declared before any run)

#: the bursty federation's control interval (s) and forecaster season (intervals): a 1-hour trace has no
#: daily season; 10 minutes lets every forecaster fit on the 40 training minutes (Holt-Winters needs 2 seasons)
BURSTY_INTERVAL_S = 60
BURSTY_PERIOD = 10


def bursty_config(cfg: FederationConfig) -> FederationConfig:
    """``cfg`` at the bursty federation's control interval (section 5); a ``startup_s`` that does not fit in one
    such interval is a ParameterError naming it, raised when the notebook starts rather than after section 4."""
    if cfg.startup_s >= BURSTY_INTERVAL_S:
        raise ParameterError(f"startup_s must be below the bursty runs' control interval BURSTY_INTERVAL_S = "
                             f"{BURSTY_INTERVAL_S} s (section 5), got {cfg.startup_s}")
    return replace(cfg, interval_s=BURSTY_INTERVAL_S)


# ------------------------------------------------------------------------------------------------ oracles


def hpa_documented_examples() -> pd.DataFrame:
    """The worked examples of the Kubernetes HPA documentation, run through :mod:`support.control.hpa`."""
    rows = []

    def add(name, expected, got):
        rows.append({"example": name, "expected": expected, "got": got, "ok": expected == got})

    add("metric 200m vs target 100m doubles 5 replicas", 10, replica_recommendation(5, 200, 100))
    add("metric 50m vs target 100m halves 10 replicas", 5, replica_recommendation(10, 50, 100))
    add("ratio 1.05 is within the 0.1 tolerance: no change", 10, replica_recommendation(10, 105, 100))
    add("50 replicas at 90 % vs target 75 % -> 60", 60, replica_recommendation(50, 0.9, 0.75))
    down = ScalingRules(300, (ScalingPolicy("Pods", 4, 60), ScalingPolicy("Percent", 10, 60)), "Max")
    h = HPA(HPAConfig(0.5, 1, 100, scale_down=replace(down, window_s=0)))
    a = h.step(0, 80, 0.0625)
    b = h.step(60, a, 0.0625 * 80 / a)
    add("80 -> 10 with Pods 4 / Percent 10 per 60 s: first step removes 8", 72, a)
    add("... next step at 72 removes 8 (10 % = 7.2, rounded up)", 64, b)
    h = HPA(HPAConfig(0.5, 1, 100, scale_down=ScalingRules(0, (ScalingPolicy("Percent", 10, 60),
                                                               ScalingPolicy("Pods", 5, 60)), "Min")))
    add("selectPolicy Min (Percent 10, Pods 5 per 60 s) from 80: remove 5", 75, h.step(0, 80, 0.05))
    h = HPA(HPAConfig(0.5, 1, 100))
    ups = [h.step(0, 1, 10.0)]
    for s in (15, 30):
        ups.append(h.step(s, ups[-1], 10.0 / ups[-1] if ups[-1] < 20 else 0.5))
    add("default scale-up max(100 %, 4 pods)/15 s: 1 -> 5 -> 10 -> 20", [5, 10, 20], ups)
    h = HPA(HPAConfig(0.5, 1, 100))
    seq = [h.step(0, 10, 0.5), h.step(15, 10, 0.25), h.step(285, 10, 0.25), h.step(300, 10, 0.25)]
    add("default 300 s scale-down window: 10 is kept until the t=0 recommendation leaves the window",
        [10, 10, 10, 5], seq)
    return pd.DataFrame(rows)


def milp_vs_brute_force(n_cases: int, rng: np.random.Generator) -> pd.DataFrame:
    """Random 2-3-cluster decision problems with small replica ranges: MILP (HiGHS) vs enumeration."""
    curve = slo_load(40, 10.0, 0.15)
    rows = []
    for i in range(n_cases):
        K = 2 + i % 2
        cap = tuple(int(x) for x in rng.integers(5, 12, K))
        cost = tuple(float(x) for x in rng.uniform(0.8, 1.2, K).round(2))
        pol = FederationPolicy(cap, (1,) * K, tuple(float(x) for x in rng.uniform(0, 1, K).round(2)), cost,
                               (3,) * K, float(rng.uniform(0.6, 1.0) * np.dot(cost, cap)))
        D = rng.uniform(5, 60, K)
        prev = np.array([rng.integers(1, c + 1) for c in cap])
        anchors = anchors_for(D[None], curve)
        w = Weights(w_net=float(rng.uniform(0, 0.05)), w_change=float(rng.uniform(0, 0.2)))
        best, n_bf = brute_force_decision(D, prev, pol, secant_at(curve, anchors[0]), w)
        try:
            d = decide(D[None], prev, pol, curve, w, anchors=anchors, refine=False)
            val, n = d.objective, d.n[0].tolist()
        except ValueError:
            val, n = np.inf, None
        rows.append({"K": K, "brute_force": best, "milp": val, "n_bf": None if n_bf is None else n_bf.tolist(),
                     "n_milp": n, "match": bool(np.isclose(best, val, rtol=1e-6, atol=1e-6)
                                                or (np.isinf(best) and np.isinf(val)))})
    return pd.DataFrame(rows)


def erlang_vs_des(configs, n_jobs: int, rng: np.random.Generator, mu: float = 10.0) -> pd.DataFrame:
    """Mean response time of M/M/c: Erlang C (``mmc_sojourn``, which the simulation's ``mean_latency`` computes
    on arrays) vs the simpy DES, first 10 % of the jobs dropped (:func:`support.sim.des_check.des_check`)."""
    rows = []
    for c, rho in configs:
        r = des_check(c, rho * c * mu, mu, n_jobs, rng, warmup=0.1)
        rows.append({"servers": c, "utilisation": rho, "erlang_c_ms": 1000 * r.analytic, "des_ms": 1000 * r.simulated,
                     "rel_error": r.rel_err})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------- federation runs


def run_window(cfg: FederationConfig, offsets, forecasters, test_intervals: int | None = None,
               label: str = "") -> tuple[list[dict], dict]:
    """HPA and the proactive controller with each forecaster on one aligned window of the three traces."""
    return run_federation(load_federation(cfg, offsets=offsets), forecasters, test_intervals, label)


def run_bursty(cfg: FederationConfig, forecasters, test_intervals: int | None = None,
               period: int = BURSTY_PERIOD) -> tuple[list[dict], dict]:
    """The same comparison on the bursty fine-grained federation (Azure LLM code and conversation, Alibaba
    GenAI gateway; ``cfg.interval_s`` should be 60 s), forecasters with a season of ``period`` intervals."""
    return run_federation(load_bursty_federation(cfg, period), forecasters, test_intervals, label="bursty")


def run_federation(fed: Federation, forecasters, test_intervals: int | None = None,
                   label: str = "") -> tuple[list[dict], dict]:
    """HPA and the proactive controller with each forecaster (season ``fed.period``) on the held-back part.

    A forecaster whose run stops because no decision satisfies the policies is reported in
    ``info["failed"]`` (forecaster -> reason) and left out of the rows, not hidden."""
    cfg = fed.cfg
    stop = fed.rates.shape[0] - 1 if test_intervals is None else min(fed.t0 + test_intervals,
                                                                      fed.rates.shape[0] - 1)
    runs, failed = {"hpa": run_hpa(fed, stop=stop)}, {}
    for f in progress(forecasters, desc=f"forecasters {label}"):
        try:
            runs[f] = run_proactive(fed, lambda f=f: make_forecaster(f, fed.period, cfg.horizon), stop=stop,
                                    name=f"proactive ({FORECASTERS[f]})")
        except PolicyConfigError as e:
            failed[f] = str(e)
    rows = []
    for key, tr in runs.items():
        m = summarize(tr, fed.burst_rates, fed.t0, cfg.mu, cfg.slo_s, cfg.interval_s, capacity=fed.policy.capacity)
        pol = tr.audit.summary()
        m.update({"key": key, "window": label, "policy_actions": pol["actions"],
                  "policy_violations": pol["violating_actions"], "z3_disagreements": pol.get("z3_disagreements"),
                  "rego_disagreements": pol.get("rego_disagreements"), "violations_by_rule": pol["violations_by_rule"]})
        rows.append(m)
    return rows, {"fed": fed, "runs": runs, "failed": failed}


def hpa_target_sweep(cfg: FederationConfig, offsets, targets, test_intervals: int | None = None,
                     fed: Federation | None = None) -> pd.DataFrame:
    """Efficiency vs SLO violations of the HPA baseline for several utilisation targets (same window, or the
    given federation)."""
    fed = load_federation(cfg, offsets=offsets) if fed is None else fed
    stop = fed.rates.shape[0] - 1 if test_intervals is None else min(fed.t0 + test_intervals,
                                                                      fed.rates.shape[0] - 1)
    rows = []
    for tg in targets:
        m = summarize(run_hpa(fed, stop=stop, target=tg), fed.burst_rates, fed.t0, cfg.mu, cfg.slo_s, cfg.interval_s,
                      capacity=fed.policy.capacity)
        rows.append({"target": tg, **{k: m[k] for k in ("efficiency", "slo_violation", "latency_cv", "jain",
                                                         "one_minus_cv", "jain_fill", "events_per_hour",
                                                         "stabilization_s")}})
    return pd.DataFrame(rows)


#: anti-flap settings of the non-claim table (label, tolerance, downscale_stabilisation_s). The default mirrors
#: the HPA (10 %, 300 s) and was declared before any run; 15 % / 600 s are the values an audit found after
#: seeing the results (there with a churn weight of 1 and no upward tolerance), so they are shown, not used
ANTIFLAP_SETTINGS = (("none", 0.0, 0), ("HPA-mirroring: 10 %, 300 s (default)", 0.1, 300),
                     ("15 %, 600 s (found after seeing results)", 0.15, 600))


def antiflap_sweep(fed: Federation, forecaster: str, rows: list[dict], settings=ANTIFLAP_SETTINGS,
                   test_intervals: int | None = None) -> pd.DataFrame:
    """The proactive controller (``forecaster``) under each anti-flap setting, relative to the HPA row of
    ``rows`` (the same window's runs); the setting of ``fed.cfg`` is taken from ``rows``, not run again."""
    cfg = fed.cfg
    hpa = next(r for r in rows if r["key"] == "hpa")
    stop = fed.rates.shape[0] - 1 if test_intervals is None else min(fed.t0 + test_intervals,
                                                                      fed.rates.shape[0] - 1)
    out = []
    for label, tol, win in settings:
        if (tol, win) == (cfg.tolerance, cfg.downscale_stabilisation_s):
            m = next(r for r in rows if r["key"] == forecaster)
        else:
            f = replace(fed, cfg=replace(cfg, tolerance=tol, downscale_stabilisation_s=win))
            tr = run_proactive(f, lambda: make_forecaster(forecaster, fed.period, cfg.horizon), stop=stop)
            m = summarize(tr, f.burst_rates, f.t0, cfg.mu, cfg.slo_s, cfg.interval_s, capacity=f.policy.capacity)
        out.append({"anti-flap": label, "tolerance": tol, "window_s": win, "efficiency": m["efficiency"],
                    "efficiency_gain_worst": float((m["efficiency_per_cluster"] / hpa["efficiency_per_cluster"]
                                                    - 1).min()),
                    "stabilization_s": m["stabilization_s"],
                    "stabilization_change": m["stabilization_s"] / hpa["stabilization_s"] - 1,
                    "events_per_hour": m["events_per_hour"],
                    "events_change": m["events_per_hour"] / hpa["events_per_hour"] - 1
                    if hpa["events_per_hour"] > 0 else float("inf"),
                    "slo_violation": m["slo_violation"], "latency_cv": m["latency_cv"]})
    return pd.DataFrame(out)


def per_cluster_table(rows: list[dict], names) -> pd.DataFrame:
    """Long table: one row per (window, controller, cluster) with efficiency, latency CV, SLO violations."""
    out = []
    for r in rows:
        for k, n in enumerate(names):
            out.append({"window": r["window"], "controller": r["key"], "cluster": n,
                        "efficiency": r["efficiency_per_cluster"][k], "latency_cv": r["latency_cv_per_cluster"][k],
                        "slo_violation": r["slo_violation_per_cluster"][k]})
    return pd.DataFrame(out)


def summary_table(rows: list[dict]) -> pd.DataFrame:
    """Federation-level metrics per controller, averaged over windows."""
    cols = ["efficiency", "stabilization_s", "bursts", "stabilization_large_s", "bursts_large", "recovery_s",
            "latency_cv", "mean_latency_ms", "jain", "one_minus_cv", "jain_fill", "events_per_hour", "slo_violation",
            "policy_actions", "policy_violations"]
    df = pd.DataFrame([{c: r[c] for c in ["key", "controller", *cols]} for r in rows])
    return df.groupby(["key", "controller"], sort=False)[cols].mean().reset_index()


@dataclass(frozen=True)
class OracleBound:
    """The perfect-foresight bound of notes section 4 (oracle 2) in its two parts: (i) no realistic forecaster is
    more efficient than perfect foresight, (ii) none has fewer SLO violations; the bound holds when both do.

    ``efficiency`` and ``slo_violation`` map each controller key (the oracle's included) to its federation value."""

    efficiency: dict
    slo_violation: dict
    oracle: str = "oracle"
    tol: float = 1e-9  # ties within this count as respecting the bound

    def __post_init__(self):
        if self.oracle not in self.efficiency or self.oracle not in self.slo_violation:
            raise ValueError(f"the perfect-foresight controller {self.oracle!r} has no efficiency or SLO value")
        if not self.realistic:
            raise ValueError("the perfect-foresight bound needs at least one realistic forecaster")

    @property
    def realistic(self) -> list[str]:
        return [k for k in self.efficiency if k != self.oracle]

    def efficiency_ok(self, k: str) -> bool:
        """Part (i) for forecaster ``k``: its efficiency is at most the oracle's (ties within ``tol`` count)."""
        return self.efficiency[k] <= self.efficiency[self.oracle] + self.tol

    def violations_ok(self, k: str) -> bool:
        """Part (ii) for forecaster ``k``: its SLO-violation share is at least the oracle's (ties within ``tol``)."""
        return self.slo_violation[k] >= self.slo_violation[self.oracle] - self.tol

    @property
    def efficiency_holds(self) -> bool:
        """Part (i): every realistic forecaster's efficiency is at most the oracle's."""
        return all(self.efficiency_ok(k) for k in self.realistic)

    @property
    def violations_holds(self) -> bool:
        """Part (ii): every realistic forecaster's SLO-violation share is at least the oracle's."""
        return all(self.violations_ok(k) for k in self.realistic)

    @property
    def holds(self) -> bool:
        return self.efficiency_holds and self.violations_holds

    def note(self) -> str:
        """Both parts with their per-forecaster values, as the claim's note."""
        def part(label, ok, values, fmt, rel):
            v = ", ".join(f"{FORECASTERS.get(k, k)} {fmt(values[k])}" for k in self.realistic)
            return f"{label} {rel} perfect foresight's {fmt(values[self.oracle])}: {'holds' if ok else 'fails'} ({v})"
        return (part("(i) efficiency", self.efficiency_holds, self.efficiency, lambda x: f"{x:.3f}", "<=") + "; "
                + part("(ii) SLO violations", self.violations_holds, self.slo_violation, lambda x: f"{x:.2%}", ">="))


def oracle_bound(summary: pd.DataFrame, oracle: str = "oracle", reactive=("hpa",)) -> OracleBound | None:
    """The :class:`OracleBound` of a :func:`summary_table` (indexed or with a ``key`` column), the ``reactive``
    baselines left out; None when the perfect-foresight controller was not run."""
    s = summary if "key" not in summary.columns else summary.set_index("key")
    if oracle not in s.index:
        return None
    keep = [k for k in s.index if k not in reactive]
    return OracleBound({k: float(s.loc[k, "efficiency"]) for k in keep},
                       {k: float(s.loc[k, "slo_violation"]) for k in keep}, oracle)


def headline(rows: list[dict], names, key: str = HEADLINE) -> dict:
    """The claim values: proactive (``key``) relative to HPA, over all windows. The efficiency gain is taken per
    cluster (worst: the headline) and for the federation as a whole (``efficiency_gain_federation``); the SLO
    difference likewise on the worst trace (the headline) and pooled over the clusters (``slo_not_worse_pooled``)."""
    per = per_cluster_table(rows, names)
    piv = per.pivot_table(index=["window", "cluster"], columns="controller", values="efficiency")
    eff_gain_worst = float((piv[key] / piv["hpa"] - 1).min())
    slo = per.pivot_table(index=["window", "cluster"], columns="controller", values="slo_violation")
    slo_diff = slo[key] - slo["hpa"]
    s = summary_table(rows).set_index("key")
    P, B = s.loc[key], s.loc["hpa"]
    oracle = s.loc["oracle"] if "oracle" in s.index else None
    bound = oracle_bound(s)
    pro = [r for r in rows if r["key"] != "hpa"]
    return {
        "efficiency_gain_worst": eff_gain_worst,
        "efficiency_gain_federation": float(P.efficiency / B.efficiency - 1),
        "stabilization": float(P.stabilization_s / B.stabilization_s - 1),
        "latency_cv": float(P.latency_cv / B.latency_cv - 1),
        "latency_cv_values": {"hpa": float(B.latency_cv), key: float(P.latency_cv)},
        "balance_higher": float(P.jain - B.jain),
        "balance_score": balance_score_holds(float(P.one_minus_cv), float(B.one_minus_cv)),
        "balance_score_values": {"hpa": float(B.one_minus_cv), key: float(P.one_minus_cv)},
        "jain_fill": {"hpa": float(B.jain_fill), key: float(P.jain_fill)},
        "events_per_hour": {"hpa": float(B.events_per_hour), key: float(P.events_per_hour)},
        "fewer_events": float(P.events_per_hour / B.events_per_hour - 1) if B.events_per_hour > 0 else float("inf"),
        "slo_not_worse": float(slo_diff.max()),
        "slo_not_worse_trace": tuple(str(x) for x in slo_diff.idxmax()),  # (window, cluster)
        "slo_not_worse_pooled": float(P.slo_violation - B.slo_violation),
        "windows": int(per["window"].nunique()),
        "oracle_bound": bound.holds if bound is not None else None,
        "oracle_bound_parts": bound,
        "stabilization_s": {"hpa": float(B.stabilization_s), key: float(P.stabilization_s),
                            "oracle": float(oracle.stabilization_s) if oracle is not None else float("nan")},
        # a sensitivity, not a claim: the same over the bursts beyond the HPA's tolerance (metrics.LARGE_BURST)
        "stabilization_large": float(P.stabilization_large_s / B.stabilization_large_s - 1),
        "stabilization_large_s": {"hpa": float(B.stabilization_large_s), key: float(P.stabilization_large_s),
                                  "bursts": float(B.bursts_large), "of_bursts": float(B.bursts),
                                  "tolerance": LARGE_BURST},
        # a companion, not a claim: time until the latency meets the SLO for good after a burst (metrics.recovery_time)
        "recovery_s": {"hpa": float(B.recovery_s), key: float(P.recovery_s),
                       "oracle": float(oracle.recovery_s) if oracle is not None else float("nan")},
        "policies_hold": bool(all(r["policy_violations"] == 0 and not r["z3_disagreements"] for r in pro)),
    }


#: what each scale runs: aligned windows (row offsets of Alibaba, Google, Azure), forecasters, test length;
#: ``bursty``: forecasters and held-back intervals (None = all) of the fine-grained federation (60 s intervals)
SCALES = {
    "smoke": {"windows": [(0, 0, 0)], "forecasters": ["ridge", "oracle"], "test_intervals": 96,
              "brute_force_cases": 4, "des_jobs": 40000, "sweep": (0.5, 0.7, 0.8, 0.9),
              "bursty": {"forecasters": ["ridge", "oracle"], "test_intervals": None, "sweep": (0.5, 0.7, 0.8, 0.9)}},
    "default": {"windows": [(0, 0, 0)],
                "forecasters": ["seasonal_naive", "holt_winters", "ridge", "oracle"], "test_intervals": None,
                "brute_force_cases": 12, "des_jobs": 100000, "sweep": (0.5, 0.6, 0.7, 0.8, 0.9),
                "bursty": {"forecasters": ["seasonal_naive", "holt_winters", "ridge", "oracle"],
                           "test_intervals": None, "sweep": (0.5, 0.6, 0.7, 0.8, 0.9)}},
    "paper": {"windows": [(0, 0, 0), (0, 2243, 2243), (0, 4486, 4486)],
              "forecasters": ["seasonal_naive", "holt_winters", "ridge", "oracle"], "test_intervals": None,
              "brute_force_cases": 24, "des_jobs": 300000, "sweep": (0.5, 0.6, 0.7, 0.8, 0.9),
              "bursty": {"forecasters": ["seasonal_naive", "holt_winters", "ridge", "oracle"],
                         "test_intervals": None, "sweep": (0.5, 0.6, 0.7, 0.8, 0.9)}},
}


def check_headline(headline: str, scale: str) -> str:
    """``headline`` if it is a realistic forecaster (not the perfect-foresight ``oracle``) that ``scale`` runs in
    both federations, else a ValueError naming it and the options; checked right after ``start``."""
    plan = SCALES[scale]
    options = [f for f in plan["forecasters"] if f != "oracle" and f in plan["bursty"]["forecasters"]]
    return check_choice(headline, f"headline at scale {scale!r}", options, error=ParameterError)


def matched_slo_efficiency(sweep: pd.DataFrame, slo_violation: float) -> float:
    """Efficiency the HPA reaches at the given SLO-violation share, interpolated along its target sweep
    (:func:`hpa_at`; where two targets tie on violations, the higher efficiency; nan outside the swept range)."""
    return hpa_at(sweep, "slo_violation", slo_violation, "efficiency", flat=max)


def hpa_at(sweep: pd.DataFrame, by: str, value: float, col: str, flat=lambda a, b: (a + b) / 2) -> float:
    """The HPA's ``col`` where its ``by`` equals ``value``, interpolated linearly between neighbouring targets of
    the sweep (the first bracketing pair in target order; ``flat`` of the two where they tie on ``by``); nan
    outside the swept range."""
    s = sweep.sort_values("target")
    x, y = s[by].to_numpy(float), s[col].to_numpy(float)
    for a in range(len(s) - 1):
        lo, hi = sorted((x[a], x[a + 1]))
        if lo <= value <= hi:
            if hi == lo:
                return float(flat(y[a], y[a + 1]))
            return float(y[a] + (value - x[a]) / (x[a + 1] - x[a]) * (y[a + 1] - y[a]))
    return float("nan")


def dominated_targets(sweep: pd.DataFrame, efficiency: float, latency_cv: float) -> list[float]:
    """HPA targets of the sweep at which the proactive controller is both more efficient and less variable
    (lower latency CV): the abstract's "improved efficiency ... reduced performance variability" at one point."""
    s = sweep.sort_values("target")
    return [float(t) for t, e, c in zip(s.target, s.efficiency, s.latency_cv) if efficiency > e and latency_cv < c]
