"""Bad input is rejected at construction or entry with one ValueError naming the problem, instead of NaN
claims or a misleading error later ("zero total mass", a numpy TypeError)."""

import numpy as np
import pytest

from support.factors import experiments as X
from support.factors import filtering as F
from support.factors import gaussian as G
from support.factors import models as M
from support.factors import ops
from support.factors.particles import Particles
from support.factors.table import Table


def test_table_from_negative_probabilities_is_rejected():
    with pytest.raises(ValueError, match="probabilities must be >= 0"):
        Table.from_probs(("a",), [0.5, -0.1])


def test_table_with_nan_log_potential_is_rejected_at_construction():
    with pytest.raises(ValueError, match="NaN"):
        Table(("a",), np.array([np.nan, 0.0]))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_slds_with_non_finite_observation_is_rejected(bad):
    with pytest.raises(ValueError, match="observations must be finite"):
        M.slds_1d(2).with_data([0.1, bad, 0.3])


def test_range_tracking_with_nan_range_is_rejected():
    with pytest.raises(ValueError, match="observations must be finite"):
        M.range_tracking().with_data([3.0, np.nan])


def test_gaussian_with_nan_mean_is_rejected():
    with pytest.raises(ValueError, match="finite"):
        G.from_moments((), (("x", 1),), [np.nan], [[1.0]])


def test_conditioning_a_gaussian_on_nan_is_rejected():
    lik = G.linear_gaussian(("y", 1), [("x", 1)], [[1.0]], [0.0], [[1.0]])
    with pytest.raises(ValueError, match="must be finite"):
        ops.condition(lik, {"y": np.nan})


def test_fractional_discrete_evidence_is_rejected_not_truncated():
    t = Table(("a",), np.log([0.2, 0.8]))
    with pytest.raises(ValueError, match="not an integer state index"):
        ops.condition(t, {"a": 1.7})
    clg = G.from_moments(("a",), (("x", 1),), [[0.0], [1.0]], [[[1.0]], [[1.0]]])
    with pytest.raises(ValueError, match="not an integer state index"):
        ops.condition(clg, {"a": 0.5})
    p = Particles({"a": [0, 1]}, {"a": ("discrete", 2)}, np.log([0.5, 0.5]))
    with pytest.raises(ValueError, match="not an integer state index"):
        ops.condition(p, {"a": 1.2})
    assert np.isclose(float(ops.condition(t, {"a": 1.0}).logp), np.log(0.8))  # an integral float is a state


def test_slds_whose_initial_distribution_does_not_sum_to_one_is_rejected():
    m = M.slds_1d(2)
    with pytest.raises(ValueError, match="must sum to 1"):
        M.SLDS(np.array([0.6, 0.5]), m.trans, m.A, m.Q, m.H, m.R, m.m0, m.P0)
    with pytest.raises(ValueError, match="must sum to 1"):
        M.SLDS(m.pi, np.array([[0.9, 0.2], [0.2, 0.8]]), m.A, m.Q, m.H, m.R, m.m0, m.P0)


def test_zero_seeds_are_rejected_instead_of_giving_nan_claims():
    with pytest.raises(ValueError, match="n_seeds must be an integer >= 1"):
        X.circular_experiment(T=3, n_seeds=0, n_particles=100, grid_n=64)
    with pytest.raises(ValueError, match="n_seeds must be an integer >= 1"):
        X.pf_error_vs_n([100], n_seeds=0)
    with pytest.raises(ValueError, match="n_seeds must be an integer >= 1"):
        X.rbpf_logz_errors(50, n_seeds=0)


def test_sample_evidence_needs_room_for_a_query():
    bn = M.load_discrete("asia")  # 8 nodes
    with pytest.raises(ValueError, match="n_evidence \\+ n_queries <= 8 nodes"):
        M.sample_evidence(bn, 8, 1, np.random.default_rng(0))


def test_fractional_particle_count_is_rejected_by_the_map():
    with pytest.raises(ValueError, match="n_particles must be a non-negative integer"):
        F.bootstrap_pf(2.5)


