"""CSRA's rounding (arXiv 2512.24286 Sec. IV, step 4) and the allocation's last step against independent oracles:
brute-force enumeration of 1-swap neighbourhoods and of all m-subsets, and the surrogate recomputed from the
closed-form wireless models."""

import itertools
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from support.fl_selection import csra as C
from support.fl_selection.allocation import TIME_UNIT_S, _finish, min_deadline, reference_units
from support.fl_selection.generalization import GenConstraint
from support.fl_selection.oracles import kkt_joint
from support.wireless.energy import compute_energy, compute_time, upload_energy, upload_time
from support.wireless.rate import shannon_rate


def _additive_proxy(cost):
    def proxy(S):
        return np.asarray(cost)[np.asarray(S, dtype=np.int64)].sum(-1)
    return proxy


@pytest.mark.parametrize("seed", range(3))
def test_feasible_swap_search_reaches_the_brute_force_cheapest_set_when_every_set_is_feasible(instance, seed):
    """With every m-set feasible and an additive proxy, a 1-swap search that keeps lowering the proxy can only stop
    at the global minimum (any set other than the m cheapest has a member that a cheaper outsider improves), which
    enumeration of all C(8, 3) sets finds. A search that took cost-raising swaps would end elsewhere."""
    _, P, D = instance(8, seed)
    gen = GenConstraint(1.0, 2.0, 100.0)  # every set feasible
    cost = np.random.default_rng(seed).uniform(1.0, 2.0, 8)
    proxy = _additive_proxy(cost)
    best = min(itertools.combinations(range(8), 3), key=lambda S: cost[list(S)].sum())
    for start in ([0, 1, 2], [5, 6, 7], [2, 4, 6]):
        for steepest in (True, False):
            found = C._constrained_swaps(start, gen, P, D, list(range(8)), proxy, steepest, max_steps=40)
            assert found and sorted(found[-1]) == sorted(best)
            costs = [cost[S].sum() for S in found]
            assert all(b < a for a, b in itertools.pairwise(costs))  # each feasible step lowered the proxy


@pytest.mark.parametrize("seed", range(3))
def test_swap_search_ends_where_no_feasible_one_swap_neighbour_is_cheaper(instance, seed):
    """Under a binding generalization constraint the search's last set is feasible and is a local minimum: no swap
    (member out, pool client in), enumerated here and checked with GenConstraint.feasible, gives a feasible set with
    a lower proxy."""
    _, P, D = instance(10, seed, alpha=0.3)
    gen = GenConstraint.from_targets(1.0, 2.0, 0.25, 3 * float(D.mean()))
    cost = np.random.default_rng(10 + seed).uniform(1.0, 2.0, 10)
    proxy = _additive_proxy(cost)
    pool = list(range(10))
    checked = 0
    for start in ([0, 1, 2], [7, 8, 9], [1, 4, 8]):
        found = C._constrained_swaps(start, gen, P, D, pool, proxy, False, max_steps=60)
        if not found:
            continue
        last = found[-1]
        assert gen.feasible(P, D, last)
        for i, j in itertools.product(range(3), pool):
            if j in last:
                continue
            T = list(last)
            T[i] = j
            assert not (gen.feasible(P, D, T) and cost[T].sum() < cost[last].sum() - 1e-12)
        checked += 1
    assert checked


def _surrogate(system, m, weights, S):
    """Round time (the slowest member) and energy of S with bandwidth B/m each at f_max, from the closed forms."""
    S = np.asarray(S)
    r = shannon_rate(np.full(S.size, system.B / m), system.gain[S], system.p[S], system.n0)
    t = compute_time(system.L, system.c[S], system.D[S], system.f_max[S]) + upload_time(system.s, r)
    e = (compute_energy(system.kappa, system.L, system.c[S], system.D[S], system.f_max[S])
         + upload_energy(system.p[S], system.s, r))
    return weights.cost(float(t.max()), float(e.sum()))


