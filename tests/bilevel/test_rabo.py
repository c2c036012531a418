"""RABO rounds: exact reduction to the unpruned algorithm, coverage-aware server step, variants, rate slope."""

import numpy as np
import pandas as pd
import pytest

from support.bilevel.estimators import InnerConfig, make_estimator
from support.bilevel.quadratic import QuadraticBilevel, make_quadratic
from support.bilevel.rabo import RunConfig, full_schedule, run_rabo, run_unpruned
from support.bilevel.rate import (
    RateConfig,
    local_slopes,
    loglog_slope,
    rate_experiment,
    rate_run,
    rate_vs_rounds,
    stationarity,
)
from support.fl.masks import client_masks
from support.seeding import derive
from support.validate import ParameterError


def test_all_ones_masks_reproduce_the_unpruned_algorithm_bit_for_bit():
    prob = make_quadratic(np.random.default_rng(0), n_clients=5, nx=6, ny=4, noise=0.7)
    est = make_estimator("fd_hvp", InnerConfig(3, 0.2, 4, 0.2, 1e-2))
    a = run_rabo(prob, est, full_schedule(prob), RunConfig(15, 0.1), np.random.default_rng(9))
    b = run_unpruned(prob, 3, 0.2, 4, 0.2, 1e-2, 15, 0.1, np.random.default_rng(9))
    assert len(a.xs) == len(b) == 15  # zip would compare only a prefix, or nothing
    assert np.array_equal(np.stack(a.xs), np.stack(b))


def test_minimum_coverage_is_the_smallest_over_rounds_when_the_schedule_changes():
    """C_x* and C_y* are minima over every round, not the first, last or largest round's coverage."""
    prob = make_quadratic(np.random.default_rng(7), n_clients=2, nx=3, ny=3)
    one, both = np.array([[1, 1, 1], [0, 0, 0]], bool), np.ones((2, 3), bool)
    sched = {0: (both, one), 1: (one, both), 2: (both, both)}  # C_x: 2, 1, 2; C_y: 1, 2, 2
    res = run_rabo(prob, make_estimator("fd_hvp", InnerConfig(1, 0.1, 1, 0.1, 1e-2)), sched.__getitem__,
                   RunConfig(3, 0.1), np.random.default_rng(0))
    assert (res.min_coverage_x, res.min_coverage_y) == (1, 1)


def test_one_round_server_step_is_the_average_over_covering_clients():
    prob = make_quadratic(np.random.default_rng(1), n_clients=3, nx=5, ny=4)
    mx = np.array([[1, 1, 0, 0, 0], [1, 0, 1, 0, 0], [0, 0, 1, 1, 0]], bool)  # coordinate 4 uncovered
    my = np.ones((3, 4), bool)
    est = make_estimator("fd_hvp", InnerConfig(0, 0.1, 0, 0.1, 1e-2))  # h = grad_x f only
    x0 = np.arange(5.0)
    res = run_rabo(prob, est, lambda q: (mx, my), RunConfig(1, 0.5), np.random.default_rng(0), x0=x0)
    y0 = prob.y0()
    want = x0.copy()
    for j in range(5):
        held = [(prob.G[i] @ x0 + prob.E[i] @ y0 + prob.d[i])[j] for i in range(3) if mx[i, j]]
        if held:
            want[j] -= 0.5 * np.mean(held)
    assert np.allclose(res.x, want, atol=1e-14)
    assert res.x[4] == x0[4] and res.min_coverage_x == 0


def test_dropping_clients_by_empty_masks_equals_running_without_them():
    prob = make_quadratic(np.random.default_rng(2), n_clients=4, nx=4, ny=4)
    keep = [0, 2]
    sub = QuadraticBilevel(*(getattr(prob, k)[keep] for k in "ACbFGEcd"))
    est = make_estimator("fd_hvp", InnerConfig(3, 0.2, 3, 0.2, 1e-2))
    on = np.array([True, False, True, False])
    mx, my = np.repeat(on[:, None], 4, 1), np.repeat(on[:, None], 4, 1)
    a = run_rabo(prob, est, lambda q: (mx, my), RunConfig(10, 0.2), np.random.default_rng(0))
    b = run_rabo(sub, est, full_schedule(sub), RunConfig(10, 0.2), np.random.default_rng(0))
    assert np.allclose(a.x, b.x, atol=1e-13)
    assert a.work[~on].sum() == 0 and a.work[on].min() > 0


def test_local_update_variant_with_one_client_and_one_step_equals_the_global_round():
    prob = make_quadratic(np.random.default_rng(3), n_clients=1, nx=3, ny=3)
    est = make_estimator("fd_hvp", InnerConfig(4, 0.2, 4, 0.2, 1e-2))
    a = run_rabo(prob, est, full_schedule(prob), RunConfig(8, 0.2, local_steps=1), np.random.default_rng(0))
    b = run_rabo(prob, est, full_schedule(prob), RunConfig(8, 0.2), np.random.default_rng(0))
    assert np.allclose(a.x, b.x, atol=1e-14)


