"""Frontier marking over the pointer-slot heap and its parallel work model (issue 15, steps 3-4).

Marking is level-synchronous: each level expands the current frontier through its pointer slots. Work
is counted per level as objects visited + non-null slots scanned, split by an owner (a zone) when asked.
A tracing collector's pause is remembered-set entries + marking + sweeping (bytes / 64) + freeing the garbage
(:func:`free_units`).
With ``W`` workers, an evenly shared level costs ``max(ceil(work / W), largest object's work)`` (objects are
not split); a level whose objects are owned by zones costs the busiest worker's share (zones mapped to
workers round-robin). Barrier costs are not
charged, so the parallel model is optimistic for the parallel collectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SWEEP_BYTES_PER_UNIT = 64  # one work unit per cache line swept


@dataclass
class MarkResult:
    """Marked objects and work per level (``level_work[l, z]``: work of level ``l`` owned by zone ``z``;
    ``level_max[l]``: the largest single object's work in level ``l``, the unit a worker cannot split)."""

    marked: np.ndarray
    level_work: np.ndarray
    level_max: np.ndarray

    @property
    def work(self) -> int:
        return int(self.level_work.sum())

    def parallel_even(self, workers: int) -> int:
        """Cost when every level is shared evenly by ``workers`` (work stealing)."""
        tot = self.level_work.sum(axis=1)
        return int(np.maximum(-(-tot // workers), self.level_max).sum())

    def parallel_by_owner(self, workers: int) -> int:
        """Cost when zone ``z`` is marked by worker ``z % workers`` (zones marked in parallel)."""
        L, Z = self.level_work.shape
        per = np.zeros((L, workers), dtype=np.int64)
        for z in range(Z):
            per[:, z % workers] += self.level_work[:, z]
        return int(np.maximum(per.max(axis=1), self.level_max).sum()) if L else 0


def mark(ptr: np.ndarray, seeds: np.ndarray, cand: np.ndarray, owner: np.ndarray | None = None,
         n_owners: int = 1) -> MarkResult:
    """Mark every candidate object reachable from ``seeds`` through candidate objects only.

    ``ptr`` is (N, K) int32 with ``-1`` for null; ``cand`` a bool mask; ``owner`` (int per object, below
    ``n_owners``) attributes each level's work to zones.
    """
    N = ptr.shape[0]
    marked = np.zeros(N, dtype=bool)
    f = np.unique(seeds[cand[seeds]]) if seeds.size else seeds.astype(np.int64)
    marked[f] = True
    levels, lmax = [], []
    while f.size:
        rows = ptr[f]
        nn = (rows >= 0).sum(axis=1)
        w = 1 + nn
        lmax.append(int(w.max()))
        if owner is None:
            levels.append([int(w.sum())])
        else:
            levels.append(np.bincount(owner[f], weights=w, minlength=n_owners).astype(np.int64))
        ch = rows[rows >= 0]
        ch = ch[cand[ch] & ~marked[ch]]
        f = np.unique(ch)
        marked[f] = True
    lw = np.asarray(levels, dtype=np.int64).reshape(len(levels), n_owners if owner is not None else 1)
    return MarkResult(marked, lw, np.asarray(lmax, dtype=np.int64))


def incoming(ptr: np.ndarray, src_mask: np.ndarray, target_mask: np.ndarray) -> np.ndarray:
    """Targets (with repeats) of pointers from ``src_mask`` objects into ``target_mask`` objects:
    the entries a precise write-barrier remembered set holds for that target region."""
    rows = ptr[src_mask]
    t = rows[rows >= 0]
    return t[target_mask[t]]


def sweep_units(size: np.ndarray, condemned: np.ndarray) -> int:
    """Sweep work: bytes of the condemned region / 64."""
    return int(size[condemned].astype(np.int64).sum() // SWEEP_BYTES_PER_UNIT)


def free_units(ptr: np.ndarray, dead: np.ndarray) -> int:
    """Freeing the garbage in a reference-counted heap: one unit per dead object (its deallocation) and one
    per reference it holds (released, so that the counts of objects outside the garbage stay right). CPython's
    ``delete_garbage`` does the same two steps (:mod:`support.vgc.cpython_cost`)."""
    return int(dead.sum() + (ptr[dead] >= 0).sum())
