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
