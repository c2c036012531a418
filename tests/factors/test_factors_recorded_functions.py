"""The functions whose values the notebook records, called on small inputs: each comparison reports an error
planted in its oracle or peer, and every sampled claim draws a separate stream per data set and seed."""

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from factors_oracles import kf, slds_brute

from support.claims import ClaimRecorder, Verdict
from support.factors import experiments as X
from support.factors import filtering as F
from support.factors import models as M
from support.factors import reference
from support.factors.claims import CLAIMS
from support.seeding import derive

PLANT = 1e-6  # an error far above round-off and far below every claim's bar but the exact ones


def test_reference_kalman_equals_the_independent_test_oracle():
    base = M.slds_cv(1)
    _, _, y = base.simulate(12, derive(3, "kf"))
    m = base.with_data(y)
    ll, means, covs = reference.kalman(m.A[0], m.Q[0], m.H[0], m.R[0], m.m0, m.P0, y)
    ll_t, filt = kf(m.A[0], m.Q[0], m.H[0], m.R[0], m.m0, m.P0, y)
    assert abs(ll - ll_t) <= 1e-10 * abs(ll_t)
    assert np.allclose(means, [mu for mu, _ in filt], atol=1e-10)
    assert np.allclose(covs, [P for _, P in filt], atol=1e-10)


@pytest.mark.parametrize("kind", X.SLDS_KINDS)
def test_reference_slds_enumerate_equals_the_independent_brute_force(kind):
    m = X.slds_instance(2, 6, 4, kind)
    ref = reference.slds_enumerate(m)
    log_z, modes, mean, cov = slds_brute(m)
    assert abs(ref["log_z"] - log_z) <= 1e-10
    assert np.allclose(ref["mode_posterior"], modes, atol=1e-12)
    assert np.allclose(ref["mean"], mean, atol=1e-10) and np.allclose(ref["cov"], cov, atol=1e-10)


def test_kalman_check_is_at_round_off_and_reports_a_shifted_reference(monkeypatch):
    assert X.kalman_check(T=8, seed=0) <= 1e-10
    real = reference.kalman

    def shifted(*a):
        ll, means, covs = real(*a)
        return ll, means + 1e-3 * np.abs(means).max(), covs

    monkeypatch.setattr(reference, "kalman", shifted)
    assert X.kalman_check(T=8, seed=0) >= 1e-3 * (1 - 1e-6)


def test_kalman_check_runs_at_the_paper_length_on_the_linear_gaussian_model():
    # T = 100 failed at paper scale while the check ran an SLDS with one mode: the exact map kept a size-1 mode axis
    # per step until NumPy's 64-dimension limit
    assert X.kalman_check(T=100, seed=0) <= 1e-10


def test_lgssm_cv_filters_like_the_one_mode_slds_it_comes_from():
    lg, sl = M.lgssm_cv(), M.slds_cv(1)
    _, y = lg.simulate(10, derive(4, "kf"))
    a, b = F.forward_filter(lg.with_data(y), F.EXACT), F.forward_filter(sl.with_data(y), F.EXACT)
    assert abs(a.log_z - b.log_z) <= 1e-10 * abs(b.log_z)
    ll, _ = kf(lg.A, lg.Q, lg.H, lg.R, lg.m0, lg.P0, y)  # the independent test oracle
    assert abs(a.log_z - ll) <= 1e-10 * abs(ll)


def test_the_exact_map_refuses_a_mode_history_numpy_cannot_hold():
    m = M.slds_cv(1)
    _, _, y = m.simulate(F.MAX_MODE_HISTORY + 1, derive(0, "kf"))
    with pytest.raises(F.FactorError, match="at most 62 steps.*T = 63.*gpb1"):
        F.forward_filter(m.with_data(y), F.EXACT, keep_beliefs=False)
    ll, _ = kf(m.A[0], m.Q[0], m.H[0], m.R[0], m.m0, m.P0, y)  # with one mode GPB1 is exact, and it runs
    assert abs(F.forward_filter(m.with_data(y), F.GPB1, keep_beliefs=False).log_z - ll) <= 1e-9 * abs(ll)