def test_metrics_are_recorded_every_eval_every_rounds_and_after_the_last():
    """5 rounds with eval_every = 2: records after rounds 2, 4 and 5 (the last, though not a multiple of 2)."""
    prob = make_quadratic(np.random.default_rng(1), n_clients=2, nx=3, ny=3)
    est = make_estimator("fd_hvp", InnerConfig(2, 0.2, 2, 0.2, 1e-2))
    res = run_rabo(prob, est, full_schedule(prob), RunConfig(5, 0.1, eval_every=2), np.random.default_rng(0),
                   evaluate=lambda x, y: {"value": prob.value(x)})
    assert [r["round"] for r in res.records] == [2, 4, 5]
    assert res.records[-1]["value"] == prob.value(res.x)


def test_local_update_server_averages_each_y_coordinate_over_the_clients_that_hold_it():
    """One round of the local-update variant, y-masks [1 1 1 1] and [1 1 0 0]: client i runs T = 3 inner steps
    y <- y - 0.2 (A_i y + C_i' x0 + b_i) on its own coordinates (written out here from the problem's matrices);
    the server's y is their mean on coordinates 0-1 and client 0's alone on 2-3, which only client 0 holds (a plain
    mean would halve those with the other client's untouched zeros)."""
    prob = make_quadratic(np.random.default_rng(5), n_clients=2, nx=3, ny=4)
    mx = np.ones((2, 3), bool)
    my = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
    est = make_estimator("fd_hvp", InnerConfig(3, 0.2, 2, 0.2, 1e-2))
    res = run_rabo(prob, est, lambda q: (mx, my), RunConfig(1, 0.1, local_steps=1), np.random.default_rng(0))
    ys = []
    for i in range(2):
        y = np.zeros(4)
        for _ in range(3):
            y = y - 0.2 * (prob.A[i] @ y + prob.b[i]) * my[i]  # x0 = 0
        ys.append(y)
    want = np.concatenate([(ys[0][:2] + ys[1][:2]) / 2, ys[0][2:]])
    np.testing.assert_allclose(res.y, want, rtol=1e-12, atol=1e-15)


def test_with_identical_clients_rolling_pruning_follows_the_full_model_path_to_the_minimizer():
    base = make_quadratic(np.random.default_rng(4), n_clients=1, nx=8, ny=8)
    prob = QuadraticBilevel(*(np.repeat(getattr(base, k), 4, axis=0) for k in "ACbFGEcd"))
    est = make_estimator("fd_hvp", InnerConfig(10, 0.2, 10, 0.2, 1e-2))

    def sched(q):
        return client_masks(8, [0.5] * 4, "rolling", q), client_masks(8, [0.5] * 4, "rolling", q)

    res = run_rabo(prob, est, sched, RunConfig(200, 0.2), np.random.default_rng(0))
    full = run_rabo(prob, est, full_schedule(prob), RunConfig(200, 0.2), np.random.default_rng(0))
    assert res.min_coverage_x == 2
    assert np.allclose(res.x, full.x, atol=1e-12)
    assert np.linalg.norm(res.x - prob.x_star()) < 1e-8
    assert res.work.sum() == pytest.approx(0.5 * full.work.sum())


def test_mask_schedule_with_wrong_shape_is_rejected():
    prob = make_quadratic(np.random.default_rng(5), n_clients=2, nx=3, ny=3)
    est = make_estimator("fd_hvp", InnerConfig())
    with pytest.raises(ValueError, match="mask schedule"):
        run_rabo(prob, est, lambda q: (np.ones((2, 4), bool), np.ones((2, 3), bool)), RunConfig(1, 0.1),
                 np.random.default_rng(0))
    with pytest.raises(ValueError, match="rounds"):
        RunConfig(0, 0.1)


def test_rate_slope_against_minimum_coverage_is_minus_one_half():
    """Small CI version of the notebook's rate experiment (2 seeds, 100 rounds; the notebook runs 5 seeds)."""
    df = rate_experiment(RateConfig(rounds=100), c_stars=(1, 2, 4, 8), seeds=range(2))
    assert -0.65 <= loglog_slope(df) <= -0.35


def test_full_coverage_control_is_the_unpruned_algorithm_with_the_theorem_step_of_the_labelled_c_star():
    cfg = RateConfig(rounds=15, coverage="full")
    prob = make_quadratic(derive(1, "problem"), cfg.n_clients, cfg.nx, cfg.ny, noise=cfg.noise)
    xs = run_unpruned(prob, cfg.inner_steps, cfg.inner_lr, cfg.solver_steps, cfg.solver_lr, 1e-2, cfg.rounds,
                      cfg.alpha0 * np.sqrt(2 / 8), derive(1, "noise", 2))
    assert rate_run(cfg, 2, 1) == stationarity(prob, xs)
    assert rate_run(RateConfig(rounds=15), 2, 1) != stationarity(prob, xs)  # the C* = 2 run itself is pruned


