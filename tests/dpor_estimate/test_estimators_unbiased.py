"""Knuth's estimator and stochastic enumeration are unbiased on the TruSt tree (paper §4-§6)."""

from __future__ import annotations

import numpy as np
import pytest
from dpor_oracles import exact_expectation

from support.dpor_estimate.benchmarks import make, spec_count
from support.dpor_estimate.cost import estimate_cost
from support.dpor_estimate.knuth import knuth_probe, knuth_trials
from support.dpor_estimate.order import with_order
from support.dpor_estimate.stochastic_enumeration import se_trial, se_trials
from support.dpor_estimate.trust import explore

FIVE_SMALL = ["lastzero(3)", "inc(3)", "casrot(4)", "fib_bench(1)", "co_2_2w(2)", "cinc(2)", "lockinc(2)"]


@pytest.mark.parametrize("spec", FIVE_SMALL)
def test_knuth_estimate_is_unbiased_exactly_on_small_trees(spec):
    p = make(spec)
    assert exact_expectation(knuth_probe, p, "classes") == spec_count(spec)


@pytest.mark.parametrize("spec", ["lastzero(3)", "inc(3)", "casrot(4)", "lockinc(2)"])
def test_knuth_node_estimate_is_unbiased_for_the_exhaustive_cost(spec):
    p = make(spec)
    assert exact_expectation(knuth_probe, p, "nodes") == explore(p).nodes


def test_knuth_expectation_is_exact_under_every_order_policy():
    for policy in ("program", "writers_first", "readers_first"):
        p = with_order(make("lastzero(3)"), policy)
        assert exact_expectation(knuth_probe, p, "classes") == 12


@pytest.mark.parametrize("spec", ["lastzero(3)", "inc(3)", "casrot(4)", "fib_bench(1)", "co_2_2w(2)"])
def test_se_estimate_is_unbiased_exactly_over_every_choice_sequence(spec):
    # every subset SE can keep at every level, weighted by its probability: E[estimate] = the exact count
    p = make(spec)
    e = exact_expectation(lambda prog, rng: se_trial(prog, 2, rng), p, "classes")
    assert float(e) == pytest.approx(spec_count(spec), rel=1e-9)


@pytest.mark.parametrize("spec,budget,trials", [
    ("lastzero(5)", 4, 3000), ("inc(4)", 4, 3000),
    pytest.param("lastzero(5)", 4, 20_000, marks=pytest.mark.slow),
    pytest.param("inc(4)", 4, 20_000, marks=pytest.mark.slow)])
def test_se_mean_within_3_standard_errors_of_the_exact_count(spec, budget, trials):
    est = se_trials(make(spec), budget, trials, np.random.default_rng(11))[:, 0]
    se = est.std(ddof=1) / np.sqrt(len(est))
    assert abs(est.mean() - spec_count(spec)) <= 3 * se


def test_se_with_a_budget_larger_than_the_tree_is_exact():
    p = make("lastzero(4)")
    r = se_trial(p, 10_000, np.random.default_rng(0))
    assert r.classes == pytest.approx(28)
    assert r.nodes == pytest.approx(explore(p).nodes)


def test_se_reduces_per_trial_variance_on_lastzero():
    p = with_order(make("lastzero(8)"), "writers_first")
    k = knuth_trials(p, 400, np.random.default_rng(1))[:, 0]
    s = se_trials(p, 8, 400, np.random.default_rng(2))[:, 0]
    assert s.var() < 0.25 * k.var()


def test_cost_estimate_tracks_node_count_and_predicts_time():
    p = with_order(make("lastzero(6)"), "writers_first")
    c = estimate_cost(p, 3000, np.random.default_rng(3))
    exact = explore(p).nodes
    assert abs(c.nodes - exact) / exact < 0.15
    assert c.predicted_seconds > 0 and c.seconds_per_node > 0


def test_estimates_are_deterministic_for_a_seed():
    p = make("fib_bench(2)")
    a = knuth_trials(p, 50, np.random.default_rng(5))
    b = knuth_trials(p, 50, np.random.default_rng(5))
    assert np.array_equal(a, b)


def test_library_exact_expectation_agrees_with_the_independent_oracle():
    from support.dpor_estimate.knuth import exact_expectation as lib_expectation

    for spec in ("lastzero(3)", "casrot(4)"):
        p = make(spec)
        assert lib_expectation(p, "classes") == exact_expectation(knuth_probe, p, "classes") == spec_count(spec)
