"""Heap-event trace format (issue 15, build step 2; notes section 2.2).

A trace is a sequence of events over objects numbered 0..N-1 in allocation order:

====== ===================== =======================================================
op     fields (a, b, c, tid)  meaning
====== ===================== =======================================================
ALLOC  a=id, tid              allocate object ``a`` (size/site in the per-object arrays);
                              the allocating thread holds one root reference to it
WRITE  a=src, b=slot, c=dst   ``src.slot = dst`` (``dst = -1``: null)
ROOT+  a=id, tid              thread ``tid`` takes one more stack/global reference to ``a``
ROOT-  a=id, tid              thread ``tid`` drops one reference to ``a``
====== ===================== =======================================================

Per object: ``size`` (bytes, as ``sys.getsizeof`` reports, GC header included), ``site`` (allocation
site) and ``static`` (site belongs to the start-up "static" table). ``freeze_pos`` is the event index
where start-up ends (``-1``: none). Stored as one ``.npz`` file (:func:`save` / :func:`load`).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from support.paths import atomic_writer

ALLOC, WRITE, ROOT_ADD, ROOT_DEL = 0, 1, 2, 3
OP_NAMES = ("ALLOC", "WRITE", "ROOT+", "ROOT-")
FORMAT_VERSION = 1
TID_DTYPE = np.int8  # a trace's thread ids
MAX_THREADS = int(np.iinfo(TID_DTYPE).max) + 1  # ids 0..127: thread 128 would wrap to -128


class TraceError(ValueError):
    """A malformed trace: the message names the first problem found."""


@dataclass(frozen=True)
class Trace:
    """A heap-event trace plus per-object metadata (see module docstring for the format)."""

    name: str
    op: np.ndarray      # int8 [E]
    a: np.ndarray       # int32 [E]
    b: np.ndarray       # int8 [E]
    c: np.ndarray       # int32 [E]
    tid: np.ndarray     # int8 [E]
    size: np.ndarray    # int32 [N]
    site: np.ndarray    # int32 [N]
    static: np.ndarray  # bool [N]
    n_slots: int = 4
    n_threads: int = 1
    freeze_pos: int = -1
    source: str = "synthetic"
    meta: dict = field(default_factory=dict)

    @property
    def n_events(self) -> int:
        return int(self.op.size)

    @property
    def n_objects(self) -> int:
        return int(self.size.size)

    def alloc_pos(self) -> np.ndarray:
        """Event index of each object's ALLOC."""
        return np.flatnonzero(self.op == ALLOC)


def make_trace(name: str, events: np.ndarray | list, size, site, static=None, *, n_slots: int = 4,
               freeze_pos: int = -1, source: str = "synthetic", meta: dict | None = None) -> Trace:
    """Build and validate a :class:`Trace` from an (E, 5) array of ``(op, a, b, c, tid)`` rows."""
    ev = np.asarray(events, dtype=np.int64).reshape(-1, 5)
    size = np.asarray(size, dtype=np.int32)
    site = np.asarray(site, dtype=np.int32)
    static = np.zeros(size.size, bool) if static is None else np.asarray(static, dtype=bool)
    t = Trace(name, ev[:, 0].astype(np.int8), ev[:, 1].astype(np.int32), ev[:, 2].astype(np.int8),
              ev[:, 3].astype(np.int32), ev[:, 4].astype(TID_DTYPE), size, site, static, int(n_slots),
              int(ev[:, 4].max()) + 1 if len(ev) else 1, int(freeze_pos), source, dict(meta or {}))
    validate(t)
    return t


