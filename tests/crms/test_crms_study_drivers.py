"""Paths of :mod:`support.crms.experiments` that only the notebook ran before: the per-seed scenario draw, the power
frontier's rows (Figure 3b), the runtime rows, the Lindley/simpy check, the DCP verdict, a constant power ratio's
CI, and the refusals and SCIP failure rows of the oracle studies; each against a hand-derived value or a fake
whose effect is known."""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from support.crms import baselines as B
from support.crms import experiments as X
from support.opt import InfeasibleError, OptError

# four classes whose every epoch is k_e times the same base mix: the trace's mean is mean(k) times the base
_K = np.array([0.5, 1.0, 1.5, 2.0, 3.0])
_RATES = np.outer(_K, [2.0, 1.0, 4.0, 3.0])
_CLASSES = ["c0", "c1", "c2", "c3"]


def _work(models):
    return np.array([float(m(1.0, 0.256)) for m in models.values()])


def test_seed_problem_scales_the_drawn_epochs_rates_to_the_drawn_load(models):
    """rate_scale sets sum_i lam_i work_i = load * C at the trace's mean rates; an epoch at k_e times the base mix
    therefore carries load * C * k_e / mean(k) CPU-seconds per second, split over the classes in the base mix
    (derivation: lam = rates[e] * target / mean, target_i work_i = load C share_i, rates[e] / mean = k_e / mean(k))."""
    server = X.default_server()
    epochs = set()
    for seed in range(6):
        p, e, load = X._seed_problem(models, seed, server, 0.003, (0.5, 0.7), _RATES, _CLASSES)
        epochs.add(e)
        assert 0 <= e < len(_K) and 0.5 <= load <= 0.7 and p.w_pow == 0.003
        demand = float(np.sum(p.lam * _work(models)))
        assert demand == pytest.approx(load * server.cpu * _K[e] / _K.mean(), rel=1e-9)
        busy = p.lam * _work(models)  # each class's CPU demand in the trace's class mix
        np.testing.assert_allclose(busy / busy.sum(), _RATES[e] / _RATES[e].sum(), rtol=1e-9)
        again = X._seed_problem(models, seed, server, 0.003, (0.5, 0.7), _RATES, _CLASSES)
        assert (again[1], again[2]) == (e, load)  # the draw is the seed's own
    assert len(epochs) > 1  # the seeds reach different epochs (else the epoch index would be untested)


def test_scenario_refuses_a_workload_count_that_differs_from_the_trace_classes(models):
    with pytest.raises(ValueError, match="4 workloads but 3 trace classes"):
        X.scenario(models, _RATES[0, :3], _RATES[:, :3], _CLASSES[:3], X.default_server(), 0.6, 0.002)


def test_power_frontier_solves_crms_at_every_weight_and_each_heuristic_once_per_seed(models, monkeypatch):
    """A fake CRMS reports the weight it was given as latency and the problem's total rate as power; a fake heuristic
    the total rate as latency: each row must carry its own seed's problem and its own weight."""
    monkeypatch.setattr(X, "trace_rates", lambda epoch_s: (_RATES, _CLASSES, None))
    monkeypatch.setattr(X, "crms", lambda p: SimpleNamespace(latency=p.w_pow, power=float(p.lam.sum())))
    monkeypatch.setattr(B, "HEURISTICS", {"h": lambda p: SimpleNamespace(latency=float(p.lam.sum()), power=7.0)})
    server, weights = X.default_server(), [0.001, 0.004]
    fr = X.power_frontier(models, [0, 1, 2], server, weights)
    assert len(fr) == 3 * (len(weights) + 1)
    for seed in (0, 1, 2):
        total = float(X._seed_problem(models, seed, server, 0.0, (0.5, 0.7), _RATES, _CLASSES)[0].lam.sum())
        c = fr[(fr.seed == seed) & (fr.method == "CRMS")]
        assert c.w_pow.tolist() == weights and c.latency_s.tolist() == weights
        assert c.power_w.to_numpy() == pytest.approx([total, total], rel=1e-12)
        h = fr[(fr.seed == seed) & (fr.method == "h")]
        assert len(h) == 1 and h.w_pow.isna().all()
        assert h.latency_s.iloc[0] == pytest.approx(total, rel=1e-12) and h.power_w.iloc[0] == 7.0


