"""Data heterogeneity of clients and of a selected set (reconstructed for arXiv 2512.24286 Sec. III).

Client k holds label distribution p_k and D_k samples; the global distribution is p = sum D_k p_k / sum D_k.
Client heterogeneity delta_k = TV(p_k, p) = W1(p_k, p) under the 0/1 label metric. For a selection S (or a
relaxed a in [0,1]^K) the mixture discrepancy is delta(S) = TV(sum_S D_k p_k / D_S, p)
= || sum_S D_k (p_k - p) ||_1 / (2 D_S), which is what the generalization bound charges.
"""

from __future__ import annotations

import numpy as np


def _dist(P) -> np.ndarray:
    P = np.asarray(P, float)
    if np.any(P < -1e-12) or not np.allclose(P.sum(axis=-1), 1.0, atol=1e-9):
        raise ValueError("label distributions must be non-negative and sum to 1")
    return P


def tv_distance(p, q) -> np.ndarray:
    """Total variation 0.5 ||p - q||_1 along the last axis (= W1 with the 0/1 ground metric)."""
    return 0.5 * np.abs(_dist(p) - _dist(q)).sum(axis=-1)


def label_w1(p, q) -> np.ndarray:
    """W1 between distributions on the ordered labels 0..C-1 with metric |i - j|: sum of |CDF_p - CDF_q|."""
    return np.abs(np.cumsum(_dist(p) - _dist(q), axis=-1)).sum(axis=-1)


METRICS = {"tv": tv_distance, "w1": label_w1}


def global_distribution(P, sizes) -> np.ndarray:
    """Data-weighted global label distribution p = sum_k D_k p_k / sum_k D_k."""
    P, D = _dist(P), np.asarray(sizes, float)
    if D.shape != (P.shape[0],) or np.any(D <= 0):
        raise ValueError("sizes must hold one positive sample count per client")
    return D @ P / D.sum()


def client_heterogeneity(P, sizes, metric: str = "tv") -> np.ndarray:
    """delta_k = d(p_k, p) for every client, d = TV (default) or ordinal W1."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")
    return METRICS[metric](P, global_distribution(P, sizes)[None, :])


def selection_weights(S_or_a, K: int) -> np.ndarray:
    """A 0/1 (or relaxed) selection vector from a list of distinct client indices in 0..K-1, a length-K boolean
    mask or a length-K float weight vector. An integer 0/1 array is read as indices, so one that repeats an index
    (as a 0/1 mask would) is refused rather than misread; indices must be integers, since a float array of length K
    is read as weights (float indices [0., 1., 2.] with K = 3 would otherwise mean weights 0, 1, 2)."""
    x = np.asarray(S_or_a)
    if x.dtype == bool or (x.shape == (K,) and x.dtype.kind == "f"):
        if x.shape != (K,):
            raise ValueError(f"a boolean selection mask needs length {K}; got shape {x.shape}")
        a = x.astype(float)
    else:
        idx = x.astype(np.int64).ravel()
        if (x.size and x.dtype.kind not in "iu") or np.any(idx != x.ravel()) or np.any((idx < 0) | (idx >= K)) \
                or len(np.unique(idx)) != idx.size:
            raise ValueError(f"a selection must be distinct client indices in 0..{K - 1}, a length-{K} boolean mask "
                             f"or a length-{K} float weight vector; got {x.tolist()!r}")
        a = np.zeros(K)
        a[idx] = 1.0
    if a.shape != (K,) or np.any(a < 0):
        raise ValueError("selection must be client indices or a non-negative length-K weight vector")
    return a


def mixture_discrepancy(P, sizes, S_or_a) -> float:
    """delta(S) = TV(label mixture of the selected data, global distribution)."""
    P, D = _dist(P), np.asarray(sizes, float)
    a = selection_weights(S_or_a, P.shape[0])
    n = float(a @ D)
    if n <= 0:
        raise ValueError("the selection holds no data")
    p = global_distribution(P, D)
    return float(0.5 * np.abs((a * D) @ (P - p)).sum() / n)
