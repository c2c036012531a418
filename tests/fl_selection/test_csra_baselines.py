"""CSRA selection vs exhaustive enumeration (K <= 12), its feasibility, and the baseline selectors."""

from dataclasses import replace

import numpy as np
import pytest

from support.fl.fedavg import RoundContext, make_client_data
from support.fl.models import LogisticRegression
from support.fl_selection import baselines as Bl
from support.fl_selection.allocation import reference_units
from support.fl_selection.csra import REL_TIME_UNIT_S, csra
from support.fl_selection.generalization import GenConstraint
from support.fl_selection.oracles import exhaustive_selection
from support.opt import InfeasibleError


def _gaps(instance, Ks, offset):
    gaps = []
    for i, K in enumerate(Ks):
        system, P, D = instance(K, offset + i)
        gen = GenConstraint.from_targets(1.0, 2.0, 0.25, 3 * D.mean())
        w = replace(reference_units(system, 3), w=0.5)
        best, _ = exhaustive_selection(system, 3, w, feasible=lambda S, g=gen, P=P, D=D: g.feasible(P, D, S))
        if best is None:
            continue
        res = csra(system, P, 3, gen, w)
        assert gen.feasible(P, D, res.S)
        gaps.append(res.allocation.cost(w) / best.cost(w) - 1)
    return np.array(gaps)


def test_csra_is_within_5_percent_of_exhaustive_enumeration_on_small_instances(instance):
    gaps = _gaps(instance, (5, 6, 6, 7, 5, 6), 40)
    assert len(gaps) >= 5
    assert gaps.min() >= -1e-4  # nothing beats the exhaustive optimum
    # 5 of 6 here; the 90%-of-instances acceptance for K <= 12 is measured by the notebook's
    # brute_force_5pct claim
    assert np.mean(gaps <= 0.05) >= 0.8


@pytest.mark.parametrize("K, seed", [(10, 506), (12, 519)])
def test_repair_turns_an_infeasible_rounding_into_the_feasible_optimum_found_by_enumeration(K, seed):
    # tightly constrained instances of the oracle study (3 and 1 feasible 3-subsets): the top-3 clients of
    # the relaxed solution violate the generalization constraint; the previous greedy repair gave up on both
    from support.fl_selection.experiments import _random_system

    system, P, D = _random_system(K, seed)
    gen = GenConstraint.from_targets(0.731, 1.686, 0.2, 3 * D.mean())
    w = replace(reference_units(system, 3), w=0.5)
    best, n_feasible = exhaustive_selection(system, 3, w, feasible=lambda S: gen.feasible(P, D, S))
    assert 1 <= n_feasible <= 3
    res = csra(system, P, 3, gen, w)
    assert not gen.feasible(P, D, np.argsort(-res.a_relaxed, kind="stable")[:3])
    assert gen.feasible(P, D, res.S)
    assert res.allocation.cost(w) <= best.cost(w) * 1.05


def test_an_unproven_infeasibility_in_the_deadline_search_is_retried_at_a_nearby_deadline(instance, monkeypatch):
    """CLARABEL's 'infeasible_inaccurate' is not a proof: the deadline is retried at T*1.002 and T/1.002, as after
    a solver error, instead of counting as infeasible (when every try fails, the deadline does count)."""
    import cvxpy as cp

    from support.fl_selection import csra as C
    from support.opt import ConvexResult

    system, P, D = instance(10, 7, alpha=0.1)
    gen = GenConstraint.from_targets(0.731, 1.686, 1.0, 3 * D.mean())
    w = reference_units(system, 3)
    real, calls = C.solve_convex, []

    def flaky(problem, **kw):  # the deadline search's first solve ends without a proof
        calls.append(kw.get("solvers"))
        if kw.get("solvers") == ("CLARABEL",) and calls.count(("CLARABEL",)) == 1:
            return ConvexResult(float("inf"), cp.INFEASIBLE_INACCURATE, "CLARABEL", 0.0)
        return real(problem, **kw)

    ref = csra(system, P, 3, gen, w)
    monkeypatch.setattr(C, "solve_convex", flaky)
    res = csra(system, P, 3, gen, w)
    assert res.solves == ref.solves + 1
    assert np.array_equal(np.sort(res.S), np.sort(ref.S))



def _recorded_relaxed_solves(monkeypatch, K: int, m: int) -> list:
    """(deadline in REL_TIME_UNIT_S, linearisation offset g0, relaxed a) of every solve of CSRA's relaxed program, in order."""
    from support.fl_selection import csra as C

    pr, real, solved = C._relaxed(K, m, 10), C.solve_convex, []

    def recording(problem, **kw):
        r = real(problem, **kw)
        if problem is pr.problem:
            solved.append((float(pr.T.value), float(pr.g0.value), None if pr.a.value is None else pr.a.value.copy()))
        return r

    monkeypatch.setattr(C, "solve_convex", recording)
    return solved


