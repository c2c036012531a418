"""Resource allocation for a fixed client selection S (reconstructed CSRA inner problem, arXiv 2512.24286 Sec. IV).

Given S, choose bandwidths b_k (sum <= B), CPU frequencies f_k <= f_max_k and the round deadline T:
  energy(S, T) = min sum_k kappa A_k^3 / tc_k^2 + p_k tu_k   s.t. tc_k + tu_k <= T, tc_k >= A_k / f_max_k,
                 b_k log2(1 + g_k p_k / (N0 b_k)) >= s / tu_k,  sum_k b_k <= B,
with tc_k = A_k / f_k the compute time and tu_k the upload time. The rate constraint is a relative-entropy
(exponential-cone) constraint, so the problem is convex; ``joint_allocation`` also optimises T for the
per-round cost  w T / T_unit + (1 - w) E / E_unit. Inside the solver: MHz, units of 10 ms, millijoules
(seconds made the CPU-energy coefficients ~1e-7 and CLARABEL stopped 4% above the optimum; with milliseconds
25 of the default notebook's 5,456 distinct allocation programs still ended 'optimal_inaccurate', with
10 ms none).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from support.fl_selection.system import WirelessSystem
from support.opt import InfeasibleError, OptError, bisect, solve_convex
from support.wireless.energy import compute_energy, compute_time, upload_energy, upload_time
from support.wireless.rate import bandwidth_for_rate, shannon_rate

LN2 = math.log(2.0)
TIME_UNIT_S = 1e-2  # the allocation programs' unit of time (10 ms)
DEADLINE_RTOL = 1e-6  # how far past its deadline a min_energy answer may end (the solver's accuracy)
CAP_RTOL = 1e-8  # energy a min_energy deadline cap may cost, relative (CLARABEL's own gap tolerance)


@dataclass(frozen=True)
class CostWeights:
    """Per-round cost ``w T / T_unit + (1 - w) E / E_unit`` (units make the two terms comparable)."""

    w: float = 0.5
    T_unit: float = 1.0  # s
    E_unit: float = 1.0  # J

    def __post_init__(self):
        if not 0.0 <= self.w <= 1.0:
            raise ValueError(f"weight w must be in [0, 1]; got {self.w}")
        if not (self.T_unit > 0 and self.E_unit > 0):
            raise ValueError("T_unit and E_unit must be positive")

    def cost(self, T: float, E: float) -> float:
        return self.w * T / self.T_unit + (1 - self.w) * E / self.E_unit


@dataclass(frozen=True)
class Allocation:
    """A selection with its bandwidths (Hz) and CPU frequencies (Hz), and the resulting round time/energy."""

    S: np.ndarray
    b: np.ndarray
    f: np.ndarray
    T: float
    energy: float
    energy_cmp: float
    energy_com: float
    method: str = ""

    def cost(self, weights: CostWeights) -> float:
        return weights.cost(self.T, self.energy)


def _check_S(system: WirelessSystem, S) -> np.ndarray:
    S = np.asarray(S, dtype=np.int64).ravel()
    if S.size == 0:
        raise ValueError("the selection S is empty")
    if np.unique(S).size != S.size or S.min() < 0 or S.max() >= system.K:
        raise ValueError(f"invalid selection {S.tolist()} for {system.K} clients")
    if not system.B > 0:
        raise InfeasibleError(f"uplink bandwidth B = {system.B} Hz: no client can upload", binding="bandwidth")
    return S


def evaluate(system: WirelessSystem, S, b_hz, f_hz, method: str = "") -> Allocation:
    """Round time and energy of an allocation, from the closed-form models of ``support.wireless``.

    ``b_hz`` and ``f_hz`` hold one finite value per selected client (shape of ``S``; a scalar would broadcast to
    every client after the budget check); bandwidths must be >= 0, frequencies > 0. Raises ValueError otherwise."""
    S = _check_S(system, S)
    b, f = np.asarray(b_hz, float), np.asarray(f_hz, float)
    for name, x in (("b_hz", b), ("f_hz", f)):
        if x.shape != S.shape:
            raise ValueError(f"{name} must hold one value per selected client (shape {S.shape}); got shape {x.shape}")
    if not (np.all(np.isfinite(b)) and np.all(b >= 0)):
        raise ValueError(f"b_hz must be finite and >= 0; got {b.tolist()}")
    if not (np.all(np.isfinite(f)) and np.all(f > 0)):
        raise ValueError(f"f_hz must be finite and > 0; got {f.tolist()}")
    if b.sum() > system.B * (1 + 1e-6):
        raise ValueError(f"bandwidths sum to {b.sum():.6g} Hz > B = {system.B:.6g} Hz")
    if np.any(f > system.f_max[S] * (1 + 1e-6)):
        raise ValueError("a CPU frequency exceeds its client's f_max")
    r = shannon_rate(b, system.gain[S], system.p[S], system.n0)
    tc = compute_time(system.L, system.c[S], system.D[S], f)
    tu = upload_time(system.s, r)
    ec = compute_energy(system.kappa, system.L, system.c[S], system.D[S], f)
    eu = upload_energy(system.p[S], system.s, r)
    return Allocation(S, b, f, float(np.max(tc + tu)), float(ec.sum() + eu.sum()), float(ec.sum()),
                      float(eu.sum()), method)


def equal_allocation(system: WirelessSystem, S) -> Allocation:
    """Conventional scheme: equal bandwidth B/|S| and every CPU at f_max."""
    S = _check_S(system, S)
    return evaluate(system, S, np.full(S.size, system.B / S.size), system.f_max[S], "equal")


def min_deadline(system: WirelessSystem, S) -> float:
    """Smallest feasible round time for S: bisection on T of sum_k b_k^min(T) = B (f_k = f_max_k)."""
    S = _check_S(system, S)
    tmin = system.t_cmp_min[S]
    a = system.gain[S] * system.p[S]

    def excess(T: float) -> float:
        left = T - tmin
        if np.any(left <= 0):
            return math.inf
        return float(np.sum(bandwidth_for_rate(system.s / left, system.gain[S], system.p[S], system.n0))) - system.B

    lo = float(tmin.max())
    # the upload needs at least s / (a/(N0 ln2)) seconds even with infinite bandwidth
    hi = lo + 2 * float(np.max(system.s * system.n0 * LN2 / a)) + 1e-9
    while not excess(hi) <= 0:
        hi = lo + 2 * (hi - lo)
    return bisect(lambda T: -1.0 if excess(T) <= 0 else 1.0, lo, hi, tol=1e-12)


def min_time_convex(system: WirelessSystem, S) -> float:
    """Minimum round time of S as one convex program (f = f_max; rate as an exponential cone), solved to
    tight tolerances; the independent counterpart of :func:`min_deadline`'s bisection."""
    S = _check_S(system, S)
    m = S.size
    b = cp.Variable(m, nonneg=True)
    tu = cp.Variable(m, pos=True)
    T = cp.Variable()
    cons = [tu + system.t_cmp_min[S] * 1e3 <= T, cp.sum(b) <= system.B / 1e6,
            -cp.rel_entr(b, b + system.snr_hz[S] / 1e6) >= LN2 * system.s / 1e3 * cp.inv_pos(tu)]
    solve_convex(cp.Problem(cp.Minimize(T), cons), solvers=("CLARABEL",), tol_gap_abs=1e-12, tol_gap_rel=1e-12,
                 tol_feas=1e-12)
    return float(T.value) / 1e3