def test_discrete_bn_table_is_at_round_off_and_reports_a_planted_error_in_pgmpy(monkeypatch):
    pytest.importorskip("pgmpy")
    with warnings.catch_warnings():  # pgmpy's import of its own deprecated module, as discrete_bn_table does
        warnings.simplefilter("ignore", FutureWarning)
        from pgmpy.inference import VariableElimination

    assert X.discrete_bn_table(["asia"], n_queries=2).max_abs_diff.max() <= 1e-10
    real = VariableElimination.query

    def planted(self, *a, **k):
        out = real(self, *a, **k)
        out.values = out.values + PLANT * (np.arange(out.values.size) == 0)
        return out

    monkeypatch.setattr(VariableElimination, "query", planted)
    diff = X.discrete_bn_table(["asia"], n_queries=2).max_abs_diff.max()
    assert PLANT * (1 - 1e-6) <= diff <= PLANT * 1.01


def test_gaussian_bn_table_is_within_the_bar_and_reports_a_planted_error_in_our_moments(monkeypatch):
    pytest.importorskip("pgmpy")
    table = X.gaussian_bn_table(["ecoli70"], seed=0)
    assert table[["max_abs_diff_mean", "max_abs_diff_cov"]].values.max() <= 1e-6
    real = X.G.moments

    def planted(f):
        lz, mean, cov = real(f)
        return lz, mean + 1e-3, cov + 1e-3

    monkeypatch.setattr(X.G, "moments", planted)
    table = X.gaussian_bn_table(["ecoli70"], seed=0)
    assert (table.max_abs_diff_mean >= 1e-3 - 1e-6).all() and (table.max_abs_diff_cov >= 1e-3 - 1e-6).all()


def test_slds_vs_funsor_summaries_is_at_round_off_and_reports_a_planted_log_z_offset(monkeypatch):
    pytest.importorskip("funsor")
    from support.factors import funsor_ref

    assert X.slds_vs_funsor_summaries([(2, 3)], seed=0) <= 1e-9
    real = funsor_ref.slds_filter

    def planted(m, interpretation):
        fr = real(m, interpretation)
        return dataclasses.replace(fr, log_z=fr.log_z + PLANT)

    monkeypatch.setattr(funsor_ref, "slds_filter", planted)
    worst = X.slds_vs_funsor_summaries([(2, 3)], seed=0)
    assert PLANT - 1e-9 <= worst <= PLANT + 1e-9


def test_slds_sweep_errors_are_against_enumeration_and_funsor_agreement_is_their_difference(monkeypatch):
    pytest.importorskip("funsor")
    maps = [("exact", 0), ("gpb1", 0), ("pf", 50)]
    sweep = X.slds_sweep([(2, 3)], maps, seed=0, funsor=True)
    ours, theirs = sweep[sweep.impl == "ours"].set_index("method"), sweep[sweep.impl == "funsor"].set_index("method")
    ref = slds_brute(X.slds_instance(2, 3, 0))[0]
    assert np.allclose(ours.abs_err_log_z, (ours.log_z - ref).abs(), atol=1e-12)
    assert ours.loc["exact", "max_err"] <= 1e-9 and ours.loc["pf (N=50)", "abs_err_log_z"] > 1e-6
    agree = X.funsor_agreement(sweep).set_index("method")
    assert set(agree.index) == {"exact", "gpb1"}  # the same instance and method on both sides only
    for method in agree.index:
        assert agree.loc[method, "abs_diff_log_z"] == abs(ours.loc[method, "log_z"] - theirs.loc[method, "log_z"])
    real = reference.slds_enumerate
    monkeypatch.setattr(reference, "slds_enumerate", lambda m: {**real(m), "log_z": real(m)["log_z"] + 1e-3})
    shifted = X.slds_sweep([(2, 3)], maps[:1], seed=0, funsor=False)
    assert abs(shifted.abs_err_log_z.iloc[0] - 1e-3) <= 1e-9


def test_mixed_matrix_exact_row_is_exact_without_project_and_reports_a_shifted_reference(monkeypatch):
    maps = [("exact", 0), ("gpb2", 0), ("rbpf", 20)]
    mixed = X.mixed_matrix(maps, K=2, T=4, seed=0).set_index("map")
    assert mixed.loc["exact", "abs_err_log_z"] <= 1e-9 and mixed.loc["exact", "project_calls"] == 0
    assert (mixed.drop(index="exact").project_calls > 0).all()
    real = reference.slds_enumerate
    monkeypatch.setattr(reference, "slds_enumerate", lambda m: {**real(m), "log_z": real(m)["log_z"] + 1e-3})
    assert abs(X.mixed_matrix(maps[:1], K=2, T=4, seed=0).abs_err_log_z.iloc[0] - 1e-3) <= 1e-9