@pytest.mark.parametrize("weights", [[], ()])
def test_power_frontier_refuses_an_empty_weight_list(models, weights):
    """With no weight the heuristics' rows read a problem that was never drawn (an unbound name): one clear error."""
    with pytest.raises(ValueError, match="power_frontier needs at least one power weight"):
        X.power_frontier(models, [0], X.default_server(), weights)


def test_runtime_vs_n_runs_each_size_reps_times_on_distinct_instances_of_that_size(models, monkeypatch):
    seen = []

    def fake(p):
        seen.append((p.N, float(p.lam.sum())))
        return SimpleNamespace(info={"iterations": p.N, "convex_solves": 2 * p.N}, objective=10.0 * p.N)

    monkeypatch.setattr(X, "crms", fake)
    rt = X.runtime_vs_n(models, [3, 5], seed=0, reps=2)
    assert rt[["N", "rep"]].values.tolist() == [[3, 0], [3, 1], [5, 0], [5, 1]]
    assert [n for n, _ in seen] == [3, 3, 5, 5]
    assert seen[0][1] != seen[1][1]  # each repetition its own instance
    assert rt.iterations.tolist() == [3, 3, 5, 5] and rt.convex_solves.tolist() == [6, 6, 10, 10]
    assert rt.objective.tolist() == [30.0, 30.0, 50.0, 50.0] and (rt.seconds >= 0).all()
    assert X.runtime_at(rt, 5) == rt[rt.N == 5].seconds.max() and X.runtime_at(rt, 50) is None


def test_lindley_vs_simpy_reports_the_mm1_mean_sojourn_and_both_simulators_agree():
    """M/M/1 at lam 0.8, mu 1: the analytic mean sojourn is 1 / (mu - lam) = 5 s; simpy and the Lindley recursion
    are fed the same streams, so they agree job by job."""
    r = X.lindley_vs_simpy(3000, seed=0)
    assert r["jobs"] == 3000 and r["analytic"] == pytest.approx(5.0, rel=1e-12)
    assert r["equal"] and r["max_abs_diff"] < 1e-9
    assert r["simpy_mean"] == pytest.approx(r["lindley_mean"], rel=1e-9)
    assert 2.5 < r["simpy_mean"] < 10  # a sample mean of an M/M/1 at rho 0.8, not some other quantity
    r2 = X.lindley_vs_simpy(3000, seed=0, lam=0.5, mu=2.0)
    assert r2["analytic"] == pytest.approx(1 / 1.5, rel=1e-12)


def test_stage1_dcp_needs_both_dcp_and_dpp(models, monkeypatch):
    p = X.synthetic_problem(models, 3, np.random.default_rng(0))
    assert X.stage1_dcp(p) is True  # the real Stage 1 is a DCP and DPP program
    monkeypatch.setattr(X, "Stage1", lambda p: SimpleNamespace(is_dcp=True, is_dpp=False))
    assert X.stage1_dcp(p) is False
    monkeypatch.setattr(X, "Stage1", lambda p: SimpleNamespace(is_dcp=False, is_dpp=True))
    assert X.stage1_dcp(p) is False


@pytest.mark.parametrize("value, includes", [(1.2, False), (1.0, True), (0.9, False)])
def test_power_summary_of_identical_seeds_has_that_value_as_its_ci(value, includes):
    """Every seed the same ratio: no spread, so the CI is the point itself; it resolves 1 unless the value is 1."""
    s = X.power_summary(pd.DataFrame({"power_ratio": [value] * 3}))
    assert (s["ci_low"], s["ci_high"], s["mean"]) == (pytest.approx(value),) * 3
    assert s["ci_includes_1"] is includes and (s["resolution"] == "") is (not includes)


