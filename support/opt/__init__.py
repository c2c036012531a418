"""Shared optimization layer: convex (cvxpy with solver fallback), MINLP oracle (SCIP), LP/MILP (HiGHS),
exact oracles (brute force, grid knapsack DP) and scalar / SCA helpers.

Typical use::

    from support.opt import solve_convex, solve_minlp, solve_lp, grid_knapsack_dp, bisect, bisect_boundary

Every solver wrapper returns a small result dataclass and raises :class:`OptError` subclasses with a
message that names what went wrong (not DCP, infeasible, every solver failed).
"""

from support.opt.convex import (
           DEFAULT_SOLVERS,
           ConvexResult,
           NotDCPError,
           SolverFailed,
           count_statuses,
           solve_convex,
)
from support.opt.errors import InfeasibleError, OptError
from support.opt.lp import LPResult, solve_lp
from support.opt.minlp import MINLPResult, solve_minlp
from support.opt.oracles import brute_force_min, grid_knapsack_dp
from support.opt.scalar import bisect, bisect_boundary, golden_section, sca

__all__ = [
           "DEFAULT_SOLVERS",
           "ConvexResult",
           "InfeasibleError",
           "LPResult",
           "MINLPResult",
           "NotDCPError",
           "OptError",
           "SolverFailed",
           "bisect",
           "bisect_boundary",
           "brute_force_min",
           "count_statuses",
           "golden_section",
           "grid_knapsack_dp",
           "sca",
           "solve_convex",
           "solve_lp",
           "solve_minlp",
]
