"""A3/A4/A5: the Gaussian and hybrid engines agree with closed forms, enumeration and funsor."""

import warnings

import numpy as np
import pytest
from factors_oracles import kf, rts, slds_brute

from support.factors import elimination as E
from support.factors import filtering as F
from support.factors import gaussian as G
from support.factors import models as M
from support.factors import queries, sum_product
from support.seeding import derive


def summaries(res, m):
    T = m.T
    mean, cov = queries.state_moments(res.beliefs[-1], m.x(T))
    return res.log_z, queries.mode_posterior(res.beliefs[-1], m.s(T), m.x(T)), mean, cov


def assert_close(a, b, tol):
    for u, v in zip(a, b):
        assert np.max(np.abs(np.asarray(u) - np.asarray(v))) <= tol, (u, v)


@pytest.mark.parametrize("K,T", [(2, 4), (2, 9), (2, 12), (3, 5), (3, 7)])
def test_exact_clg_map_equals_enumeration(K, T):
    base = M.slds_1d(K)
    _, _, y = base.simulate(T, derive(0, "t", K, T))
    m = base.with_data(y)
    assert_close(summaries(F.forward_filter(m, F.EXACT), m), slds_brute(m), 1e-9)


def test_exact_clg_map_equals_enumeration_4d():
    base = M.slds_cv(2)
    _, _, y = base.simulate(6, derive(0, "cv"))
    m = base.with_data(y)
    assert_close(summaries(F.forward_filter(m, F.EXACT), m), slds_brute(m), 1e-9)


@pytest.mark.parametrize("K,T", [(2, 8), (3, 5)])
def test_funsor_agrees_on_exact_gpb2_and_gpb1(K, T):
    funsor_ref = pytest.importorskip("support.factors.funsor_ref")
    base = M.slds_1d(K)
    _, _, y = base.simulate(T, derive(1, "f", K, T))
    m = base.with_data(y)
    for ours, theirs in ((F.EXACT, "eager"), (F.GPB2, "moment_matching"), (F.GPB1, "gpb1")):
        fr = funsor_ref.slds_filter(m, theirs)
        assert_close(summaries(F.forward_filter(m, ours), m), (fr.log_z, fr.mode_posterior, fr.mean, fr.cov), 1e-9)


def test_kalman_filter_and_rts_smoother():
    """Exact map on a 1-mode 4-D model = Kalman filter; tree sum-product on the chain = RTS smoother."""
    base = M.slds_cv(1)
    _, _, y = base.simulate(15, derive(2, "kf"))
    m = base.with_data(y)
    A, Q, H, R = m.A[0], m.Q[0], m.H[0], m.R[0]
    ll, filt = kf(A, Q, H, R, m.m0, m.P0, y)
    res = F.forward_filter(m, F.EXACT)
    assert abs(res.log_z - ll) <= 1e-10 * abs(ll)
    for t, (mu, P) in enumerate(filt, start=1):
        mean, cov = queries.state_moments(res.beliefs[t - 1], m.x(t))
        assert np.allclose(mean, mu, rtol=1e-10, atol=1e-10) and np.allclose(cov, P, rtol=1e-10, atol=1e-12)
    # smoothing: factor graph of the chain, each factor from the model (mode axis conditioned away)
    fs = [G.from_moments((), ((m.x(1), 4),), m.m0, m.P0)]
    for t in range(2, m.T + 1):
        fs.append(G.condition(m.transition(t)[1], {m.s(t): 0}))
    for t in range(1, m.T + 1):
        fs.append(G.condition(m.observation(t)[0], {m.s(t): 0}))
    bp = sum_product.sum_product(fs)
    assert abs(bp.log_z - ll) <= 1e-9 * abs(ll)
    for t, (mu, P) in enumerate(rts(A, Q, filt), start=1):
        _, mean, cov = G.moments(bp.marginals[m.x(t)])
        assert np.allclose(mean, mu, atol=1e-9) and np.allclose(cov, P, atol=1e-9)


@pytest.mark.parametrize("name", M.GAUSSIAN_NETWORKS)
def test_gaussian_bn_posterior_equals_pgmpy_joint(name):
    pytest.importorskip("pgmpy")
    from pgmpy.utils import get_example_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = get_example_model(name)
        mean, cov = pm.to_joint_gaussian()
    import networkx as nx

    order = list(nx.topological_sort(pm))
    bn = M.load_gaussian(name)
    fs, heads = bn.factors()
    rng = np.random.default_rng(7)
    pick = rng.permutation(len(order))
    ev, q = [order[i] for i in pick[:5]], [order[i] for i in pick[5:8]]
    ie, iq = [order.index(v) for v in ev], [order.index(v) for v in q]
    vals = mean[ie] + np.sqrt(np.diag(cov)[ie]) * rng.standard_normal(5)
    r = E.variable_elimination(fs, q, {v: vals[i] for i, v in enumerate(ev)}, heads)
    Sqe = cov[np.ix_(iq, ie)]
    m_ref = mean[iq] + Sqe @ np.linalg.solve(cov[np.ix_(ie, ie)], vals - mean[ie])
    C_ref = cov[np.ix_(iq, iq)] - Sqe @ np.linalg.solve(cov[np.ix_(ie, ie)], Sqe.T)
    _, m_ours, C_ours = G.moments(r.posterior)
    p = r.posterior.index(q)
    assert np.abs(m_ours[p] - m_ref).max() <= 1e-6
    assert np.abs(C_ours[np.ix_(p, p)] - C_ref).max() <= 1e-6
