"""cvxpy wrapper: verify the problem is DCP (or DPP), then try solvers in order until one succeeds.

The default order is CLARABEL -> ECOS -> SCS (interior point first, first-order last). Solvers that
are not installed are skipped. The result says which solver answered and what each attempt gave.
"""

from __future__ import annotations

import functools
import time
import warnings
from dataclasses import dataclass, field

import cvxpy as cp

from support.opt.errors import InfeasibleError, OptError

DEFAULT_SOLVERS = ("CLARABEL", "ECOS", "SCS")
_OK = {cp.OPTIMAL, cp.OPTIMAL_INACCURATE}
_INFEASIBLE = {cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE}


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
    """Solve a cvxpy ``problem`` with the first solver in ``solvers`` that reports an optimum.

    Raises :class:`NotDCPError` when the problem breaks the DCP rules (or DPP rules with
    ``require_dpp``), :class:`InfeasibleError` when a solver proves infeasibility (unless
    ``raise_infeasible=False``, then the result has status ``infeasible``) and :class:`SolverFailed`
    when no solver succeeds.
    """
    if not problem.is_dcp():
        raise NotDCPError(f"problem is not DCP: {_why_not_dcp(problem)}")
    if require_dpp and not problem.is_dcp(dpp=True):
        raise NotDCPError("problem is DCP but not DPP (parameters enter non-affinely); re-solves would recompile")
    installed = _installed_solvers()
    attempts: list[tuple[str, str]] = []
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
        if problem.status in _OK:
            return ConvexResult(float(problem.value), str(problem.status), name, time.perf_counter() - t0, attempts)
        if problem.status in _INFEASIBLE:
            if raise_infeasible:
                raise InfeasibleError(f"{name} reports the problem {problem.status}", binding=None)
            return ConvexResult(float("inf"), str(problem.status), name, time.perf_counter() - t0, attempts)
    raise SolverFailed("no solver succeeded: " + ", ".join(f"{s}: {r}" for s, r in attempts), attempts)
