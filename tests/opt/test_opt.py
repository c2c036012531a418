"""support.opt: every wrapper agrees with an independent reference (scipy, closed forms, brute force)."""

import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, brentq, linprog, milp

from support.opt import (
    InfeasibleError,
    NotDCPError,
    bisect,
    bisect_boundary,
    brute_force_min,
    golden_section,
    grid_knapsack_dp,
    sca,
    solve_convex,
    solve_lp,
    solve_minlp,
)


def test_convex_solution_matches_closed_form_and_names_the_solver():
    # min (x-3)^2 + exp(-x): stationary point where 2(x-3) = exp(-x)
    x = cp.Variable()
    r = solve_convex(cp.Problem(cp.Minimize(cp.square(x - 3) + cp.exp(-x))))
    root = bisect(lambda t: 2 * (t - 3) - np.exp(-t), 0, 5)
    assert r.solver == "CLARABEL"
    assert x.value == pytest.approx(root, abs=1e-5)


@pytest.mark.parametrize("solver", ["CLARABEL", "ECOS", "SCS"])
def test_every_solver_in_the_chain_gives_the_same_optimum(solver):
    x = cp.Variable(2)
    prob = cp.Problem(cp.Minimize(cp.inv_pos(x[0]) + cp.exp(-x[1]) + x[0] + x[1]), [x[0] + x[1] <= 3])
    r = solve_convex(prob, (solver,))
    assert r.value == pytest.approx(2.0 + (0.0 + 1.0), rel=1e-3)  # x0=1 -> 2, x1=0 -> 1


def test_fallback_skips_missing_solvers_and_reports_attempts():
    x = cp.Variable()
    r = solve_convex(cp.Problem(cp.Minimize(cp.abs(x - 1))), ("NO_SUCH_SOLVER", "ECOS"))
    assert r.solver == "ECOS" and r.attempts[0] == ("NO_SUCH_SOLVER", "not installed")


def test_non_dcp_problem_is_refused_with_the_failing_part():
    x = cp.Variable()
    with pytest.raises(NotDCPError, match="objective"):
        solve_convex(cp.Problem(cp.Minimize(cp.sqrt(x))))


def test_infeasible_convex_problem_raises():
    x = cp.Variable()
    with pytest.raises(InfeasibleError):
        solve_convex(cp.Problem(cp.Minimize(x), [x >= 2, x <= 1]))


def test_lp_matches_scipy_linprog_including_duals():
    rng = np.random.default_rng(0)
    A = rng.uniform(0, 1, (6, 4)); b = rng.uniform(1, 2, 6); c = -rng.uniform(0.5, 1.5, 4)
    ours = solve_lp(c, A, b)
    ref = linprog(c, A_ub=A, b_ub=b, bounds=(0, None), method="highs")
    assert ours.value == pytest.approx(ref.fun, rel=1e-9)
    np.testing.assert_allclose(ours.duals_ub, ref.ineqlin.marginals, atol=1e-9)


def test_milp_matches_scipy_milp():
    c = np.array([-5.0, -4.0, -3.0]); A = np.array([[2.0, 3.0, 1.0], [4.0, 1.0, 2.0], [3.0, 4.0, 2.0]])
    b = np.array([5.0, 11.0, 8.0])
    ours = solve_lp(c, A, b, bounds=(0, 10), integrality=[1, 1, 1])
    ref = milp(c, constraints=LinearConstraint(A, -np.inf, b), bounds=Bounds(0, 10), integrality=np.ones(3))
    assert ours.value == pytest.approx(ref.fun)


