"""The work of one CPython cycle collection, counted the way ``gc_collect_main`` does it (GEN's cost model).

CPython 3.11 ``Modules/gcmodule.c`` collects generations ``<= g`` (the set ``Y`` of tracked objects in
them) without tracing from roots. One unit is one object touched by one pass over a GC list, or one
referent visited by a ``tp_traverse`` call. With ``L`` survivors, ``U = |Y| - L`` garbage objects and
``E_X`` the outgoing references of a set ``X``, the phases are:

=============================================  ==========================  =========================
phase (function in gcmodule.c)                 objects touched             referents visited
=============================================  ==========================  =========================
``update_refs`` (gc_refs = refcount)           ``|Y|``
``subtract_refs`` (visit_decref, every ref)    ``|Y|``                     ``E_Y``
``move_unreachable`` (visit_reachable)         ``|Y|``                     ``E_L`` (reachable only)
``untrack_tuples``; ``gc_list_size`` (g>=1);   ``L``; ``L``; ``L``
``untrack_dicts`` (g=2)
``move_legacy_finalizers``, ``handle_weakrefs``  ``U`` each (3 passes)
``finalize_garbage``
``handle_resurrected_objects``: clear            ``U`` each (5 passes)       ``E_U`` (subtract_refs)
collecting, update_refs, subtract_refs,
move_unreachable, clear_unreachable_mask
``gc_list_size(final_unreachable)``            ``U``
``delete_garbage``: tp_clear, then dealloc     ``U`` + ``U``               ``E_U`` (tp_clear decrefs)
=============================================  ==========================  =========================

so ``work = 3|Y| + E_Y + E_L + k_g L + 11 U + 2 E_U`` with ``k_g = 1, 2, 3`` for ``g = 0, 1, 2``. Every
coefficient is a pass count read off the algorithm; nothing is fitted to measured pauses. References are
the non-null pointer slots of the trace (CPython also visits ``None`` and non-container referents, a
near-constant per object that the trace does not record). Only ``move_unreachable``'s traversal of the
reachable part (``L + E_L``) is a graph walk; every other pass is a list walk that 2 workers could split
evenly, which is how GEN-2T is charged (:func:`parallel`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GARBAGE_PASSES = 11   # object passes over the unreachable list, from the table above
SURVIVOR_PASSES = (1, 2, 3)  # untrack_tuples; + gc_list_size (g >= 1); + untrack_dicts (g = 2)


@dataclass(frozen=True)
class CollectionWork:
    """Object and reference counts of one collection and the work units they imply (module docstring)."""

    generation: int
    young: int           # |Y|: tracked objects in the collected generations
    survivors: int       # L
    garbage: int         # U
    refs_young: int      # E_Y
    refs_survivors: int  # E_L
    refs_garbage: int    # E_U

    @property
    def work(self) -> int:
        return (3 * self.young + self.refs_young + self.refs_survivors
                + SURVIVOR_PASSES[self.generation] * self.survivors
                + GARBAGE_PASSES * self.garbage + 2 * self.refs_garbage)

    @property
    def traversal(self) -> int:
        """The graph-walk part of ``move_unreachable``: reachable objects and their references."""
        return self.survivors + self.refs_survivors

    def parallel(self, workers: int, traversal_cost: int) -> int:
        """Pause with ``workers``: list passes split evenly, the traversal charged ``traversal_cost``
        (its level-synchronous parallel cost from :class:`support.vgc.marking.MarkResult`)."""
        return -(-(self.work - self.traversal) // workers) + traversal_cost


def collection_work(ptr: np.ndarray, young: np.ndarray, survived: np.ndarray, generation: int,
                    extra_objects: int = 0, extra_refs: int = 0) -> CollectionWork:
    """Counts for collecting the ``young`` mask (generations ``<= generation``) of which ``survived`` stay.

    ``extra_objects`` / ``extra_refs`` are tracked objects outside the trace that the collection also
    scans and keeps (the interpreter's own objects in generation 2 during a full collection).
    """
    if not 0 <= generation <= 2:
        raise ValueError(f"generation must be 0, 1 or 2, got {generation}")
    if (survived & ~young).any():
        raise ValueError("survivors must be a subset of the collected generations")
    idx = np.flatnonzero(young)
    nn = (ptr[idx] >= 0).sum(axis=1)
    s = survived[idx]
    e_l, e_u = int(nn[s].sum()), int(nn[~s].sum())
    n_l = int(s.sum())
    return CollectionWork(generation, idx.size + extra_objects, n_l + extra_objects, idx.size - n_l,
                          e_l + e_u + extra_refs, e_l + extra_refs, e_u)