@pytest.mark.parametrize("fn", [X.headline_summary, X.oracle_summary, X.epoch_summary, X.screened_summary])
def test_claim_summaries_refuse_an_empty_study(fn):
    with pytest.raises(ValueError, match="at least one"):
        fn(pd.DataFrame())


# ----------------------------------------------------------------------------------------------- SCIP failures

def _raise(err):
    def f(*a, **k):
        raise err
    return f


def _small(models):
    return X.random_small_problem(models, np.random.default_rng(3), n_apps=(2, 2))


def test_scip_on_crms_infeasible_agrees_when_scip_finds_it_infeasible_too_and_cannot_tell_on_an_error(
        models, monkeypatch):
    p = _small(models)
    monkeypatch.setattr(X, "scip_optimum", _raise(InfeasibleError("no point", binding="cpu_capacity")))
    assert X.scip_on_crms_infeasible(p, 1.0) == {"scip_agrees_infeasible": True, "scip_status": "infeasible"}
    monkeypatch.setattr(X, "scip_optimum", _raise(OptError("numerics")))
    r = X.scip_on_crms_infeasible(p, 1.0)
    assert r["scip_agrees_infeasible"] is None and r["scip_status"].startswith("error") and "gap" not in r


class _Status:
    def __init__(self, status):
        self.status = status

    def __call__(self, p, time_limit):
        return SimpleNamespace(objective=1.0, info={"status": self.status}, n=np.ones(p.N))


def test_oracle_study_keeps_a_scip_error_or_a_stopped_scip_as_an_unjudged_row(models, monkeypatch):
    p = _small(models)
    monkeypatch.setattr(X, "random_small_problem", lambda models, rng: p)
    monkeypatch.setattr(X, "scip_optimum", _raise(OptError("numerics")))
    err = X.oracle_study(models, 1, seed=0)
    monkeypatch.setattr(X, "scip_optimum", _Status("timelimit"))
    stopped = X.oracle_study(models, 1, seed=0)
    assert err.scip_status.iloc[0].startswith("error") and "gap" not in err
    assert stopped.scip_status.tolist() == ["stopped: timelimit"] and "gap" not in stopped
    s = X.oracle_summary(pd.concat([err, stopped], ignore_index=True))
    assert (s["instances"], s["judged"], s["scip_errors"], s["nan_gap"]) == (2, 0, 2, 0)
    assert math.isnan(s["frac_2pct"])


def test_screened_row_of_a_crms_infeasible_or_a_scip_error_has_no_gap(models, monkeypatch):
    p = _small(models)
    monkeypatch.setattr(X, "crms", _raise(InfeasibleError("too hot", binding="stability:a")))
    r = X.screened_oracle_row(p, 4, 1.0)
    assert r["infeasible"] == "stability:a" and r["instance"] == 4 and "gap" not in r and r["proven"] is False
    monkeypatch.undo()
    monkeypatch.setattr(X, "scip_optimum", _raise(OptError("no feasible point in time")))
    r = X.screened_oracle_row(p, 5, 1.0)
    assert r["infeasible"] is None and r["scip_status"].startswith("error") and np.isfinite(r["crms"])
    assert "gap" not in r and r["proven"] is False
    s = X.screened_summary(pd.DataFrame([r]))
    assert (s["feasible"], s["proven"], s["scip_errors"], s["with_bound"]) == (1, 0, 1, 0)




def test_run_profile_profiles_the_scales_grid(monkeypatch):
    seen = {}
    monkeypatch.setattr(X, "profile", lambda **kw: seen.update(kw) or "profile")
    assert X.run_profile("smoke", seed=3) == "profile"
    assert seen == {"cpus": (0.5, 1.0), "mem_mb": (128, 512), "reps": 1, "size": 0.3, "seed": 3}
    with pytest.raises(KeyError):
        X.run_profile("huge")