class _FixedSProblem:
    """DPP-parametrised cvxpy program for |S| = m clients, times in TIME_UNIT_S; compiled once, re-solved with new
    parameters. The compute time is T - tu, not a variable (the comment at ``self.tc`` says why)."""

    def __init__(self, m: int, joint: bool):
        self.coef = cp.Parameter(m, nonneg=True)   # kappa A^3 in mJ unit^2 (joint: times the energy weight)
        self.pm = cp.Parameter(m, nonneg=True)     # p in mJ/unit (joint: times the energy weight)
        self.snr = cp.Parameter(m, nonneg=True)    # g p / N0 in MHz
        self.tmin = cp.Parameter(m, nonneg=True)   # A / f_max in units
        self.sM = cp.Parameter(nonneg=True)        # upload size in Mbit/s x unit
        self.BM = cp.Parameter(nonneg=True)        # bandwidth in MHz
        self.b = cp.Variable(m, nonneg=True)
        self.tu = cp.Variable(m, pos=True)
        self.T = cp.Variable(nonneg=True)          # round time (a variable: a parameter inside power() times
        # coef would break DPP). The CPU energy falls with the compute time, so at the optimum every client computes
        # for the rest of the round: tc = T - tu. A free tc <= T - tu was left unresolved wherever its CPU energy
        # is negligible, and CLARABEL stalled at 'optimal_inaccurate' (up to 4e-4 above the KKT optimum) and
        # solve_convex ran ECOS and SCS after it: 156 of the 5,740 allocation solves of the default notebook.
        self.tc = self.T - self.tu
        energy = cp.sum(cp.multiply(self.coef, cp.power(self.tc, -2)) + cp.multiply(self.pm, self.tu))
        cons = [self.tc >= self.tmin, cp.sum(self.b) <= self.BM,
                -cp.rel_entr(self.b, self.b + self.snr) >= LN2 * self.sM * cp.inv_pos(self.tu)]
        if joint:  # the energy weight is folded into coef and pm (a parameter times a parameter-affine term
            self.wT = cp.Parameter(nonneg=True)  # would break DPP and recompile on every solve)
            obj = self.wT * self.T + energy
        else:
            self.deadline = cp.Parameter(nonneg=True)  # an equality, as T <= deadline left T free where
            cons.append(self.T == self.deadline)       # the CPU energy is flat in it (a generous deadline)
            obj = energy
        self.problem = cp.Problem(cp.Minimize(obj), cons)

    def set(self, system: WirelessSystem, S: np.ndarray, energy_weight: float = 1.0):
        (self.coef.value, self.pm.value, self.snr.value, self.tmin.value, self.sM.value,
         self.BM.value) = solver_parameters(system, S, TIME_UNIT_S, energy_weight)


