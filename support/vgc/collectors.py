"""The collectors under test, all replaying the same trace, allocator and heap budget (issue 15, step 3).

* ``GEN`` — CPython-like: 3 generations, thresholds 700/10/10 on the net count of tracked allocations,
  the 25 % long-lived rule for full collections, survivors promoted; optionally ``gc.freeze()`` at the
  end of start-up. Its pause is charged as CPython's ``gc_collect_main`` works
  (:mod:`support.vgc.cpython_cost`): every object of the collected generations and every reference
  they hold (``update_refs``, ``subtract_refs``, ``move_unreachable``), plus the passes over and the
  deallocation of the garbage. One run gives both GEN (1 worker) and GEN-2T (the list passes split over
  2 workers, ``move_unreachable``'s traversal split per level), and the ablation GEN-TRACE: the same
  collections charged as a tracing collector (below), which separates CPython's algorithm from its policy.
* ``INCR`` — PyPy-like (incminimark): a nursery collected every 700 net allocations, and a major
  collection started when the heap exceeds the budget, marked over a snapshot and delivered in steps of
  ``incr_step`` work units attached to the following minor collections.
* ``ZONE`` — VGC-like: objects placed in zones by allocation-site lifetime class (``site``) or by thread
  (``thread``); ephemeral zones are mark-swept zone by zone (per-zone remembered sets, 2 workers);
  the whole dynamic heap is marked when it exceeds the budget, zones marked in parallel, concurrently
  with a snapshot-at-the-beginning (SATB) barrier so that only the initial mark and the remark pause;
  a static zone (start-up objects) is never marked (Passive VGC), and aligned to 64 bytes.

A tracing collector's pause (INCR, ZONE, GEN-TRACE) is remembered-set entries + objects and references
marked + bytes of the condemned region / 64 + freeing the garbage (one unit per object and per reference it
releases, as CPython's ``delete_garbage`` also does).

CPython's real collector does not trace from roots (it subtracts internal references inside the
collected generations); GEN finds the same survivors (everything reachable from objects referenced
from outside the collected generations) by marking, and charges the work of CPython's passes. Every
collection can be checked against :func:`support.vgc.oracle.reachable`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from support.validate import check_int
from support.vgc import oracle
from support.vgc.allocator import Allocator, AllocatorConfig
from support.vgc.cpython_cost import collection_work
from support.vgc.marking import free_units, incoming, mark, sweep_units
from support.vgc.refcount import replay
from support.vgc.trace import ALLOC, ROOT_ADD, ROOT_DEL, WRITE, Trace

KINDS = ("GEN", "INCR", "ZONE")


@dataclass(frozen=True)
class GCConfig:
    """One collector configuration; every field that is not the collector's design is shared by all runs."""

    kind: str = "GEN"
    threshold0: int = 700
    threshold1: int = 10
    threshold2: int = 10
    long_lived_rule: bool = True
    heap_budget: int | None = None  # bytes of heap occupancy that force a full / major / global collection
    workers: int = 2
    zones: str = "site"             # ZONE: "site" (lifetime class of the allocation site) or "thread"
    concurrent: bool = True         # ZONE: global marking concurrent (SATB) instead of stop-the-world
    static_zone: bool = True        # ZONE: start-up objects in a zone that is never marked
    static_align: int = 64          # ZONE: alignment of the static zone (Passive VGC: cache lines)
    freeze: bool = False            # GEN: gc.freeze() at trace.freeze_pos
    refcount: bool = True           # acyclic garbage freed at once, as CPython does
    incr_step: int = 2800           # INCR: work units of major marking per minor collection
    mark_rate: float = 5.0          # work units one background worker does per mutator event
    bg_workers: int = 1             # cores left for concurrent marking (2 cores, 1 busy mutator)
    external_tracked: int = 0       # GEN fidelity: interpreter objects already in generation 2
    external_refs: int = 0          # GEN fidelity: references those objects hold (gc.get_referents)
    allocator: AllocatorConfig = field(default_factory=AllocatorConfig)
    check: bool = False             # run the reachability oracle at every collection

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.zones not in ("site", "thread"):
            raise ValueError(f"zones must be 'site' or 'thread', got {self.zones!r}")
        if self.threshold0 < 1 or self.workers < 1 or self.incr_step < 1 or self.mark_rate <= 0:
            raise ValueError("threshold0, workers, incr_step and mark_rate must be positive")
        if self.heap_budget is not None and self.heap_budget <= 0:
            raise ValueError(f"heap_budget must be positive bytes or None, got {self.heap_budget}")