def test_full_coverage_control_slope_is_plus_one_half_from_the_step_alone():
    """With every client covering everything, only the step alpha0 sqrt(C*/M) varies; the noise floor of SGD
    grows like the step, so the slope is positive, about +1/2 (+0.47 at Q = 400, 5 seeds; at this CI size,
    Q = 100 and 2 seeds, +0.32: the smallest steps have not reached their floor). Pruned runs give -1/2."""
    df = rate_experiment(RateConfig(rounds=100, coverage="full"), c_stars=(1, 2, 4, 8), seeds=range(2))
    assert 0.1 <= loglog_slope(df) <= 0.8


def test_unknown_rate_coverage_mode_is_rejected():
    with pytest.raises(ValueError, match="coverage"):
        RateConfig(coverage="half")


def test_control_run_at_full_coverage_is_the_main_run_and_is_computed_once(monkeypatch):
    """At C* = M the control's masks, step and noise are the main run's, so the cached run is reused; any
    other C* of the control is a run of its own."""
    from dataclasses import replace

    from support.bilevel import rate as R

    calls = []
    real = R.run_rabo
    monkeypatch.setattr(R, "run_rabo", lambda *a, **k: calls.append(1) or real(*a, **k))
    R._rate_run.cache_clear()
    cfg = RateConfig(rounds=10)
    assert rate_run(cfg, 8, 3) == rate_run(replace(cfg, coverage="full"), 8, 3) and len(calls) == 1
    assert rate_run(replace(cfg, coverage="full"), 4, 3) != rate_run(cfg, 4, 3) and len(calls) == 3
    R._rate_run.cache_clear()


def test_rate_slope_against_rounds_with_the_horizon_scaled_step_is_minus_one_half():
    """The Q half of O(1/sqrt(C_x* Q)) at C* = 1 (CI size: Q0 = 100, Q = 25..400, 2 seeds: -0.58; the notebook
    runs 5 seeds at Q0 = 400). A step that ignores the horizon Q leaves the average flat in Q (slope near 0)."""
    df = rate_vs_rounds(RateConfig(rounds=100), [25, 50, 100, 200, 400], c_star=1, seeds=range(2))
    assert -0.65 <= loglog_slope(df, x="rounds") <= -0.35


def test_horizon_scaled_step_is_alpha0_sqrt_c_over_m_sqrt_q0_over_q_and_equals_the_plain_run_at_q0():
    assert RateConfig(rounds=100, q_ref=400).outer_lr(2) == pytest.approx(0.2 * np.sqrt(2 / 8) * 2.0)
    cfg = RateConfig(rounds=12)
    df = rate_vs_rounds(cfg, [12], c_star=2, seeds=[4])
    assert df.grad_sq.iloc[0] == rate_run(cfg, 2, 4)


@pytest.mark.parametrize("alpha0", [-0.07, 0.0, float("nan")])
def test_a_non_positive_rate_step_is_refused_naming_the_notebook_parameter(alpha0):
    with pytest.raises(ParameterError, match="rate_alpha0"):
        RateConfig(alpha0=alpha0)


@pytest.mark.parametrize("kw", [{"outer_lr": float("inf")}, {"rounds": 2.5}, {"local_steps": -1}])
def test_run_config_refuses_an_infinite_step_or_a_fractional_count(kw):
    with pytest.raises(ValueError):  # outer_lr = inf gave NaN iterates
        RunConfig(**kw)


def test_a_numpy_integer_key_draws_the_same_stream_as_the_int():
    """rate_experiment(c_stars=np.array([1, 2])) raised AttributeError: 'numpy.int64' object has no attribute
    'encode'."""
    assert derive(3, "cstar", np.int64(2)).random() == derive(3, "cstar", 2).random()


def test_stationarity_is_the_mean_over_rounds_of_the_squared_hypergradient_norm():
    """(1/Q) sum_q |grad F(x_q)|^2 (the rate theorem's left side), not the last iterate's: grad F(x) = 2x here."""
    from types import SimpleNamespace

    prob = SimpleNamespace(hypergradient=lambda x: 2 * x)
    xs = [np.array([1.0, 0.0]), np.array([0.0, 2.0]), np.array([0.5, 0.5])]
    assert stationarity(prob, xs) == pytest.approx((4.0 + 16.0 + 2.0) / 3)


def test_loglog_slope_fits_the_log_of_the_seed_means():
    """Seeds at C* = 1 give 1, 1, 4 (mean 2, median 1) and at C* = 2 give 1, 1, 1: the slope of log(mean) is
    log(1/2) / log(2) = -1 exactly (medians would give 0); the local slope between the two points is the same."""
    df = pd.DataFrame({"c_star": [1, 1, 1, 2, 2, 2], "seed": [0, 1, 2] * 2, "grad_sq": [1.0, 1.0, 4.0, 1.0, 1.0, 1.0]})
    assert loglog_slope(df) == pytest.approx(-1.0, rel=1e-12)
    assert local_slopes(df).tolist() == pytest.approx([-1.0], rel=1e-12)
