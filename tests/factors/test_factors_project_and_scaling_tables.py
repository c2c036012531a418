"""Paths of op 5 (``project``) and of 02's experiments that no other test ran: the midpoint-rule discretisation of
black-box densities and of Gaussians in 3-D (against scipy / hand loops), the refusals of ``project``, the
chain-scaling table and the numbers the scaling and circular figures draw."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal

from support.factors import experiments as X
from support.factors import gaussian as G
from support.factors import project as PR
from support.factors.density import LogDensity
from support.factors.errors import FactorError
from support.factors.particles import Particles
from support.factors.table import Table

# uneven edges, a different number of cells per axis, so a swapped axis or a wrong width shows
EX, EY = np.array([-2.0, -0.5, 0.0, 1.5]), np.array([-1.0, 0.0, 2.0])


def _cells(*edges):
    """(centre, volume) of every cell, first axis slowest (C order), by an explicit loop."""
    out = []
    for idx in itertools.product(*[range(len(e) - 1) for e in edges]):
        c = np.array([0.5 * (e[i] + e[i + 1]) for e, i in zip(edges, idx)])
        v = float(np.prod([e[i + 1] - e[i] for e, i in zip(edges, idx)]))
        out.append((c, v))
    return out


def test_grid_centres_and_volumes_are_c_ordered_cell_midpoints_and_products_of_widths():
    g = PR.Grid("x", (EX, EY))
    cells = _cells(EX, EY)
    assert g.shape == (3, 2)
    assert np.allclose(g.centers, [c for c, _ in cells])
    assert np.allclose(g.cell_volume, [v for _, v in cells])


def test_a_black_box_density_discretises_to_its_value_at_each_cell_centre_times_the_cell_volume():
    """log f(x) = -(x0 - 0.3)^2 - 2 x1 (no symmetry): mass of a cell = f(centre) * volume."""
    d = LogDensity((("x", 2),), lambda v: -(v["x"][:, 0] - 0.3) ** 2 - 2.0 * v["x"][:, 1])
    t = PR.discretize(d, PR.Grid("x", (EX, EY), name="cell"))
    want = [-(c[0] - 0.3) ** 2 - 2.0 * c[1] + np.log(v) for c, v in _cells(EX, EY)]
    assert t.names == ("cell",)
    assert np.allclose(t.logp, want)
    assert np.allclose(PR.project(d, "table", grid=PR.Grid("x", (EX, EY))).logp, want)  # op 5 routes to it


def test_a_3d_gaussian_discretises_by_the_midpoint_rule_against_scipys_density():
    mu = np.array([0.2, -0.1, 0.4])
    S = np.array([[1.0, 0.3, 0.1], [0.3, 2.0, -0.4], [0.1, -0.4, 0.5]])
    ez = np.array([-1.0, 0.0, 0.5, 2.0])
    g = G.from_moments((), (("x", 3),), mu, S, log_mass=0.7)
    t = PR.discretize(g, PR.Grid("x", (EX, EY, ez)))
    want = [0.7 + multivariate_normal(mu, S).logpdf(c) + np.log(v) for c, v in _cells(EX, EY, ez)]
    assert np.allclose(t.logp, want)


_P = Particles({"x": np.arange(4.0)[:, None]}, {"x": ("continuous", 1)}, np.zeros(4))
_T = Table(("s",), np.log([0.5, 0.5]))
_G1 = G.from_moments((), (("x", 1),), np.zeros(1), np.eye(1))


@pytest.mark.parametrize(("call", "match"), [
    (lambda: PR.project(_G1, "gaussian"), "needs over="),
    (lambda: PR.project(_T, "particles", n=3), "needs rng="),
    (lambda: PR.project(_T, "particles", rng=np.random.default_rng(0)), "needs n"),
    (lambda: PR.project(_T, "bogus"), "unknown projection target 'bogus'"),
    (lambda: PR.project(_T, "gaussian"), "unsupported projection Table -> 'gaussian'"),
    (lambda: PR.collapse(_G1, ["s"]), r"\['s'\] are not discrete variables"),
    (lambda: PR.collapse(G.lift(_T), ["s"]), "needs continuous variables"),
    (lambda: PR.sample(_T, 0, np.random.default_rng(0)), "must be positive, got 0"),
    (lambda: PR.discretize(_P, PR.Grid("y", (EX,))), "no continuous column 'y'"),
    (lambda: PR.discretize(G.from_moments(("s",), (("x", 1),), np.zeros((2, 1)), np.stack([np.eye(1)] * 2)),
                           PR.Grid("x", (EX,))), "over the grid variable only"),
    (lambda: PR.discretize(_T, PR.Grid("x", (EX,))), "unsupported factor Table"),
    (lambda: PR.particles_to_table(_P, ["x"]), "neither a discrete particle column"),
    (lambda: PR.moment_match(Particles({"s": np.zeros((3, 1), int)}, {"s": ("discrete", 2)}, np.zeros(3))),
     "carry no continuous variable"),
])
def test_projection_refuses_what_it_cannot_do_and_says_why(call, match):
    with pytest.raises(FactorError, match=match):
        call()


def test_sample_attached_without_an_attachment_returns_the_particles_unchanged():
    assert PR.sample_attached(_P, np.random.default_rng(0)) is _P


def test_chain_scaling_times_every_map_per_length_and_skips_enumeration_beyond_16_steps(monkeypatch):
    calls = []

    def fake_timed(fn, m, rmap, **k):
        calls.append((fn, k.get("keep_beliefs")))
        return None, 0.25

    monkeypatch.setattr(X, "_timed", fake_timed)
    df = X.chain_scaling([16, 17])
    assert df[["T", "map"]].values.tolist() == [[16, "exact"], [16, "gpb1"], [16, "rbpf"], [16, "pf"],
                                               [17, "gpb1"], [17, "rbpf"], [17, "pf"]]
    assert (df["seconds"] == 0.25).all()
    assert all(fn is X.F.forward_filter and kb is False for fn, kb in calls)  # the filter alone, beliefs dropped


def test_plot_scaling_draws_the_mean_error_per_n_and_an_inverse_root_n_guide_through_the_first_point():
    pf = pd.DataFrame({"N": [10, 10, 10, 40, 40, 40],  # means 0.4, 0.2 (medians 0.2, 0.2)
                       "abs_err_log_z": [0.1, 0.2, 0.9, 0.2, 0.2, 0.2]})
    chain = pd.DataFrame({"T": [4, 8], "map": ["pf", "pf"], "seconds": [0.1, 0.2]})
    fig = X.plot_scaling(pf, chain)
    try:
        ax = fig.axes[0]
        mean_line, guide = ax.lines[0], ax.lines[1]
        assert np.allclose(mean_line.get_ydata(), [0.4, 0.2])
        assert np.allclose(guide.get_ydata(), [0.4, 0.4 * (40 / 10) ** -0.5])  # 0.4, 0.2
        assert len(fig.axes) == 2  # no BN panel without a BN table
        assert np.allclose(fig.axes[1].lines[0].get_ydata(), [0.1, 0.2])
    finally:
        plt.close(fig)


def test_plot_circular_draws_the_mean_tv_over_seeds_per_time_step():
    tv_pf = np.array([[0.1, 0.3], [0.3, 0.5]])  # means 0.2, 0.4
    tv_g = np.array([[0.6, 0.2], [0.8, 0.2]])  # means 0.7, 0.2
    c = np.array([-1.0, 1.0])
    ex = {"grid_final": np.ones((2, 2)) / 4, "centers": c, "pf_final": np.zeros((3, 2)), "pf_final_w": np.ones(3),
          "gauss_final": (np.zeros(2), np.eye(2)), "truth": np.zeros((2, 2)), "beacon": np.zeros(2),
          "grid_mean": np.zeros((2, 2)), "pf_mean": np.zeros((2, 2)), "gauss_mean": np.zeros((2, 2))}
    fig = X.plot_circular(X.CircularRun(tv_pf, tv_g, np.zeros(2), np.zeros(2), ex))
    try:
        ys = [ln.get_ydata().tolist() for ln in fig.axes[2].lines]
        assert np.allclose(ys, [[0.2, 0.4], [0.7, 0.2]])
        assert fig.axes[2].lines[0].get_xdata().tolist() == [1, 2]
    finally:
        plt.close(fig)


def test_pf_error_vs_n_and_circular_experiment_refuse_inputs_that_would_give_an_empty_or_ragged_table():
    with pytest.raises(ValueError, match="at least one particle count"):
        X.pf_error_vs_n([], n_seeds=1)
    with pytest.raises(ValueError, match=r"grid_n \(100\) must be a multiple of bins \(32\)"):
        X.circular_experiment(T=2, n_seeds=1, n_particles=10, grid_n=100, bins=32)


def test_drawing_an_attached_table_samples_its_per_particle_marginal_and_keeps_the_total_mass():
    """Particles x Table(s: 0.3, 1.0): each particle draws s = 1 with probability 1 / 1.3 and its weight takes the
    table's mass 1.3; nothing stays attached. 20000 particles: 5 sd of the frequency is 0.015."""
    from support.factors import ops

    n = 20000
    p = Particles({"x": np.zeros((n, 1))}, {"x": ("continuous", 1)}, np.full(n, -np.log(n)))
    q = ops.product(p, Table(("s",), np.log([0.3, 1.0])))
    drawn = PR.project(q, "particles", rng=np.random.default_rng(3))
    assert drawn.attached is None and drawn.kinds["s"] == ("discrete", 2)
    assert abs(np.mean(drawn.values["s"]) - 1 / 1.3) < 0.015
    assert np.isclose(np.exp(np.logaddexp.reduce(drawn.logw)), 1.3)


def test_sample_attached_refuses_unknown_names_and_partial_draws():
    from support.factors import ops

    p = Particles({"x": np.zeros((2, 1))}, {"x": ("continuous", 1)}, np.zeros(2))
    two = ops.product(p, Table(("s", "t"), np.zeros((2, 2))))
    rng = np.random.default_rng(0)
    with pytest.raises(FactorError, match=r"\['nope'\] are neither sampled nor attached"):
        PR.sample_attached(two, rng, ["nope"])
    with pytest.raises(FactorError, match="every attached discrete variable must be drawn"):
        PR.sample_attached(two, rng, ["s"])
    yz = G.from_moments(("__particle__",), (("y", 1), ("z", 1)), np.zeros((2, 2)), np.stack([np.eye(2)] * 2))
    with pytest.raises(FactorError, match="only some attached continuous variables"):
        PR.sample_attached(Particles({}, {}, np.zeros(2), yz), rng, ["y"])
