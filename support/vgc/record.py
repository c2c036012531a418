"""Traces recorded from real CPython programs, with CPython's own GC statistics (issue 15, steps 1-2).

The programs below build and drop object graphs made of instrumented ``__slots__`` classes, so every
GC-tracked allocation they make is logged: ``__init__`` logs ALLOC (size from ``sys.getsizeof``, GC
header included), :func:`link` logs WRITE, :func:`root` / :func:`unroot` log the program's own
references, ``__del__`` logs the real death, and ``gc.callbacks`` log each real collection (generation,
pause in ns as CPU time of the collecting thread and as wall time, objects collected). Each record is one
64-bit integer appended to an ``array`` (atomic under the GIL, allocates no GC-tracked object). A program
runs in a fresh interpreter (``python -m support.vgc.record``) after ``gc.collect()``; ``gc.get_stats()`` is
read before and after.

Programs: ``cycles`` (pilot: cyclic pairs with a bounded survivor list), ``trees`` (GCBench-style with
parent pointers), ``lru`` (LRU cache whose values point back to their entries), ``prodcons`` (2 producer
and 2 consumer threads sharing a locked queue, which the main thread creates and drops: 5 threads in the trace).
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import threading
import time
from array import array
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import numpy as np

from support.vgc.trace import Trace, make_trace

# record layout: op | tid << 3 | slot << 6 | a << 9 | (c + 1) << 35
R_ALLOC, R_WRITE, R_ROOT, R_UNROOT, R_DEATH, R_GCSTART, R_GCSTOP = range(7)
_LOG = array("q")
_ap = _LOG.append
_IDS = count()
_TIDS: dict[int, int] = {}
_get_ident = threading.get_ident


class Obj:
    """An instrumented object with 4 pointer slots."""

    __slots__ = ("oid", "s0", "s1", "s2", "s3")

    def __init__(self, site: int):
        i = next(_IDS)
        self.oid = i
        self.s0 = self.s1 = self.s2 = self.s3 = None
        _ap(R_ALLOC | _TIDS[_get_ident()] << 3 | i << 9 | (site + 1) << 35)

    def __del__(self):
        _ap(R_DEATH | self.oid << 9)


class Big(Obj):
    """An instrumented object with 4 pointer slots and 8 data slots (a larger size class)."""

    __slots__ = ("d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7")


_SET = (Obj.s0.__set__, Obj.s1.__set__, Obj.s2.__set__, Obj.s3.__set__)
_GET = (Obj.s0.__get__, Obj.s1.__get__, Obj.s2.__get__, Obj.s3.__get__)


def link(x: Obj, k: int, y: Obj | None) -> None:
    """``x.slot[k] = y``, logged before it happens (a death it causes is logged right after)."""
    _ap(R_WRITE | _TIDS[_get_ident()] << 3 | k << 6 | x.oid << 9 | ((y.oid + 1) if y is not None else 0) << 35)
    _SET[k](x, y)


def root(x: Obj) -> None:
    _ap(R_ROOT | _TIDS[_get_ident()] << 3 | x.oid << 9)


def unroot(x: Obj) -> None:
    """Log that the program drops one reference to ``x``; the caller drops it right after."""
    _ap(R_UNROOT | _TIDS[_get_ident()] << 3 | x.oid << 9)


# ----------------------------------------------------------------------------------------------- programs
SITES = {0: Obj, 1: Obj, 2: Big, 3: Obj, 4: Big, 5: Obj, 6: Obj, 7: Big, 8: Obj, 9: Obj}


def prog_cycles(n: int) -> None:
    """Cyclic pairs; one in 20 joins a survivor list bounded at max(2000, n/25) (the notes' pilot workload)."""
    keep: list = []
    bound = max(2000, n // 25)
    for i in range(n // 2):
        a = Obj(0)
        b = Big(1) if i % 3 == 0 else Obj(1)
        link(a, 0, b)
        link(b, 0, a)
        unroot(b)
        del b
        if i % 20 == 0:
            if keep:
                link(a, 1, keep[-1])
            keep.append(a)
            if len(keep) > bound:
                link(keep[1], 1, None)
                unroot(keep[0])
                del keep[0]
        else:
            unroot(a)
        del a


def _tree(depth: int, site: int):
    r = Obj(site)
    stack = [(r, depth)]
    while stack:
        node, d = stack.pop()
        for s in (0, 1):
            ch = Obj(site + 1) if d > 1 else Big(site + 1)
            link(node, s, ch)
            link(ch, 2, node)
            unroot(ch)
            if d > 1:
                stack.append((ch, d - 1))
            del ch
        del node
    return r


def prog_trees(n: int) -> None:
    """GCBench-style: a long-lived tree (depth 10) and temporary trees of depth 4-6 with parent pointers."""
    keep = _tree(10, 3)
    made = 2 ** 11
    k = 0
    while made < n:
        d = 4 + k % 3
        t = _tree(d, 5)
        made += 2 ** (d + 1) - 1
        unroot(t)
        del t
        if k % 20 == 0:
            sub = _tree(3, 5)
            made += 15
            link(_GET[0](keep), k % 2, sub)
            unroot(sub)
            del sub
        k += 1
    unroot(keep)


def prog_lru(n: int, capacity: int = 2000, keyspace: int = 8000) -> None:
    """An LRU cache (circular doubly linked list, slot 0 prev, 1 next, 2 value; values point back)."""
    import random

    rnd = random.Random(1)
    head = Obj(6)
    link(head, 0, head)
    link(head, 1, head)
    cache: dict = {}
    key_of: dict = {}
    made = 1
    while made < n:
        key = int(keyspace * rnd.random() ** 2)
        e = cache.get(key)
        miss = e is None
        if not miss:
            p, q = _GET[0](e), _GET[1](e)
            link(p, 1, q)
            link(q, 0, p)
            del p, q
        else:
            e = Obj(7)
            v = Big(8) if key % 2 else Obj(8)
            link(e, 2, v)
            link(v, 0, e)
            unroot(v)
            del v
            made += 2
            cache[key] = e  # the cache takes over the allocation's reference
            key_of[e.oid] = key
        f = _GET[1](head)
        link(e, 1, f)
        link(e, 0, head)
        link(f, 0, e)
        link(head, 1, e)
        del f, e
        if miss and len(cache) > capacity:
            t = _GET[0](head)
            p = _GET[0](t)
            link(p, 1, head)
            link(head, 0, p)
            del p
            del cache[key_of.pop(t.oid)]
            unroot(t)
            del t


def prog_prodcons(n: int, threads: int = 4, max_queue: int = 300) -> None:
    """Producer threads append messages (cyclic payloads) to a locked linked-list queue; consumers drop them."""
    lock = threading.Lock()
    q = Obj(9)  # slot 0 head, slot 1 tail
    state = {"len": 0, "made": 0, "stop": False}
    per = n // max(1, threads // 2)

    def producer(tid):
        _TIDS[_get_ident()] = tid
        made = 0
        while made < per:
            m = Obj(0)
            for s in (1, 2):
                p = Big(2) if s == 1 else Obj(3)
                link(m, s, p)
                link(p, 0, m)
                unroot(p)
                del p
            made += 3
            while True:
                lock.acquire()
                if state["len"] < max_queue:
                    break
                lock.release()
                time.sleep(0)
            t = _GET[1](q)
            if t is None:
                link(q, 0, m)
            else:
                link(t, 0, m)
            link(q, 1, m)
            del t
            state["len"] += 1
            unroot(m)
            del m
            lock.release()
        lock.acquire()
        state["made"] += 1
        lock.release()

    def consumer(tid):
        _TIDS[_get_ident()] = tid
        me = Obj(6)  # the consumer's own state object: every thread allocates, even one that never wins a message
        while True:
            lock.acquire()
            m = _GET[0](q)
            if m is None:
                done = state["made"] == threads // 2
                lock.release()
                if done:
                    unroot(me)
                    return
                time.sleep(0)
                continue
            root(m)
            nx = _GET[0](m)
            link(q, 0, nx)
            if nx is None:
                link(q, 1, None)
            del nx
            state["len"] -= 1
            lock.release()
            r = Obj(5)
            link(r, 0, m)
            unroot(r)
            del r
            unroot(m)
            del m

    ts = [threading.Thread(target=producer if k % 2 == 0 else consumer, args=(k + 1,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    unroot(q)


PROGRAMS = {"cycles": prog_cycles, "trees": prog_trees, "lru": prog_lru, "prodcons": prog_prodcons}


def pause_callback(pauses: array, wall: array):
    """``gc.callbacks`` hook: (generation, pause as the collecting thread's CPU time in ns, collected) to ``pauses``,
    the wall-clock pause (ns, descheduled time included; for the calibration) to ``wall``."""
    t0 = [0, 0]

    def cb(phase, info):
        if phase == "start":
            _ap(R_GCSTART | info["generation"] << 9)
            t0[0] = time.perf_counter_ns()
            t0[1] = time.thread_time_ns()
        else:
            cpu = time.thread_time_ns() - t0[1]
            wall.append(time.perf_counter_ns() - t0[0])
            pauses.append(info["generation"])
            pauses.append(cpu)
            pauses.append(info["collected"])
            _ap(R_GCSTOP | info["generation"] << 9 | (info["collected"] + 1) << 35)

    return cb


def _main(argv: list[str]) -> None:
    name, n, out = argv[0], int(argv[1]), Path(argv[2])
    if len(argv) > 3 and argv[3] == "timing":
        del Obj.__del__  # the timing run: no Python finalizer call per freed object inside the pause
    _TIDS[_get_ident()] = 0
    sizes = {s: sys.getsizeof(c.__new__(c)) for s, c in SITES.items()}
    pauses, wall_ns = array("q"), array("q")
    cb = pause_callback(pauses, wall_ns)

    gc.collect()
    old = gc.get_objects(generation=2)
    external = len(old)
    external_refs = sum(len(gc.get_referents(o)) for o in old)  # what subtract_refs visits from them
    del old
    before = [s["collections"] for s in gc.get_stats()]
    gc.callbacks.append(cb)
    w0 = time.perf_counter()
    PROGRAMS[name](n)
    wall = time.perf_counter() - w0
    gc.callbacks.remove(cb)
    after = [s["collections"] for s in gc.get_stats()]
    np.savez_compressed(out, log=np.frombuffer(_LOG, dtype=np.int64), pauses=np.frombuffer(pauses, dtype=np.int64),
                        wall_ns=np.frombuffer(wall_ns, dtype=np.int64),
                        header=json.dumps({"program": name, "n": n, "sizes": sizes, "external_tracked": external,
                                           "external_refs": external_refs,
                                           "stats_collections": [b - a for a, b in zip(before, after)],
                                           "wall_s": wall, "python": sys.version, "threshold": gc.get_threshold(),
                                           "implementation": sys.implementation.name}))



# ----------------------------------------------------------------------------------------------- decoding
@dataclass
class Recording:
    """A recorded program: its trace plus what CPython itself reported for the same run."""

    trace: Trace
    stats_collections: list          # gc.get_stats() collections per generation during the run
    collections: np.ndarray          # real collections in order: (generation, pause_ns, collected, event pos);
    #                                  pause_ns is CPU time of the collecting thread (thread_time_ns)
    real_death: np.ndarray           # event index after which each object really died (-1: alive at the end)
    died_in_gc: np.ndarray           # bool: that death happened inside a real collection (cyclic garbage)
    external_tracked: int            # GC-tracked objects already in generation 2 when the program started
    external_refs: int               # references those objects hold (gc.get_referents), read at the same time
    threshold: tuple
    python: str
    wall_s: float
    timing: np.ndarray | None = None  # collections without __del__: per generation, the k-th collection's
    timing_stats: list | None = None  # median pause over the timing repeats (see :func:`median_pauses`)
    timing_runs: list | None = None   # every timing repeat: (generation, pause_ns, collected) rows
    timing_wall_s: float | None = None  # median wall time of the timing repeats (the runs ``timing`` is from)
    collections_wall_ns: np.ndarray | None = None  # wall-clock pause of each row of ``collections``
    timing_wall: np.ndarray | None = None  # as ``timing`` with wall-clock pauses (same rows), for the calibration
    timing_load_1min: list | None = None  # os.getloadavg()[0] after each timing round (machine load)


def decode(path: str | Path, name: str | None = None) -> Recording:
    """Turn a raw recording (``.npz`` from the subprocess) into a :class:`Recording`."""
    z = np.load(path, allow_pickle=False)
    h = json.loads(str(z["header"]))
    log = z["log"]
    op = (log & 7).astype(np.int8)
    tid = ((log >> 3) & 7).astype(np.int8)
    slot = ((log >> 6) & 7).astype(np.int8)
    a = ((log >> 9) & ((1 << 26) - 1)).astype(np.int64)
    c = (log >> 35) - 1
    is_ev = op <= R_UNROOT
    evpos = np.cumsum(is_ev) - 1  # index of the last event at or before each record
    al = op == R_ALLOC
    n = int(al.sum())
    newid = np.full(int(a[al].max()) + 1 if n else 1, -1, dtype=np.int64)
    newid[a[al]] = np.arange(n)  # ids renumbered in logged allocation order
    e_op = op[is_ev].astype(np.int64)
    e_a = newid[a[is_ev]]
    e_c = np.where(e_op == R_WRITE, np.where(c[is_ev] >= 0, newid[np.maximum(c[is_ev], 0)], -1), 0)
    e_b = np.where(e_op == R_WRITE, slot[is_ev], 0)
    ev = np.stack([e_op, e_a, e_b, e_c, tid[is_ev]], axis=1)
    sites = c[al].astype(np.int64)
    sizes = np.array([h["sizes"][str(s)] for s in sites.tolist()], dtype=np.int64)
    t = make_trace(name or f"rec_{h['program']}", ev, sizes, sites, n_slots=4,
                   source=f"recorded: CPython {h['python'].split()[0]} program {h['program']}",
                   meta={"program": h["program"], "n": h["n"]})
    # real GC markers and deaths
    ingc = np.cumsum(np.where(op == R_GCSTART, 1, 0) - np.where(op == R_GCSTOP, 1, 0))
    last_ev = int(np.flatnonzero(is_ev)[-1])
    dr = (op == R_DEATH) & (np.arange(op.size) < last_ev)  # deaths when the program returns are not compared
    real_death = np.full(n, -1, dtype=np.int64)
    died_in_gc = np.zeros(n, dtype=bool)
    ids = newid[a[dr]]
    real_death[ids] = evpos[dr]
    died_in_gc[ids] = ingc[dr] > 0
    pz = z["pauses"].reshape(-1, 3)
    wall_ns = _wall_ns(z, path)
    starts = evpos[op == R_GCSTART]
    cols = np.column_stack([pz, starts[: len(pz)] + 1]) if len(pz) else np.zeros((0, 4), dtype=np.int64)
    return Recording(t, list(h["stats_collections"]), cols, real_death, died_in_gc, int(h["external_tracked"]),
                     int(h.get("external_refs", 0)), tuple(h["threshold"]), h["python"], float(h["wall_s"]),
                     collections_wall_ns=wall_ns)


def _wall_ns(z, path) -> np.ndarray:
    """The wall-clock pause per collection of a recording file; one without it predates the CPU pause clock."""
    if "wall_ns" not in z.files or z["wall_ns"].size * 3 != z["pauses"].size:
        raise ValueError(f"{path}: no wall-clock pause per collection ('wall_ns'); the file was recorded "
                         "before pauses were timed on the thread's CPU clock, record it again")
    return z["wall_ns"].astype(np.int64)


def median_pauses(runs: list[np.ndarray]) -> np.ndarray:
    """Combine repeated timing runs: for each generation, the k-th row is the median pause (and median
    objects collected) of the k-th collection of that generation over the repeats that made one.
    Rows are (generation, pause_ns, collected), grouped by generation, in collection order."""
    rows = []
    for g in range(3):
        seqs = [r[r[:, 0] == g] for r in runs]
        for k in range(max((len(x) for x in seqs), default=0)):
            at = np.array([x[k] for x in seqs if len(x) > k])
            rows.append((g, int(np.median(at[:, 1])), int(np.median(at[:, 2]))))
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def _run(program: str, n: int, path: Path, extra: list[str], timeout: float) -> Path:
    root_dir = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-m", "support.vgc.record", program, str(n), str(path), *extra],
                       cwd=root_dir, capture_output=True, text=True, timeout=timeout, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"recording {program} failed: {r.stderr[-1500:]}")
    return path


def timing_run(program: str, n: int, workdir: str | Path, k: int, timeout: float = 300.0) -> Path:
    """Run ``program`` once more in a fresh interpreter without the ``__del__`` instrumentation (repeat
    ``k``); the file holds its pause per collection."""
    return _run(program, n, Path(workdir) / f"rec_{program}_{n}_timing{k}.npz", ["timing"], timeout)


def attach_timing(rec: Recording, paths: list[Path]) -> Recording:
    """Put the pauses of the timing runs ``paths`` on ``rec`` (every run, and their median per collection),
    CPU-time pauses in ``timing`` / ``timing_runs`` and wall-clock ones in ``timing_wall``."""
    zs = [np.load(path, allow_pickle=False) for path in paths]
    rec.timing_runs = [z["pauses"].reshape(-1, 3) for z in zs]
    rec.timing = median_pauses(rec.timing_runs)
    walls = [_wall_ns(z, path) for z, path in zip(zs, paths)]
    rec.timing_wall = median_pauses([np.column_stack([r[:, 0], w, r[:, 2]]) for r, w in zip(rec.timing_runs, walls)])
    heads = [json.loads(str(z["header"])) for z in zs]
    rec.timing_stats = list(heads[0]["stats_collections"])
    rec.timing_wall_s = float(np.median([h["wall_s"] for h in heads]))
    return rec


def record(program: str, n: int, workdir: str | Path, timeout: float = 300.0, timing: bool = True,
           repeats: int = 1) -> Recording:
    """Run ``program`` with about ``n`` allocations in a fresh interpreter and decode the recording; with
    ``timing``, run it ``repeats`` more times without the ``__del__`` instrumentation for the pause times
    (combined by :func:`median_pauses`). To interleave the timing runs of several programs, see
    :func:`support.vgc.experiments.record_programs`."""
    if program not in PROGRAMS:
        raise ValueError(f"unknown program {program!r}; known: {', '.join(PROGRAMS)}")
    if n < 100:
        raise ValueError(f"n must be >= 100, got {n}")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    rec = decode(_run(program, n, Path(workdir) / f"rec_{program}_{n}.npz", [], timeout))
    if timing:
        attach_timing(rec, [timing_run(program, n, workdir, k, timeout) for k in range(repeats)])
    return rec


if __name__ == "__main__":
    _main(sys.argv[1:])
