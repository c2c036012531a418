"""Independent oracles for the decision layer and the latency model (paper 11, issue 14 acceptance).

* :func:`brute_force_decision` — enumerate every integer replica vector in the policy ranges and solve the
  remaining routing LP with SciPy (``linprog``, its own formulation), keeping the cheapest.
* :func:`des_mean_response` — mean response time of an M/M/c queue by discrete-event simulation (simpy, via
  :func:`support.sim.des_check.des_check`).
* :func:`oracle_bound_lines` — the perfect-foresight bound (notes section 4, oracle 2) as readable lines.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog

from support.multicluster.decision import FederationPolicy, Weights
from support.sim.des_check import des_check


def brute_force_decision(demand, prev_n, policy: FederationPolicy, lines: np.ndarray, w: Weights):
    """Optimum of the one-step decision problem by enumeration of n (``lines[k] = (slope, intercept)``).

    Returns ``(best value, best n)``; ``(inf, None)`` if no n is feasible.
    """
    D = np.asarray(demand, float)
    K = D.size
    prev_n = np.asarray(prev_n, int)
    ranges = [range(max(policy.ha_min[k], prev_n[k] - policy.max_change[k]),
                    min(policy.capacity[k], prev_n[k] + policy.max_change[k]) + 1) for k in range(K)]
    best, arg = np.inf, None
    # routing variables x[j, k] (K*K) then slack s[k] (K)
    nx = K * K
    c = np.zeros(nx + K)
    for j in range(K):
        for k in range(K):
            c[j * K + k] = w.w_net if j != k else 0.0
    c[nx:] = w.w_slo
    A_eq = np.zeros((K, nx + K))
    for j in range(K):
        A_eq[j, j * K:(j + 1) * K] = 1.0
    for n in itertools.product(*ranges):
        n = np.array(n)
        if float(np.dot(policy.cost, n)) > policy.budget + 1e-9:
            continue
        A_ub, b_ub = [], []
        for k in range(K):
            r = np.zeros(nx + K)
            r[[j * K + k for j in range(K)]] = 1.0
            r[nx + k] = -1.0
            A_ub.append(r); b_ub.append(lines[k, 0] * n[k] + lines[k, 1])
        bounds = [(0, None)] * (nx + K)
        for j in range(K):
            bounds[j * K + j] = (policy.residency[j] * D[j], None)
        res = linprog(c, A_ub=np.array(A_ub), b_ub=np.array(b_ub), A_eq=A_eq, b_eq=D, bounds=bounds,
                      method="highs-ds")
        if res.status != 0:
            continue
        val = res.fun + float(np.dot(policy.cost, n)) + w.w_change * float(np.abs(n - prev_n).sum())
        if val < best - 1e-9:
            best, arg = val, n
    return best, arg


def des_mean_response(c: int, lam: float, mu: float, n_jobs: int, rng: np.random.Generator,
                      warmup: float = 0.1) -> float:
    """Mean response time of M/M/c from the simpy FIFO queue (first ``warmup`` share of jobs discarded);
    an unstable queue (lam >= c mu) is refused."""
    return des_check(c, lam, mu, n_jobs, rng, warmup=warmup).simulated


def oracle_bound_lines(bound) -> list[str]:
    """The perfect-foresight bound of notes section 4 (oracle 2) as readable lines: what it says, each realistic
    forecaster's efficiency and SLO-violation share against perfect foresight's, and whether each part holds."""
    from support.multicluster.experiments import FORECASTERS, OracleBound  # experiments imports this module

    if not isinstance(bound, OracleBound):
        raise TypeError(f"oracle_bound_lines needs an OracleBound (experiments.oracle_bound); got {bound!r}")
    name = {k: FORECASTERS.get(k, k) for k in bound.efficiency}
    width = max(len(name[k]) for k in bound.realistic)
    verdict = {True: "holds", False: "fails"}
    head = ("perfect-foresight bound (no realistic forecaster is more efficient than perfect foresight or has "
            f"fewer SLO violations): {verdict[bound.holds]}")
    lines = [head]
    parts = (("(i) efficiency", "at most", bound.efficiency, bound.efficiency_holds, "{:.4f}", bound.efficiency_ok),
             ("(ii) SLO-violation share", "at least", bound.slo_violation, bound.violations_holds, "{:.2%}",
              bound.violations_ok))
    for label, rel, values, ok, fmt, ok_for in parts:
        lines.append(f"  {label}, {rel} perfect foresight's {fmt.format(values[bound.oracle])}: {verdict[ok]}")
        for k in bound.realistic:  # each forecaster by the part's own test
            lines.append(f"    {name[k]:<{width}}  {fmt.format(values[k])}  {verdict[ok_for(k)]}")
    return lines
