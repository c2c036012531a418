"""RBPF with initial factors that carry mass on x1 (a mixture prior written as one factor, or an unnormalized
state prior): the mode is drawn from its exact marginal and that mass is counted once, so log Z matches
enumeration; the Rao-Blackwellised draw behind it (project a CLG to particles over its discrete variables)."""

import itertools

import numpy as np
import pytest

from support.factors import filtering as F
from support.factors import gaussian as G
from support.factors import models as M
from support.factors import ops
from support.factors.errors import FactorError
from support.factors.table import Table


class InitialFactorsSLDS:
    """``slds_1d(2)`` with its data, but with the initial factors over (s1, x1) given by ``init``."""

    discrete_name = "s"
    continuous_name = "x"

    def __init__(self, base: M.SLDS, init: list):
        self.base, self.init, self.T = base, init, base.T

    def x(self, t):
        return f"x{t}"

    def s(self, t):
        return f"s{t}"

    def initial(self):
        return list(self.init)

    def transition(self, t):
        return self.base.transition(t)

    def observation(self, t):
        return self.base.observation(t)


def mixture_prior_log_z(b: M.SLDS, c, m0, P0) -> float:
    """log sum over mode sequences of c[s1] prod trans[s_t-1, s_t] p(y | seq), x1 | s1 ~ N(m0[s1], P0[s1])
    (plain NumPy brute force: one scalar Kalman filter per sequence)."""
    out = []
    for seq in itertools.product(range(b.K), repeat=b.T):
        lw = np.log(c[seq[0]]) + sum(np.log(b.trans[i, j]) for i, j in itertools.pairwise(seq))
        mu, P = float(m0[seq[0]]), float(P0[seq[0]])
        for t, k in enumerate(seq):
            a, q, h, r = (float(v[k].squeeze()) for v in (b.A, b.Q, b.H, b.R))
            if t:
                mu, P = a * mu, a * a * P + q
            S = h * h * P + r
            e = float(b.y[t, 0]) - h * mu
            lw += -0.5 * e * e / S - 0.5 * np.log(2 * np.pi * S)
            mu, P = mu + P * h / S * e, P - P * h * h * P / S
        out.append(lw)
    return float(np.logaddexp.reduce(out))


def data(T: int) -> M.SLDS:
    base = M.slds_1d(2)
    _, _, y = base.simulate(T, np.random.default_rng(3))
    return base.with_data(y)


def test_rbpf_log_z_matches_enumeration_when_the_mode_prior_is_one_unnormalized_mixture_factor():
    """f(s1, x1) = c_s N(x1; m_s, P_s), c = (2, 6): the old code counted c twice (log Z off by about +0.78)."""
    b, c, m0, P0 = data(4), np.array([2.0, 6.0]), np.array([-1.0, 2.0]), np.array([0.5, 2.0])
    model = InitialFactorsSLDS(b, [G.from_moments(("s1",), (("x1", 1),), m0[:, None], P0[:, None, None],
                                                  log_mass=np.log(c))])
    ref = mixture_prior_log_z(b, c, m0, P0)
    assert abs(F.forward_filter(model, F.EXACT).log_z - ref) < 1e-10  # the oracle agrees with the exact map
    errs = [F.forward_filter(model, F.rbpf(2000), rng=np.random.default_rng(s)).log_z - ref for s in range(3)]
    assert max(abs(e) for e in errs) < 0.1, errs


@pytest.mark.parametrize("init, mass", [
    ([Table.from_probs(("s1",), [0.6, 0.4]), G.from_moments((), (("x1", 1),), [0.0], [[1.0]], log_mass=np.log(3.0))],
     3.0),
    ([G.from_moments(("s1",), (("x1", 1),), np.zeros((2, 1)), np.ones((2, 1, 1)), log_mass=np.log([2.0, 6.0]))],
     8.0),
], ids=["pi-table-times-3N", "mixture-2N-6N"])
def test_rbpf_log_z_is_exact_for_a_mode_independent_first_step_whatever_the_initial_mass(init, mass):
    """x1 ~ N(0, 1) in every mode, y1 = x1 + N(0, 0.5) in every mode: Z = mass * N(y1; 0, 1.5) exactly (by hand),
    whichever modes are drawn. The old code gave mass * 3 and mass * mean(c over the drawn modes)."""
    b = data(1)
    y1 = float(b.y[0, 0])
    want = np.log(mass) - 0.5 * y1 * y1 / 1.5 - 0.5 * np.log(2 * np.pi * 1.5)
    got = F.forward_filter(InitialFactorsSLDS(b, init), F.rbpf(10), rng=np.random.default_rng(0)).log_z
    assert abs(got - want) < 1e-12


def test_rao_blackwellised_draw_keeps_each_components_normalized_gaussian_and_the_total_mass_once():
    """project(c_s N(x; m_s, v_s), 'particles', names=['s']): weights sum to sum(c); each particle carries
    N(x; m_s, v_s) with mass 1 (hand-derived), so normalize returns log sum(c)."""
    c, m, v = np.array([2.0, 6.0]), np.array([-1.0, 2.0]), np.array([0.5, 2.0])
    f = G.from_moments(("s",), (("x", 1),), m[:, None], v[:, None, None], log_mass=np.log(c))
    p = ops.project(f, "particles", n=50, names=["s"], rng=np.random.default_rng(1))
    s = p.values["s"]
    assert set(s) == {0, 1} and p.attached is not None
    assert np.isclose(np.exp(p.logw).sum(), c.sum(), rtol=1e-13)
    lz, mean, cov = G.moments(p.attached)
    assert np.allclose(lz, 0.0, atol=1e-12)
    assert np.allclose(mean[:, 0], m[s], atol=1e-12) and np.allclose(cov[:, 0, 0], v[s], atol=1e-12)
    assert np.isclose(ops.normalize(p)[1], np.log(c.sum()), atol=1e-12)


@pytest.mark.parametrize("names, match", [
    (["s", "x"], None),  # every variable: a joint draw, allowed
    (["x"], r"exactly its discrete variables \['s'\]"),
    (["z"], r"\['z'\] are not variables of the factor"),
])
def test_drawing_only_some_variables_of_a_clg_is_refused_unless_they_are_its_discrete_ones(names, match):
    f = G.from_moments(("s",), (("x", 1),), np.zeros((2, 1)), np.ones((2, 1, 1)))
    if match is None:
        assert ops.project(f, "particles", n=5, names=names, rng=np.random.default_rng(0)).attached is None
        return
    with pytest.raises(FactorError, match=match):
        ops.project(f, "particles", n=5, names=names, rng=np.random.default_rng(0))
