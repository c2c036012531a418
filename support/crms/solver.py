"""The two-stage CRMS solver.

Stage 1 (convex): for fixed container counts n, choose c, m by a DCP program in cvxpy:

    min  (w_lat/Lambda) * sum_i lam_i (d_i + rho_i quad_over_lin(d_i, 1 - rho_i d_i))  +  w_pow * P(sum n c, sum n m)
    s.t. d_i >= a_i + b_i exp(-beta_i c_i) + h_i/c_i + g_i exp(-gamma_i m_i)
         rho_i d_i <= 1 - margin,  sum n c <= C,  sum n m <= M,  box bounds

with rho_i = lam_i / n_i, since T_i = d_i / (1 - rho_i d_i) = d_i + rho_i d_i^2 / (1 - rho_i d_i) for M/M/1
containers (the quad_over_lin terms as second-order cones). The counts enter as cvxpy Parameters (the program
is DPP), so re-solves for new n or new rates reuse the compiled problem.

Stage 2 (greedy refinement): from a stable start, try n_i +/- 1 moves (and, for small N, exchange
moves n_i + 1, n_j - 1 when no single move improves). Moves are screened with the
stage-1 shadow prices of CPU and memory (each candidate's own c, m re-optimized on a grid, the other
apps held fixed), the most promising ones are re-solved exactly, the best improving move is taken;
stop when no move improves. Each iteration costs O(N) screening plus a constant number of convex
solves, so the scheme is polynomial.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from support.crms.problem import Allocation, Problem, diagnose, evaluate
from support.opt import InfeasibleError, SolverFailed, solve_convex
from support.opt.convex import DEFAULT_SOLVERS
from support.queueing import mm1_sojourn_array


class Stage1:
    """Compiled stage-1 convex program for one problem structure (apps and server); rates and counts are parameters."""

    def __init__(self, p: Problem, solvers=DEFAULT_SOLVERS):
        self.p = p
        self.solvers = solvers
        s = p.server
        N = p.N
        self.n = cp.Parameter(N, nonneg=True, name="n")
        self.rho = cp.Parameter(N, nonneg=True, name="rho")
        # the weighted mean latency w_lat sum_i lam_i T_i / Lambda, with T_i = d_i / (1 - rho_i d_i) written as
        # d_i + rho_i d_i^2 / (1 - rho_i d_i): both terms are small when the load is, so no cancellation (the
        # form n_i (1 / (1 - rho_i d_i) - 1), weighted by w_lat n_i / Lambda, lost the answer to it below about
        # 1e-6 requests/s in all)
        self.a = cp.Parameter(N, nonneg=True, name="w_lat_lam_over_Lambda")  # w_lat * lam_i / Lambda
        self.b = cp.Parameter(N, nonneg=True, name="w_lat_lam_rho_over_Lambda")  # ... * rho_i
        self.c = cp.Variable(N, name="c")
        self.m = cp.Variable(N, name="m")
        self.dv = cp.Variable(N, nonneg=True, name="d")
        pm = s.power_model
        cons = [self.c >= s.c_min, self.c <= s.c_max, self.m >= s.m_min, self.m <= s.m_max]
        for i, a in enumerate(p.apps):
            cons.append(self.dv[i] >= a.model.cvx(self.c[i], self.m[i]))
        self.stab = cp.multiply(self.rho, self.dv) <= 1 - p.stability_margin
        self.cap_cpu = self.n @ self.c <= s.cpu
        self.cap_mem = self.n @ self.m <= s.mem
        cons += [self.stab, self.cap_cpu, self.cap_mem]
        self.sq = cp.Variable(N, name="queueing")  # sq_i >= d_i^2 / (1 - rho_i d_i) = (T_i - d_i) / rho_i
        slack = 1 - cp.multiply(self.rho, self.dv)  # 1 - rho_i d_i > 0 (the stability constraint)
        # sq_i (1 - rho_i d_i) >= d_i^2 as N second-order cones ||(2 d_i, sq_i - slack_i)|| <= sq_i + slack_i
        cons.append(cp.SOC(self.sq + slack, cp.vstack([2 * self.dv, self.sq - slack]), axis=0))
        lat = self.a @ self.dv + self.b @ self.sq
        powr = p.w_pow * (pm.p_idle + pm.watts_per_cpu * (self.n @ self.c) + pm.beta_mem * (self.n @ self.m))
        self.prob = cp.Problem(cp.Minimize(lat + powr), cons)
        self.is_dcp = self.prob.is_dcp()
        self.is_dpp = self.prob.is_dcp(dpp=True)
        self.solves = 0

    def solve(self, n, lam=None):
        """Optimal (objective, c, m, cpu price, mem price) for counts ``n``; objective inf if infeasible, or if
        only an inaccurate answer came back and its point is infeasible."""
        lam = self.p.lam if lam is None else np.asarray(lam, float)
        n = np.asarray(n, float)
        self.n.value = n
        self.rho.value = lam / n
        self.a.value = self.p.w_lat * lam / float(lam.sum())
        self.b.value = self.a.value * lam / n
        self.solves += 1
        try:
            r = solve_convex(self.prob, self.solvers, require_dpp=True, raise_infeasible=False)
        except SolverFailed:
            return np.inf, None, None, 0.0, 0.0
        if not np.isfinite(r.value):
            return np.inf, None, None, 0.0, 0.0
        c = np.clip(self.c.value, self.p.server.c_min, self.p.server.c_max)
        m = np.clip(self.m.value, self.p.server.m_min, self.p.server.m_max)
        if r.status != cp.OPTIMAL and not np.isfinite(evaluate(self.p, n, c, m).objective):
            # every solver was inaccurate and the point it left breaks stability or capacity: no proof of a
            # feasible point at these counts (taking it would let CRMS return an infeasible allocation)
            return np.inf, None, None, 0.0, 0.0
        nu_c = float(self.cap_cpu.dual_value or 0.0)
        nu_m = float(self.cap_mem.dual_value or 0.0)
        return r.value, c, m, max(nu_c, 0.0), max(nu_m, 0.0)


@dataclass
class CRMSConfig:
    top_k: int = 4  # exact re-solves per greedy iteration (all moves when 2N <= exhaustive_below)
    exhaustive_below: int = 12
    swap_below: int = 20  # try pairwise exchange moves when N (N - 1) <= this
    max_iter: int = 500
    grid_c: int = 48
    grid_m: int = 16
    solvers: tuple = DEFAULT_SOLVERS
    feasibility_tries: int = 256  # stage-1 solves spent looking for feasible counts when every start fails


def _app_terms(p: Problem, i: int, n, cs, ms, nu_c, nu_m, Lam):
    """Lagrangian contribution of app i with n containers at (cs, ms) (arrays, broadcast)."""
    a = p.apps[i]
    pm = p.server.power_model
    d = a.model(cs, ms)
    rho = a.lam * d / n
    # unstable is inf after the weight: w_lat = 0 (allowed) times inf would be NaN, which the screening sorts
    # (the discarded branch of the where still computes 0 x inf there, hence the errstate)
    with np.errstate(invalid="ignore"):
        lat = np.where(p.stable(rho), (p.w_lat / Lam) * a.lam * mm1_sojourn_array(a.lam / n, 1 / d), np.inf)
    return lat + n * cs * (p.w_pow * pm.watts_per_cpu + nu_c) + n * ms * (p.w_pow * pm.beta_mem + nu_m)


def _fits_minimums(p: Problem, n) -> bool:
    """Counts ``n`` leave room for every container's minimum CPU and memory on the server."""
    return np.sum(n) * p.server.c_min <= p.server.cpu and np.sum(n) * p.server.m_min <= p.server.mem