@pytest.mark.parametrize("seed", range(3))
def test_rounding_hands_n_exact_feasible_sets_ranked_by_the_round_time_surrogate(instance, seed):
    """Loose constraint (many feasible sets): _round returns the n_exact best sets by the surrogate (after the first
    directly feasible seed), so at least n_exact distinct feasible sets, and after the first they come in
    non-decreasing order of w T/T_unit + (1-w) E/E_unit with T the slowest member's solo time (a round lasts as long
    as its slowest client), recomputed here from support.wireless."""
    system, P, D = instance(10, seed, alpha=0.5)
    m, n_exact = 3, 4
    gen = GenConstraint.from_targets(1.0, 2.0, 0.6, m * float(D.mean()))
    weights = replace(reference_units(system, m), w=0.5)
    a = np.clip(np.random.default_rng(seed).dirichlet(np.ones(10)) * m, 0, 1)
    out = C._round(a, system, P, m, gen, weights, 3, n_exact)
    assert n_exact <= len(out) <= n_exact + 1
    assert len({frozenset(S) for S in out}) == len(out)
    assert all(gen.feasible(P, D, S) for S in out)
    s = [_surrogate(system, m, weights, S) for S in out[1:]]
    assert all(x <= y * (1 + 1e-12) for x, y in itertools.pairwise(s))


def test_allocation_scales_solver_bandwidths_that_overshoot_the_budget_back_to_b(instance):
    """_finish: bandwidths the solver returns 0.1% above B (within its tolerance) are scaled by B / sum, so the
    allocation uses exactly B in the same proportions (evaluate refuses more than B (1 + 1e-6))."""
    system, _, _ = instance(6, 4)
    S = np.array([0, 2, 3])
    share = np.array([0.2, 0.3, 0.5])
    pr = SimpleNamespace(b=SimpleNamespace(value=1.001 * system.B / 1e6 * share),
                         T=SimpleNamespace(value=2 * min_deadline(system, S) / TIME_UNIT_S))
    alloc = _finish(system, S, pr, "test")
    assert alloc.b.sum() == pytest.approx(system.B, rel=1e-12)
    np.testing.assert_allclose(alloc.b / alloc.b.sum(), share, rtol=1e-12)


@pytest.mark.parametrize("m", [1, 3, 5])
def test_solo_round_is_each_clients_time_and_energy_alone_on_b_over_m_at_f_max(instance, m):
    """Hand formulas (Yang et al. TWC 2021): t_k = L c_k D_k / f_max + s / r_k and e_k = kappa L c_k D_k f_max^2
    + p_k s / r_k with r_k = (B/m) log2(1 + g_k p_k / (N0 B/m)), written out here with numpy."""
    system, _, _ = instance(8, 3)
    b = system.B / m
    r = b * np.log2(1 + system.gain * system.p / (system.n0 * b))
    cycles = system.L * system.c * system.D
    t, e = C.solo_round(system, m)
    np.testing.assert_allclose(t, cycles / system.f_max + system.s / r, rtol=1e-12)
    np.testing.assert_allclose(e, system.kappa * cycles * system.f_max**2 + system.p * system.s / r, rtol=1e-12)


def test_csra_returns_the_cheapest_rounding_candidate_by_the_kkt_cost(instance, monkeypatch):
    """Step 4's last line: of the candidate sets the rounding hands over, the cheapest by the true (exact allocation)
    cost wins, whatever their order. The two candidates' costs come from the scipy KKT allocation (no cvxpy)."""
    system, P, _ = instance(5, 7)
    w = replace(reference_units(system, 2), w=0.5)
    gen = GenConstraint(1.0, 2.0, 100.0)  # every set feasible
    costs = {S: kkt_joint(system, np.array(S), w).cost(w) for S in ((0, 1), (2, 3))}
    best, worst = sorted(costs, key=costs.get)
    assert costs[worst] > 1.01 * costs[best]  # far apart beside the solvers' 1e-4
    for order in ([list(worst), list(best)], [list(best), list(worst)]):
        monkeypatch.setattr(C, "_round", lambda *a, order=order, **k: order)
        res = C.csra(system, P, 2, gen, w, n_grid=3)
        assert sorted(res.S.tolist()) == list(best)
        assert res.allocation.cost(w) == pytest.approx(costs[best], rel=1e-4)