def test_lp_infeasible_is_named():
    with pytest.raises(InfeasibleError):
        solve_lp([1.0], A_ub=[[1.0]], b_ub=[-1.0], bounds=(0, None))


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"c": [1, 1, 1], "bounds": [(5, 6), (5, 6)]}, "bounds"),  # used to read the third column's bounds past the end
    ({"c": [1, 1], "integrality": [1]}, "integrality"),
    ({"c": [1, 1], "A_ub": [[1, 1]], "b_ub": [1, 2]}, "b_ub"),
    ({"c": [1, 1], "A_eq": [[1, 1], [1, 0]], "b_eq": [1]}, "b_eq"),
    ({"c": [1, 1], "A_ub": [[1, 1, 1]], "b_ub": [1]}, "A_ub has 3 columns"),
    ({"c": [1, 1], "A_eq": [[1]], "b_eq": [1]}, "A_eq has 1 columns"),
    ({"c": [1, np.nan]}, "c has non-finite"),
    ({"c": [1, 1], "A_ub": [[1, np.inf]], "b_ub": [1]}, "A_ub has non-finite"),
    ({"c": [1, 1], "A_eq": [[1, 1]], "b_eq": [np.nan]}, "b_eq has non-finite"),
    ({"c": [1, 1], "A_ub": [[1, 1]], "b_ub": [np.inf]}, "b_ub has non-finite"),
])
def test_lp_refuses_inconsistent_or_non_finite_input_naming_the_argument(kwargs, named):
    with pytest.raises(ValueError, match=named):
        solve_lp(**kwargs)


def test_lp_accepts_one_bound_pair_per_column_with_open_sides():
    r = solve_lp([1.0, 1.0], bounds=[(1.0, 2.0), (3.0, None)])
    np.testing.assert_allclose(r.x, [1.0, 3.0])


def test_scip_finds_the_global_minimum_of_a_nonconvex_minlp():
    # min (x - 2.6)^2 * (y+1) + sin-free nonconvexity: -x*y, x in [0,4], y integer 0..3; brute force on a fine grid
    def build(m):
        x = m.addVar("x", lb=0, ub=4); y = m.addVar("y", vtype="I", lb=0, ub=3); t = m.addVar("t", lb=None)
        m.addCons(t >= (x - 2.6) ** 2 * (y + 1) - x * y)
        m.setObjective(t, "minimize")
        return {"x": x, "y": y}

    r = solve_minlp(build)
    val, _ = brute_force_min(lambda x, y: (x - 2.6) ** 2 * (y + 1) - x * y, [np.linspace(0, 4, 40001), np.arange(4)])
    assert r.value == pytest.approx(val, abs=1e-5)


def test_minlp_error_in_the_callers_build_surfaces_as_itself():
    def build(m):
        raise KeyError("typo in build")

    with pytest.raises(KeyError, match="typo in build"):
        solve_minlp(build)


def test_brute_force_respects_feasibility():
    val, arg = brute_force_min(lambda x, y: x + y, [np.arange(5), np.arange(5)], feasible=lambda x, y: x * y >= 6)
    assert val == 5 and sorted(arg) == [2, 3]


def test_knapsack_dp_equals_brute_force_enumeration():
    rng = np.random.default_rng(3)
    costs = [rng.uniform(0, 10, 5) for _ in range(3)]
    usages = [rng.integers(0, 4, (5, 2)) for _ in range(3)]
    cap = (6, 5)
    val, choice = grid_knapsack_dp(costs, usages, cap)
    best = min((costs[0][i] + costs[1][j] + costs[2][k], (i, j, k)) for i in range(5) for j in range(5)
               for k in range(5) if np.all(usages[0][i] + usages[1][j] + usages[2][k] <= cap))
    assert val == pytest.approx(best[0]) and tuple(choice) == best[1]


def test_knapsack_dp_takes_an_option_that_fills_the_capacity_exactly():
    """Capacity is inclusive (sum of usages <= capacity): with capacity (3, 2) an option using exactly (3, 2) is
    feasible. Item 0 can use (3, 2) at cost 1 or (4, 0) at cost 0 (over capacity); item 1 costs 0 at (0, 0)."""
    costs = [np.array([1.0, 0.0]), np.array([0.0])]
    usages = [np.array([[3, 2], [4, 0]]), np.array([[0, 0]])]
    assert grid_knapsack_dp(costs, usages, (3, 2)) == (1.0, [0, 0])


