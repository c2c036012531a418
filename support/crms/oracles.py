"""Independent oracles for the CRMS problem.

* :func:`scip_optimum` — the MINLP solved globally by SCIP (pyscipopt): integer n, continuous c, m,
  exact M/M/1 latency and linear power, no decomposition.
* :func:`grid_dp_optimum` — an exact knapsack DP over a discretized (c, m) grid and all integer n:
  the objective is separable per app except for the CPU/memory capacity couplings, which become DP
  states. Exact on the grid, so it upper-bounds the continuous optimum.
"""

from __future__ import annotations

import numpy as np

from support.crms.problem import Allocation, Problem, evaluate
from support.opt import grid_knapsack_dp, solve_minlp
from support.queueing import mm1_sojourn_array


def scip_optimum(p: Problem, time_limit: float = 60.0, gap: float = 1e-6) -> Allocation:
    """Global optimum of the CRMS MINLP by SCIP."""
    from pyscipopt import exp

    s = p.server
    pm = s.power_model
    Lam = float(p.lam.sum())

    def build(mdl):
        n, c, m, d, u, L = [], [], [], [], [], []
        for i, a in enumerate(p.apps):
            k = a.model
            n.append(mdl.addVar(f"n{i}", vtype="I", lb=1, ub=s.n_max))
            c.append(mdl.addVar(f"c{i}", lb=s.c_min, ub=s.c_max))
            m.append(mdl.addVar(f"m{i}", lb=s.m_min, ub=s.m_max))
            u.append(mdl.addVar(f"u{i}", lb=1 / s.c_max, ub=1 / s.c_min))  # u = 1/c
            d.append(mdl.addVar(f"d{i}", lb=0))
            L.append(mdl.addVar(f"L{i}", lb=0))  # lam_i * T_i
            mdl.addCons(u[i] * c[i] >= 1)
            mdl.addCons(d[i] >= k.a + k.b * exp(-k.beta * c[i]) + k.h * u[i] + k.g * exp(-k.gamma * m[i]) * u[i])
            mdl.addCons(n[i] - a.lam * d[i] >= p.stability_margin * n[i])
            mdl.addCons(L[i] * (n[i] - a.lam * d[i]) >= a.lam * n[i] * d[i])
        ncs = sum(n[i] * c[i] for i in range(p.N))
        nms = sum(n[i] * m[i] for i in range(p.N))
        mdl.addCons(ncs <= s.cpu)
        mdl.addCons(nms <= s.mem)
        obj = mdl.addVar("obj", lb=None)
        mdl.addCons(obj >= (p.w_lat / Lam) * sum(L) + p.w_pow * (pm.p_idle + pm.watts_per_cpu * ncs
                                                               + pm.beta_mem * nms))
        mdl.setObjective(obj, "minimize")
        return {"n": n, "c": c, "m": m}

    r = solve_minlp(build, time_limit=time_limit, gap=gap)
    n = np.rint(r.values["n"]).astype(int)
    alloc = evaluate(p, n, np.array(r.values["c"]), np.array(r.values["m"]), "SCIP", r.seconds)
    alloc.info.update(scip_objective=r.value, dual_bound=r.bound, gap=r.gap, status=r.status,
                      solver_messages=r.solver_messages)
    return alloc


def grid_dp_optimum(p: Problem, c_step: float = 0.05, m_step: float = 0.03125) -> Allocation:
    """Exact optimum over n in 1..n_max, c on a c_step grid and m on an m_step grid (knapsack DP). Both grids
    must contain their bounds (else the grid misses the corners where optima often sit): a step that does not
    divide c_min, c_max, m_min and m_max is refused."""
    s = p.server
    for name, v, step in (("c_min", s.c_min, c_step), ("c_max", s.c_max, c_step), ("m_min", s.m_min, m_step),
                          ("m_max", s.m_max, m_step)):
        if abs(v / step - round(v / step)) > 1e-9:
            raise ValueError(f"grid step {step} does not divide {name} = {v}; pick a step that does")
    pm = s.power_model
    Lam = float(p.lam.sum())
    cg = np.round(np.arange(s.c_min, s.c_max + 1e-9, c_step) / c_step).astype(int)
    mg = np.round(np.arange(s.m_min, s.m_max + 1e-9, m_step) / m_step).astype(int)
    N_, C_, M_ = np.meshgrid(np.arange(1, s.n_max + 1), cg, mg, indexing="ij")
    N_, C_, M_ = N_.ravel(), C_.ravel(), M_.ravel()
    c, m = C_ * c_step, M_ * m_step
    costs, usages, options = [], [], (N_, c, m)
    for a in p.apps:
        d = a.model(c, m)
        rho = a.lam * d / N_
        lat = np.where(p.stable(rho), a.lam * mm1_sojourn_array(a.lam / N_, 1 / d), np.inf)
        # power is linear, so it splits per app too; p_idle is added once at the end
        cost = (p.w_lat / Lam) * lat + p.w_pow * (pm.watts_per_cpu * N_ * c + pm.beta_mem * N_ * m)
        costs.append(cost)
        usages.append(np.stack([N_ * C_, N_ * M_], axis=1))
    cap = (int(np.floor(s.cpu / c_step + 1e-9)), int(np.floor(s.mem / m_step + 1e-9)))
    val, choice = grid_knapsack_dp(costs, usages, cap)
    if choice is None:
        alloc = Allocation(np.zeros(p.N, int), np.zeros(p.N), np.zeros(p.N), np.inf, np.nan, np.inf,
                           method="grid DP")
        return alloc
    n = np.array([options[0][k] for k in choice]); cc = np.array([options[1][k] for k in choice])
    mm = np.array([options[2][k] for k in choice])
    alloc = evaluate(p, n, cc, mm, "grid DP")
    alloc.info.update(dp_value=val + p.w_pow * pm.p_idle, c_step=c_step, m_step=m_step)
    return alloc
