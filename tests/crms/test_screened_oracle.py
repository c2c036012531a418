"""The screened-path oracle study (N = 7-8 apps against SCIP): gaps to the primal value and the dual bound,
which instances are judged, and that the study's instances really take CRMS's screened path."""

import numpy as np
import pandas as pd
import pytest

from support.crms import experiments as X
from support.crms.problem import evaluate
from support.crms.solver import CRMSConfig, crms


def test_oracle_gaps_measure_against_the_primal_and_bound_with_the_dual():
    gap, gap_dual = X.oracle_gaps(1.0, primal=0.99, dual=0.95)
    assert gap == pytest.approx(0.01 / 0.99, rel=1e-12)
    assert gap_dual == pytest.approx(0.05 / 0.95, rel=1e-12)


def test_oracle_gaps_with_a_nonpositive_dual_bound_bound_nothing():
    assert X.oracle_gaps(1.0, primal=0.99, dual=0.0)[1] == np.inf
    assert X.oracle_gaps(1.0, primal=0.99, dual=-np.inf)[1] == np.inf


@pytest.mark.parametrize("primal, dual, match", [(0.0, -1.0, "primal value must be finite and > 0"),
                                                 (np.inf, 0.5, "primal value must be finite and > 0"),
                                                 (0.95, 0.99, "dual bound 0.99 is above its primal")])
def test_oracle_gaps_refuse_bad_scip_values(primal, dual, match):
    with pytest.raises(ValueError, match=match):
        X.oracle_gaps(1.0, primal, dual)


def test_screened_row_gap_is_exact_and_nonnegative_where_scip_proves_the_optimum(models):
    p = X.random_small_problem(models, np.random.default_rng(3), n_apps=(7, 7))
    row = X.screened_oracle_row(p, 0, scip_time_limit=30)
    assert row["screened"] and row["N"] == 7
    assert row["proven"] and row["scip_status"] in X.PROVEN
    assert row["crms"] == crms(p).objective  # the objective CRMS reaches, re-solved independently
    assert row["gap"] == (row["crms"] - row["scip_primal"]) / row["scip_primal"]
    assert row["gap"] >= -1e-4  # SCIP's optimum is global: CRMS cannot beat it beyond tolerances
    assert row["scip_dual"] <= row["scip_primal"] and row["gap_dual"] >= row["gap"]


class _Stopped:
    """What scip_optimum returns when it stops at its time limit: incumbent 0.99 x CRMS's value, bound 0.9 x."""

    def __init__(self, ref):
        self.ref = ref

    def __call__(self, p, time_limit):
        a = evaluate(p, np.ones(p.N), np.full(p.N, p.server.c_max), np.full(p.N, p.server.m_max), "SCIP", 1.0)
        a.info.update(scip_objective=0.99 * self.ref, dual_bound=0.9 * self.ref, gap=0.1, status="timelimit")
        return a


def test_screened_row_reads_the_primal_and_the_dual_bound_each_in_its_place(models, monkeypatch):
    p = X.random_small_problem(models, np.random.default_rng(3), n_apps=(2, 2))
    ref = crms(p).objective
    monkeypatch.setattr(X, "scip_optimum", _Stopped(ref))
    row = X.screened_oracle_row(p, 0, scip_time_limit=1)
    assert not row["proven"] and row["scip_status"] == "timelimit"
    assert row["scip_primal"] == 0.99 * ref and row["scip_dual"] == 0.9 * ref
    assert row["gap"] == pytest.approx(1 / 0.99 - 1, rel=1e-9)
    assert row["gap_dual"] == pytest.approx(1 / 0.9 - 1, rel=1e-9)


def test_screened_row_marks_the_screened_path_by_the_configs_threshold(models, monkeypatch):
    p = X.random_small_problem(models, np.random.default_rng(3), n_apps=(2, 2))
    monkeypatch.setattr(X, "scip_optimum", _Stopped(1.0))
    assert not X.screened_oracle_row(p, 0, 1)["screened"]  # 2N = 4 <= 12: every move solved exactly
    assert X.screened_oracle_row(p, 0, 1, CRMSConfig(exhaustive_below=3))["screened"]


def test_screened_study_draws_seven_or_eight_apps_that_take_the_screened_path(models, monkeypatch):
    monkeypatch.setattr(X, "scip_optimum", _Stopped(1.0))
    df = X.screened_oracle_study(models, 3, seed=0, scip_time_limit=1)
    assert len(df) == 3 and set(df.N) <= {7, 8} and df.screened.all()


def _rows():
    """Two proven instances (gaps 0.01 and 0.03) and one stopped one (gap 0.5, far outside any bar)."""
    return pd.DataFrame([
        {"instance": 0, "infeasible": None, "proven": True, "scip_status": "optimal", "gap": 0.01, "gap_dual": 0.011},
        {"instance": 1, "infeasible": None, "proven": True, "scip_status": "gaplimit", "gap": 0.03, "gap_dual": 0.03},
        {"instance": 2, "infeasible": None, "proven": False, "scip_status": "timelimit", "gap": 0.5,
         "gap_dual": 0.8},
        {"instance": 3, "infeasible": "cpu_capacity", "proven": False},
    ])


def test_screened_summary_judges_the_proven_instances_only():
    s = X.screened_summary(_rows())
    assert (s["instances"], s["feasible"], s["proven"], s["with_bound"]) == (4, 3, 2, 3)
    assert s["frac_2pct"] == 0.5 and s["worst_gap"] == 0.03
    assert s["worst_gap_dual"] == 0.8 and s["worst_gap_dual_proven"] == 0.03
    assert s["frac_2pct_dual"] == pytest.approx(1 / 3)


def test_screened_summary_refuses_an_empty_study():
    with pytest.raises(ValueError, match="at least one instance"):
        X.screened_summary(pd.DataFrame())
