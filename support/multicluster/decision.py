"""Policy-aware decision layer: a small MILP choosing replicas and cross-cluster traffic shares (HiGHS).

For K clusters and a horizon of H control intervals, with forecast origin demand ``D[h, j]`` (req/s):

    min  sum_h sum_k cost_k n_hk + w_net sum_{j != k} x_hjk + w_slo sum_k s_hk + w_change sum_k |n_hk - n_(h-1)k|
    s.t. sum_k x_hjk = D_hj                      (all demand is served somewhere)
         x_hjj >= residency_j D_hj               (data residency: a share must stay home)
         sum_j x_hjk <= a_hk n_hk + b_hk + s_hk  (SLO capacity: secant of L*(n), s = overload slack)
         |n_hk - n_(h-1)k| <= max_change_k       (max change per interval)
         sum_k cost_k n_hk <= budget             (budget)
         ha_min_k <= n_hk <= capacity_k, n integer  (HA minimum, capacity)

Decision layer of paper 11 (arXiv 2512.24914); the policies are the paper's "policy-aware" constraints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from support.multicluster.latency import min_replicas_for, secant_at
from support.opt import InfeasibleError, solve_lp


class PolicyConfigError(ValueError):
    """Policies that contradict each other or the federation (e.g. HA minimum above capacity)."""


@dataclass(frozen=True)
class FederationPolicy:
    """Per-cluster capacity, HA minimum, residency share, replica cost, max change; federation budget."""

    capacity: tuple[int, ...]
    ha_min: tuple[int, ...]
    residency: tuple[float, ...]
    cost: tuple[float, ...]
    max_change: tuple[int, ...]
    budget: float

    def __post_init__(self):
        k = len(self.capacity)
        if k < 1 or any(len(v) != k for v in (self.ha_min, self.residency, self.cost, self.max_change)):
            raise PolicyConfigError("capacity, ha_min, residency, cost and max_change need one entry per cluster")
        for c, m in zip(self.capacity, self.ha_min):
            if not 1 <= m <= c:
                raise PolicyConfigError(f"need 1 <= HA minimum <= capacity per cluster, got {m} and {c}")
        if any(not 0 <= r <= 1 for r in self.residency):
            raise PolicyConfigError(f"residency shares must be in [0, 1], got {self.residency}")
        if any(c <= 0 for c in self.cost) or any(d < 1 for d in self.max_change):
            raise PolicyConfigError("replica costs must be > 0 and max change >= 1")
        if not np.isfinite(self.budget):  # NaN passed "budget < floor" and failed later inside solve_lp, unnamed
            raise PolicyConfigError(f"budget must be a finite number, got {self.budget!r}")
        floor = float(np.dot(self.cost, self.ha_min))
        if self.budget < floor:
            raise PolicyConfigError(f"budget {self.budget:g} is below the cost of the HA minimum ({floor:g})")

    @property
    def k(self) -> int:
        return len(self.capacity)


@dataclass(frozen=True)
class Weights:
    """Objective weights: cross-cluster traffic (per req/s), SLO overload slack (per req/s), churn (per replica),
    discount of later horizon steps.

    Costs are per replica and control interval (about 1), so ``w_change = 0.05`` per replica changed only breaks
    ties between plans of (nearly) equal cost: a one-replica cut still saves about 1 per interval. It does not damp
    flapping; the HPA-mirroring anti-flap rule does (``FederationConfig.tolerance``, ``downscale_stabilisation_s``).
    """

    w_net: float = 0.01
    w_slo: float = 50.0
    w_change: float = 0.05
    discount: float = 0.5


@dataclass
class Decision:
    """Replicas ``n[h, k]``, routing ``x[h, j, k]`` (req/s), routing shares of step 0 ``shares[j, k]``,
    overload slack ``slack[h, k]`` and the objective value."""

    n: np.ndarray
    x: np.ndarray
    shares: np.ndarray
    slack: np.ndarray
    objective: float


def _layout(H: int, K: int):
    nn, nx, ns, nu = H * K, H * K * K, H * K, H * K
    off = {"n": 0, "x": nn, "s": nn + nx, "u": nn + nx + ns}
    return off, nn + nx + ns + nu


def build_milp(demand: np.ndarray, prev_n, policy: FederationPolicy, lines: np.ndarray, w: Weights):
    """The MILP's arrays ``(c, A_ub, b_ub, A_eq, b_eq, bounds, integrality, index)`` for :func:`solve_lp`.

    ``demand`` is ``[H, K]`` (req/s per origin), ``lines[h, k] = (slope, intercept)`` the SLO secants.
    """
    D = np.atleast_2d(np.asarray(demand, float))
    H, K = D.shape
    if K != policy.k:
        raise PolicyConfigError(f"demand has {K} clusters, the policy {policy.k}")
    if np.any(D < 0) or not np.all(np.isfinite(D)):
        raise ValueError("forecast demand must be finite and >= 0")
    off, nv = _layout(H, K)
    N = lambda h, k: off["n"] + h * K + k
    X = lambda h, j, k: off["x"] + (h * K + j) * K + k
    S = lambda h, k: off["s"] + h * K + k
    U = lambda h, k: off["u"] + h * K + k
    c = np.zeros(nv)
    A_ub, b_ub, A_eq, b_eq = [], [], [], []

    def row():
        return np.zeros(nv)

    for h in range(H):
        disc = w.discount ** h
        for k in range(K):
            c[N(h, k)] = disc * policy.cost[k]
            c[S(h, k)] = disc * w.w_slo
            c[U(h, k)] = disc * w.w_change
            for j in range(K):
                c[X(h, j, k)] = disc * (w.w_net if j != k else 0.0)
        for j in range(K):  # demand conservation and residency
            r = row(); r[[X(h, j, k) for k in range(K)]] = 1.0
            A_eq.append(r); b_eq.append(D[h, j])
            r = row(); r[X(h, j, j)] = -1.0
            A_ub.append(r); b_ub.append(-policy.residency[j] * D[h, j])
        for k in range(K):  # SLO capacity secant
            r = row(); r[[X(h, j, k) for j in range(K)]] = 1.0
            r[N(h, k)] = -lines[h, k, 0]; r[S(h, k)] = -1.0
            A_ub.append(r); b_ub.append(lines[h, k, 1])
        for k in range(K):  # change magnitude u >= |n_h - n_(h-1)| and max change
            for sign in (1.0, -1.0):
                r = row(); r[N(h, k)] = sign; r[U(h, k)] = -1.0
                rhs = 0.0
                if h == 0:
                    rhs = sign * prev_n[k]
                else:
                    r[N(h - 1, k)] = -sign
                A_ub.append(r); b_ub.append(rhs)
                r = row(); r[N(h, k)] = sign
                if h == 0:
                    A_ub.append(r); b_ub.append(policy.max_change[k] + sign * prev_n[k])
                else:
                    r[N(h - 1, k)] = -sign
                    A_ub.append(r); b_ub.append(policy.max_change[k])
        r = row(); r[[N(h, k) for k in range(K)]] = policy.cost  # budget
        A_ub.append(r); b_ub.append(policy.budget)
    bounds = [(0.0, None)] * nv
    integ = np.zeros(nv, dtype=int)
    for h in range(H):
        for k in range(K):
            bounds[N(h, k)] = (float(policy.ha_min[k]), float(policy.capacity[k]))
            integ[N(h, k)] = 1
    index = {"N": N, "X": X, "S": S, "U": U, "H": H, "K": K}
    return c, np.array(A_ub), np.array(b_ub), np.array(A_eq), np.array(b_eq), bounds, integ, index


def anchors_for(demand: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """Secant anchors: one below the replicas the home demand alone needs (the LP's likely choice)."""
    need = min_replicas_for(np.asarray(demand, float), curve)
    return np.maximum(need - 1, 0)


def decide(demand, prev_n, policy: FederationPolicy, curve: np.ndarray, w: Weights = Weights(),
           anchors=None, refine: bool = True) -> Decision:
    """Solve the decision MILP on HiGHS. ``curve`` is ``L*(n)`` (from :func:`latency.slo_load`), ``demand``
    ``[H, K]`` forecast origin demand. With ``refine`` the secants are re-anchored once at the chosen
    replicas and the MILP re-solved (the SLO constraint is then exact at the decision)."""
    D = np.atleast_2d(np.asarray(demand, float))
    prev_n = np.asarray(prev_n, dtype=int)
    if prev_n.shape != (policy.k,):
        raise PolicyConfigError(f"prev_n must have {policy.k} entries, got shape {prev_n.shape}")
    if curve.size - 1 < max(policy.capacity) + 1:
        raise ValueError(f"the SLO curve covers n <= {curve.size - 1}; capacity needs {max(policy.capacity) + 1}")
    a = anchors_for(D, curve) if anchors is None else np.asarray(anchors)
    for _ in range(2 if refine else 1):
        lines = secant_at(curve, a)
        c, Au, bu, Ae, be, bounds, integ, ix = build_milp(D, prev_n, policy, lines, w)
        try:
            res = solve_lp(c, Au, bu, Ae, be, bounds=bounds, integrality=integ)
        except InfeasibleError as e:
            raise PolicyConfigError(f"no decision satisfies the policies (max change from {prev_n.tolist()}, "
                                    f"budget {policy.budget:g}, HA minimum {policy.ha_min}): {e}") from None
        H, K = ix["H"], ix["K"]
        n = np.rint([[res.x[ix["N"](h, k)] for k in range(K)] for h in range(H)]).astype(int)
        new_a = np.maximum(np.minimum(n, curve.size - 2) - 1, 0)
        if np.array_equal(new_a, a):
            break
        a = new_a
    x = np.array([[[res.x[ix["X"](h, j, k)] for k in range(K)] for j in range(K)] for h in range(H)])
    s = np.array([[res.x[ix["S"](h, k)] for k in range(K)] for h in range(H)])
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(D[0][:, None] > 0, x[0] / D[0][:, None], np.eye(K))
    shares = np.clip(shares, 0, None)
    shares /= shares.sum(1, keepdims=True)
    return Decision(n, x, shares, s, res.value)


def static_weights(policy: FederationPolicy) -> np.ndarray:
    """Karmada-style static split: the residency share stays home, the rest goes to clusters in proportion
    to their capacity. Row j = where origin j's requests go."""
    cap = np.asarray(policy.capacity, float)
    w = cap / cap.sum()
    r = np.asarray(policy.residency)[:, None]
    return r * np.eye(policy.k) + (1 - r) * w[None, :]
