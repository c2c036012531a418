"""The convex allocation (cvxpy) against the independent scipy KKT solver and the bisection min-time."""

from dataclasses import replace

import numpy as np
import pytest

from support.fl_selection.allocation import (
    CAP_RTOL,
    CostWeights,
    deadline_cap,
    equal_allocation,
    evaluate,
    joint_allocation,
    min_deadline,
    min_energy,
    reference_units,
)
from support.fl_selection.oracles import kkt_joint, kkt_min_energy
from support.opt import InfeasibleError, OptError, count_statuses
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


def test_evaluate_refuses_a_scalar_bandwidth_that_would_hand_the_whole_band_to_every_client(instance):
    """b = B passed the budget check (B <= B) and then broadcast to each selected client: |S| x B in use."""
    system, _, _ = instance(6, 4)
    S = np.array([1, 4])
    with pytest.raises(ValueError, match=r"b_hz must hold one value per selected client \(shape \(2,\)\)"):
        evaluate(system, S, system.B, system.f_max[S])
    with pytest.raises(ValueError, match=r"f_hz must hold one value per selected client"):
        evaluate(system, S, np.array([5e6, 5e6]), float(system.f_max.min()))
    with pytest.raises(ValueError, match=r"b_hz must hold one value"):
        evaluate(system, S, np.array([5e6, 5e6, 5e6]), system.f_max[S])


@pytest.mark.parametrize("b, f, what", [([-1e6, 5e6], None, "b_hz must be finite and >= 0"),
                                        ([np.nan, 5e6], None, "b_hz must be finite and >= 0"),
                                        ([5e6, 5e6], [0.0, 1e9], "f_hz must be finite and > 0"),
                                        ([5e6, 5e6], [np.inf, 1e9], "f_hz must be finite and > 0")])
def test_evaluate_refuses_negative_or_non_finite_bandwidths_and_non_positive_frequencies(instance, b, f, what):
    system, _, _ = instance(6, 4)
    S = np.array([1, 4])
    with pytest.raises(ValueError, match=what):
        evaluate(system, S, np.array(b), system.f_max[S] / 2 if f is None else np.array(f))


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


def test_min_energy_at_an_absurd_deadline_is_the_kkt_optimum_not_infeasible(instance):
    """A 1e6 s deadline only relaxes the problem (ECOS called it infeasible): the answer fills the deadline at the
    energy of the scipy KKT oracle and of a 1e5 s deadline, and the oracle confirms the cap's bound
    E*(cap) <= (1 + CAP_RTOL) E*(1e6) that lets min_energy solve there."""
    system, _, _ = instance(6, 6)
    S = np.array([0, 1, 2])
    a = min_energy(system, S, 1e6)
    assert a.T == pytest.approx(1e6, rel=1e-9) and a.T <= 1e6 * (1 + 1e-9)
    far = kkt_min_energy(system, S, 1e6).energy
    assert a.energy == pytest.approx(far, rel=1e-6)
    assert a.energy == pytest.approx(min_energy(system, S, 1e5).energy, rel=1e-6)
    cap = deadline_cap(system, S)
    assert 0.0 <= kkt_min_energy(system, S, cap).energy - far <= CAP_RTOL * far


def test_min_energy_refuses_a_deadline_that_is_not_finite(instance):
    system, _, _ = instance(6, 6)
    for T in (float("inf"), float("nan")):
        with pytest.raises(ValueError, match="finite"):
            min_energy(system, [0, 1, 2], T)


def _random_case(instance, seed):
    """A 10-client cell, a random selection of 4-10, the deadline at twice its minimum and w = 0.5."""
    system, _, _ = instance(10, seed)
    rng = np.random.default_rng(100 + seed)
    S = np.sort(rng.choice(10, int(rng.integers(4, 11)), replace=False))
    return system, S, 2.0 * min_deadline(system, S), replace(reference_units(system, S.size), w=0.5)


@pytest.mark.parametrize("seed", [25, 27, 29, 34, 36, 46])
def test_allocation_programs_prove_an_optimum_at_the_kkt_answer_when_some_cpu_energy_is_negligible(instance, seed):
    """Compute time as the rest of the deadline (no free tc): CLARABEL proves the optimum, no fallback solver
    runs, and the answer is the KKT one (a free tc left CLARABEL at 'optimal_inaccurate', up to 4e-4 off)."""
    system, S, T, w = _random_case(instance, seed)
    with count_statuses() as fixed_deadline:
        cvx = min_energy(system, S, T)
    with count_statuses() as joint:
        jcvx = joint_allocation(system, S, w)
    assert dict(fixed_deadline) == {"optimal": 1} and dict(joint) == {"optimal": 1}
    assert cvx.energy == pytest.approx(kkt_min_energy(system, S, T).energy, rel=1e-6)
    assert jcvx.cost(w) == pytest.approx(kkt_joint(system, S, w).cost(w), rel=1e-6)


@pytest.mark.parametrize("seed", [0, 2])
def test_cpu_frequencies_fill_the_round_time_left_after_the_true_upload(instance, seed):
    """f = A / (T - tu) with tu from the solved bandwidths: the round never overshoots the deadline and the joint
    cost is the KKT one (the solver's own tu meets the rate cone only to its tolerance)."""
    system, S, T, w = _random_case(instance, seed)
    assert min_energy(system, S, T).T <= T * (1 + 1e-9)
    assert joint_allocation(system, S, w).cost(w) == pytest.approx(kkt_joint(system, S, w).cost(w), rel=2e-7)


@pytest.mark.parametrize("seed", [0, 4])
def test_min_energy_uses_the_whole_deadline_when_it_is_generous(instance, seed):
    """Energy falls with the compute time, so the round lasts exactly the deadline (six times the minimum here)
    and the energy is the KKT one (a round time free below the deadline stopped short where energy is flat)."""
    system, S, T, _ = _random_case(instance, seed)
    cvx = min_energy(system, S, 3.0 * T)
    assert cvx.T == pytest.approx(3.0 * T, rel=1e-9)
    assert cvx.energy == pytest.approx(kkt_min_energy(system, S, 3.0 * T).energy, rel=1e-6)


@pytest.mark.parametrize("seed", [2, 7])
def test_min_energy_near_the_minimum_round_time_meets_its_deadline_at_the_kkt_energy_or_refuses(instance, seed):
    """1e-7 to 1e-2 above the minimum round time an answer either meets the deadline at the KKT energy or is refused
    with an error naming the minimum (on seed 7 the solver's answer 1e-5 above it overran the deadline with 41% less
    energy than the KKT optimum, and was returned as if feasible)."""
    system, S, _, _ = _random_case(instance, seed)
    Tmin = min_deadline(system, S)
    answered = []
    for eps in (1e-7, 1e-6, 1e-5, 1e-4, 1e-2):
        T = Tmin * (1 + eps)
        try:
            a = min_energy(system, S, T)
        except OptError as e:
            assert "minimum round time" in str(e)
            continue
        assert a.T <= T * (1 + 1e-6) and a.energy == pytest.approx(kkt_min_energy(system, S, T).energy, rel=1e-4)
        answered.append(eps)
    assert 1e-2 in answered  # 1% above the minimum is an ordinary deadline, never refused
