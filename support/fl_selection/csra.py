"""CSRA: joint client selection and resource allocation (reconstructed for arXiv 2512.24286 Sec. IV).

1. Relax a_k in {0,1} to [0,1]. For a fixed round deadline T the relaxed energy problem is convex when each
   client's variables are scaled by a_k (perspective relaxation): compute energy kappa A^3 a^3 / tc^2 (power
   cone), upload energy p tu, rate b log2(1 + g p a / (N0 b)) >= s a^2 / tu (exponential cone), deadline
   tc + tu <= a T, bandwidth sum b <= B, participation sum a = m. At a_k = 1 it is the exact per-client model.
2. The generalization constraint c1 delta(S) + c2 / sqrt(D_S) <= eps becomes, times D_S,
   (c1/2) || sum a_k D_k (p_k - p) ||_1 <= eps n - c2 sqrt(n), n = sum a_k D_k; sqrt(n) is linearised at n0
   (successive convex approximation, an inner approximation so every SCA point is feasible).
3. The round deadline T is searched (log grid, then golden section on log T) for the cost
   w T/T_unit + (1-w) E(T)/E_unit.
4. Greedy rounding with feasibility repair: seeds are the top-m clients by a, boundary swaps and the m cheapest
   clients by a solo-cost surrogate; from each seed a 1-swap search first lowers the constraint violation
   (steepest or cheapest decreasing swap), then lowers the surrogate while staying feasible; if every search
   is stuck, a beam search on the generalization term supplies feasible sets. The best few feasible sets by
   the surrogate get the exact convex allocation and the cheapest by the true cost wins.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from support.fl_selection.allocation import LN2, Allocation, CostWeights, joint_allocation, solver_parameters
from support.fl_selection.generalization import GenConstraint
from support.fl_selection.heterogeneity import global_distribution
from support.fl_selection.system import WirelessSystem
from support.opt import InfeasibleError, OptError, golden_section, solve_convex
from support.wireless.energy import compute_energy, compute_time, upload_energy, upload_time
from support.wireless.rate import shannon_rate

# The relaxed program's unit of time (0.1 ms): with ms units and a free compute time, CLARABEL failed or ended
# inaccurate on 158 of the 1,796 relaxed solves of 2 default seeds; with tc = T a - tu and 0.1 ms, 13 of 1,677
# (0.05-0.3 ms: 13-21; 10 ms: 201). Replayed rounds kept their selected sets (140 of 140), but in the notebook late
# rounds of two default seeds selected differently (README, paper 07).
REL_TIME_UNIT_S = 1e-4


class _Relaxed:
    """DPP-parametrised relaxed selection + allocation program for K clients, m selected, C classes."""

    def __init__(self, K: int, m: int, C: int):
        self.coef = cp.Parameter(K, nonneg=True)
        self.pm = cp.Parameter(K, nonneg=True)
        self.snr = cp.Parameter(K, nonneg=True)
        self.tmin = cp.Parameter(K, nonneg=True)
        self.sM = cp.Parameter(nonneg=True)
        self.BM = cp.Parameter(nonneg=True)
        self.T = cp.Parameter(nonneg=True)
        self.V = cp.Parameter((C, K))          # columns (c1 / 2) D_k (p_k - p)  (one parameter keeps it DPP)
        self.Dg = cp.Parameter(K)              # (eps - c2 / (2 sqrt n0)) D_k
        self.g0 = cp.Parameter()               # c2 sqrt(n0) / 2
        self.a = cp.Variable(K)
        self.b = cp.Variable(K, nonneg=True)
        self.tu = cp.Variable(K, nonneg=True)
        self.z = cp.Variable(K, nonneg=True)   # >= a^3 / tc^2
        self.y = cp.Variable(K, nonneg=True)   # >= a^2 / tu
        self.tc = self.T * self.a - self.tu    # computes for the rest of the (perspective) deadline: at the
        # optimum it does, and a free tc <= T a - tu was left unresolved where its CPU energy is negligible
        cons = [self.a >= 0, self.a <= 1, cp.sum(self.a) == m,
                cp.PowCone3D(self.z, self.tc, self.a, 1 / 3),
                cp.PowCone3D(self.y, self.tu, self.a, 1 / 2),
                -cp.rel_entr(self.b, self.b + cp.multiply(self.snr, self.a)) >= LN2 * self.sM * self.y,
                self.tc >= cp.multiply(self.tmin, self.a),
                cp.sum(self.b) <= self.BM,
                cp.norm1(self.V @ self.a) <= self.Dg @ self.a - self.g0]
        energy = cp.sum(cp.multiply(self.coef, self.z) + cp.multiply(self.pm, self.tu))
        self.problem = cp.Problem(cp.Minimize(energy), cons)

    def set_system(self, system: WirelessSystem, P: np.ndarray):
        (self.coef.value, self.pm.value, self.snr.value, self.tmin.value, self.sM.value,
         self.BM.value) = solver_parameters(system, slice(None), REL_TIME_UNIT_S)
        self.dev = ((P - global_distribution(P, system.D)) * system.D[:, None]).T

    def set_gen(self, gen: GenConstraint, D: np.ndarray, n0: float):
        self.V.value = gen.c1 / 2 * self.dev
        self.Dg.value = (gen.eps - gen.c2 / (2 * math.sqrt(n0))) * D
        self.g0.value = gen.c2 * math.sqrt(n0) / 2


@functools.lru_cache(maxsize=16)
def _relaxed(K: int, m: int, C: int) -> _Relaxed:
    return _Relaxed(K, m, C)


@dataclass
class CSRAResult:
    """The chosen selection with its allocation, the relaxed solution and bookkeeping."""

    allocation: Allocation
    a_relaxed: np.ndarray
    T_relaxed: float
    relaxed_cost: float
    gen_value: float
    candidates: int
    solves: int
    seconds: float

    @property
    def S(self) -> np.ndarray:
        return self.allocation.S


def solo_round(system: WirelessSystem, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-client round time and energy alone with bandwidth B/m at f_max (the ``support.wireless`` models of
    Sec. II): the surrogate that ranks rounding candidates, the deadline search's scale, Oort's client speed."""
    r = shannon_rate(system.B / m, system.gain, system.p, system.n0)
    t = compute_time(system.L, system.c, system.D, system.f_max) + upload_time(system.s, r)
    e = compute_energy(system.kappa, system.L, system.c, system.D, system.f_max) + upload_energy(system.p, system.s, r)
    return t, e


