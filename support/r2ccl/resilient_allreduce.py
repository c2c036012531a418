"""R2CCL-AllReduce: move the degraded server's share onto the remaining bandwidth, and get the exact sum.

With host d down to k-m NICs, the buffer is split at ratio f (:func:`support.r2ccl.balance.resilient_split`
with ``failed=m``; :func:`degraded_plan` says which host is d when several lost NICs):

- **main part** ``[0, f N)``: ordinary ring allreduce over all hosts, on the rails every host still has;
- **side part** ``[f N, N)``: the healthy hosts reduce it among themselves (reduce-scatter +
  allgather on a sub-ring that skips d, on those rails and the m rails d lost, a share w of it spread
  evenly over the m lost rails); then a pipelined chain carries d's own contribution through every
  healthy host, each adds it to its healthy sum, and the last one sends the final sum back to d. The chain of the sub-ring segment
  owned by healthy host o *ends at o* (d -> ... -> o -> d, one chain per segment): o holds that
  segment's healthy sum as soon as the reduce-scatter delivers it, so the final hop back to d
  overlaps the sub-ring instead of waiting for its allgather. The other hosts forward d's chunks
  at once and add them when their allgather copy arrives. Each host's chain traffic is the same
  as with one fixed chain order (in and out (1-f) S), so the loads of
  :func:`support.r2ccl.balance.resilient_loads` hold.

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


def degraded_plan(view: View) -> tuple[int, list[int], list[int]]:
    """(d, the rails d lost, the rails no host lost) for a view with localized failures: d is the host that lost
    the most NICs (ties: the one whose lost rail is lowest), so the sub-ring gets the most rails of its own.

    Rails lost by other hosts, or rail-wide, are used by no part: those hosts sit in the sub-ring. The schedule is
    then the one-host model with k' = good + m NICs of which m = len(lost) are lost (what resilient_split plans)."""
    if not view.degraded:
        raise ValueError("the resilient allreduce needs a localized degraded host (view.degraded is empty)")
    by_host: dict[int, list[int]] = {}
    for rail, host in sorted(view.degraded.items()):
        by_host.setdefault(host, []).append(rail)
    d = min(by_host, key=lambda h: (-len(by_host[h]), by_host[h][0]))
    return d, by_host[d], view.healthy_rails


def resilient_allreduce(comm, coll: int, view: View, buf):
    from support.r2ccl.collectives import LANE_PARTS, OpRecord, tag

    world, me = comm.world, comm.rank
    d, lost, good = degraded_plan(view)
    sh = shares(comm.bandwidth, view.failed_rails)  # raises when no rail is left to every host
    f, w = resilient_split(world, len(good) + len(lost), failed=len(lost))
    n = len(buf)
    na = round(f * n)
    healthy = [(d + j) % world for j in range(1, world)]  # ring order after d
    jobs = []

    # main part: global ring on good rails, bandwidth-proportional
    glanes = [(i, sh[i]) for i in good]
    gsegs = split_range(0, na, [1] * world)
    cut = [split_range(a, b, [s for _, s in glanes]) for a, b in gsegs]
    ring_all = list(range(world))
    for j, (rail, _) in enumerate(glanes):
        segs = [c[j] for c in cut]
        jobs.append(lambda lane=MAIN * LANE_PARTS + rail, segs=segs:
                    comm.ring(lane, coll, ring_all, buf, segs, True, True))

    # side part, step 1: healthy sub-ring on the good rails and d's lost ones (w spread over these); each element's
    # final healthy sum is flagged in `ready`, so the chain below proceeds chunk by chunk (pipelined)
    ready = np.zeros(n, dtype=bool)
    cv = threading.Condition()

    def on_final(a, b):
        with cv:
            ready[a:b] = True
            cv.notify_all()

    sub_jobs = []
    if me != d and len(healthy) > 1:
        wts = {i: w / len(lost) for i in lost} | {i: (1 - w) / len(good) for i in good}
        slanes = [(i, x) for i, x in sorted(wts.items()) if x > 0]
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

    # side part, step 2: per sub-ring segment p (owned by healthy[p] after the reduce-scatter), a chain
    # d -> healthy[p+1] -> ... -> healthy[p] -> d on the good rails, on its own lanes (one stream per
    # segment and rail, so concurrent chains never interleave frames on a (peer, lane) stream)
    sidesegs = split_range(na, n, [1] * len(healthy))
    dt = buf.dtype

    def chain_lane(lane, order, a, b):
        chunks = comm._chunks(a, b, buf.itemsize)
        if me == d:  # its own chunks are ready at once: all go out, then the sums come back
            for c, (x, y) in enumerate(chunks):
                comm._send(order[0], lane, coll, tag(2, 0, c), buf[x:y])
            for c, (x, y) in enumerate(chunks):
                buf[x:y] = comm._recv(order[-1], lane, coll, tag(3, 0, c), dt)
            return
        q = order.index(me)
        src = d if q == 0 else order[q - 1]
        if q == len(order) - 1:  # the segment's owner: its healthy sum is final after the reduce-scatter
            for c, (x, y) in enumerate(chunks):
                raw = comm._recv(src, lane, coll, tag(2, 0, c), dt)
                wait_ready(x, y)
                buf[x:y] += raw
                comm._send(d, lane, coll, tag(3, 0, c), buf[x:y])
            return
        raws = []
        for c, (x, y) in enumerate(chunks):  # forward first, add once the allgather delivered the sum
            raw = comm._recv(src, lane, coll, tag(2, 0, c), dt)
            comm._send(order[q + 1], lane, coll, tag(2, 0, c), raw)
            raws.append(raw)
        for (x, y), raw in zip(chunks, raws):
            wait_ready(x, y)
            buf[x:y] += raw

    for p, (a0, b0) in enumerate(sidesegs):
        order = healthy[p + 1:] + healthy[:p + 1]
        for rail, (a, b) in zip(good, split_range(a0, b0, [sh[i] for i in good])):
            lane = (CHAIN + p) * LANE_PARTS + rail
            jobs.append(lambda lane=lane, order=order, a=a, b=b: chain_lane(lane, order, a, b))
    comm.run_lanes(jobs)
    return OpRecord("allreduce", coll, buf.nbytes, glanes, view, algo="resilient",
                    extra={"f": f, "w": w, "degraded": d, "rails_lost": lost})
