"""Heterogeneity measures vs scipy (Wasserstein, optimal transport LP) and the generalization constraint."""

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.stats import wasserstein_distance

from support.fl.partition import dirichlet_partition, label_distribution
from support.fl_selection.generalization import GenConstraint, fit_bound, skewed_sample
from support.fl_selection.heterogeneity import (
    client_heterogeneity,
    global_distribution,
    label_w1,
    mixture_discrepancy,
    tv_distance,
)


def _ot_01(p, q):
    """Optimal transport cost with the 0/1 label metric, as a linear program (independent of TV's formula)."""
    C = len(p)
    cost = 1.0 - np.eye(C)
    A_eq = np.vstack([np.kron(np.eye(C), np.ones(C)), np.kron(np.ones(C), np.eye(C))])
    return linprog(cost.ravel(), A_eq=A_eq, b_eq=np.concatenate([p, q]), bounds=(0, None)).fun


def test_ordinal_w1_matches_scipy_wasserstein_distance():
    rng = np.random.default_rng(0)
    lab = np.arange(10)
    for _ in range(20):
        p, q = rng.dirichlet(np.full(10, 0.3)), rng.dirichlet(np.full(10, 0.3))
        assert label_w1(p, q) == pytest.approx(wasserstein_distance(lab, lab, p, q), abs=1e-12)


def test_tv_is_the_optimal_transport_cost_under_the_01_metric():
    rng = np.random.default_rng(1)
    for _ in range(5):
        p, q = rng.dirichlet(np.full(10, 0.5)), rng.dirichlet(np.full(10, 0.5))
        assert tv_distance(p, q) == pytest.approx(_ot_01(p, q), abs=1e-9)


def test_mixture_discrepancy_equals_tv_of_the_pooled_selected_labels():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 10, 3000)
    parts = dirichlet_partition(y, 20, 0.3, rng)
    P = label_distribution(y, parts, 10)
    D = np.array([len(p) for p in parts])
    p_glob = np.bincount(y, minlength=10) / y.size
    assert np.allclose(global_distribution(P, D), p_glob)
    S = [1, 4, 7, 12]
    pooled = np.bincount(y[np.concatenate([parts[k] for k in S])], minlength=10)
    expect = 0.5 * np.abs(pooled / pooled.sum() - p_glob).sum()
    assert mixture_discrepancy(P, D, S) == pytest.approx(expect, abs=1e-12)
    assert mixture_discrepancy(P, D, np.arange(20)) == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(client_heterogeneity(P, D), 0.5 * np.abs(P - p_glob).sum(axis=1))


def test_heterogeneity_rejects_bad_input():
    with pytest.raises(ValueError, match="sum to 1"):
        tv_distance([0.5, 0.6], [0.5, 0.5])
    with pytest.raises(ValueError, match="metric"):
        client_heterogeneity(np.eye(3), [1, 1, 1], metric="kl")


def test_bound_fit_recovers_known_coefficients():
    rng = np.random.default_rng(3)
    n = rng.choice([100, 200, 400, 800], 40)
    delta = rng.uniform(0, 0.6, 40)
    err = 0.08 + 0.7 * delta + 1.9 / np.sqrt(n)
    fit = fit_bound(n, delta, err)
    assert (fit.e0, fit.c1, fit.c2) == pytest.approx((0.08, 0.7, 1.9), abs=1e-8)
    assert fit.r2 == pytest.approx(1.0)


def test_skewed_sample_hits_the_requested_discrepancy():
    y = np.repeat(np.arange(10), 300)
    idx = skewed_sample(y, 1000, 0.5, np.array([0, 1, 2, 3]), np.random.default_rng(0))
    q = np.bincount(y[idx], minlength=10) / idx.size
    # TV(Uniform(4 of 10), Uniform(10)) = 0.6, times the skew 0.5
    assert idx.size == 1000 and np.unique(idx).size == 1000
    assert 0.5 * np.abs(q - 0.1).sum() == pytest.approx(0.3, abs=2e-3)


def test_generalization_constraint_boundary_and_validation():
    g = GenConstraint.from_targets(1.0, 2.0, 0.2, 400.0)
    assert g.eps == pytest.approx(0.2 + 0.1)
    assert g.value(0.2, 400) == pytest.approx(g.eps)
    assert g.value(0.1, 400) < g.eps < g.value(0.2, 300)
    with pytest.raises(ValueError):
        GenConstraint(-1.0, 1.0, 0.1)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="need finite c1, c2 >= 0 and eps > 0"):
            GenConstraint(bad, 1.0, 0.1)
        with pytest.raises(ValueError, match="need finite c1, c2 >= 0 and eps > 0"):
            GenConstraint(1.0, 1.0, bad)


def test_a_selection_is_distinct_indices_or_a_full_length_mask_never_a_misread_mix():
    """Four one-class clients, the last holding half the data: the 0/1 integer array [0, 0, 1, 1] was read as the
    indices {0, 1}; a boolean mask of clients {2, 3} now means them, and index lists that repeat, fall outside
    0..K-1 or are not whole numbers are refused instead of collapsing or wrapping."""
    P = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1.0]])
    D = np.array([10.0, 10, 10, 30])
    g = GenConstraint(1.0, 2.0, 0.5)
    mask = np.array([False, False, True, True])
    assert mixture_discrepancy(P, D, mask) == pytest.approx(mixture_discrepancy(P, D, [2, 3]))
    assert g.of_selection(P, D, mask) == pytest.approx(g.of_selection(P, D, [2, 3]))
    for bad in ([0, 0, 1, 1], [3, 3, 3], [-1], [4], [1.5], np.array([True, False])):
        with pytest.raises(ValueError, match="selection"):
            mixture_discrepancy(P, D, bad)
        with pytest.raises(ValueError, match="selection"):
            g.of_selection(P, D, bad)


def test_a_float_array_is_weights_only_at_full_length_and_never_indices():
    """Float [0., 1., 2.] with K = 3 is the weight vector (0, 1, 2); float [0., 2.] was silently read as the index set
    {0, 2}, so the same dtype meant two kinds of thing by its length alone. Indices must be integers."""
    P = np.eye(3)
    D = np.array([10.0, 10, 10])
    assert mixture_discrepancy(P, D, np.array([0.0, 1.0, 2.0])) == pytest.approx(1 / 3)
    assert mixture_discrepancy(P, D, np.array([0, 2])) == pytest.approx(mixture_discrepancy(P, D, [True, False, True]))
    with pytest.raises(ValueError, match="selection"):
        mixture_discrepancy(P, D, np.array([0.0, 2.0]))
