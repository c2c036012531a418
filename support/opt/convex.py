"""cvxpy wrapper: verify the problem is DCP (or DPP), then try solvers in order until one succeeds.

The default order is CLARABEL -> ECOS -> SCS (interior point first, first-order last). Solvers that
are not installed are skipped. An ``*_inaccurate`` status is not final: the next solver is tried, and
the first inaccurate answer is returned unless a later solver proves infeasibility or reaches an
optimum that agrees with it (a disagreeing later optimum is not trusted over an earlier solver).
The result says which solver answered and what each attempt gave.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import cvxpy as cp

from support.opt.errors import InfeasibleError, OptError

DEFAULT_SOLVERS = ("CLARABEL", "ECOS", "SCS")
_INACCURATE = {cp.OPTIMAL_INACCURATE, cp.INFEASIBLE_INACCURATE}  # kept as a fallback answer, never final
# A later optimum replaces an earlier inaccurate one only within this relative distance: statuses are per-solver
# tolerances (on paper 07's allocation programs SCS's "optimal" was up to 70 % off where CLARABEL's
# "optimal_inaccurate" was within 2e-5 of the scipy KKT oracle); 1e-4 is CLARABEL's reduced feasibility tolerance.
_CONFIRM_RTOL = 1e-4
_COUNTERS: list[Counter] = []  # open count_statuses() blocks


@contextlib.contextmanager
def count_statuses() -> Iterator[Counter]:
    """Count the status of every answer :func:`solve_convex` returns inside the block (``optimal``,
    ``optimal_inaccurate``, ...), so that a reported figure can say how many of its solves were only inaccurate."""
    counts: Counter = Counter()
    _COUNTERS.append(counts)
    try:
        yield counts
    finally:
        _COUNTERS.remove(counts)


class NotDCPError(OptError, ValueError):
    """The problem is not disciplined convex (cvxpy's DCP rules); the message names the failing parts."""


class SolverFailed(OptError):
    """Every solver in the fallback chain failed; ``attempts`` lists (solver, status or error)."""

    def __init__(self, message: str, attempts: list[tuple[str, str]]):
        super().__init__(message)
        self.attempts = attempts


@dataclass
class ConvexResult:
    """Outcome of :func:`solve_convex`."""

    value: float
    status: str
    solver: str
    seconds: float
    attempts: list[tuple[str, str]] = field(default_factory=list)


@functools.cache
def _installed_solvers() -> frozenset[str]:
    """cvxpy's installed solvers, asked once per process (each ask tries to import every solver cvxpy knows,
    about 5 ms, which was a fifth of a small CLARABEL solve)."""
    return frozenset(cp.installed_solvers())


def _why_not_dcp(problem: cp.Problem) -> str:
    parts = []
    if not problem.objective.is_dcp():
        parts.append(f"objective {problem.objective.__class__.__name__} ({problem.objective.expr.curvature})")
    for i, c in enumerate(problem.constraints):
        if not c.is_dcp():
            parts.append(f"constraint {i}: {str(c)[:80]}")
    return "; ".join(parts) or "unknown part"


def solve_convex(problem: cp.Problem, solvers: tuple[str, ...] = DEFAULT_SOLVERS, *, require_dpp: bool = False,
                 raise_infeasible: bool = True, **solver_kwargs) -> ConvexResult:
    """Solve a cvxpy ``problem`` with ``solvers`` tried in order of trust until one proves an optimum or
    infeasibility; inaccurate answers fall through (module doc) and are returned, restored, only as a last resort.

    Raises :class:`NotDCPError` when the problem breaks the DCP rules (or DPP rules with ``require_dpp``),
    :class:`InfeasibleError` when the answer is infeasibility (unless ``raise_infeasible=False``: value
    ``inf``, status ``infeasible`` or ``infeasible_inaccurate``) and :class:`SolverFailed` when no solver answers.
    """
    if not problem.is_dcp():
        raise NotDCPError(f"problem is not DCP: {_why_not_dcp(problem)}")
    if require_dpp and not problem.is_dcp(dpp=True):
        raise NotDCPError("problem is DCP but not DPP (parameters enter non-affinely); re-solves would recompile")
    installed = _installed_solvers()
    attempts: list[tuple[str, str]] = []
    fallback: dict[str, tuple[str, object, float]] = {}  # inaccurate status -> first (solver, Solution, value)
    t0 = time.perf_counter()
    for name in solvers:
        if name not in installed:
            attempts.append((name, "not installed"))
            continue
        try:
            with warnings.catch_warnings():  # "solution may be inaccurate": reported in the result's status
                warnings.simplefilter("ignore", UserWarning)
                problem.solve(solver=name, **solver_kwargs)
        except cp.error.SolverError as e:
            attempts.append((name, f"error: {e}"[:120]))
            continue
        attempts.append((name, str(problem.status)))
        if problem.status in _INACCURATE:
            fallback.setdefault(problem.status, (name, problem.solution, float(problem.value)))
            continue
        if problem.status == cp.OPTIMAL and cp.OPTIMAL_INACCURATE in fallback:
            first, _, v0 = fallback[cp.OPTIMAL_INACCURATE]
            if not math.isclose(problem.value, v0, rel_tol=_CONFIRM_RTOL, abs_tol=1e-12):
                attempts[-1] = (name, f"optimal, value {problem.value:.7g} disagrees with {first}'s {v0:.7g}: not used")
                continue
        if problem.status in (cp.OPTIMAL, cp.INFEASIBLE):
            return _answer(problem, name, t0, attempts, raise_infeasible)
    for status in (cp.OPTIMAL_INACCURATE, cp.INFEASIBLE_INACCURATE):
        if status in fallback:
            name, solution, _ = fallback[status]
            problem.unpack(solution)  # a later attempt overwrote the variables' values (or cleared them)
            return _answer(problem, name, t0, attempts, raise_infeasible)
    raise SolverFailed("no solver succeeded: " + ", ".join(f"{s}: {r}" for s, r in attempts), attempts)


def _answer(problem: cp.Problem, name: str, t0: float, attempts: list[tuple[str, str]],
            raise_infeasible: bool) -> ConvexResult:
    """The result for the answer ``problem`` holds now (optimal, infeasible or one of their inaccurate forms)."""
    status = str(problem.status)
    for counts in _COUNTERS:
        counts[status] += 1
    if status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        return ConvexResult(float(problem.value), status, name, time.perf_counter() - t0, attempts)
    if raise_infeasible:
        proof = ("" if status == cp.INFEASIBLE else
                 " (not proven: no solver reached a proven status; attempts: "
                 + ", ".join(f"{s}: {r}" for s, r in attempts) + ")")
        raise InfeasibleError(f"{name} reports the problem {status}{proof}", binding=None)
    return ConvexResult(float("inf"), status, name, time.perf_counter() - t0, attempts)