def start_counts(p: Problem) -> list[np.ndarray]:
    """Candidate greedy starts, tried in order until stage 1 is feasible: per app the count needing the
    least total CPU to be stable at m_max, plus one container of headroom; the same without headroom;
    and the fewest containers that are stable at (c_max, m_max) (the most memory-frugal start)."""
    from support.crms.problem import min_cpu_need

    s = p.server
    n_cpu = np.array([min_cpu_need(p, a)[1] for a in p.apps], int)
    n_min = np.array([next(k for k in range(1, s.n_max + 1)
                           if a.lam * float(a.model(s.c_max, s.m_max)) / k <= 1 - p.stability_margin)
                      for a in p.apps], int)
    out = []
    for n in (np.minimum(n_cpu + 1, s.n_max), n_cpu, n_min):
        if _fits_minimums(p, n) and not any(np.array_equal(n, o) for o in out):
            out.append(n)
    return out or [n_min]


def feasible_counts_near(st: Stage1, p: Problem, starts, max_tries: int):
    """Breadth-first over container counts at growing L1 distance from ``starts`` (one app +/-1 per step,
    within 1..n_max and the servers' container minimums) until stage 1 is feasible: ``(n, stage-1 result)``, or
    None after ``max_tries`` solves. The start counts are a heuristic; a feasible vector can lie next to them."""
    s = p.server
    seen = {tuple(int(v) for v in x) for x in starts}
    frontier, tries = [np.asarray(x, int) for x in starts], 0
    while frontier:
        nxt = []
        for n in frontier:
            for i in range(p.N):
                for step in (-1, 1):
                    k = n.copy()
                    k[i] += step
                    key = tuple(int(v) for v in k)
                    if not 1 <= k[i] <= s.n_max or key in seen:
                        continue
                    seen.add(key)
                    nxt.append(k)
                    if not _fits_minimums(p, k):
                        continue
                    if tries >= max_tries:
                        return None
                    tries += 1
                    res = st.solve(k, p.lam)
                    if np.isfinite(res[0]):
                        return k, res
        frontier = nxt
    return None


