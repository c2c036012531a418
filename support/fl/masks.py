"""Client masks for pruned submodels and coverage-aware aggregation (HeteroFL, FedRolex, Zhou et al. NeurIPS'23).

A mask is a boolean vector over a flat parameter vector: True where the client holds (trains) that
coordinate. Budgets r in (0, 1] set the kept fraction. Nested "width" masks keep the first ceil(r n)
coordinates of a fixed order (HeteroFL); rolling masks keep a window that slides every round (FedRolex);
random masks draw the kept set. Coverage C(j) counts the clients holding coordinate j and C* = min_j C(j)
is the minimum coverage index of "Every Parameter Matters"; the server averages each coordinate over the
clients that cover it and leaves uncovered coordinates unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from support.validate import check_int

MASK_KINDS = ("nested", "rolling", "random", "full")


def _check_ratio(ratio: float) -> float:
    r = float(ratio)
    if not (math.isfinite(r) and 0.0 < r <= 1.0):
        raise ValueError(f"a resource budget (kept fraction) must be in (0, 1]; got {ratio!r}")
    return r


def kept(n: int, ratio: float) -> int:
    """Number of coordinates a client with budget ``ratio`` keeps: ceil(ratio * n), at least 1."""
    n, r = check_int(n, "the parameter count n", minimum=1), _check_ratio(ratio)
    return max(1, min(n, math.ceil(r * n - 1e-9)))


def nested_mask(n: int, ratio: float, order: np.ndarray | None = None) -> np.ndarray:
    """HeteroFL width mask: the first ceil(ratio n) coordinates of ``order`` (default 0..n-1).

    Masks of smaller budgets are subsets of masks of larger budgets (nested submodels).
    """
    k = kept(n, ratio)
    m = np.zeros(n, dtype=bool)
    idx = np.arange(n) if order is None else _check_order(order, n)
    m[idx[:k]] = True
    return m


def rolling_mask(n: int, ratio: float, start: int, order: np.ndarray | None = None) -> np.ndarray:
    """FedRolex window mask: ceil(ratio n) consecutive coordinates of ``order`` from ``start`` (cyclic)."""
    k = kept(n, ratio)
    idx = np.arange(n) if order is None else _check_order(order, n)
    m = np.zeros(n, dtype=bool)
    m[idx[(int(start) + np.arange(k)) % n]] = True
    return m


def random_mask(n: int, ratio: float, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random set of ceil(ratio n) coordinates."""
    k = kept(n, ratio)
    m = np.zeros(n, dtype=bool)
    m[rng.choice(n, size=k, replace=False)] = True
    return m


def _check_order(order: np.ndarray, n: int) -> np.ndarray:
    order = np.asarray(order)
    if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
        raise ValueError(f"order must be a permutation of 0..{n - 1}")
    return order