def _gen_value(gen: GenConstraint, P, D):
    """Fast ``gen.of_selection`` for many sets: c1 TV(mixture of S, p) + c2 / sqrt(D_S) from precomputed
    columns D_k (p_k - p) (the same formula as ``mixture_discrepancy``). The returned function takes one
    set (a float back) or an (n, m) array of sets (an array back)."""
    dev = (P - global_distribution(P, D)) * D[:, None]

    def value(S):
        S = np.asarray(S, dtype=np.int64)
        n = D[S].sum(-1)
        v = gen.c1 * 0.5 * np.abs(dev[S].sum(-2)).sum(-1) / n + gen.c2 / np.sqrt(n)
        return float(v) if S.ndim == 1 else v
    return value


def _swaps(S: list[int], pool: list[int]) -> np.ndarray:
    """Every 1-swap neighbour of S (member i out, pool client j in, j not in S) as rows, i-major."""
    J = np.array([j for j in pool if j not in S], dtype=np.int64)
    m = len(S)
    T = np.tile(np.asarray(S, dtype=np.int64), (m, len(J), 1))
    T[np.arange(m), :, np.arange(m)] = J
    return T.reshape(-1, m)


def _constrained_swaps(S: list[int], gen: GenConstraint, P, D, pool: list[int], proxy, steepest: bool,
                       max_steps: int, memo: dict | None = None) -> list[list[int]]:
    """1-swap local search (member out, pool client in). While infeasible a swap must lower the violation:
    ``steepest`` takes the largest decrease, otherwise the cheapest (by ``proxy``) decreasing swap; once
    feasible, swaps that keep it feasible and lower the proxy cost are taken; ties go to the first swap in
    (member, pool) order. Returns the feasible sets met. ``proxy`` maps an (n, m) array of sets to costs.
    ``memo``: a dict shared by searches with the same gen, P, D, pool and proxy (the neighbours of a set and
    their violations and proxy costs are computed once per ordered set; the same arrays as recomputed)."""
    S, found, g = list(S), [], _gen_value(gen, P, D)
    v = g(S) - gen.eps
    for _ in range(max_steps):
        feas = v <= 1e-9
        if feas:
            found.append(list(S))
        key = tuple(S)
        if memo is not None and key in memo:
            T, vt, pt = memo[key]
        else:
            T = _swaps(S, pool)
            vt, pt = (g(T) - gen.eps, proxy(T)) if len(T) else (None, None)
            if memo is not None:
                memo[key] = (T, vt, pt)
        if not len(T):
            break
        if feas:
            ok = (vt <= 1e-9) & (pt < proxy(S) - 1e-12)
            order = np.flatnonzero(ok)[np.argsort(pt[ok], kind="stable")]
        else:
            ok = vt < v - 1e-12
            first, second = (np.maximum(vt, 0.0), pt) if steepest else (pt, vt)
            order = np.flatnonzero(ok)[np.lexsort((second[ok], first[ok]))]
        if not len(order):
            break
        S, v = T[order[0]].tolist(), float(vt[order[0]])
    if v <= 1e-9 and S not in found:
        found.append(list(S))
    return found


