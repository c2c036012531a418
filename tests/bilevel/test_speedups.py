"""Speed-ups of notebook 10 that must change nothing: each reused or stacked result is bit-for-bit the plain one.

Stacked quadratic oracles, per-round feature reuse (hyper-representation), one logits product per L-BFGS point,
block gathers by takes (hyper-cleaning), and the rate experiment's run and mask caches keyed on what a run does.
"""

from dataclasses import replace

import numpy as np
import pytest

from support.bilevel import rate as R
from support.bilevel.cleaning import CleaningClient, WeightedLogReg, add_bias, gather
from support.bilevel.estimators import InnerConfig, make_estimator
from support.bilevel.federation import Federation
from support.bilevel.hyperrep import RepClient, RepData
from support.bilevel.quadratic import StackedQuadraticFederation, make_quadratic
from support.bilevel.rabo import RunConfig, run_rabo
from support.fl.masks import client_masks, masks_with_coverage

ORACLES = ("grad_x_f", "grad_y_f", "grad_x_g", "grad_y_g")


def _masks(rng, M, n):
    m = rng.random((M, n)) < 0.5
    m[:, -1] = False  # one coordinate nobody holds: the average leaves it 0
    return m


def test_stacked_quadratic_oracles_equal_the_per_client_federation_bit_for_bit():
    rng = np.random.default_rng(0)
    prob = make_quadratic(rng, n_clients=5, nx=7, ny=4, noise=0.3)
    mx, my = _masks(rng, 5, 7), _masks(rng, 5, 4)
    a = Federation(prob.clients(mx, my, np.random.default_rng(1)), mx, my)
    b = StackedQuadraticFederation(prob.clients(mx, my, np.random.default_rng(1)), mx, my)
    for _ in range(3):
        x, y, v = rng.normal(size=7), rng.normal(size=4), rng.normal(size=4)
        for name in ORACLES:
            assert np.array_equal(getattr(a, name)(x, y), getattr(b, name)(x, y)), name
        assert np.array_equal(a.hvp(x, y, v), b.hvp(x, y, v))
        assert np.array_equal(a.cross(x, y, v), b.cross(x, y, v))
    assert a.calls == b.calls and np.array_equal(a.work, b.work)


def test_rabo_on_a_quadratic_uses_the_stacked_oracles_and_keeps_iterates_and_work(monkeypatch):
    from support.bilevel import quadratic

    made = []

    class Counted(StackedQuadraticFederation):
        def __init__(self, *a):
            made.append(1)
            super().__init__(*a)

    monkeypatch.setattr(quadratic, "StackedQuadraticFederation", Counted)
    prob = make_quadratic(np.random.default_rng(2), n_clients=4, nx=8, ny=8, noise=0.5)
    M = prob.n_clients

    def sched(q):
        return masks_with_coverage(8, M, 2, q), masks_with_coverage(8, M, 2, q)

    class PerClient:  # the same task aggregated by the per-client Federation
        def __getattr__(self, name):
            if name == "federation":
                raise AttributeError(name)
            return getattr(prob, name)

    est = make_estimator("fd_hvp", InnerConfig(3, 0.2, 3, 0.2, 1e-2))
    assert isinstance(prob.federation(prob.clients(*sched(0), np.random.default_rng(0)), *sched(0)),
                      StackedQuadraticFederation)
    a = run_rabo(prob, est, sched, RunConfig(12, 0.1), np.random.default_rng(4))
    assert len(made) == 1 + 12  # the check above, then one per round
    b = run_rabo(PerClient(), est, sched, RunConfig(12, 0.1), np.random.default_rng(4))
    assert len(made) == 13 and np.array_equal(np.stack(a.xs), np.stack(b.xs)) and np.array_equal(a.work, b.work)


def test_stacked_quadratic_oracles_refuse_clients_that_prune_their_inputs():
    prob = make_quadratic(np.random.default_rng(0), n_clients=2, nx=3, ny=3, prune_inputs=True)
    ones = np.ones((2, 3), bool)
    with pytest.raises(ValueError, match="prune_inputs"):
        StackedQuadraticFederation(prob.clients(None, None), ones, ones)
    assert isinstance(prob.federation(prob.clients(None, None), ones, ones), Federation)


def _rep_client(units):
    rng = np.random.default_rng(5)
    data = RepData(rng.normal(size=(30, 6)), rng.integers(0, 3, 30), rng.normal(size=(12, 6)), rng.integers(0, 3, 12))
    return RepClient(data, np.asarray(units), 6, 4, 3, 0.1)


@pytest.mark.parametrize("oracle", ["grad_y_g", "grad_y_f", "grad_x_g", "grad_x_f"])
def test_rep_client_reuses_features_only_at_the_same_x_and_data(oracle):
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=6 * 4 + 4), rng.normal(size=5 * 3)
    c = _rep_client([0, 2, 3])
    c.grad_y_g(x, y)
    c.grad_y_f(x, y)  # the training and validation features are kept apart
    assert np.array_equal(getattr(c, oracle)(x, y), getattr(_rep_client([0, 2, 3]), oracle)(x, y))
    x[[1, 26]] += 0.5  # x changed in place, not a new array: the kept features are stale
    assert np.array_equal(getattr(c, oracle)(x, y), getattr(_rep_client([0, 2, 3]), oracle)(x, y))
    x2 = 2 * x  # a new array
    assert np.array_equal(getattr(c, oracle)(x2, y), getattr(_rep_client([0, 2, 3]), oracle)(x2, y))


