"""R2CCL-AllReduce: move the degraded server's share onto the remaining bandwidth, and get the exact sum.

With host d down to k-1 NICs, the buffer is split at ratio f (:func:`support.r2ccl.balance.resilient_split`):

- **main part** ``[0, f N)``: ordinary ring allreduce over all hosts, on the k-1 rails d still has;
- **side part** ``[f N, N)``: the healthy hosts reduce it among themselves (reduce-scatter +
  allgather on a sub-ring that skips d, using all k rails, more of it on the rail d lost); then a
  pipelined chain d -> h1 -> ... -> hm carries d's own contribution, each healthy host adds it to
  its healthy sum, and hm sends the final sum back to d.

The three parts run concurrently on separate lanes. Every host ends with sum over all hosts for
every element, bit for bit the same everywhere (each element is summed once, by one owner or by
identical operations on identical inputs). The authors' public code only times this schedule
(AllReduce(f) + Broadcast(1-f) from rank 0, which is not the sum); this one is the sum.
"""

from __future__ import annotations

import threading

import numpy as np

from support.r2ccl.balance import View, resilient_split, shares, split_range

MAIN, SUB, CHAIN = 0, 1, 2


def resilient_allreduce(comm, coll: int, view: View, buf):
    from support.r2ccl.collectives import LANE_PARTS, OpRecord, tag

    world, k, me = comm.world, comm.k, comm.rank
    rail_lost, d = sorted(view.degraded.items())[0]
    good = [i for i in range(k) if i not in view.failed_rails]
    f, w = resilient_split(world, k)
    n = len(buf)
    na = int(round(f * n))
    healthy = [(d + j) % world for j in range(1, world)]  # ring order after d
    jobs = []

    # main part: global ring on good rails, bandwidth-proportional
    sh = shares(comm.bandwidth, view.failed_rails)
    glanes = [(i, sh[i]) for i in good]
    gsegs = split_range(0, na, [1] * world)
    cut = [split_range(a, b, [s for _, s in glanes]) for a, b in gsegs]
    ring_all = list(range(world))
    for j, (rail, _) in enumerate(glanes):
        segs = [c[j] for c in cut]
        jobs.append(lambda lane=MAIN * LANE_PARTS + rail, segs=segs:
                    comm.ring(lane, coll, ring_all, buf, segs, True, True))

    # side part, step 1: healthy sub-ring on all k rails (weight w on the rail d lost); each element's
    # final healthy sum is flagged in `ready`, so the chain below proceeds chunk by chunk (pipelined)
    ready = np.zeros(n, dtype=bool)
    cv = threading.Condition()

    def on_final(a, b):
        with cv:
            ready[a:b] = True
            cv.notify_all()

    sub_jobs = []
    if me != d and len(healthy) > 1:
        wts = [w if i == rail_lost else (1 - w) / max(1, len(good)) for i in range(k)]
        wts = [x if i not in view.failed_rails or i == rail_lost else 0.0 for i, x in enumerate(wts)]
        slanes = [(i, x) for i, x in enumerate(wts) if x > 0]
        ssegs = split_range(na, n, [1] * len(healthy))
        scut = [split_range(a, b, [x for _, x in slanes]) for a, b in ssegs]
        for j, (rail, _) in enumerate(slanes):
            segs = [c[j] for c in scut]
            sub_jobs.append(lambda lane=SUB * LANE_PARTS + rail, segs=segs:
                            comm.ring(lane, coll, healthy, buf, segs, True, True, on_final))
    else:
        ready[:] = True
    jobs += sub_jobs

    def wait_ready(x, y):
        deadline = comm.t.cfg.op_timeout
        with cv:
            if not cv.wait_for(lambda: bool(ready[x:y].all()), timeout=deadline):
                raise TimeoutError(f"rank {me}: sub-ring result [{x}, {y}) not ready within {deadline}s")

    # side part, step 2: chain d -> h1 -> ... -> hm (+ each adds d's part) -> d
    cpieces = split_range(na, n, [sh[i] for i in good])
    dt = buf.dtype

    def chain_lane(rail, a, b):
        lane = CHAIN * LANE_PARTS + rail
        for c, (x, y) in enumerate(comm._chunks(a, b, buf.itemsize)):
            if me == d:
                comm._send(healthy[0], lane, coll, tag(2, 0, c), buf[x:y])
            else:
                p = healthy.index(me)
                src = d if p == 0 else healthy[p - 1]
                raw = comm._recv(src, lane, coll, tag(2, 0, c), dt)
                wait_ready(x, y)
                buf[x:y] += raw
                if p < len(healthy) - 1:
                    comm._send(healthy[p + 1], lane, coll, tag(2, 0, c), raw)
                else:
                    comm._send(d, lane, coll, tag(3, 0, c), buf[x:y])
        if me == d:
            for c, (x, y) in enumerate(comm._chunks(a, b, buf.itemsize)):
                buf[x:y] = comm._recv(healthy[-1], lane, coll, tag(3, 0, c), dt)

    for rail, (a, b) in zip(good, cpieces):
        jobs.append(lambda rail=rail, a=a, b=b: chain_lane(rail, a, b))
    comm.run_lanes(jobs)
    return OpRecord("allreduce", coll, buf.nbytes, glanes, view, algo="resilient",
                    extra={"f": f, "w": w, "degraded": d, "rail_lost": rail_lost})