def crms(p: Problem, config: CRMSConfig | None = None, stage1: Stage1 | None = None, n0=None) -> Allocation:
    """Solve the CRMS problem: stage-1 convex + stage-2 greedy refinement. Raises InfeasibleError
    naming the binding constraint when the problem has no feasible allocation."""
    cfg = config or CRMSConfig()
    t0 = time.perf_counter()
    diagnose(p)
    st = stage1 if stage1 is not None else Stage1(p, cfg.solvers)
    if not st.is_dcp:
        raise RuntimeError("stage-1 program is not DCP")
    if st.p.apps != p.apps and [a.model for a in st.p.apps] != [a.model for a in p.apps]:
        raise ValueError("stage1 was compiled for different apps (models); build a new Stage1")
    s = p.server
    if st.p.server != s:
        raise ValueError("stage1 was compiled for a different server; build a new Stage1")
    diff = [k for k in ("w_lat", "w_pow", "stability_margin") if getattr(st.p, k) != getattr(p, k)]
    if diff:  # they are constants of the compiled program: a reuse would optimize the old objective
        raise ValueError(f"stage1 was compiled with different {', '.join(diff)}; build a new Stage1")
    lam = p.lam
    Lam = float(lam.sum())
    starts = start_counts(p)
    if n0 is not None:
        starts.insert(0, np.clip(np.asarray(n0, int), 1, s.n_max))
    for n in starts:
        best, c, m, nu_c, nu_m = st.solve(n, lam)
        if np.isfinite(best):
            break
    if not np.isfinite(best):
        near = feasible_counts_near(st, p, starts, cfg.feasibility_tries)
        if near is None:
            raise InfeasibleError("CPU and memory capacity jointly: no stable allocation at the start counts "
                                  f"{[x.tolist() for x in starts]} or at up to {cfg.feasibility_tries} counts near them; the "
                                  f"apps' demand exceeds what the server's {s.cpu} CPUs and {s.mem} GB can serve",
                                  binding="cpu_and_memory_capacity")
        n, (best, c, m, nu_c, nu_m) = near
    cg = np.linspace(s.c_min, s.c_max, cfg.grid_c)[:, None]
    mg = np.linspace(s.m_min, s.m_max, cfg.grid_m)[None, :]
    history = [best]
    it = 0
    for it in range(1, cfg.max_iter + 1):
        # screen all +/-1 moves with the current shadow prices
        cand = []
        for i in range(p.N):
            cur = float(_app_terms(p, i, n[i], c[i], m[i], nu_c, nu_m, Lam))
            for step in (-1, 1):
                k = n[i] + step
                if k < 1 or k > s.n_max:
                    continue
                est = float(np.min(_app_terms(p, i, k, cg, mg, nu_c, nu_m, Lam))) - cur
                cand.append((est, i, step))
        cand.sort()
        trial = cand if 2 * p.N <= cfg.exhaustive_below else cand[: cfg.top_k]
        improved = False
        # batch: all apps whose best screened move improves, applied together
        if 2 * p.N > cfg.exhaustive_below:
            seen, batch = set(), n.copy()
            for est, i, step in cand:
                if est < 0 and i not in seen:
                    seen.add(i)
                    batch[i] += step
            if len(seen) > 1:
                val, c2, m2, a2, b2 = st.solve(batch, lam)
                if val < best - 1e-9 * max(1.0, abs(best)):
                    n, best, c, m, nu_c, nu_m = batch, val, c2, m2, a2, b2
                    improved = True
        if not improved:
            results = []
            for est, i, step in trial:
                nn = n.copy(); nn[i] += step
                val, c2, m2, a2, b2 = st.solve(nn, lam)
                results.append((val, nn, c2, m2, a2, b2))
            if results:
                val, nn, c2, m2, a2, b2 = min(results, key=lambda r: r[0])
                if val < best - 1e-9 * max(1.0, abs(best)):
                    n, best, c, m, nu_c, nu_m = nn, val, c2, m2, a2, b2
                    improved = True
        if not improved and p.N * (p.N - 1) <= cfg.swap_below:
            # exchange moves (one container from app j to app i) escape capacity-coupled local optima
            results = []
            for i in range(p.N):
                for j in range(p.N):
                    if i == j or n[i] >= s.n_max or n[j] <= 1:
                        continue
                    nn = n.copy(); nn[i] += 1; nn[j] -= 1
                    results.append((*st.solve(nn, lam)[:1], nn))
            if results:
                val, nn = min(results, key=lambda r: r[0])
                if val < best - 1e-9 * max(1.0, abs(best)):
                    best, c, m, nu_c, nu_m = st.solve(nn, lam)
                    n = nn
                    improved = True
        history.append(best)
        if not improved:
            break
    alloc = evaluate(p, n, c, m, "CRMS", time.perf_counter() - t0)
    alloc.info.update(iterations=it, convex_solves=st.solves, history=history, stage1_objective=best,
                      dcp=st.is_dcp, dpp=st.is_dpp)
    return alloc
