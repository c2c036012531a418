"""Code that feeds claims directly: the grid filter (oracle of the circular claims), ``discretize`` (the TV
read-out) and the per-seed RBPF errors behind rbpf_mixed, each against an independent reference."""

import numpy as np
from factors_oracles import slds_brute
from scipy.stats import multivariate_normal, norm

from support.factors import experiments as X
from support.factors import filtering as F
from support.factors import gaussian as G
from support.factors import grid as GR
from support.factors import models as M
from support.factors.particles import Particles
from support.factors.project import Grid, discretize
from support.seeding import derive


def importance_sampling_log_z(m: M.RangeTracking, n: int, rng: np.random.Generator) -> tuple[float, float]:
    """log p(r_1:T) by sampling whole paths from the prior and weighting by the range likelihood (plain
    NumPy, no grid, no factors); also its delta-method standard error."""
    x = rng.multivariate_normal(m.m0, m.P0, n)
    lw = np.zeros(n)
    for t in range(m.T):
        if t:
            x = x + np.sqrt(m.q) * rng.standard_normal((n, 2))
        d = np.linalg.norm(x - m.beacon, axis=1)
        lw += -0.5 * ((m.y[t] - d) / m.sigma) ** 2 - 0.5 * np.log(2 * np.pi * m.sigma ** 2)
    w = np.exp(lw - lw.max())
    return float(np.log(w.mean()) + lw.max()), float(w.std() / w.mean() / np.sqrt(n))


def test_grid_filter_log_z_matches_prior_importance_sampling_within_its_standard_error():
    """A diffusive walk (q = 0.3) so that the predict step matters; 400k prior paths give se ~ 0.005."""
    m = M.RangeTracking(np.zeros(2), 0.3, 0.3, np.array([3.0, 0.0]), np.eye(2)).with_data([3.0, 3.4, 2.8])
    ref, se = importance_sampling_log_z(m, 400_000, np.random.default_rng(0))
    grid = GR.grid_filter(m, -8.0, 8.0, 64)
    assert abs(grid.log_z - ref) <= 4 * se + 2e-3, (grid.log_z, ref, se)
    assert np.allclose(grid.mass.sum(axis=(1, 2)), 1.0)


def test_gaussian_discretize_equals_cdf_bin_masses_on_an_asymmetric_grid():
    """Diagonal Gaussian, different bin counts per axis: masses must match products of 1-D CDF differences
    in C order (first grid axis = first coordinate)."""
    mu, sd = np.array([1.0, -2.0]), np.array([0.8, 0.5])
    f = G.from_moments((), (("x", 2),), mu, np.diag(sd ** 2))
    ex, ey = np.linspace(-4.0, 6.0, 101), np.linspace(-5.0, 1.0, 61)
    got = np.exp(discretize(f, Grid("x", (ex, ey))).logp)
    ref = np.outer(np.diff(norm.cdf(ex, mu[0], sd[0])), np.diff(norm.cdf(ey, mu[1], sd[1]))).ravel()
    assert got.shape == (100 * 60,)
    assert 0.5 * np.abs(got - ref).sum() < 2e-3
    assert np.abs(got - ref).max() < 1e-4


def test_correlated_gaussian_discretize_matches_scipy_box_probabilities():
    """Off-diagonal covariance: each cell's mass by inclusion-exclusion of scipy's bivariate CDF."""
    mu, S = np.array([0.5, -0.5]), np.array([[1.0, 0.7], [0.7, 0.8]])
    e = np.linspace(-4.5, 4.5, 46)
    got = np.exp(discretize(G.from_moments((), (("x", 2),), mu, S), Grid("x", (e, e))).logp).reshape(45, 45)
    X_, Y_ = np.meshgrid(e, e, indexing="ij")
    C = multivariate_normal(mu, S).cdf(np.stack([X_, Y_], axis=-1))
    ref = C[1:, 1:] - C[:-1, 1:] - C[1:, :-1] + C[:-1, :-1]
    assert 0.5 * np.abs(got - ref).sum() < 5e-3
    assert 0.5 * np.abs(got - ref.T).sum() > 0.1  # the check can tell the two axes apart


def test_particle_discretize_is_the_weighted_histogram_and_drops_points_outside():
    edges = (np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0, 3.0]))
    pts = [[0.5, 0.5], [0.5, 2.5], [1.5, 0.5], [1.5, 0.7], [5.0, 0.5]]
    w = np.array([0.1, 0.2, 0.3, 0.1, 0.3])
    p = Particles({"x": pts}, {"x": ("continuous", 2)}, np.log(w) + np.log(2.0))  # total mass 2
    got = np.exp(discretize(p, Grid("x", edges)).logp).reshape(2, 3)
    expect = 2.0 * np.array([[0.1, 0.0, 0.2], [0.4, 0.0, 0.0]])  # last particle lies outside the box
    assert np.allclose(got, expect, atol=1e-14)


def test_rbpf_mixed_value_is_the_mean_over_individually_run_seeds():
    m = X.slds_instance(2, 5, 0, "cv")
    ref = slds_brute(m)[0]
    errs = X.rbpf_logz_errors(40, n_seeds=4, K=2, T=5, seed=0, kind="cv")
    one_by_one = [abs(F.forward_filter(m, F.rbpf(40), rng=derive(0, "mixed", "rbpf", s)).log_z - ref)
                  for s in range(4)]
    assert errs.shape == (4,)
    assert np.allclose(errs, one_by_one, rtol=0, atol=1e-9)
    assert np.isclose(errs.mean(), np.mean(one_by_one), atol=1e-9)
    assert len(set(np.round(errs, 12))) == 4  # every seed is a separate draw