def solver_parameters(system: WirelessSystem, idx, unit_s: float, weight: float = 1.0) -> tuple:
    """The convex programs' parameters for clients ``idx`` in solver units (MHz, ``unit_s`` seconds, millijoules):
    kappa A^3 and p (both times ``weight``), g p / N0, A / f_max, the upload size and the bandwidth."""
    A = system.cycles[idx]
    return (weight * system.kappa * A**3 * 1e3 / unit_s**2,  # mJ unit^2
            weight * system.p[idx] * 1e3 * unit_s,           # mJ / unit
            system.snr_hz[idx] / 1e6,                        # MHz
            system.t_cmp_min[idx] / unit_s,                  # units
            system.s / 1e6 / unit_s,                         # Mbit/s x unit
            system.B / 1e6)                                  # MHz


@functools.lru_cache(maxsize=64)
def _problem(m: int, joint: bool) -> _FixedSProblem:
    return _FixedSProblem(m, joint)


def _finish(system: WirelessSystem, S: np.ndarray, pr: _FixedSProblem, method: str,
            round_s: float | None = None) -> Allocation:
    """The solved bandwidths, with CPU frequencies f = A / (T - tu) (at most f_max) from the true upload time tu at
    those bandwidths, as in the KKT optimum (the solver's tu meets the rate cone only to 2e-5, so T overshot).
    ``round_s``: the round time T to fill (seconds) when not the solved one (a capped deadline)."""
    b = np.maximum(pr.b.value, 0.0) * 1e6
    b = b * min(1.0, system.B / b.sum())
    tu = upload_time(system.s, shannon_rate(b, system.gain[S], system.p[S], system.n0))
    T = float(pr.T.value) * TIME_UNIT_S if round_s is None else round_s
    tc = np.maximum(T - tu, system.t_cmp_min[S])
    f = np.minimum(system.cycles[S] / tc, system.f_max[S])
    return evaluate(system, S, b, f, method)