@dataclass
class SimResult:
    """Per-pause records plus memory and safety totals of one simulated run."""

    trace: str
    config: GCConfig
    pauses: dict            # arrays: pos, kind, work, pause1, pause2, trace1, trace2, freed, condemned, wall_s
    peak_committed: int
    live_at_peak: int
    peak_live: int
    gen_counts: tuple       # GEN: collections per generation; others: (young, full/major/global, 0)
    checked: int = 0
    live_freed: int = 0
    full_checked: int = 0
    retained_unreachable: int = 0
    concurrent_work: int = 0
    n_events: int = 0       # events in the trace: the run's mutator timeline ends at the last one

    def pause_work(self, workers: int, tracing: bool = False) -> np.ndarray:
        """Pause work with 1 or 2 workers (the two the simulator records; any other count is a ValueError);
        ``tracing`` reads GEN's pauses charged as a tracing collector."""
        workers = check_int(workers, "workers", minimum=1, maximum=2,
                            what="1 or 2 (the simulator records pause work for 1 and 2 workers)")
        key = ("trace" if tracing else "pause") + str(workers)
        return np.asarray(self.pauses[key], dtype=np.int64)

    @property
    def fragmentation(self) -> float:
        return 1.0 - self.live_at_peak / self.peak_committed if self.peak_committed else 0.0


class HeapGraph:
    """Pointer slots and root counts, brought up to an event index by vectorised replay."""

    def __init__(self, t: Trace):
        self.t = t
        self.ptr = np.full((t.n_objects, t.n_slots), -1, dtype=np.int32)
        self.roots = np.zeros(t.n_objects, dtype=np.int32)
        self.applied = 0
        self.cum_writes = np.concatenate(([0], np.cumsum(t.op == WRITE)))

    def apply(self, q: int) -> None:
        p = self.applied
        if q <= p:
            return
        t = self.t
        op, a = t.op[p:q], t.a[p:q]
        w = np.flatnonzero(op == WRITE)
        if w.size:
            key = a[w].astype(np.int64) * t.n_slots + t.b[p:q][w]
            _, first = np.unique(key[::-1], return_index=True)
            last = w.size - 1 - first  # the last write to each slot wins
            self.ptr.reshape(-1)[key[last]] = t.c[p:q][w][last]
        np.add.at(self.roots, a[(op == ALLOC) | (op == ROOT_ADD)], 1)
        np.add.at(self.roots, a[op == ROOT_DEL], -1)
        self.applied = q


def site_lifetime_class(t: Trace, samples: int = 40, long_after: int = 7000) -> np.ndarray:
    """Per site: 1 if its median object lifetime (allocations until unreachable, sampled with the oracle
    at ``samples`` points) exceeds ``long_after`` allocations, else 0. A profile of the same trace, so
    this zoning is an optimistic (oracle-like) stand-in for VGC's predictive placement."""
    g = HeapGraph(t)
    ap = t.alloc_pos()
    N = t.n_objects
    dead_at = np.full(N, N, dtype=np.int64)  # allocation index when first seen unreachable
    for q in np.unique(np.linspace(0, t.n_events, samples + 1).astype(np.int64))[1:]:
        g.apply(int(q))
        n_alloc = int(np.searchsorted(ap, q))
        allocated = np.zeros(N, dtype=bool)
        allocated[:n_alloc] = True
        r = oracle.reachable(g.ptr, allocated, g.roots)
        newly = allocated & ~r & (dead_at == N)
        dead_at[newly] = n_alloc
    life = dead_at - np.arange(N)
    n_sites = int(t.site.max()) + 1
    cls = np.zeros(n_sites, dtype=np.int8)
    for s in np.unique(t.site):
        cls[s] = int(np.median(life[t.site == s]) > long_after)
    return cls


