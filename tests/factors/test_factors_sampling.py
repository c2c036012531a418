"""A6/A7: particle maps converge at the Monte Carlo rate; particles beat a Gaussian on ring posteriors."""

import numpy as np
import pytest
from factors_oracles import slds_brute

from support.factors import experiments as X
from support.factors import filtering as F
from support.factors import gaussian as G
from support.factors import models as M
from support.factors import queries
from support.factors.density import LogDensity
from support.seeding import derive


def slds(T=10, seed=0):
    base = M.slds_1d(2)
    _, _, y = base.simulate(T, derive(seed, "pf"))
    return base.with_data(y)


def test_pf_is_bit_reproducible_for_a_seed():
    m = slds(6)
    a = F.forward_filter(m, F.bootstrap_pf(300), rng=np.random.default_rng(3))
    b = F.forward_filter(m, F.bootstrap_pf(300), rng=np.random.default_rng(3))
    assert a.log_z == b.log_z


def test_pf_and_rbpf_are_close_to_enumeration():
    m = slds(10)
    ref = slds_brute(m)[0]
    pf = np.mean([abs(F.forward_filter(m, F.bootstrap_pf(2000), rng=derive(0, "a", s)).log_z - ref)
                  for s in range(5)])
    rb = np.mean([abs(F.forward_filter(m, F.rbpf(200), rng=derive(0, "b", s)).log_z - ref) for s in range(5)])
    assert pf < 0.1 and rb < 0.1


@pytest.mark.slow
def test_pf_error_at_1e4_and_slope_over_five_data_sets_meet_the_issue_bars():
    """The recorded protocol at another seed (5 data sets x 20 filter seeds, T = 10): mean error at N = 10^4
    <= 0.05 and mean slope in [-0.7, -0.3] (issue 5 acceptance)."""
    per = X.pf_per_instance(X.pf_error_vs_n([300, 1000, 3000, 10000], n_seeds=20, seed=1), 10000)
    assert per.err_at_n.mean() <= 0.05
    assert -0.7 <= per.slope.mean() <= -0.3


class Abs1D:
    """1-D random walk observed through |x| + noise (bimodal posterior): a test-only model."""

    discrete_name = None

    def __init__(self, y, q=0.1, sigma=0.3):
        self.y, self.q, self.sigma, self.T = np.asarray(y), q, sigma, len(y)

    def x(self, t):
        return f"x{t}"

    def initial(self):
        return [G.from_moments((), (("x1", 1),), [0.0], [[4.0]])]

    def transition(self, t):
        return [G.linear_gaussian((self.x(t), 1), [(self.x(t - 1), 1)], [[1.0]], [0.0], [[self.q]])]

    def loglik(self, x, y):
        return -0.5 * ((y - np.abs(x)) / self.sigma) ** 2 - 0.5 * np.log(2 * np.pi * self.sigma ** 2)

    def observation(self, t):
        y, name = self.y[t - 1], self.x(t)
        return [LogDensity(((name, 1),), lambda v: self.loglik(v[name][:, 0], y))]


def grid_1d(model, lo=-8, hi=8, n=4001):
    """Independent fine grid filter: log Z and the final density on the grid."""
    x = np.linspace(lo, hi, n)
    h = x[1] - x[0]
    p = np.exp(-0.5 * x ** 2 / 4.0) / np.sqrt(2 * np.pi * 4.0) * h
    K = np.exp(-0.5 * (x[:, None] - x[None, :]) ** 2 / model.q) / np.sqrt(2 * np.pi * model.q) * h
    logz = 0.0
    for t in range(model.T):
        if t:
            p = K @ p
        p = p * np.exp(model.loglik(x, model.y[t]))
        logz += np.log(p.sum())
        p /= p.sum()
    return logz, x, p


def test_pf_matches_grid_filter_and_gaussian_misses_the_second_mode():
    rng = np.random.default_rng(4)
    xs = np.cumsum(np.sqrt(0.1) * rng.standard_normal(8)) + 1.5
    y = np.abs(xs) + 0.3 * rng.standard_normal(8)
    m = Abs1D(y)
    logz, grid, p = grid_1d(m)
    pf = F.forward_filter(m, F.bootstrap_pf(5000), rng=np.random.default_rng(5))
    adf = F.forward_filter(m, F.adf(5000), rng=np.random.default_rng(6))
    assert abs(pf.log_z - logz) < 0.1
    edges = np.linspace(-8, 8, 65)
    ref = np.histogram(grid, bins=edges, weights=p)[0]
    b = pf.beliefs[-1]
    hp = np.histogram(b.values["x8"][:, 0], bins=edges, weights=np.exp(b.logw))[0]
    mu, cov = queries.state_moments(adf.beliefs[-1], "x8")
    from scipy.stats import norm

    hg = np.diff(norm.cdf(edges, mu[0], np.sqrt(cov[0, 0])))
    tv_pf, tv_g = 0.5 * np.abs(ref - hp).sum(), 0.5 * np.abs(ref - hg / hg.sum()).sum()
    assert tv_pf < 0.15 and tv_g > 2 * tv_pf
