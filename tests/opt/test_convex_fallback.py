"""solve_convex's fallback chain: errors and inaccurate statuses move on to the next solver; only a proven
optimum or infeasibility ends it; the attempts say what every solver gave."""

import cvxpy as cp
import pytest
from cvxpy.reductions.solution import Solution

from support.opt import InfeasibleError, SolverFailed, solve_convex

_real_solve = cp.Problem.solve


def _fake_solvers(monkeypatch, outcome: dict):
    """Make the named solvers raise SolverError (outcome "error") or report a chosen status after a real solve:
    an optimal status keeps the solver's values ("optimal+0.5" shifts them by 0.5), an infeasible one clears them."""

    def solve(self, *args, solver=None, **kw):
        what = outcome.get(solver)
        if what == "error":
            raise cp.error.SolverError(f"{solver} failed (simulated)")
        out = _real_solve(self, *args, solver=solver, **kw)
        if what is not None:
            sol = self.solution
            if what == "optimal+0.5":
                self.unpack(Solution(cp.OPTIMAL, sol.opt_val, {k: v + 0.5 for k, v in sol.primal_vars.items()},
                                     sol.dual_vars, sol.attr))
            elif what in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
                self.unpack(Solution(what, sol.opt_val, sol.primal_vars, sol.dual_vars, sol.attr))
            else:
                self.unpack(Solution(what, float("inf"), {}, {}, {}))
        return out

    monkeypatch.setattr(cp.Problem, "solve", solve)


def _problem():
    x = cp.Variable()
    return x, cp.Problem(cp.Minimize(cp.square(x - 1) + 2))  # optimum 2 at x = 1


def test_solver_error_falls_through_to_the_next_solver_and_is_reported(monkeypatch):
    _fake_solvers(monkeypatch, {"CLARABEL": "error"})
    x, prob = _problem()
    r = solve_convex(prob)
    assert (r.solver, r.status) == ("ECOS", "optimal")
    assert r.attempts == [("CLARABEL", "error: CLARABEL failed (simulated)"), ("ECOS", "optimal")]
    assert r.value == pytest.approx(2.0, abs=1e-6) and x.value == pytest.approx(1.0, abs=1e-4)


def test_inaccurate_optimum_falls_through_to_a_solver_that_proves_one(monkeypatch):
    _fake_solvers(monkeypatch, {"CLARABEL": cp.OPTIMAL_INACCURATE})
    _, prob = _problem()
    r = solve_convex(prob)
    assert (r.solver, r.status) == ("ECOS", "optimal")
    assert r.attempts == [("CLARABEL", "optimal_inaccurate"), ("ECOS", "optimal")]


def test_inaccurate_infeasibility_falls_through_to_a_solver_that_finds_the_optimum(monkeypatch):
    _fake_solvers(monkeypatch, {"CLARABEL": cp.INFEASIBLE_INACCURATE})
    x, prob = _problem()
    r = solve_convex(prob)  # raise_infeasible=True: an unproven infeasibility must not raise here
    assert (r.solver, r.status) == ("ECOS", "optimal")
    assert r.attempts == [("CLARABEL", "infeasible_inaccurate"), ("ECOS", "optimal")]
    assert x.value == pytest.approx(1.0, abs=1e-4)


def test_inaccurate_optimum_is_returned_with_its_own_values_when_no_later_solver_proves_anything(monkeypatch):
    # ECOS then clears the variables (infeasible_inaccurate) and SCS errors: CLARABEL's answer must come back whole
    _fake_solvers(monkeypatch, {"CLARABEL": cp.OPTIMAL_INACCURATE, "ECOS": cp.INFEASIBLE_INACCURATE, "SCS": "error"})
    x, prob = _problem()
    r = solve_convex(prob)
    assert (r.solver, r.status) == ("CLARABEL", "optimal_inaccurate")
    assert [a[0] for a in r.attempts] == ["CLARABEL", "ECOS", "SCS"]
    assert r.attempts[1] == ("ECOS", "infeasible_inaccurate")
    assert r.value == pytest.approx(2.0, abs=1e-6) and x.value == pytest.approx(1.0, abs=1e-4)
    assert prob.status == "optimal_inaccurate" and prob.value == pytest.approx(2.0, abs=1e-6)


def test_later_optimum_that_disagrees_with_an_earlier_inaccurate_one_is_recorded_but_not_used(monkeypatch):
    _fake_solvers(monkeypatch, {"CLARABEL": cp.OPTIMAL_INACCURATE, "ECOS": "optimal+0.5", "SCS": "error"})
    x, prob = _problem()
    r = solve_convex(prob)
    assert (r.solver, r.status) == ("CLARABEL", "optimal_inaccurate")
    assert r.attempts[1] == ("ECOS", "optimal, value 2.25 disagrees with CLARABEL's 2: not used")
    assert x.value == pytest.approx(1.0, abs=1e-4)


def test_later_proven_infeasibility_overrides_an_earlier_inaccurate_optimum(monkeypatch):
    _fake_solvers(monkeypatch, {"CLARABEL": cp.OPTIMAL_INACCURATE, "ECOS": cp.INFEASIBLE})
    _, prob = _problem()
    with pytest.raises(InfeasibleError, match="ECOS reports the problem infeasible$"):
        solve_convex(prob)


def test_unproven_infeasibility_raises_saying_so_or_is_returned_with_its_inaccurate_status(monkeypatch):
    _fake_solvers(monkeypatch, dict.fromkeys(("CLARABEL", "ECOS", "SCS"), cp.INFEASIBLE_INACCURATE))
    _, prob = _problem()
    with pytest.raises(InfeasibleError, match="not proven"):
        solve_convex(prob)
    r = solve_convex(prob, raise_infeasible=False)
    assert (r.solver, r.status, r.value) == ("CLARABEL", "infeasible_inaccurate", float("inf"))
    assert len(r.attempts) == 3


def test_unbounded_problem_raises_solver_failed_listing_every_attempt():
    x = cp.Variable()
    with pytest.raises(SolverFailed, match="no solver succeeded") as e:
        solve_convex(cp.Problem(cp.Minimize(x)))
    assert [s for s, _ in e.value.attempts] == ["CLARABEL", "ECOS", "SCS"]
    assert e.value.attempts[:2] == [("CLARABEL", "unbounded"), ("ECOS", "unbounded")]  # SCS refuses a cone-free LP


def test_count_statuses_counts_each_returned_answer_once_and_only_inside_its_block():
    """Two solves in the block (one optimal, one infeasible with raise_infeasible=False), one outside it."""
    import cvxpy as cp

    from support.opt import count_statuses, solve_convex

    x = cp.Variable()
    ok = cp.Problem(cp.Minimize(x), [x >= 1])
    bad = cp.Problem(cp.Minimize(x), [x >= 1, x <= 0])
    with count_statuses() as outer:
        solve_convex(ok)
        with count_statuses() as inner:
            solve_convex(bad, raise_infeasible=False)
    solve_convex(ok)
    assert dict(outer) == {"optimal": 1, "infeasible": 1}
    assert dict(inner) == {"infeasible": 1}