def test_knapsack_dp_reports_infeasible():
    assert grid_knapsack_dp([np.array([1.0])], [np.array([[5]])], (3,)) == (np.inf, None)


def test_bisect_and_golden_section():
    assert bisect(lambda x: x ** 3 - 2, 0, 2) == pytest.approx(2 ** (1 / 3), abs=1e-9)
    assert golden_section(lambda x: (x - 0.7) ** 2, -3, 3) == pytest.approx(0.7, abs=1e-7)
    with pytest.raises(ValueError, match="same sign"):
        bisect(lambda x: x * x + 1, -1, 1)


def test_bisect_refuses_a_function_that_is_nan_inside_the_bracket():
    g = lambda x: np.nan if 0.2 < x < 0.9 else x - 0.5  # used to return 0.9 as a "root"
    with pytest.raises(ValueError, match="NaN at x=0.5"):
        bisect(g, 0.0, 1.0)
    with pytest.raises(ValueError, match="NaN at x=1.0"):
        bisect(lambda x: np.nan if x == 1.0 else x - 0.5, 0.0, 1.0)


def test_bisect_boundary_brackets_each_elements_root_as_brentq_finds_it():
    """Many increasing functions g_k(x) = x^3 + a_k x - b_k at once; the predicate is g_k >= 0."""
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0.1, 4.0, 40), rng.uniform(-5.0, 30.0, 40)
    lo0, hi0 = np.full(40, -3.0), rng.uniform(3.5, 6.0, 40)
    lo, hi = bisect_boundary(lambda x: x ** 3 + a * x - b >= 0, lo0, hi0, iters=60)
    roots = np.array([brentq(lambda x, k=k: x ** 3 + a[k] * x - b[k], lo0[k], hi0[k], xtol=1e-15) for k in range(40)])
    assert np.all(lo <= roots + 1e-13) and np.all(roots <= hi + 1e-13)
    assert np.all(hi - lo <= (hi0 - lo0) / 2 ** 60 * (1 + 1e-9) + 1e-15)
    assert np.all(lo ** 3 + a * lo - b < 0) and np.all(hi ** 3 + a * hi - b >= 0)


def test_bisect_boundary_closes_on_the_end_where_the_predicate_never_changes():
    lo, hi = bisect_boundary(lambda x: x > np.array([-1.0, 5.0, 0.25]), [0.0, 0.0, 0.0], [1.0, 1.0, 1.0], iters=40)
    assert hi[0] == pytest.approx(0.0, abs=1e-11) and lo[1] == pytest.approx(1.0, abs=1e-11)  # always / never True
    assert lo[2] <= 0.25 <= hi[2] and hi[2] - lo[2] == pytest.approx(2.0 ** -40)


@pytest.mark.parametrize("kwargs, message", [({"lo": [0.0, 2.0], "hi": [1.0, 1.0]}, "lo <= hi"),
                                             ({"lo": [0.0, np.nan], "hi": [1.0, 1.0]}, "finite"),
                                             ({"iters": 0}, "iters must be an integer >= 1"),
                                             ({"above": lambda x: True}, "one boolean per point")])
def test_bisect_boundary_refuses_a_bad_bracket_or_predicate(kwargs, message):
    args = {"above": lambda x: x > 0.5, "lo": [0.0, 0.0], "hi": [1.0, 1.0], "iters": 5} | kwargs
    with pytest.raises(ValueError, match=message):
        bisect_boundary(args["above"], args["lo"], args["hi"], args["iters"])


def test_golden_section_refuses_a_function_that_is_nan_where_it_probes():
    f = lambda x: np.nan if x > 0.5 else (x - 0.7) ** 2
    with pytest.raises(ValueError, match="golden_section: the function is NaN"):
        golden_section(f, 0.0, 1.0)


