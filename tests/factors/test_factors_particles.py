"""Particles: reweighting and Rao-Blackwellised products are exact; only project (sampling) is random."""

import numpy as np
import pytest

from support.factors import gaussian as G
from support.factors import ops
from support.factors.errors import FactorError, UnsupportedPairError
from support.factors.particles import Particles
from support.factors.table import Table


def test_reweight_by_table_and_gaussian_is_exact():
    p = Particles({"s": [0, 1, 1], "x": [[0.0], [1.0], [2.0]]}, {"s": ("discrete", 2), "x": ("continuous", 1)},
                  np.log(np.full(3, 1 / 3)))
    t = Table(("s",), np.log([0.2, 0.8]))
    g = G.from_moments((), (("x", 1),), [0.0], [[1.0]])
    q = ops.product(ops.product(p, t), g)
    dens = np.exp(-0.5 * np.array([0.0, 1.0, 4.0])) / np.sqrt(2 * np.pi)
    expect = np.log(np.array([0.2, 0.8, 0.8]) * dens / 3)
    assert np.allclose(q.logw, expect, atol=1e-13)
    _, logz = ops.normalize(q)
    assert np.isclose(logz, np.log(np.exp(expect).sum()), atol=1e-13)


def test_rao_blackwellised_product_and_exact_marginal():
    """A Gaussian on a new variable joins per particle; integrating it out is exact."""
    p = Particles({"x": [[0.0], [2.0]]}, {"x": ("continuous", 1)}, np.log([0.5, 0.5]))
    trans = G.linear_gaussian(("z", 1), [("x", 1)], [[1.0]], [0.0], [[1.0]])
    lik = G.condition(G.linear_gaussian(("y", 1), [("z", 1)], [[1.0]], [0.0], [[1.0]]), {"y": 1.0})
    q = ops.product(ops.product(p, trans), lik)
    _, logz = ops.normalize(q)
    # y | x ~ N(x, 2)
    expect = np.log(0.5 * np.exp(-0.25 * 1.0) + 0.5 * np.exp(-0.25 * 1.0)) - 0.5 * np.log(2 * np.pi * 2)
    assert np.isclose(logz, expect, atol=1e-13)


def test_sampling_then_moment_matching_converges_and_is_seeded():
    g = G.from_moments((), (("x", 2),), [1.0, -2.0], [[2.0, 0.5], [0.5, 1.0]], log_mass=0.3)
    a = ops.project(g, "particles", n=20000, rng=np.random.default_rng(5))
    b = ops.project(g, "particles", n=20000, rng=np.random.default_rng(5))
    assert np.array_equal(a.values["x"], b.values["x"])  # bit-reproducible
    back = ops.project(a, "gaussian")
    lz, mean, cov = G.moments(back)
    assert np.isclose(lz, 0.3, atol=1e-12)  # total mass carried exactly
    assert np.allclose(mean, [1.0, -2.0], atol=0.05) and np.allclose(cov, [[2.0, 0.5], [0.5, 1.0]], atol=0.08)


def test_particle_errors():
    p = Particles({"x": [[0.0]], "s": [1]}, {"x": ("continuous", 1), "s": ("discrete", 2)}, [0.0])
    with pytest.raises(FactorError, match="measure zero"):
        ops.condition(p, {"x": 0.0})
    with pytest.raises(UnsupportedPairError, match="share no particle index"):
        ops.product(p, p)
    with pytest.raises(FactorError, match="out of range"):
        ops.condition(p, {"s": 3})
    with pytest.raises(FactorError, match="rng"):
        ops.project(G.from_moments((), (("x", 1),), [0.0], [[1.0]]), "particles", n=3)
    with pytest.raises(FactorError, match="unknown projection target"):
        ops.project(p, "histogram")


def test_zero_probability_evidence_in_one_particle_gives_zero_weight_not_nan():
    """Hand computation: p(s=1 | particle) = (0, .5, .8) at x = (0, 1, 2), equal prior weights, so after
    conditioning on s=1 the mass is 1.3/3 and E[x] = (.5*1 + .8*2) / 1.3; the impossible particle drops out."""
    p = Particles({"x": [[0.0], [1.0], [2.0]]}, {"x": ("continuous", 1)}, np.log(np.full(3, 1 / 3)))
    with np.errstate(divide="ignore"):
        table = np.log([[1.0, 0.0], [0.5, 0.5], [0.2, 0.8]])
    att = G.Gaussian(("__particle__", "s"), (), table, np.zeros((3, 2, 0)), np.zeros((3, 2, 0, 0)))
    q, logz = ops.normalize(ops.condition(Particles(p.values, p.kinds, p.logw, att), {"s": 1}))
    assert np.isclose(logz, np.log(1.3 / 3), atol=1e-13)
    lz, mean, cov = G.moments(ops.project(q, "gaussian"))
    assert np.isclose(lz, 0.0, atol=1e-13)
    assert np.allclose(mean, [(0.5 * 1 + 0.8 * 2) / 1.3], atol=1e-13)
    w = np.array([0.5, 0.8]) / 1.3
    assert np.allclose(cov, [[w @ np.array([1.0, 4.0]) - (w @ np.array([1.0, 2.0])) ** 2]], atol=1e-13)


def test_moment_match_folds_an_attached_discrete_table_into_the_weights():
    """Particles x a Table on a new discrete variable: the table's per-particle mass (here 1.3 for every
    particle) scales the total mass; the continuous moments are those of the particles."""
    p = Particles({"x": [[0.0], [2.0]]}, {"x": ("continuous", 1)}, np.log([0.25, 0.75]))
    q = ops.product(p, Table(("s",), np.log([0.3, 1.0])))
    lz, mean, cov = G.moments(ops.project(q, "gaussian"))
    assert np.isclose(lz, np.log(1.3), atol=1e-13)
    assert np.allclose(mean, [1.5], atol=1e-13) and np.allclose(cov, [[0.25 * 2.25 + 0.75 * 0.25]], atol=1e-13)


def test_drawing_the_mode_of_an_impossible_particle_keeps_zero_weight_not_nan():
    """Particle 0 has zero attached mass; particle 1 carries z ~ N(3, 2) in both modes with mass 0.5:
    after drawing the mode, the moment-matched z is N(3, 2) with total mass 0.5 * 0.5."""
    comp = G.from_moments(("__particle__", "s"), (("z", 1),), np.full((2, 2, 1), 3.0), np.full((2, 2, 1, 1), 2.0),
                          np.log(np.full((2, 2), 0.25)))
    g = comp.g.copy()
    g[0] = -np.inf
    p = Particles({}, {}, np.log([0.5, 0.5]), G.Gaussian(comp.discrete, comp.continuous, g, comp.h, comp.K))
    with np.errstate(invalid="ignore"):
        drawn = ops.project(p, "particles", names=["s"], rng=np.random.default_rng(0))
    lz, mean, cov = G.moments(ops.project(drawn, "gaussian"))
    assert np.isclose(lz, np.log(0.25), atol=1e-13)
    assert np.allclose(mean, [3.0], atol=1e-12) and np.allclose(cov, [[2.0]], atol=1e-12)