def test_csra_solves_each_deadline_once_per_linearisation_and_every_sca_step_afresh(instance, monkeypatch):
    """The deadline search's best point, asked again as T_rel, is answered from the search, not solved twice; each
    SCA re-linearisation of sqrt(n) (Sec. IV step 2) is a new program, solved at T_rel again."""
    system, P, D = instance(8, 3, alpha=0.3)
    gen = GenConstraint.from_targets(0.731, 1.686, 0.3, 3 * D.mean())
    solved = _recorded_relaxed_solves(monkeypatch, 8, 3)
    res = csra(system, P, 3, gen, replace(reference_units(system, 3), w=0.5))
    keys = [(T, g0) for T, g0, _ in solved]
    assert len(keys) == len(set(keys))
    assert len({g0 for T, g0, _ in solved if T == res.T_relaxed / REL_TIME_UNIT_S}) >= 2


def test_csra_keeps_the_relaxed_a_of_t_rel_when_the_search_ends_on_an_earlier_grid_point(instance, monkeypatch):
    """A search that ends on a grid point solved long before still rounds that point's relaxed a (restored with its
    energy), not the a of the program solved last."""
    from support.fl_selection import csra as C

    system, P, D = instance(8, 3, alpha=0.3)
    gen = GenConstraint.from_targets(0.731, 1.686, 0.3, 3 * D.mean())
    solved = _recorded_relaxed_solves(monkeypatch, 8, 3)
    monkeypatch.setattr(C, "golden_section", lambda f, lo, hi, tol: hi)  # ends on the best point's upper neighbour
    res = csra(system, P, 3, gen, replace(reference_units(system, 3), w=0.5), sca_iters=0)
    (a_rel,) = [a for T, _, a in solved if T == res.T_relaxed / REL_TIME_UNIT_S]
    assert solved[-1][0] != res.T_relaxed / REL_TIME_UNIT_S  # the scenario: T_rel was not the last program solved
    assert np.array_equal(res.a_relaxed, np.clip(a_rel, 0, 1))


def test_csra_rounds_the_last_linearisation_s_a_when_an_sca_step_comes_back_infeasible(instance, monkeypatch):
    """Audit s27 (silent): a failed SCA step ends the SCA loop, so CSRA must round the relaxed a that E_rel belongs
    to, i.e. answer as with no SCA step (sca_iters=0). The old code rounded what the failed solve left in pr.a
    (None after an infeasible status: a_relaxed NaN) and silently returned a worse selection."""
    import cvxpy as cp

    from support.fl_selection import csra as C
    from support.opt import ConvexResult

    system, P, D = instance(8, 3, alpha=0.3)
    gen = GenConstraint.from_targets(0.731, 1.686, 0.3, 3 * D.mean())
    w = replace(reference_units(system, 3), w=0.5)
    no_sca = csra(system, P, 3, gen, w, sca_iters=0)
    pr, real, g0 = C._relaxed(8, 3, P.shape[1]), C.solve_convex, []

    def sca_infeasible(problem, **kw):  # a re-linearised program is infeasible; cvxpy then clears the variables
        if g0 and float(pr.g0.value) != g0[0]:
            pr.a.value = None
            return ConvexResult(float("inf"), cp.INFEASIBLE, "CLARABEL", 0.0)
        g0.append(float(pr.g0.value))
        return real(problem, **kw)

    monkeypatch.setattr(C, "solve_convex", sca_infeasible)
    res = csra(system, P, 3, gen, w)
    assert len(set(g0)) == 1  # the scenario: the first SCA step was the one that failed
    assert np.array_equal(res.a_relaxed, no_sca.a_relaxed)
    assert np.array_equal(np.sort(res.S), np.sort(no_sca.S))
    assert res.allocation.cost(w) == pytest.approx(no_sca.allocation.cost(w), rel=1e-9)  # solver round-off only


