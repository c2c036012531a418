"""The independent reachability oracle for the safety checks (issue 15, acceptance "Safety").

Built on scipy's breadth-first search over a sparse graph with a super-root, so it shares no code
with :mod:`support.vgc.marking`.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order


def reachable(ptr: np.ndarray, alive: np.ndarray, roots: np.ndarray) -> np.ndarray:
    """Bool mask of objects reachable from objects with ``roots > 0`` through pointers of live objects."""
    N, K = ptr.shape
    src = np.repeat(np.arange(N), K)
    dst = ptr.ravel().astype(np.int64)
    keep = (dst >= 0) & alive[src]
    rooted = np.flatnonzero((roots > 0) & alive)
    s = np.concatenate([src[keep], np.full(rooted.size, N)])
    d = np.concatenate([dst[keep], rooted])
    g = csr_matrix((np.ones(s.size, dtype=np.int8), (s, d)), shape=(N + 1, N + 1))
    order = breadth_first_order(g, N, directed=True, return_predecessors=False)
    m = np.zeros(N + 1, dtype=bool)
    m[order] = True
    return m[:N]