def test_rep_client_second_order_oracles_are_unchanged_by_the_kept_features():
    rng = np.random.default_rng(7)
    x, y, v = rng.normal(size=28), rng.normal(size=15), rng.normal(size=15)
    c = _rep_client([1, 3])
    c.grad_y_g(x + 1.0, y)  # features of another x kept
    fresh = _rep_client([1, 3])
    assert np.array_equal(c.hvp(x, y, v), fresh.hvp(x, y, v))
    assert np.array_equal(c.cross(x, y, v), fresh.cross(x, y, v))


@pytest.mark.parametrize("rows", [np.arange(7), np.array([0, 2, 6]), np.array([3, 1, 0, 2, 4, 5, 6])],
                         ids=["all", "some", "all-permuted"])
def test_gather_equals_ix_indexing_in_values_and_layout(rows):
    X = np.random.default_rng(8).normal(size=(20, 7))
    idx = np.array([4, 0, 19, 7, 7])
    B = gather(X, idx, rows)
    assert np.array_equal(B, X[np.ix_(idx, rows)]) and B.flags.c_contiguous
    assert not np.shares_memory(B, X)


def _logreg(order="C"):
    rng = np.random.default_rng(9)
    X = np.asarray(add_bias(rng.normal(size=(40, 5))), order=order)
    return WeightedLogReg(X, rng.integers(0, 3, 40), add_bias(rng.normal(size=(15, 5))), rng.integers(0, 3, 15), 3,
                          0.05)


@pytest.mark.parametrize("order", ["C", "F"])
def test_logreg_value_and_gradient_in_one_pass_equal_the_separate_oracles(order):
    p = _logreg(order)
    rng = np.random.default_rng(10)
    x, W = rng.normal(size=40), rng.normal(size=(6, 3))
    every = np.arange(40)
    value, grad = p.g_and_grad_y_g(x, W)
    assert value == p.g(x, W) == p.g(x, W, every)
    assert np.array_equal(grad, p.grad_y_g(x, W)) and np.array_equal(grad, p.grad_y_g(x, W, every))


def test_cleaning_client_on_every_row_equals_a_client_on_the_rows_in_another_order():
    p = _logreg()
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=40), rng.normal(size=18)
    idx, val = np.array([1, 5, 9, 30]), np.arange(15)
    whole = CleaningClient(p, idx, np.arange(6), val)
    permuted = CleaningClient(p, idx, np.array([5, 0, 1, 2, 3, 4]), val)  # gathers and scatters its rows
    for name in ORACLES:
        assert np.allclose(getattr(whole, name)(x, y), getattr(permuted, name)(x, y), rtol=1e-12, atol=1e-15)
    ref = whole.p.grad_y_g(x, y.reshape(6, 3), idx).ravel()
    assert np.allclose(whole.grad_y_g(x, y), ref, rtol=1e-12, atol=1e-15)


def test_rate_runs_differing_only_in_how_the_step_was_chosen_are_computed_once(monkeypatch):
    """At C* = M the fixed step alpha0 is the theorem step alpha0 sqrt(M/M): one run; at C* < M the steps differ,
    and so do the runs (a key without the step would serve the cached run of the other rule)."""
    calls = []
    real = R.run_rabo
    monkeypatch.setattr(R, "run_rabo", lambda *a, **k: calls.append(1) or real(*a, **k))
    R._rate_run.cache_clear()
    cfg = R.RateConfig(rounds=8)
    fixed = replace(cfg, step_rule="fixed")
    assert R.rate_run(cfg, 8, 2) == R.rate_run(fixed, 8, 2) and len(calls) == 1
    assert R.rate_run(cfg, 4, 2) != R.rate_run(fixed, 4, 2) and len(calls) == 3
    assert R.rate_run(replace(cfg, rounds=8, q_ref=8), 4, 2) == R.rate_run(cfg, 4, 2) and len(calls) == 3
    R._rate_run.cache_clear()


def test_rate_masks_are_made_once_per_round_and_are_that_rounds_masks():
    for q in range(12):
        m = R._coverage_masks(16, 8, 2, q)
        assert np.array_equal(m, masks_with_coverage(16, 8, 2, q)) and not m.flags.writeable
    assert R._coverage_masks(16, 8, 2, 3) is R._coverage_masks(16, 8, 2, 3)
    assert not np.array_equal(R._coverage_masks(16, 8, 2, 0), R._coverage_masks(16, 8, 2, 1))
    assert np.array_equal(R._coverage_masks(16, 8, 4, 0), client_masks(16, [0.5] * 8, "rolling", 0))


def _hvp_as_written(p, x, W, V, idx):
    """The exact HVP of WeightedLogReg written out, every product recomputed (the reference)."""
    from support.bilevel.cleaning import sigmoid
    from support.fl.models import softmax

    Xb = p.X[idx]
    P = softmax(Xb @ W)
    U = Xb @ V
    R = P * U - P * (P * U).sum(axis=1, keepdims=True)
    return Xb.T @ (R * (sigmoid(x[idx]) / len(idx))[:, None]) + p.mu * V


def test_logreg_hessian_operator_made_once_applies_to_every_direction_as_written():
    from support.bilevel.estimators import cg_solve

    p = _logreg()
    rng = np.random.default_rng(12)
    x, W = rng.normal(size=40), rng.normal(size=(6, 3))
    for idx in (None, np.array([3, 8, 21, 39])):
        H = p._hvp_operator(x, W, idx)
        for _ in range(3):
            V = rng.normal(size=(6, 3))
            ref = _hvp_as_written(p, x, W, V, np.arange(40) if idx is None else idx)
            assert np.array_equal(H(V), ref) and np.array_equal(p.hvp(x, W, V, idx), ref)
    v = cg_solve(lambda u: _hvp_as_written(p, x, W, u.reshape(6, 3), np.arange(40)).ravel(), p.grad_y_f(W).ravel(),
                 tol=1e-12)
    assert np.array_equal(p.hypergradient_cg(x, W), -p.cross(x, W, v.reshape(6, 3)))
