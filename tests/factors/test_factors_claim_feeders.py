"""Code that feeds claims directly: the grid filter (oracle of the circular claims) and ``discretize`` (the TV
read-out), each against an independent reference (the recorded SLDS functions: test_factors_recorded_functions)."""

import numpy as np
from scipy.stats import multivariate_normal, norm

from support.factors import gaussian as G
from support.factors import grid as GR
from support.factors import models as M
from support.factors import ops
from support.factors.particles import Particles
from support.factors.project import Grid, discretize
from support.factors.table import Table


def prior_paths(m: M.RangeTracking, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Whole paths sampled from the prior, weighted by the range likelihood (plain NumPy, no grid, no factors):
    the final positions (n, 2) and the log weights."""
    x = rng.multivariate_normal(m.m0, m.P0, n)
    lw = np.zeros(n)
    for t in range(m.T):
        if t:
            x = x + np.sqrt(m.q) * rng.standard_normal((n, 2))
        d = np.linalg.norm(x - m.beacon, axis=1)
        lw += -0.5 * ((m.y[t] - d) / m.sigma) ** 2 - 0.5 * np.log(2 * np.pi * m.sigma ** 2)
    return x, lw


def importance_sampling_log_z(m: M.RangeTracking, n: int, rng: np.random.Generator) -> tuple[float, float]:
    """log p(r_1:T) by prior importance sampling; also its delta-method standard error."""
    _, lw = prior_paths(m, n, rng)
    w = np.exp(lw - lw.max())
    return float(np.log(w.mean()) + lw.max()), float(w.std() / w.mean() / np.sqrt(n))


def test_grid_filter_log_z_matches_prior_importance_sampling_within_its_standard_error():
    """A diffusive walk (q = 0.3) so that the predict step matters; 400k prior paths give se ~ 0.005."""
    m = M.RangeTracking(np.zeros(2), 0.3, 0.3, np.array([3.0, 0.0]), np.eye(2)).with_data([3.0, 3.4, 2.8])
    ref, se = importance_sampling_log_z(m, 400_000, np.random.default_rng(0))
    grid = GR.grid_filter(m, -8.0, 8.0, 64)
    assert abs(grid.log_z - ref) <= 4 * se + 2e-3, (grid.log_z, ref, se)
    assert np.allclose(grid.mass.sum(axis=(1, 2)), 1.0)


def test_grid_filter_posterior_matches_prior_importance_sampling_axis_by_axis():
    """The final-step mean and an 8x8 histogram of the grid's posterior against weighted prior paths, from an
    asymmetric start (3, 1): a transposed or mirrored grid density keeps log Z but fails here (notes §3)."""
    m = M.RangeTracking(np.zeros(2), 0.3, 0.3, np.array([3.0, 1.0]), np.eye(2)).with_data([3.0, 3.4, 2.8])
    x, lw = prior_paths(m, 400_000, np.random.default_rng(0))
    w = np.exp(lw - lw.max())
    w /= w.sum()
    mean = w @ x
    se = np.sqrt(((w[:, None] * (x - mean)) ** 2).sum(axis=0))
    grid = GR.grid_filter(m, -8.0, 8.0, 64)
    final, c = grid.mass[-1], grid.centers
    assert np.all(np.abs([final.sum(axis=1) @ c, final.sum(axis=0) @ c] - mean) <= 4 * se + 0.01), (mean, se)
    edges = np.linspace(-8.0, 8.0, 9)
    hist = np.histogram2d(x[:, 0], x[:, 1], bins=[edges, edges], weights=w)[0]
    coarse = GR.coarsen(final, 8)
    assert GR.total_variation(coarse, hist) < 0.02
    assert GR.total_variation(coarse.T, hist) > 0.3 and GR.total_variation(coarse[:, ::-1], hist) > 0.3


def test_gaussian_discretize_gives_exact_box_masses_at_the_notebooks_32_bins():
    """The circular read-out's 32 bins over [-7, 7]² and a narrow correlated Gaussian (sd 0.17 across, as the
    ADF's final belief) vs a 64x64 midpoint sub-grid per bin; one midpoint per bin is off by TV 0.16 here."""
    sd, rho = np.array([0.17, 0.8]), 0.6
    S = np.outer(sd, sd) * np.array([[1.0, rho], [rho, 1.0]])
    mu = np.array([1.93, -0.61])
    e = np.linspace(-7.0, 7.0, 33)
    got = np.exp(discretize(G.from_moments((), (("x", 2),), mu, S, log_mass=0.4), Grid("x", (e, e))).logp)
    fine = np.linspace(-7.0, 7.0, 32 * 64 + 1)
    c = 0.5 * (fine[1:] + fine[:-1])
    X_, Y_ = np.meshgrid(c, c, indexing="ij")
    dens = multivariate_normal(mu, S).pdf(np.stack([X_, Y_], axis=-1)) * (fine[1] - fine[0]) ** 2
    ref = np.exp(0.4) * dens.reshape(32, 64, 32, 64).sum(axis=(1, 3)).ravel()
    assert np.isclose(got.sum(), np.exp(0.4), rtol=1e-12)
    assert np.abs(got - ref).max() < 1e-4 and GR.total_variation(got, ref) < 1e-3


def test_one_dimensional_gaussian_discretize_gives_normal_cdf_differences_times_its_mass():
    e = np.linspace(-3.0, 5.0, 17)
    got = np.exp(discretize(G.from_moments((), (("x", 1),), [0.7], [[0.09]], log_mass=-0.2), Grid("x", (e,))).logp)
    assert np.allclose(got, np.exp(-0.2) * np.diff(norm.cdf(e, 0.7, 0.3)), rtol=1e-12, atol=1e-300)


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


def test_particle_discretize_counts_the_attached_tables_mass_of_each_particle():
    """An attached table t(s) = (1, 3) multiplies every particle's mass by 4 (hand-derived: 4 x the plain
    weighted histogram)."""
    p = Particles({"x": [[0.2], [0.7], [1.4], [1.6]]}, {"x": ("continuous", 1)}, np.log([0.1, 0.2, 0.3, 0.4]))
    q = ops.product(p, Table(("s",), np.log([1.0, 3.0])))
    got = np.exp(discretize(q, Grid("x", (np.array([0.0, 1.0, 2.0]),))).logp)
    assert np.allclose(got, [4 * 0.3, 4 * 0.7], rtol=1e-13, atol=0)


def test_particle_discretize_with_an_attached_clg_is_the_histogram_weighted_by_each_particles_attached_mass():
    """Attached f(s, x, z) = exp(x [s = 0] - z²/2): particle i has attached mass c_i = sqrt(2π) (e^{x_i} + 1), so the
    table is np.histogram(x, weights=w c) (not the plain weighted histogram: the shape moves too)."""
    x = np.array([0.2, 0.7, 1.4, 1.6])
    w = np.array([0.1, 0.2, 0.3, 0.4])
    p = Particles({"x": x[:, None]}, {"x": ("continuous", 1)}, np.log(w))
    f = G.Gaussian(("s",), (("x", 1), ("z", 1)), np.zeros(2), np.array([[1.0, 0.0], [0.0, 0.0]]),
                   np.array([np.diag([0.0, 1.0])] * 2))
    edges = np.array([0.0, 1.0, 2.0])
    got = np.exp(discretize(ops.product(p, f), Grid("x", (edges,))).logp)
    want, _ = np.histogram(x, bins=edges, weights=w * np.sqrt(2 * np.pi) * (np.exp(x) + 1.0))
    assert np.allclose(got, want, rtol=1e-12, atol=0)
