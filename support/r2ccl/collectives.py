"""Ring collectives over NumPy buffers, pipelined in chunks across every healthy NIC.

The buffer is cut into one share per *lane* (a lane is a ring on one NIC rail); each lane runs in its
own thread, and inside a lane every ring step is pipelined chunk by chunk (a chunk is forwarded as
soon as it is reduced). Shares follow the failover policy:

- ``"none"``: failover disabled (no retention, acks, heartbeats or agreement); a dead NIC stalls
  the collective until the watchdog raises :class:`~support.r2ccl.transport.CollectiveTimeout`;
- ``"hot_repair"``: all k lanes, always; a lane on a dead NIC is migrated to its backup NIC;
- ``"balance"``: at each collective the ranks agree on failed NICs; their lanes get share 0 and the
  others a share proportional to bandwidth;
- ``"resilient"``: as balance, and an allreduce with a localized degraded host uses the R2CCL
  split (:mod:`support.r2ccl.resilient_allreduce`).

Every frame carries ``(collective id, tag)`` with tag = (phase, step, chunk) and the receiver checks
it: each chunk of each step is applied exactly once (``applied`` counts them).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from support.r2ccl.balance import View, agree, shares, split_range
from support.r2ccl.transport import Transport

POLICIES = ("none", "hot_repair", "balance", "resilient")
LANE_PARTS = 16  # lane id = part * 16 + rail


def tag(phase: int, step: int, chunk: int) -> int:
    if step >= 1 << 12 or chunk >= 1 << 16:
        raise ValueError("too many ring steps or chunks for the frame tag")
    return (phase << 28) | (step << 16) | chunk


@dataclass
class OpRecord:
    kind: str
    coll: int
    nbytes: int
    lanes: list
    view: View | None
    seconds: float = 0.0
    algo: str = "ring"
    extra: dict = field(default_factory=dict)


class Communicator:
    """Collectives of one rank over a connected :class:`Transport`."""

    def __init__(self, transport: Transport, policy: str = "balance", bandwidth: list[float] | None = None):
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}; got {policy!r}")
        if (policy == "none") == transport.cfg.reliable:
            raise ValueError("policy 'none' needs reliable=False and the failover policies reliable=True")
        self.t = transport
        self.rank, self.world, self.k = transport.rank, transport.world, transport.k
        self.policy = policy
        self.bandwidth = list(bandwidth) if bandwidth is not None else [1.0] * self.k
        if len(self.bandwidth) != self.k:
            raise ValueError(f"bandwidth needs one value per NIC ({self.k}); got {len(self.bandwidth)}")
        self.coll = 0
        self.applied = 0  # chunks received and applied (reduced, copied or forwarded)
        self.log: list[OpRecord] = []
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- planning
    def _begin(self) -> tuple[int, View]:
        coll = self.coll
        self.coll += 1
        if self.policy in ("none", "hot_repair"):
            return coll, View(self.world, self.k)
        reports = self.t.allgather_oob(coll, [list(e) for e in self.t.dead_edges()])
        return coll, agree(self.world, self.k, reports)

    def lane_shares(self, view: View) -> list[tuple[int, float]]:
        """(rail, share) of the lanes used by a plain ring under this view."""
        if self.policy in ("none", "hot_repair"):
            sh = shares(self.bandwidth)
        else:
            sh = shares(self.bandwidth, view.failed_rails)
        return [(i, float(s)) for i, s in enumerate(sh) if s > 0]

    # ---------------------------------------------------------------- primitives
    def _chunks(self, a: int, b: int, itemsize: int) -> list[tuple[int, int]]:
        step = max(1, self.t.cfg.chunk_bytes // itemsize)
        return [(s, min(s + step, b)) for s in range(a, b, step)]

    def _send(self, dst, lane, coll, tg, arr):
        self.t.send(dst, lane, coll, tg, arr.tobytes())

    def _recv(self, src, lane, coll, tg, dtype):
        x = np.frombuffer(self.t.recv(src, lane, coll, tg), dtype=dtype)
        with self._lock:
            self.applied += 1
        return x

    def ring(self, lane: int, coll: int, ring: list[int], buf: np.ndarray, segs: list[tuple[int, int]],
             do_rs: bool, do_ag: bool, on_final=None):
        """One lane of a ring: reduce-scatter and/or allgather of ``buf`` cut into ``segs`` (one per
        ring position). After the reduce-scatter, position p holds the full sum of ``segs[p]``.
        ``on_final(a, b)`` is called when ``buf[a:b]`` holds its final value on this rank."""
        n = len(ring)
        if n == 1 or self.rank not in ring:
            return
        p = ring.index(self.rank)
        nxt, prv = ring[(p + 1) % n], ring[(p - 1) % n]
        ch = [self._chunks(a, b, buf.itemsize) for a, b in segs]
        dt = buf.dtype
        if do_rs:
            for c, (a, b) in enumerate(ch[(p - 1) % n]):
                self._send(nxt, lane, coll, tag(0, 0, c), buf[a:b])
            for s in range(n - 1):
                for c, (a, b) in enumerate(ch[(p - s - 2) % n]):
                    buf[a:b] += self._recv(prv, lane, coll, tag(0, s, c), dt)
                    if s < n - 2:
                        self._send(nxt, lane, coll, tag(0, s + 1, c), buf[a:b])
                    else:
                        if do_ag:
                            self._send(nxt, lane, coll, tag(1, 0, c), buf[a:b])
                        if on_final:
                            on_final(a, b)
        if do_ag:
            if not do_rs:
                for c, (a, b) in enumerate(ch[p]):
                    self._send(nxt, lane, coll, tag(1, 0, c), buf[a:b])
            for s in range(n - 1):
                for c, (a, b) in enumerate(ch[(p - s - 1) % n]):
                    buf[a:b] = self._recv(prv, lane, coll, tag(1, s, c), dt)
                    if s < n - 2:
                        self._send(nxt, lane, coll, tag(1, s + 1, c), buf[a:b])
                    if on_final:
                        on_final(a, b)

    def chain(self, lane: int, coll: int, order: list[int], buf: np.ndarray, a: int, b: int):
        """Pipelined broadcast of ``buf[a:b]`` along ``order`` (order[0] is the source)."""
        if self.rank not in order or len(order) == 1:
            return
        p = order.index(self.rank)
        for c, (x, y) in enumerate(self._chunks(a, b, buf.itemsize)):
            if p > 0:
                buf[x:y] = self._recv(order[p - 1], lane, coll, tag(2, 0, c), buf.dtype)
            if p < len(order) - 1:
                self._send(order[p + 1], lane, coll, tag(2, 0, c), buf[x:y])

    def run_lanes(self, jobs: list) -> None:
        """Run callables concurrently (one per lane); re-raise the first failure."""
        errs: list[BaseException] = []

        def wrap(fn):
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - re-raised below
                errs.append(e)

        ths = [threading.Thread(target=wrap, args=(fn,), daemon=True) for fn in jobs]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        if errs:
            raise errs[0]

    # ---------------------------------------------------------------- collectives
    @staticmethod
    def _check(x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 1:
            raise ValueError(f"collectives take 1-D buffers; got shape {x.shape}")
        if x.dtype.kind not in "iuf":
            raise ValueError(f"collectives take integer or float buffers; got dtype {x.dtype}")
        return x

    def _segmented(self, kind, coll, view, buf, gsegs, do_rs, do_ag, part=0):
        lanes = self.lane_shares(view)
        ring = list(range(self.world))
        jobs = []
        cut = [split_range(a, b, [s for _, s in lanes]) for a, b in gsegs]  # per segment, per lane
        for j, (rail, _) in enumerate(lanes):
            segs = [c[j] for c in cut]
            lane = part * LANE_PARTS + rail
            jobs.append(lambda lane=lane, segs=segs: self.ring(lane, coll, ring, buf, segs, do_rs, do_ag))
        self.run_lanes(jobs)
        return lanes

    def allreduce(self, x) -> np.ndarray:
        """Sum of ``x`` over all ranks, on every rank."""
        import time

        x = self._check(x)
        t0 = time.perf_counter()
        coll, view = self._begin()
        buf = x.copy()
        if self.policy == "resilient" and view.degraded:
            from support.r2ccl.resilient_allreduce import resilient_allreduce

            rec = resilient_allreduce(self, coll, view, buf)
        else:
            gsegs = split_range(0, len(buf), [1] * self.world)
            lanes = self._segmented("allreduce", coll, view, buf, gsegs, True, True)
            rec = OpRecord("allreduce", coll, buf.nbytes, lanes, view)
        rec.seconds = time.perf_counter() - t0
        self.log.append(rec)
        return buf

    def reduce_scatter(self, x) -> np.ndarray:
        """Rank r gets the sum of segment r of ``x`` (``x`` cut into ``world`` near-equal segments)."""
        import time

        x = self._check(x)
        t0 = time.perf_counter()
        coll, view = self._begin()
        buf = x.copy()
        gsegs = split_range(0, len(buf), [1] * self.world)
        lanes = self._segmented("reduce_scatter", coll, view, buf, gsegs, True, False)
        a, b = gsegs[self.rank]
        self.log.append(OpRecord("reduce_scatter", coll, buf.nbytes, lanes, view, time.perf_counter() - t0))
        return buf[a:b].copy()

    def allgather(self, x) -> np.ndarray:
        """Concatenation of every rank's ``x`` (same length on all ranks), in rank order."""
        import time

        x = self._check(x)
        t0 = time.perf_counter()
        coll, view = self._begin()
        m = len(x)
        buf = np.empty(m * self.world, dtype=x.dtype)
        buf[self.rank * m:(self.rank + 1) * m] = x
        gsegs = [(g * m, (g + 1) * m) for g in range(self.world)]
        lanes = self._segmented("allgather", coll, view, buf, gsegs, False, True)
        self.log.append(OpRecord("allgather", coll, buf.nbytes, lanes, view, time.perf_counter() - t0))
        return buf

    def broadcast(self, x, root: int = 0) -> np.ndarray:
        """``x`` of rank ``root`` on every rank (pipelined chain, one per lane)."""
        import time

        x = self._check(x)
        if not 0 <= root < self.world:
            raise ValueError(f"root must be a rank in [0, {self.world}); got {root}")
        t0 = time.perf_counter()
        coll, view = self._begin()
        buf = x.copy()
        order = [(root + j) % self.world for j in range(self.world)]
        lanes = self.lane_shares(view)
        pieces = split_range(0, len(buf), [s for _, s in lanes])
        jobs = [lambda rail=rail, ab=ab: self.chain(rail, coll, order, buf, *ab)
                for (rail, _), ab in zip(lanes, pieces)]
        self.run_lanes(jobs)
        self.log.append(OpRecord("broadcast", coll, buf.nbytes, lanes, view, time.perf_counter() - t0))
        return buf