class Simulator:
    """Replays one trace under one :class:`GCConfig`; :meth:`run` returns a :class:`SimResult`."""

    def __init__(self, t: Trace, cfg: GCConfig, death: np.ndarray | None = None,
                 site_class: np.ndarray | None = None):
        self.t, self.cfg = t, cfg
        N = t.n_objects
        self.g = HeapGraph(t)
        self.size = t.size.astype(np.int64)
        self.alive = np.zeros(N, dtype=bool)
        self.gen = np.zeros(N, dtype=np.int8)
        self.frozen = np.zeros(N, dtype=bool)
        self.death = (replay(t) if death is None else death) if cfg.refcount else np.full(N, -1, np.int64)
        # zones
        self.n_zones = 1
        self.static_zone = -1
        zone = np.zeros(N, dtype=np.int64)
        if cfg.kind == "ZONE":
            if cfg.zones == "site":
                sc = site_lifetime_class(t, long_after=cfg.threshold0 * cfg.threshold1) if site_class is None \
                    else site_class
                zone = sc[t.site].astype(np.int64)
                self.local = [0]
                self.n_zones = 2
            else:
                zone = t.tid[t.alloc_pos()].astype(np.int64)
                self.n_zones = t.n_threads
                self.local = list(range(self.n_zones))
            if cfg.static_zone and t.static.any():
                self.static_zone = self.n_zones
                zone[t.static] = self.static_zone
                self.n_zones += 1
        self.zone = zone
        ga = {self.static_zone: cfg.static_align} if self.static_zone >= 0 else {}
        self.alloc = Allocator(cfg.allocator, N, ga)
        self.occ = 0
        self.records: list[dict] = []
        self.checked = self.live_freed = self.full_checked = self.retained = 0
        self.conc_work = 0
        # policy state
        self.counts = [0, 0, 0]
        self.ll_pending, self.ll_total = 0, cfg.external_tracked
        self.zc = [0] * self.n_zones
        self.since_full = 0
        self.major = None  # running INCR major / ZONE global cycle

    # ------------------------------------------------------------------ primitives
    def _free(self, ids: np.ndarray) -> None:
        for i in ids.tolist():
            self.alloc.free(i, int(self.size[i]))
        self.alive[ids] = False
        self.occ -= int(self.size[ids].sum())

    def _check(self, freed: np.ndarray, full: bool, exempt: np.ndarray | None = None) -> None:
        if not self.cfg.check:
            return
        r = oracle.reachable(self.g.ptr, self.alive, self.g.roots)
        self.checked += 1
        self.live_freed += int((freed & r).sum())
        if full:
            left = self.alive & ~freed & ~r
            if exempt is not None:
                left &= ~exempt
            self.full_checked += 1
            self.retained += int(left.sum())

    def _record(self, pos, kind, work, p1, p2, freed, t0, cond=0, trace1=None, trace2=None):
        """One pause; ``trace1/2`` is the same collection charged as a tracing collector (GEN only differs)."""
        self.records.append({"pos": pos, "kind": kind, "work": int(work), "pause1": int(p1), "pause2": int(p2),
                             "trace1": int(p1 if trace1 is None else trace1),
                             "trace2": int(p2 if trace2 is None else trace2),
                             "freed": int(freed), "condemned": int(cond), "wall_s": time.perf_counter() - t0})

    def _stw(self, pos: int, kind: str, cond: np.ndarray, src: np.ndarray, full: bool, by_owner: bool = False,
             exempt: np.ndarray | None = None, cpython_gen: int | None = None):
        """Stop-the-world mark-sweep of ``cond`` with remembered-set entries from ``src`` objects; with
        ``cpython_gen`` the same survivors, charged as CPython's collection of generations <= that one."""
        t0 = time.perf_counter()
        self.g.apply(pos)
        W = self.cfg.workers
        seeds = np.flatnonzero((self.g.roots > 0) & cond)
        rem = incoming(self.g.ptr, src, cond)
        owner = self.zone if by_owner else None
        mr = mark(self.g.ptr, np.concatenate([seeds, rem]).astype(np.int64), cond, owner, self.n_zones)
        par = mr.parallel_by_owner(W) if by_owner else mr.parallel_even(W)
        freed = cond & ~mr.marked
        sw = sweep_units(self.size, cond) + free_units(self.g.ptr, freed)
        rs = seeds.size + rem.size
        t1 = rs + mr.work + sw
        t2 = -(-rs // W) + par + -(-sw // W)
        work, p2 = t1, t2
        if cpython_gen is not None:
            ext = cpython_gen == 2
            cw = collection_work(self.g.ptr, cond, cond & mr.marked, cpython_gen,
                                 self.cfg.external_tracked if ext else 0, self.cfg.external_refs if ext else 0)
            work = cw.work
            # the interpreter's own objects (no level structure known) are split evenly
            p2 = cw.parallel(W, par + -(-(cw.traversal - mr.work) // W))
        self._check(freed, full, exempt)
        ids = np.flatnonzero(freed)
        self._free(ids)
        self._record(pos, kind, work, work, p2, ids.size, t0, int(cond.sum()), t1, t2)
        return mr, ids

    # ------------------------------------------------------------------ GEN
    def _gen_collect(self, pos: int, g: int, kind: str | None = None) -> None:
        c = self.counts
        if g + 1 < 3:
            c[g + 1] += 1
        for k in range(g + 1):
            c[k] = 0
        cond = self.alive & (self.gen <= g) & ~self.frozen
        src = self.alive & ~cond
        mr, _ = self._stw(pos, kind or f"gen{g}", cond, src, full=(g == 2), exempt=self.frozen, cpython_gen=g)
        surv = cond & mr.marked
        self.gen[surv] = min(g + 1, 2)
        if g == 1:
            self.ll_pending += int(surv.sum())
        elif g == 2:
            self.ll_pending = 0
            self.ll_total = int(surv.sum()) + self.cfg.external_tracked
            self.since_full = 0
        self.ncoll[g] += 1

    def _gen_alloc(self, pos: int) -> None:
        c, cfg = self.counts, self.cfg
        c[0] += 1
        if c[0] > cfg.threshold0:
            thr = (cfg.threshold0, cfg.threshold1, cfg.threshold2)
            for g in (2, 1, 0):
                if c[g] > thr[g]:
                    if g == 2 and cfg.long_lived_rule and self.ll_pending < self.ll_total // 4:
                        continue
                    self._gen_collect(pos, g)
                    break
        if cfg.heap_budget and self.occ > cfg.heap_budget and self.since_full >= cfg.threshold0:
            self._gen_collect(pos, 2, "gen2-budget")

    # ------------------------------------------------------------------ INCR
    def _incr_alloc(self, pos: int) -> None:
        cfg = self.cfg
        self.counts[0] += 1
        if self.counts[0] <= cfg.threshold0:
            return
        self.counts[0] = 0
        cond = self.alive & (self.gen == 0)
        mr, _ = self._stw(pos, "minor", cond, self.alive & ~cond, full=False)
        self.gen[cond & mr.marked] = 1
        self.ncoll[0] += 1
        rec = self.records[-1]
        rec["pause2"] = rec["trace2"] = rec["pause1"]  # PyPy's minor collection is single-threaded
        if self.major is None and cfg.heap_budget and self.occ > cfg.heap_budget and self.since_full >= cfg.threshold0:
            cand = self.alive.copy()
            seeds = np.flatnonzero((self.g.roots > 0) & cand)
            m = mark(self.g.ptr, seeds, cand)
            self.major = {"snap": cand, "marked": m.marked, "start": pos,
                          "left": seeds.size + m.work + sweep_units(self.size, cand)
                          + free_units(self.g.ptr, cand & ~m.marked)}
            self.ncoll[1] += 1
            self.since_full = 0
        if self.major is not None:
            step = min(self.major["left"], cfg.incr_step)
            self.major["left"] -= step
            for key in ("pause1", "pause2", "trace1", "trace2"):
                rec[key] += step
            rec["work"] += step
            rec["kind"] = "minor+major-step"
            if self.major["left"] == 0:
                freed = self.major["snap"] & self.alive & ~self.major["marked"]
                self._check(freed, full=False)
                self._free(np.flatnonzero(freed))
                rec["freed"] += int(freed.sum())
                self.major = None

    # ------------------------------------------------------------------ ZONE
    def _zone_alloc(self, pos: int, i: int) -> None:
        cfg = self.cfg
        z = int(self.zone[i])
        self.zc[z] += 1
        if self.major is not None and pos >= self.major["end"]:
            self._zone_finish(pos)
        if z in self.local and self.zc[z] > cfg.threshold0:
            self.zc[z] = 0
            cond = self.alive & (self.zone == z)
            self._stw(pos, f"zone{z}", cond, self.alive & ~cond, full=False)
            self.ncoll[0] += 1
        if self.major is None and cfg.heap_budget and self.occ > cfg.heap_budget and self.since_full >= cfg.threshold0:
            self._zone_global(pos)

    def _zone_global(self, pos: int) -> None:
        cfg, W = self.cfg, self.cfg.workers
        self.ncoll[1] += 1
        self.since_full = 0
        cond = self.alive & (self.zone != self.static_zone)
        src = self.alive & (self.zone == self.static_zone)
        exempt = self.zone == self.static_zone
        if not cfg.concurrent:
            self._stw(pos, "global-stw", cond, src, full=True, by_owner=True, exempt=exempt)
            return
        t0 = time.perf_counter()
        self.g.apply(pos)
        seeds = np.flatnonzero((self.g.roots > 0) & cond)
        rem = incoming(self.g.ptr, src, cond)
        mr = mark(self.g.ptr, np.concatenate([seeds, rem]).astype(np.int64), cond, self.zone, self.n_zones)
        sw = sweep_units(self.size, cond) + free_units(self.g.ptr, cond & ~mr.marked)
        conc = mr.work + sw
        self.conc_work += conc
        init = seeds.size + rem.size
        self._record(pos, "global-init", init, init, -(-init // W), 0, t0, int(cond.sum()))
        dur = int(np.ceil(mr.parallel_by_owner(min(W, cfg.bg_workers)) / cfg.mark_rate
                          + sw / (cfg.mark_rate * cfg.bg_workers)))
        self.major = {"snap": cond, "marked": mr.marked, "start": pos, "end": pos + max(dur, 1)}

    def _zone_finish(self, pos: int) -> None:
        t0 = time.perf_counter()
        W = self.cfg.workers
        self.g.apply(pos)
        m = self.major
        satb = int(self.g.cum_writes[pos] - self.g.cum_writes[m["start"]])
        roots_now = int(((self.g.roots > 0) & self.alive).sum())
        remark = roots_now + satb
        freed = m["snap"] & self.alive & ~m["marked"]
        self._check(freed, full=False)
        ids = np.flatnonzero(freed)
        self._free(ids)
        self._record(pos, "global-remark", remark, remark, -(-remark // W), ids.size, t0)
        self.major = None

    # ------------------------------------------------------------------ driver
    def run(self) -> SimResult:
        t, cfg = self.t, self.cfg
        self.ncoll = [0, 0, 0]
        ap = t.alloc_pos().astype(np.int64)
        dmask = self.death >= 0
        pos = np.concatenate([ap, self.death[dmask]])
        obj = np.concatenate([np.arange(t.n_objects), np.flatnonzero(dmask)])
        is_alloc = np.concatenate([np.ones(ap.size, bool), np.zeros(int(dmask.sum()), bool)])
        order = np.argsort(pos, kind="stable")
        P, O, A = pos[order].tolist(), obj[order].tolist(), is_alloc[order].tolist()
        size = self.size.tolist()
        zone = self.zone.tolist()
        freeze_at = t.freeze_pos if (cfg.freeze and t.freeze_pos >= 0) else None
        kind = cfg.kind
        alloc, alive = self.alloc, self.alive
        for p, i, is_a in zip(P, O, A):
            if freeze_at is not None and p >= freeze_at:
                self.g.apply(freeze_at)
                self.frozen |= self.alive
                self.counts[0] = 0
                freeze_at = None
            if is_a:
                if kind == "GEN":
                    self._gen_alloc(p)
                elif kind == "INCR":
                    self._incr_alloc(p)
                else:
                    self._zone_alloc(p, i)
                alloc.alloc(i, size[i], zone[i])
                alive[i] = True
                self.occ += size[i]
                self.since_full += 1
            elif alive[i]:
                alive[i] = False
                alloc.free(i, size[i])
                self.occ -= size[i]
                if kind == "ZONE":
                    z = zone[i]
                    self.zc[z] = max(0, self.zc[z] - 1)
                elif self.counts[0] > 0:
                    self.counts[0] -= 1
        if self.major is not None and kind == "ZONE":
            self._zone_finish(t.n_events)
        recs = self.records
        keys = ("pos", "kind", "work", "pause1", "pause2", "trace1", "trace2", "freed", "condemned", "wall_s")
        pauses = {k: np.asarray([r[k] for r in recs]) for k in keys}
        if not recs:
            pauses = {k: np.zeros(0, dtype=object if k == "kind" else np.int64) for k in keys}
        return SimResult(t.name, cfg, pauses, alloc.peak_committed, alloc.live_at_peak, alloc.peak_live,
                         tuple(self.ncoll), self.checked, self.live_freed, self.full_checked, self.retained,
                         self.conc_work, t.n_events)


class PeriodicFull(Simulator):
    """A stop-the-world collector (GEN, or ZONE-STW) that also makes an explicit full collection every ``every``
    allocations after start-up, like the real-CPython anchor's periodic ``gc.collect()`` (notes section 5.4)."""

    def __init__(self, t: Trace, cfg: GCConfig, death: np.ndarray, site_class: np.ndarray, every: int):
        if cfg.kind == "INCR" or (cfg.kind == "ZONE" and cfg.concurrent):
            raise ValueError(f"explicit full collections need a stop-the-world collector, not {cfg.kind} "
                             f"(concurrent={cfg.concurrent})")
        if every < 1:
            raise ValueError(f"every must be a positive number of allocations, got {every}")
        super().__init__(t, cfg, death, site_class)
        self.every, self.after, self.n_after = every, max(t.freeze_pos, 0), 0

    def _explicit(self, pos: int) -> None:
        """At every ``every``-th allocation after start-up: a full collection (kind ``*-explicit``)."""
        if pos < self.after:
            return
        self.n_after += 1
        if self.n_after % self.every:
            return
        if self.cfg.kind == "GEN":
            self._gen_collect(pos, 2, "gen2-explicit")
            return
        self.ncoll[1] += 1
        self.since_full = 0
        static = self.zone == self.static_zone
        self._stw(pos, "global-explicit", self.alive & ~static, self.alive & static, full=True, by_owner=True,
                  exempt=static)

    def _gen_alloc(self, pos: int) -> None:
        self._explicit(pos)
        super()._gen_alloc(pos)

    def _zone_alloc(self, pos: int, i: int) -> None:
        self._explicit(pos)
        super()._zone_alloc(pos, i)


def simulate(t: Trace, cfg: GCConfig, death: np.ndarray | None = None,
             site_class: np.ndarray | None = None) -> SimResult:
    """Replay ``t`` under ``cfg`` (see module docstring); ``death``/``site_class`` may be passed precomputed."""
    return Simulator(t, cfg, death, site_class).run()


# The collectors compared in the notebook; GEN-2T and ZONE-1W are read from the GEN / ZONE runs.
COLLECTORS = {
    "GEN": GCConfig(kind="GEN"),
    "GEN-FREEZE": GCConfig(kind="GEN", freeze=True),
    "INCR": GCConfig(kind="INCR"),
    "ZONE": GCConfig(kind="ZONE", zones="site", concurrent=True),
    "ZONE-THREAD": GCConfig(kind="ZONE", zones="thread", concurrent=True),
    "ZONE-STW": GCConfig(kind="ZONE", zones="site", concurrent=False),
}


def configured(name: str, **kw) -> GCConfig:
    """The named collector with shared settings (budget, checks, ...) applied."""
    if name not in COLLECTORS:
        raise ValueError(f"unknown collector {name!r}; known: {', '.join(COLLECTORS)}")
    return replace(COLLECTORS[name], **kw)
