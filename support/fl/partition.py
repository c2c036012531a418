"""Label-skew partitioners for federated learning: Dirichlet (Hsu et al. 2019) and shards (McMahan et al. 2017).

Each returns a list of index arrays (one per client) that together cover every training sample exactly
once. ``label_distribution`` gives the per-client label histograms used by heterogeneity measures.
"""

from __future__ import annotations

import numpy as np

from support.validate import check_int


def _check(y: np.ndarray, n_clients: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y must be a non-empty 1-D label array; got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ValueError("y must hold non-negative integer class labels")
    check_int(n_clients, "n_clients", minimum=1)
    if n_clients > y.size:
        raise ValueError(f"n_clients={n_clients} exceeds the number of samples {y.size}")
    return y


def dirichlet_partition(y: np.ndarray, n_clients: int, alpha: float, rng: np.random.Generator,
                        min_size: int = 10, max_tries: int = 1000) -> list[np.ndarray]:
    """Per-class Dirichlet(alpha) split of sample indices over clients (NIID-Bench scheme).

    For each class c, proportions q ~ Dir(alpha * 1_K) divide that class's samples among the K clients
    (clients already holding more than N/K samples get no further share). Redraws until every client
    has at least ``min_size`` samples. Small alpha = strong label skew; alpha -> inf = IID.
    """
    y = _check(y, n_clients)
    if not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha must be a positive finite number; got {alpha!r}")
    if min_size < 0 or min_size * n_clients > y.size:
        raise ValueError(f"min_size={min_size} x n_clients={n_clients} exceeds the {y.size} samples")
    classes = np.unique(y)
    n = y.size
    for _ in range(max_tries):
        buckets: list[list[int]] = [[] for _ in range(n_clients)]
        for c in classes:
            idx = rng.permutation(np.flatnonzero(y == c))
            q = rng.dirichlet(np.full(n_clients, float(alpha)))
            sizes = np.array([len(b) for b in buckets])
            q = q * (sizes < n / n_clients)
            if q.sum() <= 0:
                q = np.full(n_clients, 1.0 / n_clients)
            q = q / q.sum()
            cuts = (np.cumsum(q) * idx.size).astype(int)[:-1]
            for k, part in enumerate(np.split(idx, cuts)):
                buckets[k].extend(part.tolist())
        if min(len(b) for b in buckets) >= min_size:
            return [np.sort(np.asarray(b, dtype=np.int64)) for b in buckets]
    raise ValueError(f"dirichlet_partition: no split with every client >= {min_size} samples after "
                     f"{max_tries} draws (alpha={alpha}, n_clients={n_clients}); lower min_size")


def shard_partition(y: np.ndarray, n_clients: int, shards_per_client: int,
                    rng: np.random.Generator) -> list[np.ndarray]:
    """McMahan's pathological non-IID split: sort by label, cut into K*s equal shards, give s to each client.

    Samples left over by the integer shard size are dealt to clients round-robin so every index is used.
    """
    y = _check(y, n_clients)
    check_int(shards_per_client, "shards_per_client", minimum=1)
    n_shards = n_clients * shards_per_client
    if n_shards > y.size:
        raise ValueError(f"{n_shards} shards need at least as many samples; got {y.size}")
    order = np.argsort(y, kind="stable")
    size = y.size // n_shards
    shards = [order[i * size:(i + 1) * size] for i in range(n_shards)]
    rest = order[n_shards * size:]
    perm = rng.permutation(n_shards)
    parts = [np.concatenate([shards[j] for j in perm[k * shards_per_client:(k + 1) * shards_per_client]])
             for k in range(n_clients)]
    for i, r in enumerate(rest):
        parts[i % n_clients] = np.append(parts[i % n_clients], r)
    return [np.sort(p.astype(np.int64)) for p in parts]


def label_counts(y: np.ndarray, parts: list[np.ndarray], n_classes: int | None = None) -> np.ndarray:
    """Matrix (n_clients x n_classes) of label counts per client.

    Raises ValueError naming the first label outside ``0..n_classes-1`` held by a client: dropping it would
    silently shrink that client's histogram (and :func:`label_distribution` would renormalise the rest)."""
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class labels; got dtype {y.dtype}")
    C = check_int(n_classes, "n_classes", minimum=1) if n_classes is not None else int(y.max()) + 1
    rows = []
    for k, p in enumerate(parts):
        labels = y[np.asarray(p, dtype=np.int64)]
        bad = labels[(labels < 0) | (labels >= C)]
        if bad.size:
            raise ValueError(f"label_counts: client {k} holds label {int(bad[0])}, outside the classes "
                             f"0..{C - 1} (n_classes={C})")
        rows.append(np.bincount(labels, minlength=C))
    return np.stack(rows).astype(np.int64)


def label_distribution(y: np.ndarray, parts: list[np.ndarray], n_classes: int | None = None) -> np.ndarray:
    """Matrix (n_clients x n_classes) of per-client label proportions (rows sum to 1)."""
    cnt = label_counts(y, parts, n_classes).astype(float)
    sizes = cnt.sum(axis=1, keepdims=True)
    if np.any(sizes == 0):
        raise ValueError("a client holds no samples; its label distribution is undefined")
    return cnt / sizes
