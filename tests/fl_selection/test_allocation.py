"""The convex allocation (cvxpy) against the independent scipy KKT solver and the bisection min-time."""

from dataclasses import replace

import numpy as np
import pytest

from support.fl_selection.allocation import (
    CostWeights,
    equal_allocation,
    evaluate,
    joint_allocation,
    min_deadline,
    min_energy,
    reference_units,
)
from support.fl_selection.oracles import kkt_joint, kkt_min_energy
from support.opt import InfeasibleError
from support.wireless.rate import shannon_rate


@pytest.mark.parametrize("seed", range(6))
def test_min_energy_matches_scipy_kkt_within_1e_4(instance, seed):
    system, _, _ = instance(10, seed)
    rng = np.random.default_rng(100 + seed)
    S = np.sort(rng.choice(10, int(rng.integers(2, 9)), replace=False))
    T = min_deadline(system, S) * rng.uniform(1.02, 3.0)
    cvx, kkt = min_energy(system, S, T), kkt_min_energy(system, S, T)
    assert cvx.energy == pytest.approx(kkt.energy, rel=1e-4)
    assert cvx.T <= T * (1 + 1e-5) and cvx.b.sum() <= system.B * (1 + 1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_joint_deadline_and_allocation_match_a_scipy_search_over_T(instance, seed):
    system, _, _ = instance(8, 20 + seed)
    S = np.arange(0, 8, 2)
    w = replace(reference_units(system, 4), w=0.3 + 0.2 * seed)
    cvx, ref = joint_allocation(system, S, w), kkt_joint(system, S, w)
    assert cvx.cost(w) == pytest.approx(ref.cost(w), rel=1e-4)


def test_min_time_bisection_matches_the_convex_min_time_program(instance):
    system, _, _ = instance(8, 3)
    S = np.array([0, 2, 3, 5, 7])
    Tcvx = joint_allocation(system, S, CostWeights(1.0, 1.0, 1.0)).T
    assert min_deadline(system, S) == pytest.approx(Tcvx, rel=1e-4)


def test_evaluate_reproduces_the_closed_form_round_cost(instance):
    system, _, _ = instance(6, 4)
    S = np.array([1, 4])
    b, f = np.array([5e6, 15e6]), system.f_max[S] / 2
    a = evaluate(system, S, b, f)
    r = shannon_rate(b, system.gain[S], system.p[S], system.n0)
    tc = system.L * system.c[S] * system.D[S] / f
    assert a.T == pytest.approx(np.max(tc + system.s / r))
    assert a.energy == pytest.approx(np.sum(system.kappa * system.cycles[S] * f**2 + system.p[S] * system.s / r))


def test_optimized_allocation_never_costs_more_than_equal_bandwidth_at_f_max(instance):
    system, _, _ = instance(10, 5)
    S = np.arange(5)
    eq = equal_allocation(system, S)
    opt = min_energy(system, S, eq.T)
    assert opt.energy <= eq.energy * (1 + 1e-6)


def test_infeasible_deadline_and_zero_bandwidth_raise_clear_errors(instance):
    system, _, _ = instance(6, 6)
    S = np.array([0, 1, 2])
    with pytest.raises(InfeasibleError, match="fastest selected client"):
        min_energy(system, S, 0.5 * system.t_cmp_min[S].min())
    with pytest.raises(InfeasibleError, match="minimum round time"):
        min_energy(system, S, 0.999 * min_deadline(system, S))
    with pytest.raises(InfeasibleError, match="bandwidth"):
        equal_allocation(replace(system, B=0.0), S)
    with pytest.raises(ValueError, match="bandwidth must be positive"):
        system.with_bandwidth(0.0)
    with pytest.raises(ValueError, match="empty"):
        joint_allocation(system, [], CostWeights())
    with pytest.raises(ValueError, match="weight"):
        CostWeights(w=1.5)