def test_csra_relaxes_without_the_generalization_constraint_when_its_linearisation_is_empty(instance):
    """Linearising sqrt(n) at n0 = 1 leaves no relaxed point: the deadline is searched again without the constraint
    (the first search ranked only infeasibility penalties, and picked the grid point nearest 1 s), so the relaxed
    deadline and cost are those of a constraint that never binds, and the rounding repair meets the exact one."""
    system, P, D = instance(8, 3, alpha=0.3)
    gen = GenConstraint.from_targets(0.731, 1.686, 0.3, 3 * D.mean())
    w = replace(reference_units(system, 3), w=0.5)
    res = csra(system, P, 3, gen, w, n0=1.0)
    assert gen.feasible(P, D, res.S) and len(res.S) == 3
    free = csra(system, P, 3, GenConstraint(0.0, 0.0, 1.0), w)  # 0 <= 1: the same program without the constraint
    assert res.T_relaxed == pytest.approx(free.T_relaxed, rel=1e-6)
    assert res.relaxed_cost == pytest.approx(free.relaxed_cost, rel=1e-3)  # equal programs, solver tolerance

def test_csra_meets_the_generalization_constraint_and_reports_infeasible_targets(instance):
    system, P, D = instance(10, 7, alpha=0.1)
    gen = GenConstraint.from_targets(1.0, 2.0, 0.3, 3 * D.mean())
    res = csra(system, P, 4, gen, reference_units(system, 4))
    assert res.gen_value <= gen.eps + 1e-9 and len(res.S) == 4
    with pytest.raises(InfeasibleError, match="generalization"):
        csra(system, P, 2, GenConstraint(1.0, 2.0, 0.01), reference_units(system, 2))
    with pytest.raises(InfeasibleError, match="bandwidth"):
        csra(replace(system, B=0.0), P, 2, gen, reference_units(system, 2))


def _ctx(system, t=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(int(system.D.sum()), 4))
    y = rng.integers(0, 3, X.shape[0])
    bounds = np.cumsum(system.D).astype(int)[:-1]
    parts = np.split(np.arange(X.shape[0]), bounds)
    model = LogisticRegression(4, 3)
    w = rng.normal(size=model.n_params)
    return RoundContext(t, w, model, make_client_data(X, y, parts), np.full(system.K, np.nan), rng)


def test_best_channel_and_power_of_choice_pick_what_they_promise(instance):
    system, _, _ = instance(10, 8)
    w = reference_units(system, 3)
    ctx = _ctx(system)
    assert set(Bl.BestChannel(3, w).choose(ctx, system).S) == set(np.argsort(-system.gain)[:3])
    poc = Bl.PowerOfChoice(3, w, d=10).choose(ctx, system)  # d = K: the 3 highest-loss clients overall
    losses = np.array([ctx.client_loss(k) for k in range(10)])
    assert set(poc.S) == set(np.argsort(-losses)[:3])
    assert len(Bl.AllClients(3, w).choose(ctx, system).S) == 10
    with pytest.raises(ValueError, match=r"^Power-of-Choice samples d = 2 candidates, fewer than the m = 3"):
        Bl.PowerOfChoice(3, w, d=2).choose(ctx, system)  # it returned 2 clients for m = 3


def test_oort_explores_unseen_clients_and_prefers_high_utility_fast_ones(instance):
    system, _, _ = instance(10, 9)
    w = reference_units(system, 4)
    ctx = _ctx(system)
    first = Bl.OortStyle(4, w).choose(ctx, system)
    assert len(first.S) == 4  # nothing seen yet: pure exploration
    ctx.last_loss[:] = 1.0
    ctx.last_loss[[2, 5]] = 50.0
    pol = Bl.OortStyle(4, w, alpha=0.0, explore=0.0)
    assert {2, 5} <= set(pol.choose(ctx, system).S)


def test_oort_temporal_bonus_is_largest_for_the_client_left_out_longest():
    # sqrt(0.1 ln R / L): at round R = 11, a client last in round 1 against one last in round 10
    b = Bl.oort_temporal_bonus(10, np.array([0, 9]))
    assert b == pytest.approx([np.sqrt(0.1 * np.log(11) / 1), np.sqrt(0.1 * np.log(11) / 10)])
    assert b[0] > b[1]


def test_oort_picks_the_long_unselected_clients_when_their_utilities_are_equal(instance):
    """Equal statistical utility (D_k * loss the same for all) and no speed penalty or exploration: the temporal
    bonus decides, and it must favour clients 0-4 (last picked in round 0) over 5-9 (picked last round)."""
    system, _, _ = instance(10, 9)
    w = reference_units(system, 4)
    ctx = _ctx(system, t=10)
    ctx.last_loss[:] = 1.0 / system.D
    pol = Bl.OortStyle(4, w, alpha=0.0, explore=0.0)
    pol.last_round = {k: (0 if k < 5 else 9) for k in range(10)}
    assert set(pol.choose(ctx, system).S) <= {0, 1, 2, 3, 4}
