"""Bookkeeping of the FL experiments: to-target accounting and savings, plus a tiny end-to-end run."""

import numpy as np
import pandas as pd
import pytest

from support.fl_selection import experiments as X


def _runs():
    rows = []
    for method, acc, T, E in (("csra", [0.5, 0.8, 0.9], [1, 1, 1], [2, 2, 2]),
                              ("random", [0.5, 0.6, 0.8], [2, 2, 2], [4, 4, 4]),
                              ("csra_no_het", [0.4, 0.5, 0.6], [1, 1, 1], [1, 1, 1])):
        for r in range(3):
            rows.append({"seed": 0, "method": method, "round": r + 1, "test_acc": acc[r], "T": T[r], "E": E[r],
                         "delta": 0.1, "decide_s": 0.0})
    df = pd.DataFrame(rows)
    df["cum_T"] = df.groupby("method").T.cumsum()
    df["cum_E"] = df.groupby("method").E.cumsum()
    return df


def test_summary_counts_latency_and_energy_up_to_the_first_round_at_target():
    s = X.summarize(_runs(), target=0.75, tail=1).set_index("method")
    assert s.loc["csra", "rounds_to_target"] == 2 and s.loc["csra", "latency_to_target_s"] == 2
    assert s.loc["random", "rounds_to_target"] == 3 and s.loc["random", "energy_to_target_J"] == 12
    assert np.isnan(s.loc["csra_no_het", "rounds_to_target"])


def test_savings_are_relative_to_the_reference_and_undefined_when_a_target_is_missed():
    s = X.summarize(_runs(), target=0.75, tail=1)
    sv = X.savings(s, "csra", "random")
    assert sv["energy_saving"] == pytest.approx(1 - 4 / 12) and sv["latency_saving"] == pytest.approx(1 - 2 / 6)
    assert sv["acc_gap_pp"] == pytest.approx(10.0)
    assert np.isnan(X.savings(s, "csra", "csra_no_het")["energy_saving"])


def test_tiny_fl_run_logs_one_costed_round_per_fedavg_round():
    setup = X.Setup(dataset="digits", n_clients=6, participation=0.5, rounds=2, min_size=5, alpha=1.0)
    env = X.build_env(setup, 0)
    df = X.run_method(env, "random", rounds=2)
    assert set(df.method) == {"random", "random_opt"} and len(df) == 4
    eq, opt = df[df.method == "random"], df[df.method == "random_opt"]
    w = env.weights  # the optimized allocation never costs more than equal bandwidth at f_max
    assert all(w.cost(o.T, o.E) <= w.cost(e.T, e.E) * (1 + 1e-6) for o, e in zip(opt.itertuples(), eq.itertuples()))
    with pytest.raises(ValueError, match="unknown method"):
        X.run_method(env, "greedy", rounds=1)


def test_constraint_sweep_reuses_headline_runs_and_a_tighter_constraint_selects_less_skewed_data():
    setup = X.Setup(dataset="digits", n_clients=8, participation=0.5, rounds=2, min_size=5, alpha=0.3,
                    delta_max=0.4)
    _runs, summ = X.headline(setup, [0], ("csra", "random"))
    cs = X.constraint_sweep(setup, [0.4, 0.15], [0], summ)
    assert sorted(cs.method.unique()) == ["csra", "random"] and len(cs) == 3
    reused = cs[(cs.method == "csra") & (cs.delta_max == 0.4)]
    assert reused.final_acc.iloc[0] == summ[summ.method == "csra"].final_acc.iloc[0]  # not retrained
    tight = cs[(cs.method == "csra") & (cs.delta_max == 0.15)]
    # the constraint bounds the selected label discrepancy (fallback: the least-discrepant set)
    assert tight.delta_mean.iloc[0] <= reused.delta_mean.iloc[0] + 1e-9
    assert (cs.energy_J > 0).all() and (cs.latency_s > 0).all()
