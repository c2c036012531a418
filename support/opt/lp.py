"""LP / MILP on HiGHS (highspy): ``min c.x  s.t.  A_ub x <= b_ub,  A_eq x = b_eq,  lb <= x <= ub``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from support.opt.errors import InfeasibleError, OptError


@dataclass
class LPResult:
    """Outcome of :func:`solve_lp`."""

    x: np.ndarray
    value: float
    status: str
    duals_ub: np.ndarray | None  # row duals of the <= rows (LP only)


def solve_lp(c, A_ub=None, b_ub=None, A_eq=None, b_eq=None, bounds=(0.0, None), integrality=None,
             time_limit: float = 60.0) -> LPResult:
    """Solve an LP, or a MILP when ``integrality`` (1 = integer per column) is given, with HiGHS.

    ``bounds`` is one (lb, ub) pair for all columns or a list of pairs; ``None`` means unbounded.
    Raises :class:`InfeasibleError` (problem infeasible) or :class:`OptError` (unbounded, other).
    """
    import highspy

    c = np.asarray(c, float)
    n = c.size
    rows, lo, hi = [], [], []
    if A_ub is not None:
        A = np.atleast_2d(np.asarray(A_ub, float))
        rows.append(A); lo.append(np.full(A.shape[0], -np.inf)); hi.append(np.asarray(b_ub, float))
    n_ub = rows[0].shape[0] if rows else 0
    if A_eq is not None:
        A = np.atleast_2d(np.asarray(A_eq, float))
        rows.append(A); lo.append(np.asarray(b_eq, float)); hi.append(np.asarray(b_eq, float))
    if isinstance(bounds, tuple) and len(bounds) == 2 and not isinstance(bounds[0], (tuple, list)):
        bounds = [bounds] * n
    lb = np.array([-np.inf if b[0] is None else b[0] for b in bounds], float)
    ub = np.array([np.inf if b[1] is None else b[1] for b in bounds], float)

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    inf = highspy.kHighsInf
    h.addVars(n, np.where(np.isinf(lb), -inf, lb), np.where(np.isinf(ub), inf, ub))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), c)
    if rows:
        A = np.vstack(rows)
        L = np.concatenate(lo); U = np.concatenate(hi)
        for r in range(A.shape[0]):
            idx = np.nonzero(A[r])[0].astype(np.int32)
            h.addRow(-inf if np.isinf(L[r]) else L[r], inf if np.isinf(U[r]) else U[r], idx.size, idx, A[r, idx])
    if integrality is not None:
        integ = np.asarray(integrality, dtype=np.int32)
        h.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                                np.array([highspy.HighsVarType.kInteger if v else highspy.HighsVarType.kContinuous
                                          for v in integ]))
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
        raise InfeasibleError("HiGHS: the LP/MILP is infeasible")
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise OptError(f"HiGHS stopped with status {status!r}")
    sol = h.getSolution()
    x = np.array(sol.col_value)
    duals = np.array(sol.row_dual)[:n_ub] if integrality is None and n_ub else None
    return LPResult(x, float(c @ x), status, duals)