def test_data_set_instances_are_fixed_by_seed_distinct_and_leave_the_tables_data_alone():
    a = [X.slds_instance(2, 5, 0, "cv", instance=i).y for i in range(3)]
    assert all(np.array_equal(a[i], X.slds_instance(2, 5, 0, "cv", instance=i).y) for i in range(3))
    assert not np.allclose(a[0], a[1]) and not np.allclose(a[1], a[2])
    base = M.slds_cv(2)
    _, _, y = base.simulate(5, derive(0, "slds", "cv", 2, 5))
    assert np.array_equal(X.slds_instance(2, 5, 0, "cv").y, y)  # instance=None: the tables' one data set


def test_rbpf_mixed_value_is_the_mean_over_data_sets_and_individually_run_seeds():
    errs = X.rbpf_logz_errors(40, n_seeds=3, K=2, T=5, seed=0, kind="cv", n_instances=2)
    assert errs.shape == (2, 3)
    for i in range(2):
        m = X.slds_instance(2, 5, 0, "cv", instance=i)
        ref = slds_brute(m)[0]
        one_by_one = [abs(F.forward_filter(m, F.rbpf(40), rng=derive(0, "mixed", "rbpf", i, s)).log_z - ref)
                      for s in range(3)]
        assert np.allclose(errs[i], one_by_one, rtol=0, atol=1e-9)
    assert len(set(np.round(errs.ravel(), 12))) == 6  # every (data set, seed) is a separate draw


def test_mixed_matrix_over_data_sets_runs_each_map_on_each_and_its_rbpf_run_is_the_claims_seed_0():
    maps = [("exact", 0), ("rbpf", 20), ("pf", 50)]
    mixed = X.mixed_matrix(maps, K=2, T=4, seed=0, kind="cv", instances=range(3))
    assert list(mixed["data set"]) == [0, 0, 0, 1, 1, 1, 2, 2, 2] and list(mixed["map"][:3]) == ["exact", "rbpf", "pf"]
    assert (mixed[mixed["map"] == "exact"].abs_err_log_z <= 1e-9).all()
    claims = X.rbpf_logz_errors(20, n_seeds=1, K=2, T=4, seed=0, kind="cv", n_instances=3)[:, 0]
    assert np.allclose(mixed[mixed["map"] == "rbpf"].abs_err_log_z, claims, rtol=0, atol=1e-12)
    assert mixed[mixed["map"] != "exact"].abs_err_log_z.round(12).nunique() == 6  # every (data set, map) its own draw
    assert "data set" not in X.mixed_matrix(maps[:1], K=2, T=4, seed=0)  # instances=None: the tables' one data set


def test_pf_error_vs_n_runs_every_data_set_n_and_seed_as_a_separate_draw():
    df = X.pf_error_vs_n([30, 60], n_seeds=3, T=4, seed=0, n_instances=2)
    assert len(df) == 2 * 2 * 3 and set(df.instance) == {0, 1}
    assert df.abs_err_log_z.round(12).nunique() == len(df)
    for r in df.sample(4, random_state=0).itertuples():
        m = X.slds_instance(2, 4, 0, instance=r.instance)
        res = F.forward_filter(m, F.bootstrap_pf(r.N), rng=derive(0, "pf", r.instance, r.N, r.seed))
        assert abs(abs(res.log_z - slds_brute(m)[0]) - r.abs_err_log_z) <= 1e-9


def test_pf_per_instance_gives_each_data_sets_mean_error_and_slope():
    rows = [{"instance": i, "N": n, "seed": s, "abs_err_log_z": (i + 1) * n ** -0.5 * (1 + 0.1 * s)}
            for i in range(2) for n in (100, 400, 1600) for s in range(2)]
    per = X.pf_per_instance(pd.DataFrame(rows), 1600)
    assert np.allclose(per.err_at_n, [1.05 / 40, 2.1 / 40]) and np.allclose(per.slope, -0.5)
    with pytest.raises(ValueError, match="no rows at N = 10000"):
        X.pf_per_instance(pd.DataFrame(rows), 10000)


