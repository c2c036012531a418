"""Baselines for CRMS: four heuristics and two search methods with a wall-clock budget.

Heuristics split the server's CPU and memory over apps by a rule (a share below one minimum container is
raised to it, the others giving way in proportion: :func:`floored_shares`), then (as a fair best effort) pick
per app the container count 1..n_max that minimizes that app's own mean latency within its share:

* :func:`equal_share` — every app gets C/N CPUs and M/N GB.
* :func:`proportional_share` — CPU shares proportional to the arrival rates (c_i ~ lam_i, the notes'
  rule, CPU only); memory split equally.
* :func:`demand_proportional` — Kubernetes VPA-style: CPU shares proportional to the observed CPU
  demand lam_i d_i(1 CPU, m_max) (CPU-seconds per second); memory split equally.
* :func:`static_request_limit` — Kubernetes-style "request = limit": fixed container size
  (``c_req`` CPUs, ``m_req`` GB) and count ceil(lam d / target utilization); if the server is
  over-committed, CPU and memory are each scaled down by their own over-commit factor.

Search baselines optimize the same objective as CRMS over (n, c, m) within the same wall-clock budget:

* :func:`random_search` — uniform random counts and Dirichlet splits of the capacities.
* :func:`annealing` — ``scipy.optimize.dual_annealing`` on a penalized continuous relaxation
  (counts floored; no gradient local search, which a step-shaped objective defeats), stopped when the
  budget is spent.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import dual_annealing

from support.crms.problem import Allocation, Problem, evaluate
from support.queueing import mm1_sojourn_array

#: method labels of the two search baselines, as tables, figures and :func:`experiments.headline` read them
RANDOM_SEARCH = "random search"
ANNEALING = "dual annealing (scipy)"  # scipy.optimize.dual_annealing, a generalized simulated annealing
SEARCHES = (RANDOM_SEARCH, ANNEALING)
VPA_STYLE = "demand-proportional (VPA-style)"  # ours: the issue names the other three heuristics


def _best_count_in_share(p: Problem, i: int, cpu_share: float, mem_share: float):
    s = p.server
    a = p.apps[i]
    best = (np.inf, 1, s.c_min, s.m_min)
    for n in range(1, s.n_max + 1):
        c = min(s.c_max, cpu_share / n)
        m = min(s.m_max, mem_share / n)
        if c < s.c_min or m < s.m_min:
            break
        d = float(a.model(c, m))
        rho = a.lam * d / n
        T = float(mm1_sojourn_array(a.lam / n, 1 / d)) if p.stable(rho) else np.inf
        if T < best[0]:
            best = (T, n, c, m)
    return best[1:]


def floored_shares(total: float, shares, floor: float) -> np.ndarray:
    """``shares`` (summing to ``total``) with every share below ``floor`` raised to it and the rest of ``total``
    split over the other apps in their original proportions, repeated until none is below: an app's share must
    hold at least one minimum container, or the heuristic would give it one on top of everyone's full shares and
    overrun the server. When even ``N x floor`` exceeds ``total`` every share is ``floor`` (the caller's
    allocation is then infeasible, as it must be)."""
    w = np.asarray(shares, float)
    out = w.copy()
    low = np.zeros(w.size, bool)
    while True:
        new_low = low | (out < floor)
        left = total - floor * new_low.sum()
        if left <= 0 or new_low.all():
            return np.full(w.size, float(floor))
        rest = w * ~new_low
        if rest.sum() <= 0:  # every app left has zero weight: split what is left equally among them
            rest = (~new_low).astype(float)
        out = np.where(new_low, floor, left * rest / rest.sum())
        if (new_low == low).all():
            return out
        low = new_low


def _share_alloc(p: Problem, cpu_shares, mem_shares, name: str) -> Allocation:
    t0 = time.perf_counter()
    s = p.server
    cpu_shares = floored_shares(s.cpu, cpu_shares, s.c_min)
    mem_shares = floored_shares(s.mem, mem_shares, s.m_min)
    n, c, m = zip(*[_best_count_in_share(p, i, cs, ms) for i, (cs, ms) in enumerate(zip(cpu_shares, mem_shares))])
    return evaluate(p, np.array(n), np.array(c), np.array(m), name, time.perf_counter() - t0)


def equal_share(p: Problem) -> Allocation:
    """Every app gets C/N CPUs and M/N GB (notes §1.2); per app the best container count within it."""
    s = p.server
    return _share_alloc(p, [s.cpu / p.N] * p.N, [s.mem / p.N] * p.N, "equal share")


def proportional_share(p: Problem) -> Allocation:
    """CPU split in proportion to the arrival rates (notes §1.2: c_i ~ lam_i), memory split equally;
    per app the best container count within its share."""
    s = p.server
    w = p.lam / p.lam.sum()
    return _share_alloc(p, s.cpu * w, [s.mem / p.N] * p.N, "load-proportional")


def demand_proportional(p: Problem) -> Allocation:
    """Kubernetes VPA-style: CPU split in proportion to each app's CPU demand lam_i d_i(1 CPU, m_max)
    (observed CPU-seconds per second), memory split equally; per app the best count within its share."""
    s = p.server
    demand = p.lam * np.array([float(a.model(1.0, s.m_max)) for a in p.apps])
    return _share_alloc(p, s.cpu * demand / demand.sum(), [s.mem / p.N] * p.N, VPA_STYLE)


def static_request_limit(p: Problem, c_req: float = 1.0, m_req: float = 0.256, target_util: float = 0.7) -> Allocation:
    """Containers of c_req CPUs and m_req GB, ceil(lam d(c_req, m_req) / target_util) per app; CPU and
    memory are each scaled down by their own over-commit factor if the server cannot hold them."""
    t0 = time.perf_counter()
    s = p.server
    c_req = float(np.clip(c_req, s.c_min, s.c_max)); m_req = float(np.clip(m_req, s.m_min, s.m_max))
    d = np.array([a.model(c_req, m_req) for a in p.apps])
    n = np.clip(np.ceil(p.lam * d / target_util), 1, s.n_max)
    sc = min(1.0, s.cpu / float(np.sum(n * c_req)))  # each resource scaled by its own over-commit only
    sm = min(1.0, s.mem / float(np.sum(n * m_req)))
    c = np.full(p.N, max(s.c_min, c_req * sc)); m = np.full(p.N, max(s.m_min, m_req * sm))
    return evaluate(p, n, c, m, "static request=limit", time.perf_counter() - t0)


def _decode(p: Problem, x):
    """Map x in [0,1]^(3N) to an allocation: counts, then CPU/memory shares normalized to the capacity."""
    s = p.server
    N = p.N
    n = np.clip(np.floor(x[:N] * s.n_max) + 1, 1, s.n_max)
    wc = x[N:2 * N] + 1e-9; wm = x[2 * N:] + 1e-9
    c = np.clip(s.cpu * wc / np.sum(wc) / n, s.c_min, s.c_max)
    m = np.clip(s.mem * wm / np.sum(wm) / n, s.m_min, s.m_max)
    return n, c, m


def _penalized(p: Problem, x):
    n, c, m = _decode(p, x)
    a = evaluate(p, n, c, m)
    if np.isfinite(a.objective):
        return a.objective
    s = p.server
    over = max(0.0, np.sum(n * c) / s.cpu - 1) + max(0.0, np.sum(n * m) / s.mem - 1)
    rho = np.minimum(a.utilization, 10.0)
    return 1e3 * (1 + over + float(np.sum(np.maximum(0.0, rho - 0.99))))


def random_search(p: Problem, budget_s: float, rng: np.random.Generator) -> Allocation:
    t0 = time.perf_counter()
    best, bx, k = np.inf, None, 0
    while time.perf_counter() - t0 < budget_s or bx is None:
        x = rng.random(3 * p.N)
        v = _penalized(p, x)
        k += 1
        if v < best:
            best, bx = v, x
        if k > 10_000_000:
            break
    n, c, m = _decode(p, bx)
    a = evaluate(p, n, c, m, RANDOM_SEARCH, time.perf_counter() - t0)
    a.info["evaluations"] = k
    return a


class _BudgetSpent(Exception):
    pass


def annealing(p: Problem, budget_s: float, seed: int) -> Allocation:
    t0 = time.perf_counter()
    best = {"v": np.inf, "x": None, "k": 0}

    def f(x):
        if best["x"] is not None and time.perf_counter() - t0 >= budget_s:
            raise _BudgetSpent  # also stops the local searches, which the callback cannot
        v = _penalized(p, x)
        best["k"] += 1
        if v < best["v"]:
            best["v"], best["x"] = v, x.copy()
        return v

    def stop(x, fval, context):
        return time.perf_counter() - t0 >= budget_s

    try:  # no local search: the counts are floored, so L-BFGS-B's finite differences see a step function
        dual_annealing(f, [(0.0, 1.0)] * (3 * p.N), seed=seed, callback=stop, maxfun=10_000_000, maxiter=100_000,
                       no_local_search=True)
    except _BudgetSpent:
        pass
    n, c, m = _decode(p, best["x"])
    a = evaluate(p, n, c, m, ANNEALING, time.perf_counter() - t0)
    a.info["evaluations"] = best["k"]
    return a


HEURISTICS = {"equal share": equal_share, "load-proportional": proportional_share,
              VPA_STYLE: demand_proportional, "static request=limit": static_request_limit}