def test_sca_on_a_difference_of_convex_function_reaches_the_known_minimum():
    # f(x) = x^4 - 3x^2: majorize -3x^2 by its tangent; surrogate minimizer: 4x^3 = 6 x_k
    f = lambda x: float(x[0] ** 4 - 3 * x[0] ** 2)
    step = lambda x: np.array([np.cbrt(6 * x[0] / 4)])
    r = sca(step, f, [0.3], tol=1e-12, max_iter=500)
    assert r.converged and r.x[0] == pytest.approx(np.sqrt(1.5), abs=1e-5)
    assert all(b <= a + 1e-12 for a, b in zip(r.history, r.history[1:]))


def test_solve_lp_prints_no_highs_banner_and_leaves_stdout_working():
    # A fresh interpreter: HiGHS writes its banner to C-level stdout on the first construction in a process.
    import subprocess
    import sys

    code = ("from support.opt.lp import solve_lp\n"
            "r = solve_lp([-1.0, -2.0], A_ub=[[1.0, 1.0]], b_ub=[1.0], bounds=(0, None))\n"
            "print('x =', [round(float(v), 6) for v in r.x])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HiGHS" not in out
    assert out.strip().splitlines() == ["x = [0.0, 1.0]"]


def _knapsack_dp(values, weights, cap: int) -> float:
    """Exact 0/1 knapsack optimum by dynamic programming over integer capacities (the oracle)."""
    best = np.zeros(cap + 1)
    for v, w in zip(values, weights.astype(int)):
        best[w:] = np.maximum(best[w:], best[:-w] + v)
    return float(best.max())


@pytest.mark.parametrize("seed", [1, 7, 11])
def test_a_milp_called_optimal_is_the_optimum_on_near_tie_knapsacks(seed):
    """Values almost proportional to weights make many near-optimal packings. Under HiGHS's default relative gap
    (1e-4) solve_lp returned packings up to 9.8e-5 below the DP optimum (these seeds: 6.8e-5, 9.6e-5, 9.8e-5) and
    still said "Optimal"; it now solves to 1e-9 and reports the gap it proved."""
    rng = np.random.default_rng(seed)
    w = rng.integers(1000, 2000, 40).astype(float)
    v = w * 1000 + rng.integers(0, 50, 40)
    cap = float(np.floor(w.sum() / 2))
    r = solve_lp(-v, [w], [cap], bounds=(0, 1), integrality=np.ones(40))
    opt = _knapsack_dp(v, w, int(cap))
    assert -r.value == pytest.approx(opt, rel=1e-12, abs=0)
    assert r.status == "Optimal" and r.mip_gap <= 1e-9


@pytest.mark.parametrize("lo, hi", [(5.0, 0.0), (0.0, float("inf")), (float("nan"), 1.0)])
def test_bisect_and_golden_section_refuse_a_reversed_or_infinite_bracket(lo, hi):
    """bisect(x - 1, 5, 0) returned 1.25 after one step (the negative width passed the stop test), golden_section
    on a reversed bracket returned its midpoint without a probe, and bisect on [0, inf] returned inf."""
    with pytest.raises(ValueError, match="bisect: need finite lo < hi"):
        bisect(lambda x: x - 1, lo, hi)
    with pytest.raises(ValueError, match="golden_section: need finite lo <= hi"):
        golden_section(lambda x: (x - 0.7) ** 2, lo, hi)


@pytest.mark.parametrize("costs, usages, cap, message", [
    ([np.array([1.0, 6.0])], [np.array([[1.6], [0.0]])], (2,), "whole resource units"),  # 1.6 was truncated to 1
    ([np.array([1.0]), np.array([2.0])], [np.array([[1]])], (2,), "costs has 2 items, usages 1"),  # zip dropped one
    ([np.array([1.0, 2.0])], [np.array([[1, 0]])], (2, 2), r"must be \(options x resources\) = \(2, 2\)"),  # transposed
    ([np.array([np.nan, 2.0])], [np.array([[1], [0]])], (2,), "NaN or -inf"),  # NaN was read as forbidden
])
def test_knapsack_dp_refuses_input_it_would_misread(costs, usages, cap, message):
    with pytest.raises(ValueError, match=message):
        grid_knapsack_dp(costs, usages, cap)