def _beam_min_generalization(P, D, m: int, gen: GenConstraint, width: int) -> list[list[int]]:
    """Beam search over growing sets by the generalization term (the greedy fallback is width 1);
    returns the feasible m-sets of the final beam."""
    beam, values = np.zeros((1, 0), dtype=np.int64), []  # the beam's sets as rows, best first
    g = _gen_value(gen, P, D)
    for _ in range(m):
        rows, ks, seen = [], [], set()
        for i, S in enumerate(beam.tolist()):
            mask = sum(1 << j for j in S)  # S as a bit mask: S + {k} is mask | 1 << k
            for k in range(len(D)):
                key = mask | 1 << k
                if key == mask or key in seen:
                    continue
                seen.add(key)
                rows.append(i)
                ks.append(k)
        grown = np.column_stack([beam[rows], np.array(ks, dtype=np.int64)])
        # one call on all rows (each row's value is bitwise its one-set value); a stable sort keeps ties in order
        v = g(grown)
        order = np.argsort(v, kind="stable")[:width]
        beam, values = grown[order], v[order].tolist()
    return [S for v, S in zip(values, beam.tolist()) if v <= gen.eps + 1e-9]


def _round(a: np.ndarray, system: WirelessSystem, P, m: int, gen: GenConstraint, weights: CostWeights,
           n_candidates: int, n_exact: int) -> list[list[int]]:
    """Rounding with feasibility repair: seeds from the relaxed a (top-m, boundary swaps, a-weighted by the
    cost surrogate), constrained swap search from each seed, a beam-search fallback; the distinct feasible
    sets are ranked by the surrogate and the best ``n_exact`` are returned, after the first seed (in seed order)
    that is feasible as it stands, if any; so at most ``n_exact + 1`` distinct sets."""
    D = system.D
    K = len(D)
    t_solo, e_solo = solo_round(system, m)

    def proxy(S):
        """Surrogate cost of one set (a float) or of each row of an (n, m) array of sets."""
        S = np.asarray(S, dtype=np.int64)
        c = weights.cost(t_solo[S].max(-1), e_solo[S].sum(-1))
        return float(c) if S.ndim == 1 else c

    order = [int(k) for k in np.argsort(-a, kind="stable")]
    top = order[:m]
    seeds = [top] + [top[:-1] + [j] for j in order[m:m + n_candidates]]
    cheap = [int(k) for k in np.argsort([proxy([k]) for k in range(K)], kind="stable")]
    seeds.append(cheap[:m])
    pool = order[:min(K, 3 * m + n_candidates)]
    pool += [k for k in cheap[:min(K, 2 * m)] if k not in pool]
    feasible: dict[frozenset, list[int]] = {}
    direct = []
    memo: dict = {}  # every search below shares gen, P, D, pool and proxy
    for S in seeds:
        if gen.feasible(P, D, S):
            direct.append(S)
        for steepest in (True, False):
            for T in _constrained_swaps(S, gen, P, D, pool, proxy, steepest, max_steps=2 * m + 4, memo=memo):
                feasible.setdefault(frozenset(T), T)
    if not feasible:  # every swap search stuck in an infeasible local minimum
        memo = {}  # the searches below share the pool of all K clients
        for S in _beam_min_generalization(P, D, m, gen, width=max(8, 2 * m)):
            for T in [S, *_constrained_swaps(S, gen, P, D, list(range(K)), proxy, False, max_steps=2 * m + 4,
                                             memo=memo)]:
                feasible.setdefault(frozenset(T), T)
    ranked = sorted((S for S in feasible.values() if gen.feasible(P, D, S)), key=proxy)[:n_exact]
    out, seen = [], set()
    for S in direct[:1] + ranked:
        if frozenset(S) not in seen:
            seen.add(frozenset(S))
            out.append(S)
    return out


