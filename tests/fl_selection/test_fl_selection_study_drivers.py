"""Paths of :mod:`support.fl_selection.experiments` that only the notebook ran before: the shard partition, the
heterogeneity profile and histogram, the sweeps' aggregation, the alpha study's reuse of the headline and the two
infeasible settings of infeasible_named; each against numpy by hand or a fake whose effect is known."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from support.fl_selection import experiments as X


def _tv_by_hand(y, parts, n_classes):
    """Each client's TV distance to the data-weighted global label distribution, from raw label counts."""
    cnt = np.array([np.bincount(y[p], minlength=n_classes) for p in parts], float)
    glob = cnt.sum(axis=0) / cnt.sum()
    return 0.5 * np.abs(cnt / cnt.sum(axis=1, keepdims=True) - glob).sum(axis=1)


def test_shard_partition_env_splits_every_sample_once_into_two_label_sorted_shards_per_client():
    env = X.build_env(X.Setup(dataset="digits", partition="shards", n_clients=10, participation=0.3), 0)
    y = env.data.y_train
    every = np.sort(np.concatenate(env.parts))
    np.testing.assert_array_equal(every, np.arange(len(y)))  # a partition of the training set
    np.testing.assert_array_equal(env.D, [len(p) for p in env.parts])
    cnt = np.array([np.bincount(y[p], minlength=env.data.n_classes) for p in env.parts], float)
    np.testing.assert_allclose(env.P, cnt / cnt.sum(axis=1, keepdims=True), rtol=1e-12)
    # 2 label-sorted shards, each shorter than a class, span at most 2 labels each (plus the round-robin leftovers)
    assert max(int((c > 1).sum()) for c in cnt) <= 4 and np.median([(c > 0).sum() for c in cnt]) <= 4


