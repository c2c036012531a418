"""SCIP (pyscipopt) as a global MINLP oracle.

SCIP solves nonconvex MINLPs with ``exp``, products and quotients to global optimality (spatial
branch and bound). :func:`solve_minlp` takes a ``build(model)`` callback that adds variables,
constraints and the objective, and returns a dict of the variables to read back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from support.opt.errors import InfeasibleError, OptError
from support.opt.native_output import native_output_to_file


@dataclass
class MINLPResult:
    """Outcome of :func:`solve_minlp`: objective, dual bound, relative gap, values of the returned variables."""

    value: float
    bound: float
    gap: float
    status: str
    seconds: float
    values: dict[str, Any]
    solver_messages: str = ""  # what SCIP's LP solver wrote to fd 1/2 despite hideOutput() (count and examples)


def solve_minlp(build: Callable[[Any], dict[str, Any]], *, time_limit: float = 60.0, gap: float = 1e-6,
                threads: int = 1, verbose: bool = False) -> MINLPResult:
    """Build a pyscipopt ``Model`` with ``build(model) -> {name: var or list of vars}`` and solve it globally.

    Raises :class:`InfeasibleError` when SCIP proves infeasibility and :class:`OptError` when it
    fails twice or stops without any feasible solution; an error raised by ``build`` propagates unchanged.
    """
    from pyscipopt import Model

    def make(gap_):
        m = Model()
        if not verbose:
            m.hideOutput()
        m.setParam("limits/time", float(time_limit))
        m.setParam("limits/gap", float(gap_))
        m.setParam("parallel/maxnthreads", int(threads))
        return m, build(m)  # outside the retry below: an error in the caller's build surfaces as itself

    messages: list[str] = []

    def run(m):
        t0 = time.perf_counter()
        if verbose:
            m.optimize()
        else:  # SoPlex writes to std::cerr despite hideOutput(); a long burst would deadlock a Jupyter kernel
            with native_output_to_file() as out:
                m.optimize()
            if out.lines:
                messages.append(out.summary())
        return time.perf_counter() - t0

    m, handles = make(gap)
    try:
        secs = run(m)
    except Exception as first:  # noqa: BLE001 - SCIP reports LP numerical trouble as a plain Exception
        m, handles = make(max(gap, 1e-4))  # one retry with a looser gap, which avoids the deepest (worst) nodes
        try:
            secs = run(m)
        except Exception as e:  # noqa: BLE001
            raise OptError(f"SCIP failed twice: {first}; retry with gap 1e-4: {e}") from None
    status = m.getStatus()
    if status == "infeasible":
        raise InfeasibleError("SCIP proved the MINLP infeasible")
    if m.getNSols() == 0:
        raise OptError(f"SCIP stopped ({status}) without a feasible solution after {secs:.1f} s")

    def read(v):
        if isinstance(v, (list, tuple)):
            return [m.getVal(x) for x in v]
        if isinstance(v, dict):
            return {k: m.getVal(x) for k, x in v.items()}
        return m.getVal(v)

    return MINLPResult(float(m.getObjVal()), float(m.getDualbound()), float(m.getGap()), status, secs,
                       {k: read(v) for k, v in handles.items()}, "; ".join(messages))