def csra(system: WirelessSystem, P: np.ndarray, m: int, gen: GenConstraint, weights: CostWeights, *,
         n_candidates: int = 3, n_exact: int = 4, sca_iters: int = 2, logT_tol: float = 0.03, n_grid: int = 7,
         n0: float | None = None, T_hint: float | None = None) -> CSRAResult:
    """Select m of K clients and allocate bandwidth/CPU for one round (relax, search T, round greedily).

    ``T_hint`` (e.g. the previous round's relaxed deadline) replaces the wide initial deadline grid by three
    points around it; the grid still extends itself when the best point is at an edge.
    """
    t0 = time.perf_counter()
    K = system.K
    P = np.asarray(P, float)
    if P.shape[0] != K:
        raise ValueError(f"P has {P.shape[0]} rows for {K} clients")
    if not 1 <= m <= K:
        raise ValueError(f"m must be in 1..{K}; got {m}")
    if not system.B > 0:
        raise InfeasibleError(f"uplink bandwidth B = {system.B} Hz: no client can upload", binding="bandwidth")
    D = system.D
    pr = _relaxed(K, m, P.shape[1])
    pr.set_system(system, P)
    n_lin = float(n0) if n0 is not None else m * float(D.mean())
    pr.set_gen(gen, D, n_lin)
    solves = 0
    solved: dict[float, tuple[float, np.ndarray | None]] = {}  # deadline -> (energy, a) under the present constraint

    def energy_at(T: float) -> float:
        # CLARABEL only (SCS takes ~20 s here); it fails now and then on this degenerate perspective program,
        # so a failed deadline (an error, or an infeasibility it could not prove) is retried at two nearby
        # deadlines before it counts as infeasible. A deadline answered before under the same constraint (the
        # search's best point, asked again for T_rel) is not re-solved: CLARABEL is deterministic, so the answer
        # and the relaxed a it left in pr.a are restored as they were
        nonlocal solves
        if T in solved:
            E, a = solved[T]
            pr.a.value = None if a is None else a.copy()
            return E
        for Tx in (T, T * 1.002, T / 1.002):
            pr.T.value = Tx / REL_TIME_UNIT_S
            solves += 1
            try:
                r = solve_convex(pr.problem, solvers=("CLARABEL",), raise_infeasible=False)
            except OptError:
                continue
            if r.status == cp.INFEASIBLE_INACCURATE:
                continue
            E = r.value / 1e3 if math.isfinite(r.value) else math.inf
            solved[T] = (E, None if pr.a.value is None else np.array(pr.a.value, copy=True))
            return E
        return math.inf

    def cost_at(logT: float) -> float:
        T = math.exp(logT)
        E = energy_at(T)
        return weights.cost(T, E) if math.isfinite(E) else 1e30 * (1 + abs(logT))

    # deadline search: a coarse log grid from half the m-th fastest solo time (B/m each, f_max) to 20x that
    # (robust to an occasional failed solve), then golden section between the best point's neighbours
    solo = solo_round(system, m)[0]
    T_a = 0.5 * float(np.sort(solo)[m - 1])

    def search() -> float:
        """The relaxed problem's best deadline (log seconds) under the present constraint; a grid point
        where it is infeasible costs 1e30, so when every point is, the result means nothing (the caller checks)."""
        if T_hint is not None and T_hint > 0:
            grid = math.log(T_hint) + np.array([-0.4, 0.0, 0.4])
        else:
            grid = np.linspace(math.log(T_a), math.log(20 * T_a), n_grid)
        costs = [cost_at(x) for x in grid]
        i = int(np.argmin(costs))
        step = grid[1] - grid[0]
        while (i == len(grid) - 1 and costs[i] < 1e29) or costs[i] >= 1e29:  # extend upwards (edge or infeasible)
            if grid[-1] > math.log(1e3 * T_a):
                break
            grid = np.append(grid, grid[-1] + step)
            costs.append(cost_at(grid[-1]))
            i = int(np.argmin(costs))
        while i == 0 and costs[0] < 1e29 and grid[0] > math.log(T_a) - 1:  # optimum at the lower edge
            grid = np.insert(grid, 0, grid[0] - step)
            costs.insert(0, cost_at(grid[0]))
            i = int(np.argmin(costs))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        logT = golden_section(cost_at, lo, hi, tol=logT_tol) if costs[i] < 1e29 else grid[i]
        if cost_at(logT) > costs[i]:
            logT = grid[i]
        return logT

    T_rel = math.exp(search())
    E_rel = energy_at(T_rel)
    relaxed_gen = True
    if not math.isfinite(E_rel):
        # the linearised (inner) generalization constraint can be empty even when some m-subset is feasible:
        # relax without it and let the rounding repair enforce the exact constraint. The deadline is searched
        # again: the first search ranked nothing but infeasibility penalties
        relaxed_gen = False
        pr.V.value, pr.Dg.value, pr.g0.value = np.zeros_like(pr.V.value), np.zeros(K), 0.0
        solved.clear()
        T_rel = math.exp(search())
        E_rel = energy_at(T_rel)
        if not math.isfinite(E_rel):
            raise InfeasibleError(f"the relaxed CSRA problem is infeasible at the round deadline {T_rel:.4g} s",
                                  binding="deadline")
    for _ in range(sca_iters if relaxed_gen else 0):  # SCA: re-linearise sqrt(n) at the relaxed data volume
        n_new = float(pr.a.value @ D)
        if abs(n_new - n_lin) <= 1e-3 * n_lin:
            break
        n_lin = n_new
        pr.set_gen(gen, D, n_lin)
        solved.clear()
        a_rel = np.array(pr.a.value, copy=True)
        E_new = energy_at(T_rel)
        if not math.isfinite(E_new):  # the failed step left no point (None) or a stale one: round E_rel's own a
            pr.a.value = a_rel
            break
        E_rel = E_new
    a = np.clip(np.asarray(pr.a.value, float), 0, 1)
    repaired = _round(a, system, P, m, gen, weights, n_candidates, n_exact)
    best, best_cost, seen = None, math.inf, set()
    for S in repaired:
        if S is None or frozenset(S) in seen:
            continue
        seen.add(frozenset(S))
        alloc = joint_allocation(system, np.sort(np.array(S)), weights)
        solves += 1
        c = alloc.cost(weights)
        if c < best_cost:
            best, best_cost = alloc, c
    if best is None:
        raise InfeasibleError(f"no rounding of the relaxed solution meets the generalization constraint "
                              f"(eps = {gen.eps:.4g}) with {m} clients", binding="generalization")
    return CSRAResult(best, a, T_rel, weights.cost(T_rel, E_rel), gen.of_selection(P, D, best.S), len(seen),
                      solves, time.perf_counter() - t0)


def min_generalization_selection(P: np.ndarray, D: np.ndarray, m: int, gen: GenConstraint) -> list[int]:
    """Greedy fallback: add, one at a time, the client that most lowers c1 delta(S) + c2 / sqrt(D_S)."""
    S: list[int] = []
    for _ in range(m):
        rest = [k for k in range(len(D)) if k not in S]
        S.append(min(rest, key=lambda k: gen.of_selection(P, D, [*S, k])))
    return S