@pytest.mark.parametrize("call, message", [
    (lambda: X.discrete_bn_table(["asia"], n_queries=0), "n_queries must be an integer >= 1, got 0"),
    (lambda: X.discrete_bn_table([], n_queries=1), "networks must not be empty"),
    (lambda: X.gaussian_bn_table(["ecoli70"], n_query=0), "n_query must be an integer >= 1, got 0"),
    (lambda: X.gaussian_bn_table(["ecoli70"], n_evidence=100),
     "ecoli70: need n_evidence \\+ n_query <= 46 nodes, got n_evidence=100, n_query=3"),
    (lambda: X.slds_sweep([(2, 3)], [("exact", 0)], funsor=False, repeats=0), "repeats must be an integer >= 1"),
    (lambda: X.slds_sweep([], [("exact", 0)], funsor=False), "cases must not be empty"),
    (lambda: X.slds_vs_funsor_summaries([]), "cases must not be empty"),
    (lambda: X.slds_instance(2, 3, 0, kind="2d"), "kind must be one of '1d', 'cv'; got '2d'"),
    (lambda: X.mixed_matrix([("exact", 0)], T=3, kind="bogus"), "kind must be one of '1d', 'cv'; got 'bogus'"),
    (lambda: X.mixed_matrix([("exact", 0)], T=3, instances=[]), "instances must not be empty"),
    (lambda: X.circular_experiment(T=3, n_seeds=1, n_particles=1, grid_n=64, bins=16),
     "n_particles must be an integer >= 2 \\(the Gaussian ADF"),
    (lambda: X.rbpf_logz_errors(50, n_seeds=2, n_instances=0), "n_instances must be an integer >= 1"),
    (lambda: X.pf_error_vs_n([100], n_seeds=2, n_instances=0), "n_instances must be an integer >= 1"),
    (lambda: X.slds_instance(2, 3, 0, instance=-1), "instance must be an integer >= 0"),
])
def test_support_functions_refuse_bad_arguments_naming_them(call, message):
    """Before: ZeroDivisionError, AttributeError, UnboundLocalError, a numpy broadcast error, a silently
    substituted model, or a non-positive-definite covariance deep in the ADF."""
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(("column", "message"), [
    ([0, 1.7], r"^discrete variable 'a' holds 1\.7: not an integer state index$"),  # astype(intp) truncated to 1
    ([0, np.nan], r"^discrete variable 'a' holds nan: not an integer state index$"),
    ([0, -1], r"^discrete variable 'a' holds -1: out of range 0\.\.2$"),  # wrapped to state 2
    ([0, 5], r"^discrete variable 'a' holds 5: out of range 0\.\.2$"),  # a bare IndexError later
    ([0.0, 3.0], r"^discrete variable 'a' holds 3\.0: out of range 0\.\.2$"),
    (["0", "1"], r"^discrete variable 'a' must hold integer state indices, got dtype <U1$"),
])
def test_a_particle_column_of_non_state_values_is_rejected_as_state_index_rejects_evidence(column, message):
    with pytest.raises(ValueError, match=message):
        Particles({"a": column}, {"a": ("discrete", 3)}, np.log([0.5, 0.5]))


def test_a_particle_column_of_integral_floats_is_read_as_those_states():
    p = Particles({"a": [2.0, 0.0]}, {"a": ("discrete", 3)}, np.log([0.5, 0.5]))
    assert p.values["a"].tolist() == [2, 0] and p.values["a"].dtype == np.intp


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_particles_with_a_nan_or_plus_infinite_log_weight_are_rejected(bad):
    with pytest.raises(ValueError, match=r"^particle log-weights must not be NaN or \+inf; 1 are$"):
        Particles({"a": [0, 1]}, {"a": ("discrete", 2)}, [0.0, bad])
    p = Particles({"a": [0, 1]}, {"a": ("discrete", 2)}, [0.0, -np.inf])  # an impossible particle is allowed
    assert np.isneginf(p.logw[1])


def _gaussian(g=0.0, h=(0.0,), K=((1.0,),)):
    return G.Gaussian((), (("x", 1),), g, h, K)


@pytest.mark.parametrize("kw", [{"g": np.nan}, {"g": np.inf}, {"h": (np.nan,)}, {"h": (np.inf,)},
                                {"K": ((np.nan,),)}, {"K": ((-np.inf,),)}])
def test_a_gaussian_with_a_nan_or_infinite_parameter_is_rejected_at_construction(kw):
    with pytest.raises(ValueError, match=r"^Gaussian over \['x'\] has a NaN or \+inf log-mass g, or a non-finite h or K"):
        _gaussian(**kw)
    assert np.isneginf(_gaussian(g=-np.inf).g)  # a component of zero mass stays allowed


