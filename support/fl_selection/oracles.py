"""Independent oracles for CSRA: a scipy KKT solver of the fixed-selection allocation (no cvxpy), and
exhaustive enumeration of client subsets for small K (the selection optimum).

KKT of the fixed-(S, T) energy problem: every client uses its whole deadline (f_k = A_k / (T - tu_k)),
so E_k(b) = kappa A^3 / (T - s/r(b))^2 + p s / r(b) is convex decreasing in b; the optimum has
E_k'(b_k) = -mu for a common price mu with sum_k b_k = B (brentq on each level, cf. Yang et al. TWC 2021).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from support.fl_selection.allocation import (
    Allocation,
    CostWeights,
    InfeasibleError,
    _check_S,
    evaluate,
    joint_allocation,
    min_deadline,
)
from support.fl_selection.system import WirelessSystem
from support.wireless.rate import bandwidth_for_rate

LN2 = math.log(2.0)


def _client_terms(system: WirelessSystem, k: int, T: float):
    A, p, a, s = system.cycles[k], system.p[k], system.snr_hz[k], system.s
    kA3 = system.kappa * A**3

    def rate(b):
        return b * math.log2(1.0 + a / b)

    def energy(b):
        u = s / rate(b)
        return kA3 / (T - u) ** 2 + p * u

    def denergy(b):  # dE/db = dE/du * du/db
        r = rate(b)
        u = s / r
        dr = math.log2(1.0 + a / b) - (a / b) / ((1.0 + a / b) * LN2)
        return (2 * kA3 / (T - u) ** 3 + p) * (-s * dr / r**2)

    bmin = float(bandwidth_for_rate(s / (T - A / system.f_max[k]), system.gain[k], system.p[k], system.n0))
    return energy, denergy, bmin


def kkt_min_energy(system: WirelessSystem, S, T: float) -> Allocation:
    """Minimum energy of S under deadline T by the KKT conditions (nested brentq), no convex solver."""
    S = _check_S(system, S)
    if T < min_deadline(system, S):
        raise InfeasibleError(f"deadline {T:.4g} s below the selection's minimum round time", binding="deadline")
    terms = [_client_terms(system, int(k), T) for k in S]
    B = system.B

    def b_of(mu: float) -> np.ndarray:
        out = np.empty(len(terms))
        for i, (_, dE, bmin) in enumerate(terms):
            lo, hi = bmin * (1 + 1e-12), B
            if dE(hi) + mu <= 0:
                out[i] = hi
            elif dE(lo) + mu >= 0:
                out[i] = lo
            else:
                out[i] = brentq(lambda b, dE=dE: dE(b) + mu, lo, hi, xtol=1e-9, rtol=1e-14)
        return out

    mu_hi = max(-dE(bmin * (1 + 1e-12)) for _, dE, bmin in terms) * 2 + 1.0
    if b_of(0.0).sum() <= B:
        b = b_of(0.0)
    else:
        mu = brentq(lambda m: b_of(m).sum() - B, 0.0, mu_hi, xtol=1e-30, rtol=1e-14, maxiter=500)
        b = b_of(mu)
        b *= min(1.0, B / b.sum())
    rates = b * np.log2(1 + system.snr_hz[S] / b)
    tu = system.s / rates
    f = np.minimum(system.cycles[S] / (T - tu), system.f_max[S])
    return evaluate(system, S, b, f, "kkt")


def kkt_joint(system: WirelessSystem, S, weights: CostWeights) -> Allocation:
    """Joint deadline + allocation by a bounded 1-D search over T of the KKT energy (scipy)."""
    S = _check_S(system, S)
    T0 = min_deadline(system, S)

    def cost(logx: float) -> float:
        T = T0 * (1 + math.exp(logx))
        return weights.cost(T, kkt_min_energy(system, S, T).energy)

    r = minimize_scalar(cost, bounds=(-14.0, 5.0), method="bounded", options={"xatol": 1e-7})
    return kkt_min_energy(system, S, T0 * (1 + math.exp(r.x)))


def exhaustive_selection(system: WirelessSystem, m: int, weights: CostWeights, feasible=None,
                         allocate=joint_allocation) -> tuple[Allocation | None, int]:
    """Best subset of exactly m clients (optionally only those with ``feasible(S)``) by enumerating all
    C(K, m) subsets with the convex allocation; returns (best allocation, number of feasible subsets)."""
    if system.K > 16:
        raise ValueError(f"exhaustive enumeration is limited to K <= 16 clients; got {system.K}")
    best, best_cost, n = None, math.inf, 0
    for S in itertools.combinations(range(system.K), m):
        S = np.array(S)
        if feasible is not None and not feasible(S):
            continue
        n += 1
        a = allocate(system, S, weights)
        c = a.cost(weights)
        if c < best_cost:
            best, best_cost = a, c
    return best, n