def validate(t: Trace) -> None:
    """Raise :class:`TraceError` naming the first structural problem (ids, slots, sizes, root counts)."""
    E, N = t.n_events, t.n_objects
    for nm in ("a", "b", "c", "tid"):
        if getattr(t, nm).shape != (E,):
            raise TraceError(f"trace {t.name!r}: column {nm} has shape {getattr(t, nm).shape}, expected ({E},)")
    if t.site.shape != (N,) or t.static.shape != (N,):
        raise TraceError(f"trace {t.name!r}: size/site/static arrays differ in length")
    if E == 0:
        raise TraceError(f"trace {t.name!r} has no events")
    if not np.isin(t.op, (ALLOC, WRITE, ROOT_ADD, ROOT_DEL)).all():
        bad = int(np.flatnonzero(~np.isin(t.op, (ALLOC, WRITE, ROOT_ADD, ROOT_DEL)))[0])
        raise TraceError(f"trace {t.name!r}: unknown op {int(t.op[bad])} at event {bad}")
    if N and (t.size <= 0).any():
        raise TraceError(f"trace {t.name!r}: object {int(np.flatnonzero(t.size <= 0)[0])} has size <= 0")
    if not 1 <= t.n_slots <= 64:
        raise TraceError(f"trace {t.name!r}: n_slots must be 1..64, got {t.n_slots}")
    if (t.tid < 0).any():
        raise TraceError(f"trace {t.name!r}: negative thread id")
    ap = t.alloc_pos()
    if ap.size != N or not np.array_equal(t.a[ap], np.arange(N)):
        raise TraceError(f"trace {t.name!r}: ALLOC events must allocate ids 0..{N - 1} in order "
                         f"(found {ap.size} ALLOCs for {N} objects)")
    # every referenced object must already be allocated: allocated-count before event i is cumsum
    n_before = np.concatenate(([0], np.cumsum(t.op == ALLOC)[:-1]))
    w = t.op == WRITE
    if w.any():
        if ((t.b[w] < 0) | (t.b[w] >= t.n_slots)).any():
            i = int(np.flatnonzero(w)[np.flatnonzero((t.b[w] < 0) | (t.b[w] >= t.n_slots))[0]])
            raise TraceError(f"trace {t.name!r}: WRITE at event {i} uses slot {int(t.b[i])} (n_slots={t.n_slots})")
        bad = w & ((t.a < 0) | (t.a >= n_before) | (t.c < -1) | (t.c >= n_before))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise TraceError(f"trace {t.name!r}: WRITE at event {i} names an object not yet allocated "
                             f"({int(t.a[i])} -> {int(t.c[i])})")
    r = (t.op == ROOT_ADD) | (t.op == ROOT_DEL)
    if r.any():
        bad = r & ((t.a < 0) | (t.a >= n_before))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise TraceError(f"trace {t.name!r}: root event at {i} names unallocated object {int(t.a[i])}")
    # root counts never drop below zero: +1 at ALLOC and ROOT+, -1 at ROOT-
    m = (t.op == ALLOC) | r
    idx = np.flatnonzero(m)
    obj, d = t.a[idx].astype(np.int64), np.where(t.op[idx] == ROOT_DEL, -1, 1)
    order = np.lexsort((idx, obj))
    obj, d = obj[order], d[order]
    cs = np.cumsum(d)
    starts = np.flatnonzero(np.concatenate(([True], obj[1:] != obj[:-1])))
    base = np.repeat(cs[starts] - d[starts], np.diff(np.concatenate((starts, [obj.size]))))
    if ((cs - base) < 0).any():
        k = int(np.flatnonzero((cs - base) < 0)[0])
        raise TraceError(f"trace {t.name!r}: ROOT- of object {int(obj[k])} without a matching reference "
                         f"(event {int(idx[order][k])})")
    if not -1 <= t.freeze_pos <= E:
        raise TraceError(f"trace {t.name!r}: freeze_pos {t.freeze_pos} outside 0..{E}")


def save(t: Trace, path: str | Path) -> Path:
    """Write ``t`` as one compressed ``.npz`` (atomic: a temporary file is renamed into place)."""
    import json

    path = Path(path)
    with atomic_writer(path) as f:
        np.savez_compressed(f, version=FORMAT_VERSION, op=t.op, a=t.a, b=t.b, c=t.c, tid=t.tid, size=t.size,
                            site=t.site, static=t.static,
                            header=json.dumps({"name": t.name, "n_slots": t.n_slots, "freeze_pos": t.freeze_pos,
                                               "source": t.source, "meta": t.meta}))
    return path


def load(path: str | Path) -> Trace:
    """Read a trace written by :func:`save`; a malformed file raises :class:`TraceError`."""
    import json

    try:
        z = np.load(Path(path), allow_pickle=False)
        if int(z["version"]) != FORMAT_VERSION:
            raise TraceError(f"{path}: trace format version {int(z['version'])}, expected {FORMAT_VERSION}")
        h = json.loads(str(z["header"]))
        ev = np.stack([z["op"], z["a"], z["b"], z["c"], z["tid"]], axis=1)
    except TraceError:
        raise
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile) as e:  # missing keys, not an npz, bad json
        raise TraceError(f"{path}: not a trace file ({type(e).__name__}: {e})") from None
    return make_trace(h["name"], ev, z["size"], z["site"], z["static"], n_slots=h["n_slots"],
                      freeze_pos=h["freeze_pos"], source=h["source"], meta=h["meta"])