def client_masks(n: int, ratios: Sequence[float], kind: str = "nested", round_index: int = 0,
                 rng: np.random.Generator | None = None, order: np.ndarray | None = None,
                 stride: int | None = None) -> np.ndarray:
    """Masks (M x n, bool) of M clients with budgets ``ratios`` for one round.

    ``nested``: width masks (constant over rounds); ``rolling``: client i's window starts at
    ``round_index * stride + floor(i n / M)`` (staggered so budgets r = c/M give coverage exactly c);
    ``random``: fresh random masks (needs ``rng``); ``full``: all ones whatever the budgets.
    """
    n = check_int(n, "the parameter count n", minimum=1)
    ratios = [_check_ratio(r) for r in ratios]
    if not ratios:
        raise ValueError("client_masks needs at least one client budget")
    M = len(ratios)
    if kind == "nested":
        return np.stack([nested_mask(n, r, order) for r in ratios])
    if kind == "rolling":
        s = max(1, n // M) if stride is None else int(stride)
        return np.stack([rolling_mask(n, r, round_index * s + (i * n) // M, order) for i, r in enumerate(ratios)])
    if kind == "random":
        if rng is None:
            raise ValueError("random masks need an rng")
        return np.stack([random_mask(n, r, rng) for r in ratios])
    if kind == "full":
        return np.ones((M, n), dtype=bool)
    raise ValueError(f"unknown mask kind {kind!r}; expected one of {', '.join(MASK_KINDS)}")


def _check_masks(masks: np.ndarray) -> np.ndarray:
    masks = np.asarray(masks)
    if masks.ndim != 2 or masks.shape[0] < 1 or masks.shape[1] < 1:
        raise ValueError(f"masks must be a non-empty (clients x parameters) array; got shape {masks.shape}")
    if masks.dtype != bool:
        if not np.isin(masks, (0, 1)).all():
            raise ValueError("masks must be binary (0/1 or bool)")
        masks = masks.astype(bool)
    return masks


def coverage(masks: np.ndarray) -> np.ndarray:
    """C(j) = number of clients whose mask holds coordinate j (int vector of length n)."""
    return _check_masks(masks).sum(axis=0).astype(np.int64)


def min_coverage(masks: np.ndarray) -> int:
    """C* = min_j C(j), the minimum coverage index (0 when some coordinate is held by nobody)."""
    return int(coverage(masks).min())


def coverage_average(values: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Coordinate-wise mean of client vectors over the clients covering each coordinate; 0 where uncovered.

    ``values`` (M x n): client i's vector, read only where its mask is set. This is the server step
    sum_i m_ij v_ij / C(j) of coverage-aware aggregation (for full masks it is the plain mean).
    """
    masks = _check_masks(masks)
    values = np.asarray(values, dtype=float)
    if values.shape != masks.shape:
        raise ValueError(f"values {values.shape} and masks {masks.shape} must have the same shape")
    c = masks.sum(axis=0)
    total = np.where(masks, values, 0.0).sum(axis=0)  # not values * masks: 0 * nan = nan would leak in
    out = np.zeros(masks.shape[1])
    np.divide(total, c, out=out, where=c > 0)
    return out


def coverage_aggregate(current: np.ndarray, client_params: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Model averaging over covering clients: x_j <- mean of the covering clients' x_ij; uncovered x_j kept."""
    masks = _check_masks(masks)
    current = np.asarray(current, dtype=float)
    if current.shape != (masks.shape[1],):
        raise ValueError(f"current parameters {current.shape} do not match masks {masks.shape}")
    avg = coverage_average(client_params, masks)
    return np.where(masks.any(axis=0), avg, current)


def masks_with_coverage(n: int, n_clients: int, c_star: int, round_index: int = 0) -> np.ndarray:
    """M rolling masks whose coverage is exactly ``c_star`` on every coordinate (staggered windows of c n / M).

    Needs n divisible by M; used by the convergence-rate experiment (C* in {1, 2, 4, 8}).
    """
    n, M = check_int(n, "the parameter count n", minimum=1), check_int(n_clients, "n_clients", minimum=1)
    c_star = check_int(c_star, "c_star", minimum=1, maximum=M)  # 2.5 alternated coverage 3 and 2
    if n % M:
        raise ValueError(f"exact coverage needs n ({n}) divisible by the number of clients ({M})")
    return client_masks(n, [c_star / M] * M, "rolling", round_index=round_index)


def unit_mask_to_params(unit_mask: np.ndarray, blocks: Sequence[tuple[tuple[int, ...], int | None]]) -> np.ndarray:
    """Expand a mask over units (e.g. hidden neurons) to a flat parameter mask over several blocks.

    ``blocks``: per parameter block, its shape and the axis that indexes the units (None: block always
    kept, e.g. an output bias). Blocks are flattened row-major and concatenated, like the models' vectors.
    """
    unit_mask = np.asarray(unit_mask, dtype=bool)
    parts = []
    for shape, axis in blocks:
        if axis is None:
            parts.append(np.ones(int(np.prod(shape)), dtype=bool))
            continue
        if shape[axis] != unit_mask.size:
            raise ValueError(f"block {shape} axis {axis} has {shape[axis]} units; the mask has {unit_mask.size}")
        view = [1] * len(shape)
        view[axis] = unit_mask.size
        parts.append(np.broadcast_to(unit_mask.reshape(view), shape).ravel())
    return np.concatenate(parts)
