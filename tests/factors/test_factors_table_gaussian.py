"""Ops 1-4 on Table and Gaussian/CLG are exact: checked against dense NumPy and covariance-form algebra."""

import numpy as np
import pytest

from support.factors import gaussian as G
from support.factors import ops
from support.factors.errors import FactorError, NotClosedError
from support.factors.table import Table


def rand_table(rng, names, cards):
    return Table(tuple(names), np.log(rng.random(cards)))


def test_table_ops_match_dense_numpy():
    rng = np.random.default_rng(0)
    a = rand_table(rng, ["a", "b"], (2, 3))
    b = rand_table(rng, ["c", "b"], (4, 3))
    p = ops.product(a, b)
    dense = np.exp(a.logp)[:, :, None] * np.exp(b.logp).T[None, :, :]  # (a, b, c)
    got = np.exp(np.transpose(p.logp, [p.names.index(n) for n in ("a", "b", "c")]))
    assert np.allclose(got, dense, rtol=1e-13)
    m = ops.marginalize(p, ["b"])
    got = np.exp(np.transpose(m.logp, [m.names.index(n) for n in ("a", "c")]))
    assert np.allclose(got, dense.sum(axis=1), rtol=1e-13)
    c = ops.condition(p, {"c": 2})
    assert np.allclose(np.exp(c.logp), dense[:, :, 2] if c.names == ("a", "b") else dense[:, :, 2].T)
    n, logz = ops.normalize(p)
    assert np.isclose(logz, np.log(dense.sum()), rtol=1e-14)
    assert np.isclose(np.exp(n.logp).sum(), 1.0)


def test_table_errors_name_the_problem():
    t = Table(("a",), np.zeros(2))
    with pytest.raises(FactorError, match="out of range"):
        ops.condition(t, {"a": 5})
    with pytest.raises(FactorError, match="not in the factor's scope"):
        ops.condition(t, {"zz": 0})
    with pytest.raises(FactorError, match="cardinality"):
        ops.product(t, Table(("a",), np.zeros(3)))
    with pytest.raises(FactorError, match="zero total mass"):
        ops.normalize(Table(("a",), np.full(2, -np.inf)))


def random_spd(rng, n):
    A = rng.standard_normal((n, n))
    return A @ A.T + n * np.eye(n)


def log_mvn(x, m, S):
    d = x - m
    return -0.5 * d @ np.linalg.solve(S, d) - 0.5 * np.linalg.slogdet(2 * np.pi * S)[1]


def test_gaussian_marginalize_condition_normalize_closed_form():
    rng = np.random.default_rng(1)
    m, S = rng.standard_normal(5), random_spd(rng, 5)
    f = G.from_moments((), (("u", 2), ("v", 3)), m, S, log_mass=0.7)
    _, logz = ops.normalize(f)
    assert np.isclose(logz, 0.7, atol=1e-12)
    # marginal of v
    mv = ops.marginalize(f, ["u"])
    _, mean, cov = G.moments(mv)
    assert np.allclose(mean, m[2:], atol=1e-12) and np.allclose(cov, S[2:, 2:], atol=1e-12)
    # conditional of u given v = val (Schur complement in covariance form)
    val = rng.standard_normal(3)
    c = ops.condition(f, {"v": val})
    lz, mean, cov = G.moments(c)
    Suv, Svv = S[:2, 2:], S[2:, 2:]
    assert np.allclose(mean, m[:2] + Suv @ np.linalg.solve(Svv, val - m[2:]), atol=1e-12)
    assert np.allclose(cov, S[:2, :2] - Suv @ np.linalg.solve(Svv, Suv.T), atol=1e-12)
    assert np.isclose(lz, 0.7 + log_mvn(val, m[2:], Svv), atol=1e-12)  # mass = p(v = val)


def test_linear_gaussian_density_and_rank_deficient_likelihood():
    rng = np.random.default_rng(2)
    A, b, Q = rng.standard_normal((2, 3)), rng.standard_normal(2), random_spd(rng, 2)
    f = G.linear_gaussian(("y", 2), [("x", 3)], A, b, Q)
    x, y = rng.standard_normal(3), rng.standard_normal(2)
    val = ops.condition(f, {"x": x, "y": y})
    assert np.isclose(float(val.logp), log_mvn(y, A @ x + b, Q), atol=1e-12)
    lik = ops.condition(f, {"y": y})  # rank 2 over x in R^3: allowed as a factor
    with pytest.raises(NotClosedError, match="rank-deficient"):
        ops.marginalize(lik, ["x"])
    prior = G.from_moments((), (("x", 3),), np.zeros(3), np.eye(3))
    _, logz = ops.normalize(ops.product(prior, lik))  # now full rank
    assert np.isclose(logz, log_mvn(y, b, A @ A.T + Q), atol=1e-12)