def deadline_cap(system: WirelessSystem, S) -> float:
    """A deadline (s) past which a longer one saves S less than ``CAP_RTOL`` of its minimum energy, so
    :func:`min_energy` solves at it (at 1e6 s the deadline is ~1e8 upload times and ECOS called it infeasible).

    With no minimum CPU frequency every deadline binds, but ever less. Let E*(T) be the minimum energy (nonincreasing
    in T), E_lb = sum_k p_k s / r_k(B) <= E*(T) (upload energy alone, each client given the whole band), and E_eq,
    T_eq the energy and round time of :func:`equal_allocation`, so E*(T) <= E_eq for T >= T_eq. For T' >= T_c, the
    T'-optimal bandwidths (upload times tu'_k, with p_k tu'_k <= E*(T') <= E_eq, so tu'_k <= U = E_eq / min_k p_k)
    are feasible at T_c = T_eq + U + sqrt(sum_k kappa A_k^3 / (CAP_RTOL E_lb)) (tc_k >= T_c - U >= T_eq), hence
    E*(T_c) <= sum_k kappa A_k^3 / (T_c - U)^2 + E*(T') <= CAP_RTOL E_lb + E*(T') <= (1 + CAP_RTOL) E*(T')."""
    S = _check_S(system, S)
    eq = equal_allocation(system, S)
    whole_band = shannon_rate(np.full(S.size, system.B), system.gain[S], system.p[S], system.n0)
    e_lb = float(np.sum(upload_energy(system.p[S], system.s, whole_band)))
    cpu = float(np.sum(system.kappa * system.cycles[S] ** 3))
    return eq.T + eq.energy / float(system.p[S].min()) + math.sqrt(cpu / (CAP_RTOL * e_lb))


def min_energy(system: WirelessSystem, S, T: float) -> Allocation:
    """Minimum-energy allocation of S for a fixed round deadline ``T`` (seconds), solved by cvxpy. A deadline past
    :func:`deadline_cap` is solved at the cap (within ``CAP_RTOL`` of the optimum), the CPUs then filling ``T``."""
    S = _check_S(system, S)
    if not math.isfinite(T):
        raise ValueError(f"deadline T must be a finite number of seconds; got {T}")
    fastest = float(system.t_cmp_min[S].min())
    if not T > fastest:
        raise InfeasibleError(f"deadline T = {T:.4g} s is below the fastest selected client's compute time "
                              f"{fastest:.4g} s", binding="deadline")
    Tmin = min_deadline(system, S)
    if T < Tmin * (1 - 1e-9):
        raise InfeasibleError(f"deadline T = {T:.4g} s is below the minimum round time {Tmin:.4g} s of the "
                              f"selection (all CPUs at f_max, bandwidth split optimally)", binding="deadline")
    pr = _problem(S.size, False)
    pr.set(system, S)
    cap = deadline_cap(system, S)  # >= T_eq >= Tmin
    pr.deadline.value = max(min(T, cap), Tmin * (1 + 1e-7)) / TIME_UNIT_S
    r = solve_convex(pr.problem, require_dpp=True)
    alloc = _finish(system, S, pr, "min_energy", round_s=T if T > cap else None)
    if alloc.T > T * (1 + DEADLINE_RTOL):  # within ~1e-4 of Tmin the feasible set is nearly a point
        raise OptError(f"no allocation returned: the deadline T = {T:.6g} s is only {T / Tmin - 1:.1e} above the "
                       f"minimum round time {Tmin:.6g} s, and the solver's answer ({r.status}) takes {alloc.T:.6g} s; "
                       f"a deadline this close to the minimum is beyond its accuracy")
    return alloc


def joint_allocation(system: WirelessSystem, S, weights: CostWeights) -> Allocation:
    """Allocation of S and its deadline T minimising ``w T/T_unit + (1-w) E/E_unit`` (one convex program)."""
    S = _check_S(system, S)
    pr = _problem(S.size, True)
    pr.set(system, S, energy_weight=(1 - weights.w) / (weights.E_unit * 1e3))
    pr.wT.value = weights.w * TIME_UNIT_S / weights.T_unit
    solve_convex(pr.problem, require_dpp=True)
    return _finish(system, S, pr, "joint")


def reference_units(system: WirelessSystem, m: int) -> CostWeights:
    """Cost units from the conventional scheme: the median T and E of equal allocation over consecutive blocks of m
    clients (a median, so one block of far clients does not set the scale)."""
    T = []
    E = []
    for start in range(0, system.K - m + 1, max(1, m)):
        a = equal_allocation(system, np.arange(start, start + m))
        T.append(a.T)
        E.append(a.energy)
    return CostWeights(0.5, float(np.median(T)), float(np.median(E)))
