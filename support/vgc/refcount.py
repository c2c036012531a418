"""Reference-count replay: when CPython's refcounting would free each object (notes section 2.2, caveat).

CPython frees an object the moment its count (incoming pointers + stack/global references) reaches zero;
only garbage cycles (and what hangs off them) wait for the cycle collector. :func:`replay` runs a trace
through a plain sequential refcounter and returns that moment for every object.
"""

from __future__ import annotations

import numpy as np

from support.vgc.trace import ALLOC, ROOT_ADD, ROOT_DEL, Trace, TraceError


def replay(t: Trace) -> np.ndarray:
    """``death[i]`` = index of the event after which object ``i``'s count is zero (``-1``: never).

    A WRITE to, or from, an object already freed raises :class:`TraceError` (an invalid trace).
    """
    N, K = t.n_objects, t.n_slots
    rc = [0] * N
    ptr = [-1] * (N * K)
    death = [-1] * N
    ops, A, B, C = t.op.tolist(), t.a.tolist(), t.b.tolist(), t.c.tolist()

    def dec(x: int, i: int) -> None:
        stack = [x]
        while stack:
            y = stack.pop()
            rc[y] -= 1
            if rc[y] == 0:
                death[y] = i
                base = y * K
                for k in range(K):
                    z = ptr[base + k]
                    if z >= 0:
                        ptr[base + k] = -1
                        stack.append(z)

    for i, o in enumerate(ops):
        x = A[i]
        if o == ALLOC or o == ROOT_ADD:
            rc[x] += 1
        elif o == ROOT_DEL:
            dec(x, i)
        else:  # WRITE
            if death[x] >= 0:
                raise TraceError(f"trace {t.name!r}: WRITE at event {i} into object {x}, freed at event {death[x]}")
            new = C[i]
            if new >= 0:
                if death[new] >= 0:
                    raise TraceError(f"trace {t.name!r}: WRITE at event {i} stores object {new}, "
                                     f"freed at event {death[new]}")
                rc[new] += 1
            k = x * K + B[i]
            old = ptr[k]
            ptr[k] = new
            if old >= 0:
                dec(old, i)
    return np.asarray(death, dtype=np.int64)