def test_clg_discrete_sum_is_exact_or_raises():
    f = G.Gaussian(("s",), (("x", 1),), np.log([0.3, 0.7]), np.array([[0.0], [1.0]]), np.array([[[1.0]], [[2.0]]]))
    with pytest.raises(NotClosedError, match="mixture"):
        ops.marginalize(f, ["s"])
    same = G.Gaussian(("s",), (("x", 1),), np.log([0.3, 0.7]), np.zeros((2, 1)), np.ones((2, 1, 1)))
    out = ops.marginalize(same, ["s"])
    assert np.isclose(out.g, 0.0)


def test_collapse_keeps_mass_and_first_two_moments():
    rng = np.random.default_rng(3)
    means, covs, w = rng.standard_normal((3, 2)), np.stack([random_spd(rng, 2) for _ in range(3)]), rng.random(3)
    f = G.from_moments(("s",), (("x", 2),), means, covs, np.log(w))
    c = ops.project(f, "gaussian", over=["s"])
    lz, mean, cov = G.moments(c)
    p = w / w.sum()
    mbar = p @ means
    Sbar = sum(p[i] * (covs[i] + np.outer(means[i] - mbar, means[i] - mbar)) for i in range(3))
    assert np.isclose(lz, np.log(w.sum()), atol=1e-12)
    assert np.allclose(mean, mbar, atol=1e-12) and np.allclose(cov, Sbar, atol=1e-12)
    k = ops.project(f, "gaussian", over=["s"], keep_weights=True)  # GPB1 product form
    lzk, meank, _ = G.moments(k)
    assert np.allclose(np.exp(lzk), w, atol=1e-12) and np.allclose(meank, mbar, atol=1e-12)


def test_product_of_clg_factors_equals_the_sum_of_their_log_densities_at_a_point():
    """Known answer: at (s, t, x, y, z) the product's log value is log w_s + log N([x, y]; m_s, S_s) +
    log N(z; A_t y + b_t, Q_t), whichever order the factors come in (names aligned, not positions)."""
    rng = np.random.default_rng(4)
    means, covs, w = rng.standard_normal((2, 3)), np.stack([random_spd(rng, 3) for _ in range(2)]), [0.4, 0.6]
    A = np.array([[[1.0, -2.0]], [[0.5, 3.0]], [[-1.5, 0.25]]])  # (t, z, y): the two y columns differ
    b, Q = np.array([[0.1], [-0.3], [0.7]]), np.array([[[0.5]], [[1.5]], [[2.0]]])
    f = G.from_moments(("s",), (("x", 1), ("y", 2)), means, covs, np.log(w))
    g = G.linear_gaussian(("z", 1), [("y", 2)], A, b, Q, discrete=("t",))
    x, y, z = np.array([0.3]), np.array([-0.4, 1.1]), np.array([0.9])
    for prod in (ops.product(f, g), ops.product(g, f)):
        for s in range(2):
            for t in range(3):
                got = ops.condition(prod, {"s": s, "t": t, "x": x, "y": y, "z": z})
                expect = (np.log(w[s]) + log_mvn(np.concatenate([x, y]), means[s], covs[s])
                          + log_mvn(z, A[t] @ y + b[t], Q[t]))
                assert np.isclose(float(got.logp), expect, atol=1e-12), (s, t)


@pytest.mark.parametrize("drop", [["u"], ["v"]])
def test_gaussian_marginalize_keeps_the_mass_when_it_integrates_out_a_block_of_another_size(drop):
    """exp(0.7) N(x; m, S) over u (2-D) and v (3-D): integrating out either block leaves mass exp(0.7) and the
    density exp(0.7) N(y; m_y, S_yy) of the rest (scipy's logpdf at a point); the 2π term counts the integrated
    dimensions, which only shows when the two blocks differ in size."""
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(4)
    m, S = rng.standard_normal(5), random_spd(rng, 5)
    f = G.from_moments((), (("u", 2), ("v", 3)), m, S, log_mass=0.7)
    keep = slice(2, 5) if drop == ["u"] else slice(0, 2)
    mg = ops.marginalize(f, drop)
    assert np.isclose(float(G.log_normalizers(mg)), 0.7, atol=1e-12)
    y = rng.standard_normal(keep.stop - keep.start)
    log_density = float(mg.g + mg.h @ y - 0.5 * y @ mg.K @ y)
    assert np.isclose(log_density, 0.7 + multivariate_normal(m[keep], S[keep, keep]).logpdf(y), atol=1e-12)