@pytest.mark.parametrize("which", ["A", "b", "Q"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_linear_gaussian_with_a_non_finite_coefficient_is_rejected(which, bad):
    args = {"A": [[1.0]], "b": [0.0], "Q": [[1.0]]}
    args[which] = np.full(np.shape(args[which]), bad)
    with pytest.raises(ValueError, match=r"^linear_gaussian for 'y': A, b and Q must be finite \(got NaN or inf\)$"):
        G.linear_gaussian(("y", 1), [("x", 1)], **args)


def _unit_density(dim: int):
    from support.factors.density import LogDensity

    return LogDensity((("x", dim),), lambda v: -0.5 * (v["x"] ** 2).sum(axis=1))


_EDGES = np.linspace(-3.0, 3.0, 7)
_ONE_AXIS, _TWO_AXES = (_EDGES,), (_EDGES, _EDGES)


@pytest.mark.parametrize(("make", "dim", "edges"), [
    (lambda d: G.from_moments((), (("x", d),), np.zeros(d), np.eye(d)), 2, _ONE_AXIS),  # was x[0]'s marginal
    (lambda d: G.from_moments((), (("x", d),), np.zeros(d), np.eye(d)), 1, _TWO_AXES),  # was a broadcast error
    (_unit_density, 2, _ONE_AXIS),
    (_unit_density, 1, _TWO_AXES),
    (lambda d: Particles({"x": np.zeros((3, d))}, {"x": ("continuous", d)}, np.zeros(3)), 2, _ONE_AXIS),
])
def test_discretize_refuses_a_grid_whose_axes_do_not_match_the_variables_dimension(make, dim, edges):
    from support.factors.project import Grid, discretize

    with pytest.raises(ValueError, match=rf"^grid has {len(edges)} axes but 'x' has dimension {dim}$"):
        discretize(make(dim), Grid("x", edges))


def test_discretize_refuses_a_density_without_the_grid_variable():
    from support.factors.project import Grid, discretize

    with pytest.raises(ValueError, match=r"^discretize: the density has no continuous variable 'y'$"):
        discretize(_unit_density(1), Grid("y", _ONE_AXIS))


def test_projecting_particles_to_n_particles_without_resampling_is_refused_not_ignored():
    p = Particles({"x": np.arange(4.0)[:, None]}, {"x": ("continuous", 1)}, np.zeros(4))
    with pytest.raises(ValueError, match=r"n=\.\.\.\) changes the number of particles only with resample_=True"):
        ops.project(p, "particles", n=2, rng=np.random.default_rng(0))
    assert ops.project(p, "particles", n=2, rng=np.random.default_rng(0), resample_=True).n == 2
    assert ops.project(p, "particles", rng=np.random.default_rng(0)).n == 4


def test_a_non_symmetric_covariance_is_refused():
    """The Cholesky factor read the lower triangle, the inverse the whole matrix: N(0, cov) with cov non-symmetric
    got a log mass of 0.113 instead of 0, and a linear_gaussian with such a Q 0.598."""
    from support.factors.errors import FactorError

    cov = np.array([[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(FactorError, match="covariance must be symmetric"):
        G.from_moments((), (("x", 2),), np.zeros(2), cov)
    with pytest.raises(FactorError, match="noise covariance Q must be symmetric"):
        G.linear_gaussian(("y", 2), (("x", 2),), np.eye(2), np.zeros(2), cov)
    G.from_moments((), (("x", 2),), np.zeros(2), np.array([[1.0, 0.5], [0.5, 1.0]]))  # symmetric: fine


def test_a_product_of_log_densities_that_disagree_on_a_fixed_value_is_refused():
    """One sensor model conditioned on z = 0 times the same model on z = 5 evaluated as if both read 5 (-25 where
    -12.5 is right); a factor with x fixed times one with x free evaluated the free one at the fixed value."""
    from support.factors.density import LogDensity
    from support.factors.errors import FactorError

    f = LogDensity((("x", 1), ("z", 1)), lambda v: -0.5 * (v["x"][:, 0] - v["z"][:, 0]) ** 2, label="sensor")
    with pytest.raises(FactorError, match="fixed to different values"):
        ops.product(ops.condition(f, {"z": 0.0}), ops.condition(f, {"z": 5.0}))
    g = LogDensity((("x", 1),), lambda v: -0.5 * v["x"][:, 0] ** 2, label="prior")
    with pytest.raises(FactorError, match="fixed on one side and free on the other"):
        ops.product(ops.condition(f, {"x": 1.0}), g)
    ops.product(ops.condition(f, {"z": 0.0}), ops.condition(f, {"z": 0.0}))  # the same reading twice: fine


def test_a_variable_elimination_order_must_eliminate_exactly_the_non_query_variables():
    """order=['smoke'] for a query on 'lung' returned a posterior over four variables; an order that included
    'lung' returned one without it."""
    from support.factors import elimination as E

    fs, heads = M.load_discrete("asia").factors()
    for order in (["smoke"], ["smoke", "lung", "tub", "either", "asia", "bronc", "dysp"]):
        with pytest.raises(ValueError, match="elimination order must not contain the query"):
            E.variable_elimination(fs, ["lung"], {"xray": 0}, heads, order=order)
    auto = E.variable_elimination(fs, ["lung"], {"xray": 0}, heads)
    given = E.variable_elimination(fs, ["lung"], {"xray": 0}, heads, order=list(auto.order))
    assert given.posterior.names == ("lung",) and np.allclose(given.posterior.logp, auto.posterior.logp)