def test_instance_note_lists_each_data_set_and_counts_those_that_pass_the_claims_rule():
    note = X.instance_note(CLAIMS["rbpf_mixed"], [0.05, 0.12, 0.1])
    assert note == "per data set: 0.050, 0.120, 0.100; 2 of 3 pass (<= 0.1) on their own"
    slope = X.instance_note(CLAIMS["pf_slope"], [-0.48, -0.75], ".2f")
    assert slope.endswith("1 of 2 pass (within ±40% of -0.5) on their own")


@pytest.mark.parametrize(("ratios", "speed", "verdict"), [
    ([2.0, 8.0], 4.0, Verdict.REPRODUCED),  # sqrt(2 x 8)
    ([0.25, 4.0, 8.0], 2.0, Verdict.REPRODUCED),  # (0.25 x 4 x 8)^(1/3): a 4x slower case cancels a 4x faster one
    ([0.5, 2.0], 1.0, Verdict.NOT_REPRODUCED),  # a tie is no speed-up (Above(1.0))
])
def test_funsor_speedup_is_the_geometric_mean_of_the_runtime_ratios(tmp_path, ratios, speed, verdict):
    rec = ClaimRecorder(CLAIMS, "default", tmp_path)
    assert X.record_funsor_speedup(rec, pd.DataFrame({"funsor/ours": ratios})) == pytest.approx(speed, rel=1e-12)
    m = rec.measurements["funsor_speedup"]
    assert m.measured == pytest.approx(speed, rel=1e-12) and m.verdict == verdict.value
    assert m.note == f"range {min(ratios):.1f}x .. {max(ratios):.1f}x"


@pytest.mark.parametrize("ratios", [[], [2.0, 0.0], [2.0, float("nan")], [-1.0, 2.0], [float("inf")]])
def test_funsor_speedup_refuses_no_ratio_or_one_that_is_not_positive_and_finite(tmp_path, ratios):
    with pytest.raises(ValueError, match=r"^funsor/ours must be non-empty, positive and finite runtime ratios"):
        X.record_funsor_speedup(ClaimRecorder(CLAIMS, "default", tmp_path), pd.DataFrame({"funsor/ours": ratios}))


def test_kalman_check_reports_a_planted_error_in_the_reference_covariances(monkeypatch):
    """The claim's error includes the filtered covariances: the reference's covariances scaled by 1.001 give a
    relative error of 0.001 / 1.001 at every step (means and log Z untouched)."""
    real = reference.kalman

    def scaled(*a):
        ll, means, covs = real(*a)
        return ll, means, covs * 1.001

    monkeypatch.setattr(reference, "kalman", scaled)
    assert X.kalman_check(T=8, seed=0) == pytest.approx(0.001 / 1.001, rel=1e-6)


def test_pf_slope_and_error_at_n_use_the_mean_over_seeds_not_a_median_or_maximum():
    """Three seeds per N where mean, median and maximum differ: at N = 100 errors (1, 1, 4) have mean 2, at N = 400
    errors (1, 1, 1) mean 1, so the log-log slope of the means is log(1/2) / log(4) = -0.5 (medians would give 0)."""
    rows = [{"instance": 0, "N": n, "seed": s, "abs_err_log_z": e}
            for n, errs in ((100, (1.0, 1.0, 4.0)), (400, (1.0, 1.0, 1.0))) for s, e in enumerate(errs)]
    df = pd.DataFrame(rows)
    assert X.loglog_slope(df) == pytest.approx(-0.5, abs=1e-12)
    per = X.pf_per_instance(df, 100)
    assert per.err_at_n.tolist() == [2.0] and per.slope.tolist() == [pytest.approx(-0.5, abs=1e-12)]


@pytest.mark.parametrize("summary", ["log_z", "mode_posterior", "mean", "cov"])
def test_slds_sweep_max_err_reports_a_planted_error_in_each_summary_of_the_reference(monkeypatch, summary):
    """hybrid_vs_enumeration is the max over log Z, P(s_T|y), E[x_T|y] and Cov[x_T|y]: an error of PLANT added to
    any one of them in the enumeration reference shows up as max_err = PLANT (the exact map is at round-off)."""
    real = reference.slds_enumerate
    monkeypatch.setattr(reference, "slds_enumerate", lambda m: {**real(m), summary: real(m)[summary] + PLANT})
    sweep = X.slds_sweep([(2, 3)], [("exact", 0)], seed=0, funsor=False)
    assert abs(sweep.max_err.iloc[0] - PLANT) <= 1e-9
