"""LP / MILP on HiGHS (highspy): ``min c.x  s.t.  A_ub x <= b_ub,  A_eq x = b_eq,  lb <= x <= ub``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from support.opt.errors import InfeasibleError, OptError
from support.opt.native_output import native_output_to_file


@dataclass
class LPResult:
    """Outcome of :func:`solve_lp`."""

    x: np.ndarray
    value: float
    status: str
    duals_ub: np.ndarray | None  # row duals of the <= rows (LP only)
    mip_gap: float | None = None  # the relative gap HiGHS proved (MILP only; at most solve_lp's mip_rel_gap)


_banner_shown = False


def _new_highs():
    """A silent ``highspy.Highs()``. HiGHS prints its banner to C-level stdout on the first construction in a
    process, before ``output_flag`` can be set; that construction runs with fd 1 pointed at a temporary file."""
    import highspy

    global _banner_shown
    if _banner_shown:
        h = highspy.Highs()
    else:
        with native_output_to_file((1,)):
            h = highspy.Highs()
        _banner_shown = True
    h.setOptionValue("output_flag", False)
    return h


def _finite_array(name: str, a, ndim: int) -> np.ndarray:
    """``a`` as a float array of ``ndim`` dimensions with only finite entries, else a ValueError naming it."""
    a = np.asarray(a, float)
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} has non-finite entries (NaN or inf) at {np.argwhere(~np.isfinite(a))[:3].tolist()}")
    return a


def solve_lp(c, A_ub=None, b_ub=None, A_eq=None, b_eq=None, bounds=(0.0, None), integrality=None,
             time_limit: float = 60.0, mip_rel_gap: float = 1e-9) -> LPResult:
    """Solve an LP, or a MILP when ``integrality`` (1 = integer per column) is given, with HiGHS.

    ``bounds`` is one (lb, ub) pair for all columns or a list of pairs; ``None`` means unbounded.
    A MILP is solved to a relative gap of ``mip_rel_gap`` (HiGHS's default 1e-4 let "Optimal" answers lie up to
    1e-4 above the optimum on near-ties), and what HiGHS writes to stdout while solving it is captured.
    Raises :class:`ValueError` naming the argument whose shape disagrees with ``c`` (or with its matrix)
    or that holds a non-finite value, :class:`InfeasibleError` (problem infeasible) or :class:`OptError`
    (unbounded, other).
    """
    import highspy

    c = _finite_array("c", c, 1)
    n = c.size
    if n == 0:
        raise ValueError("c is empty: the LP needs at least one column")
    rows, lo, hi = [], [], []
    n_ub = 0
    for name, A_, b_ in (("A_ub", A_ub, b_ub), ("A_eq", A_eq, b_eq)):
        b_name = "b" + name[1:]
        if A_ is None:
            if b_ is not None:
                raise ValueError(f"{b_name} is given without {name}")
            continue
        A = _finite_array(name, np.atleast_2d(np.asarray(A_, float)), 2)
        if A.shape[1] != n:
            raise ValueError(f"{name} has {A.shape[1]} columns, c has {n}")
        if b_ is None:
            raise ValueError(f"{name} is given without {b_name}")
        b = _finite_array(b_name, np.atleast_1d(np.asarray(b_, float)), 1)
        if b.size != A.shape[0]:
            raise ValueError(f"{b_name} has {b.size} entries, {name} has {A.shape[0]} rows")
        rows.append(A)
        if name == "A_ub":
            lo.append(np.full(A.shape[0], -np.inf)); hi.append(b); n_ub = A.shape[0]
        else:
            lo.append(b); hi.append(b)
    if isinstance(bounds, tuple) and len(bounds) == 2 and not isinstance(bounds[0], (tuple, list)):
        bounds = [bounds] * n
    if len(bounds) != n or any(not isinstance(b, (tuple, list, np.ndarray)) or len(b) != 2 for b in bounds):
        raise ValueError(f"bounds must be one (lb, ub) tuple or {n} pairs (one per column of c), got {bounds!r:.80}")
    lb = np.array([-np.inf if b[0] is None else b[0] for b in bounds], float)
    ub = np.array([np.inf if b[1] is None else b[1] for b in bounds], float)
    if np.isnan(lb).any() or np.isnan(ub).any():
        raise ValueError("bounds contain NaN (use None or +-inf for an unbounded side)")
    if integrality is not None and np.size(integrality) != n:
        raise ValueError(f"integrality has {np.size(integrality)} flags, c has {n} columns")
    if not (np.isfinite(mip_rel_gap) and 0 <= mip_rel_gap < 1):
        raise ValueError(f"mip_rel_gap must be in [0, 1), got {mip_rel_gap!r}")

    h = _new_highs()
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
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        h.setOptionValue("mip_abs_gap", 0.0)
        with native_output_to_file((1,)):  # HiGHS's MIP solver prints some diagnostics despite output_flag
            h.run()
    else:
        h.run()
    status = h.modelStatusToString(h.getModelStatus())
    if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
        raise InfeasibleError("HiGHS: the LP/MILP is infeasible")
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise OptError(f"HiGHS stopped with status {status!r}")
    sol = h.getSolution()
    x = np.array(sol.col_value)
    duals = np.array(sol.row_dual)[:n_ub] if integrality is None and n_ub else None
    gap = float(h.getInfo().mip_gap) if integrality is not None else None
    return LPResult(x, float(c @ x), status, duals, gap)
