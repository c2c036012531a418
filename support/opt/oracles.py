"""Exact oracles on discretized problems: vectorized brute force and a multi-resource knapsack DP.

Both are exact *on their grid*: their optimum is a feasible point of the continuous problem, so it
upper-bounds a continuous optimum and converges to it as the grid is refined.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def brute_force_min(f: Callable[..., np.ndarray], grids: Sequence[np.ndarray],
                    feasible: Callable[..., np.ndarray] | None = None, chunk: int = 2_000_000):
    """Minimize ``f(*xs)`` over the Cartesian product of ``grids`` (vectorized, chunked).

    ``f`` and ``feasible`` take one 1-D array per grid (same length) and return arrays. Returns
    ``(best value, tuple of arguments)``; ``(inf, None)`` when no grid point is feasible.
    """
    grids = [np.asarray(g) for g in grids]
    shape = tuple(g.size for g in grids)
    total = int(np.prod(shape))
    best, arg = np.inf, None
    for start in range(0, total, chunk):
        flat = np.arange(start, min(total, start + chunk))
        idx = np.unravel_index(flat, shape)
        xs = [g[i] for g, i in zip(grids, idx)]
        val = np.asarray(f(*xs), float)
        if feasible is not None:
            val = np.where(np.asarray(feasible(*xs), bool), val, np.inf)
        val = np.where(np.isnan(val), np.inf, val)
        k = int(np.argmin(val))
        if val[k] < best:
            best, arg = float(val[k]), tuple(x[k] for x in xs)
    return best, arg


def grid_knapsack_dp(costs: Sequence[np.ndarray], usages: Sequence[np.ndarray], capacity: Sequence[int]):
    """Exact minimum of ``sum_i costs[i][k_i]`` s.t. ``sum_i usages[i][k_i] <= capacity`` (componentwise).

    ``costs[i]`` has one entry per option of item ``i`` (inf = forbidden); ``usages[i]`` is an integer
    array (options x resources) of resource units. Each item must pick exactly one option. Runs in
    O(sum_i options_i * prod(capacity+1)). Returns ``(value, choice list)``; ``(inf, None)`` if infeasible.
    """
    if len(costs) != len(usages):
        raise ValueError(f"costs has {len(costs)} items, usages {len(usages)}: one cost and usage array per item")
    cap = tuple(int(c) for c in capacity)
    R = len(cap)
    shape = tuple(c + 1 for c in cap)
    dp = np.full(shape, np.inf)
    dp[(0,) * R] = 0.0
    back = []
    for i, (cost, use) in enumerate(zip(costs, usages)):
        cost = np.asarray(cost, float)
        if np.isnan(cost).any() or (cost == -np.inf).any():
            raise ValueError(f"item {i}: costs must be finite or +inf (forbidden), got NaN or -inf")
        use = np.asarray(use)
        if use.shape not in ((cost.size, R), (cost.size,) if R == 1 else ()):
            raise ValueError(f"item {i}: usages must be (options x resources) = ({cost.size}, {R}), got {use.shape}")
        if use.dtype.kind not in "iu" and not (use.dtype.kind == "f" and np.all(use == np.round(use))):
            raise ValueError(f"item {i}: usages must be whole resource units (the DP indexes by them), got {use.dtype}")
        use = use.astype(int).reshape(cost.size, R)
        new = np.full(shape, np.inf)
        arg = np.full(shape, -1, dtype=np.int64)
        for k in np.nonzero(np.isfinite(cost))[0]:
            u = use[k]
            if np.any(u > np.array(cap)) or np.any(u < 0):
                continue
            src = tuple(slice(0, c + 1 - uk) for c, uk in zip(cap, u))
            dst = tuple(slice(uk, c + 1) for c, uk in zip(cap, u))
            cand = dp[src] + cost[k]
            better = cand < new[dst]
            new[dst] = np.where(better, cand, new[dst])
            arg[dst] = np.where(better, k, arg[dst])
        dp = new
        back.append((arg, use))
    flat = int(np.argmin(dp))
    value = float(dp.flat[flat])
    if not np.isfinite(value):
        return np.inf, None
    state = np.array(np.unravel_index(flat, shape))
    choice = []
    for arg, use in reversed(back):
        k = int(arg[tuple(state)])
        choice.append(k)
        state = state - use[k]
    return value, choice[::-1]