def test_heterogeneity_profile_is_each_clients_tv_and_w1_to_the_weighted_global_mix():
    env = X.build_env(X.Setup(dataset="digits", n_clients=8, alpha=0.3, participation=0.25), 1)
    prof = X.heterogeneity_profile(env)
    y, C = env.data.y_train, env.data.n_classes
    assert prof.client.tolist() == list(range(8)) and prof.D.tolist() == [len(p) for p in env.parts]
    np.testing.assert_allclose(prof.delta_tv, _tv_by_hand(y, env.parts, C), rtol=1e-12, atol=1e-15)
    cnt = np.array([np.bincount(y[p], minlength=C) for p in env.parts], float)
    cdf_k = np.cumsum(cnt / cnt.sum(axis=1, keepdims=True), axis=1)
    cdf = np.cumsum(cnt.sum(axis=0) / cnt.sum())
    np.testing.assert_allclose(prof.delta_w1, np.abs(cdf_k - cdf).sum(axis=1), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(prof.distance_km, env.system.distance_km)


def test_partition_heterogeneity_is_that_of_the_scenario_built_at_the_same_alpha_and_seed():
    setup = X.Setup(dataset="digits", n_clients=8, alpha=5.0, participation=0.25)
    env = X.build_env(replace(setup, alpha=0.2), 2)  # the histogram's alpha, not the setup's
    h = X.partition_heterogeneity(setup, 0.2, 2)
    np.testing.assert_allclose(h, _tv_by_hand(env.data.y_train, env.parts, env.data.n_classes), rtol=1e-12)


def test_sweep_averages_each_seeds_draws_then_the_seeds_per_value_and_method(monkeypatch):
    """Seed 0 has draws T = 1, 3 (mean 2), seed 1 one draw T = 6 and seed 2 one draw T = 1: the value's mean is
    (2 + 6 + 1) / 3 = 3 (not the pooled mean 11 / 4 nor the median 2); E and delta likewise, and the swept field
    reaches the scenario."""
    built = []

    def env(setup, seed):
        built.append((setup.n_clients, seed))
        return SimpleNamespace(v=setup.n_clients, seed=seed)

    def costs(e, n_draws):
        T = {0: [1.0, 3.0], 1: [6.0], 2: [1.0]}[e.seed]
        return pd.DataFrame({"draw": range(len(T)), "method": ["csra"] * len(T), "T": [t * e.v for t in T],
                             "E": [2 * t for t in T], "delta": [0.1 * t for t in T], "failed": False})

    monkeypatch.setattr(X, "build_env", env)
    monkeypatch.setattr(X, "per_round_costs", costs)
    sw = X.sweep(X.Setup(), "n_clients", [10, 20], [0, 1, 2], n_draws=2)
    assert built == [(10, 0), (10, 1), (10, 2), (20, 0), (20, 1), (20, 2)]
    assert sw.n_clients.tolist() == [10, 20] and sw.method.tolist() == ["csra", "csra"]
    assert sw["T"].tolist() == pytest.approx([30.0, 60.0]) and sw["E"].tolist() == pytest.approx([6.0, 6.0])
    assert sw.delta.tolist() == pytest.approx([0.3, 0.3]) and sw.dropped_draws.tolist() == [0, 0]


def _draws(rows):
    """per_round_costs-shaped rows from (draw, method, T) triples; None for T marks a failed draw."""
    return pd.DataFrame([{"draw": d, "method": m, "T": np.nan if t is None else t, "E": np.nan if t is None else 10 * t,
                          "delta": np.nan if t is None else t / 100, "failed": t is None} for d, m, t in rows],
                        columns=["draw", "method", "T", "E", "delta", "failed"])


def test_sweep_compares_methods_on_the_draws_where_every_method_is_feasible_and_counts_the_dropped(monkeypatch):
    """Seed 0: CSRA fails on draw 1, where random's T is 100; averaging each method over its own draws would give
    random (1 + 100) / 2 = 50.5 against CSRA's 2. Kept: draw 0 only (CSRA 2, random 1). Seed 1 loses every draw:
    its means are NaN, and so is the value's mean over seeds (not the surviving seed's alone)."""
    frames = {(10, 0): _draws([(0, "csra", 2.0), (0, "random", 1.0), (1, "csra", None), (1, "random", 100.0)]),
              (20, 0): _draws([(0, "csra", 4.0), (0, "random", 3.0), (1, "csra", 6.0), (1, "random", 5.0)]),
              (10, 1): _draws([(0, "csra", None), (0, "random", 7.0)]),
              (20, 1): _draws([(0, "csra", 8.0), (0, "random", 9.0)])}
    monkeypatch.setattr(X, "build_env", lambda setup, seed: SimpleNamespace(key=(setup.n_clients, seed)))
    monkeypatch.setattr(X, "per_round_costs", lambda e, n_draws: frames[e.key])
    sw = X.sweep(X.Setup(), "n_clients", [10, 20], [0], n_draws=2).set_index(["n_clients", "method"])
    assert sw.loc[(10, "csra"), "T"] == 2.0 and sw.loc[(10, "random"), "T"] == 1.0
    assert sw.loc[(10, "random"), "E"] == 10.0 and sw.loc[(10, "random"), "delta"] == pytest.approx(0.01)
    assert sw.loc[(10, "random"), "dropped_draws"] == 1 and sw.loc[(20, "random"), "dropped_draws"] == 0
    assert sw.loc[(20, "csra"), "T"] == 5.0 and sw.loc[(20, "random"), "T"] == 4.0
    sw2 = X.sweep(X.Setup(), "n_clients", [10, 20], [0, 1], n_draws=2).set_index(["n_clients", "method"])
    assert np.isnan(sw2.loc[(10, "csra"), "T"]) and np.isnan(sw2.loc[(10, "random"), "T"])
    assert sw2.loc[(10, "csra"), "dropped_draws"] == 2  # one on each seed
    assert sw2.loc[(20, "csra"), "T"] == pytest.approx((5.0 + 8.0) / 2)


def test_per_round_costs_marks_a_draw_where_a_method_has_no_feasible_allocation_as_failed(monkeypatch):
    """equal_allocation raising InfeasibleError on draw 1 gives random a failed row there with NaN costs; the other
    methods keep their rows on both draws."""
    env = X.build_env(X.Setup(dataset="digits", n_clients=8, alpha=0.3, participation=0.375), 3)
    real, calls = X.equal_allocation, []

    def flaky(sys_t, S):
        calls.append(len(calls))
        if len(calls) == 2:
            raise X.InfeasibleError("no feasible round time")
        return real(sys_t, S)

    monkeypatch.setattr(X, "equal_allocation", flaky)
    df = X.per_round_costs(env, 2, methods=("random", "best_channel"))
    assert df[["draw", "method", "failed"]].values.tolist() == [
        [0, "random", False], [0, "best_channel", False], [1, "random", True], [1, "best_channel", False]]
    failed = df[df.failed.astype(bool)].iloc[0]
    assert np.isnan(failed["T"]) and np.isnan(failed["E"]) and np.isnan(failed["delta"])
    means, dropped = X.common_draw_means(df)
    assert dropped == 1 and means.loc["best_channel", "T"] == df[(df.draw == 0) & (df.method == "best_channel")]["T"].item()


def test_weight_tradeoff_runs_csra_alone_at_each_weight(monkeypatch):
    monkeypatch.setattr(X, "build_env", lambda setup, seed: SimpleNamespace(w=setup.w))
    seen = []

    def costs(e, n_draws, methods):
        seen.append(methods)
        return pd.DataFrame({"draw": [0, 1], "method": "csra", "T": [e.w, 3 * e.w], "E": [1 - e.w, 1 - e.w],
                             "delta": 0.0, "failed": False})

    monkeypatch.setattr(X, "per_round_costs", costs)
    wt = X.weight_tradeoff(X.Setup(), [0.2, 0.8], seed=0, n_draws=2)
    assert seen == [("csra",), ("csra",)] and wt.w.tolist() == [0.2, 0.8]
    assert wt["T"].tolist() == pytest.approx([0.4, 1.6]) and wt["E"].tolist() == pytest.approx([0.8, 0.2])


def _summary(alpha_seeds, methods):
    return pd.DataFrame([{"seed": s, "method": m, "rounds_to_target": 3.0} for s in alpha_seeds for m in methods])


def test_alpha_rounds_reuses_the_headline_summary_only_when_it_holds_every_method_and_seed(monkeypatch):
    runs = []

    def fake_headline(setup, seeds, methods):
        runs.append((setup.alpha, tuple(seeds), tuple(methods)))
        return None, _summary(seeds, methods)

    monkeypatch.setattr(X, "headline", fake_headline)
    setup = X.Setup(alpha=0.1)
    full = _summary([0, 1], ["csra", "csra_no_het", "random", "random_opt", "oort"])
    ar = X.alpha_rounds(setup, [0.1, 1.0], [0, 1], known=full)
    assert runs == [(1.0, (0, 1), ("csra", "csra_no_het", "random"))]  # 0.1 read from the headline, not re-run
    assert set(ar[ar.alpha == 0.1].method) == {"csra", "csra_no_het", "random", "random_opt"}  # oort left out
    assert len(ar[ar.alpha == 0.1]) == 8
    runs.clear()
    X.alpha_rounds(setup, [0.1], [0, 1, 2], known=full)  # a seed the headline did not run: run again
    assert runs == [(0.1, (0, 1, 2), ("csra", "csra_no_het", "random"))]
    runs.clear()
    X.alpha_rounds(setup, [0.1], [0, 1], known=full[full.method != "random_opt"])  # random's by-product missing
    assert len(runs) == 1


def test_the_two_infeasible_settings_each_raise_an_infeasible_error_naming_their_cause():
    errs = X.infeasible_errors()
    assert set(errs) == {"deadline", "bandwidth"}
    assert X.infeasible_ok(errs), errs
    assert "compute time" in errs["deadline"]  # a deadline below every client's own compute time, not a slow uplink


def test_per_round_costs_refuses_a_loss_based_selector():
    env = X.build_env(X.Setup(dataset="digits", n_clients=6, participation=0.5), 0)
    with pytest.raises(ValueError, match="does not support 'oort'"):
        X.per_round_costs(env, 1, methods=("oort",))


def test_selection_study_scores_a_csra_failure_as_gap_inf_and_skips_instances_without_a_feasible_subset(monkeypatch):
    """Instance 0: CSRA fails, enumeration finds an optimum of cost 2 -> gap inf (not within brute_force_5pct);
    instance 1: no subset satisfies the constraints -> no row; instance 2: CSRA 2.05 vs 2 -> gap 2.5%."""
    from support.opt import InfeasibleError

    calls = iter(range(3))

    def fake_csra(system, P, m, gen, wts):
        i = next(calls)
        if i == 0:
            raise InfeasibleError("no subset", binding="generalization")
        return SimpleNamespace(allocation=SimpleNamespace(cost=lambda w: 2.05))

    best = iter([(SimpleNamespace(cost=lambda w: 2.0), 5), (None, 0), (SimpleNamespace(cost=lambda w: 2.0), 7)])
    monkeypatch.setattr(X, "csra", fake_csra)
    monkeypatch.setattr(X, "exhaustive_selection", lambda *a, **k: next(best))
    sel = X.selection_study(3, Ks=(6,))
    assert sel.instance.tolist() == [0, 2] and sel.feasible_subsets.tolist() == [5, 7]
    assert sel.gap.iloc[0] == float("inf") and sel.gap.iloc[1] == pytest.approx(0.025)
    assert X.brute_force_fraction(sel) == 0.5


def test_per_round_costs_redraws_fading_each_draw_and_scores_each_selection_on_it():
    """Per draw: random and random_opt share one random subset (equal vs optimized allocation, so the optimized
    weighted cost is no higher); best_channel takes the m strongest channels of that draw's fading; delta is the TV
    of the selected clients' pooled labels to the global mix, recomputed from raw label counts."""
    from support.seeding import derive

    env = X.build_env(X.Setup(dataset="digits", n_clients=8, alpha=0.3, participation=0.375), 3)
    df = X.per_round_costs(env, 2, methods=("random", "random_opt", "best_channel"))
    assert df.groupby("draw").method.apply(list).tolist() == [["random", "random_opt", "best_channel"]] * 2
    y, C = env.data.y_train, env.data.n_classes
    cnt = np.array([np.bincount(y[p], minlength=C) for p in env.parts], float)
    glob = cnt.sum(axis=0) / cnt.sum()

    def tv(S):
        pooled = cnt[list(S)].sum(axis=0)
        return 0.5 * np.abs(pooled / pooled.sum() - glob).sum()

    for t in range(2):
        d = df[df.draw == t].set_index("method")
        S_rand = np.sort(derive(env.seed, "sweep_sel", t).choice(8, env.m, replace=False))
        gain = env.system.with_fading(derive(env.seed, "sweep", t)).gain
        S_best = np.sort(np.argsort(-gain)[:env.m])
        assert d.loc["random", "delta"] == pytest.approx(tv(S_rand), rel=1e-9)
        assert d.loc["random_opt", "delta"] == pytest.approx(tv(S_rand), rel=1e-9)
        assert d.loc["best_channel", "delta"] == pytest.approx(tv(S_best), rel=1e-9)
        w = env.weights
        cost = {m: w.w * d.loc[m, "T"] / w.T_unit + (1 - w.w) * d.loc[m, "E"] / w.E_unit for m in d.index}
        assert cost["random_opt"] <= cost["random"] * (1 + 1e-6)
