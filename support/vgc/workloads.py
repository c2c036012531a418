"""Synthetic, controlled multithreaded traces (issue 15, step 2; labelled "synthetic" everywhere).

Each workload runs ``n_threads`` mutator threads as Python generators interleaved by a seeded scheduler
(round robin; a thread runs a geometric number of steps, mean ``quantum``, before the switch, like GIL
hand-offs).
Every thread only writes to objects it can reach, so the traces are valid by construction (checked by
:func:`support.vgc.trace.validate` and the refcount replay).

* ``trees`` — GCBench-style: temporary binary trees with parent back-pointers, plus one long-lived tree.
* ``lru`` — a shared LRU cache (doubly linked entries; each value points back to its entry).
* ``prodcons`` — producers append messages (with cyclic payload) to a shared queue; consumers drop them.
* ``static_churn`` — a static start-up table, then cyclic pairs with a bounded survivor list per thread.
* ``graph`` — a long-lived random object graph whose edges are rewired and whose nodes are replaced.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from support.vgc.trace import ALLOC, ROOT_ADD, ROOT_DEL, WRITE, Trace, make_trace

SIZE_MENU = np.array([48, 56, 64, 72, 80, 96, 104, 120, 136, 168, 184, 232, 280, 360, 600])


class Builder:
    """Accumulates events and object metadata; ``new`` returns an id held (rooted) by its thread."""

    def __init__(self, rng: np.random.Generator, n_slots: int = 4):
        self.rng, self.K = rng, n_slots
        self.ev: list[tuple] = []
        self.size: list[int] = []
        self.site: list[int] = []
        self.static: list[bool] = []
        self.site_size: dict[int, int] = {}

    def new(self, tid: int, site: int, static: bool = False) -> int:
        if site not in self.site_size:
            self.site_size[site] = int(self.rng.choice(SIZE_MENU[:-1] if site % 7 else SIZE_MENU))
        i = len(self.size)
        self.size.append(self.site_size[site])
        self.site.append(site)
        self.static.append(static)
        self.ev.append((ALLOC, i, 0, 0, tid))
        return i

    def write(self, tid: int, src: int, slot: int, dst: int) -> None:
        self.ev.append((WRITE, src, slot, dst, tid))

    def root(self, tid: int, x: int) -> None:
        self.ev.append((ROOT_ADD, x, 0, 0, tid))

    def unroot(self, tid: int, x: int) -> None:
        self.ev.append((ROOT_DEL, x, 0, 0, tid))

    def trace(self, name: str, freeze_pos: int = -1, meta: dict | None = None) -> Trace:
        return make_trace(name, np.asarray(self.ev, dtype=np.int64), self.size, self.site, self.static,
                          n_slots=self.K, freeze_pos=freeze_pos, source="synthetic", meta=meta)


def _run(b: Builder, threads: list, n_alloc: int, quantum: float) -> None:
    """Interleave thread generators until ``n_alloc`` objects exist (or all threads finish)."""
    live = list(range(len(threads)))
    rng = b.rng
    j = 0
    while live and len(b.size) < n_alloc:
        j = (j + 1) % len(live)  # round robin, a random number of steps each
        k = live[j]
        for _ in range(int(rng.geometric(1.0 / quantum))):
            try:
                next(threads[k])
            except StopIteration:
                live.remove(k)
                break


def _tree(b: Builder, tid: int, depth: int, site: int):
    """Build a binary tree top-down (children point back to their parent); yields per node; returns the
    root, still held by ``tid``."""
    root = b.new(tid, site)
    stack = [(root, depth)]
    while stack:
        node, d = stack.pop()
        for s in (0, 1):
            ch = b.new(tid, site + 1)
            b.write(tid, node, s, ch)
            b.write(tid, ch, 2, node)
            b.unroot(tid, ch)  # reachable through the tree from the rooted root
            if d > 1:
                stack.append((ch, d - 1))
            yield
    return root


def trees(rng, n_alloc: int = 20000, n_threads: int = 2, quantum: float = 40.0, depth: int = 6,
          long_depth: int = 8) -> Trace:
    """GCBench-style trees per thread (temporary trees die as garbage cycles through parent pointers)."""
    b = Builder(rng)

    def thread(tid):
        keep = yield from _tree(b, tid, long_depth, 10)
        while True:
            r = yield from _tree(b, tid, int(rng.integers(max(1, depth - 2), depth + 1)), 20)
            b.unroot(tid, r)
            if rng.random() < 0.05:  # replace a subtree of the long-lived tree
                sub = yield from _tree(b, tid, 3, 30)
                b.write(tid, keep, int(rng.integers(2)), sub)
                b.unroot(tid, sub)

    _run(b, [thread(t) for t in range(n_threads)], n_alloc, quantum)
    return b.trace("trees", meta={"n_threads": n_threads})


def lru(rng, n_alloc: int = 20000, n_threads: int = 2, quantum: float = 40.0, capacity: int = 1500,
        keyspace: int = 6000) -> Trace:
    """A shared LRU cache: a circular doubly linked list (slots 0 prev, 1 next, 2 value); values point back."""
    b = Builder(rng)
    head = b.new(0, 40)
    b.write(0, head, 0, head)
    b.write(0, head, 1, head)
    prev, nxt = {head: head}, {head: head}
    cache: dict[int, int] = {}
    key_of: dict[int, int] = {}

    def unlink(tid, e):
        p, n = prev[e], nxt[e]
        b.write(tid, p, 1, n)
        nxt[p] = n
        b.write(tid, n, 0, p)
        prev[n] = p

    def push_front(tid, e):
        f = nxt[head]
        b.write(tid, e, 1, f)
        b.write(tid, e, 0, head)
        b.write(tid, f, 0, e)
        b.write(tid, head, 1, e)
        prev[e], nxt[e], prev[f], nxt[head] = head, f, e, e

    def thread(tid):
        while True:
            key = int(keyspace * rng.random() ** 2)
            e = cache.get(key)
            if e is not None:
                unlink(tid, e)
                push_front(tid, e)
            else:
                e = b.new(tid, 41)
                v = b.new(tid, 42 + key % 3)
                b.write(tid, e, 2, v)
                b.write(tid, v, 0, e)
                b.unroot(tid, v)
                push_front(tid, e)
                cache[key] = e  # the cache index keeps the allocation's reference
                key_of[e] = key
                if len(cache) > capacity:
                    t = prev[head]
                    unlink(tid, t)
                    del cache[key_of.pop(t)], prev[t], nxt[t]
                    b.unroot(tid, t)  # entry and value now only reference each other
            yield

    _run(b, [thread(t) for t in range(n_threads)], n_alloc, quantum)
    return b.trace("lru", meta={"n_threads": n_threads, "capacity": capacity})


def prodcons(rng, n_alloc: int = 20000, n_threads: int = 2, quantum: float = 40.0, max_queue: int = 400) -> Trace:
    """Producers (even tids) append messages with cyclic payloads to a shared queue; consumers drop them.

    It needs a producer and a consumer, so it runs ``max(2, n_threads)`` threads (recorded in the trace's meta)."""
    b = Builder(rng)
    q = b.new(0, 50)  # queue object: slot 0 head, slot 1 tail
    state = {"head": -1, "tail": -1}
    nxt: dict[int, int] = {}
    qlen = deque()

    def producer(tid):
        while True:
            if len(qlen) >= max_queue:
                yield
                continue
            m = b.new(tid, 51)
            for s in (1, 2):
                p = b.new(tid, 52 + s)
                b.write(tid, m, s, p)
                b.write(tid, p, 0, m)
                if rng.random() < 0.5:
                    leaf = b.new(tid, 55)
                    b.write(tid, p, 1, leaf)
                    b.unroot(tid, leaf)
                b.unroot(tid, p)
                yield
            if state["tail"] < 0:
                b.write(tid, q, 0, m)
                state["head"] = m
            else:
                b.write(tid, state["tail"], 0, m)
                nxt[state["tail"]] = m
            b.write(tid, q, 1, m)
            state["tail"] = m
            qlen.append(m)
            b.unroot(tid, m)
            yield

    def consumer(tid):
        while True:
            m = state["head"]
            if m < 0:
                yield
                continue
            b.root(tid, m)
            n = nxt.pop(m, -1)
            b.write(tid, q, 0, n)
            state["head"] = n
            if n < 0:
                b.write(tid, q, 1, -1)
                state["tail"] = -1
            qlen.popleft()
            r = b.new(tid, 56)  # a short-lived result object
            b.write(tid, r, 0, m)
            b.unroot(tid, r)
            b.unroot(tid, m)
            yield

    threads = [producer(t) if t % 2 == 0 else consumer(t) for t in range(max(2, n_threads))]
    _run(b, threads, n_alloc, quantum)
    return b.trace("prodcons", meta={"n_threads": max(2, n_threads)})


def static_churn(rng, n_alloc: int = 20000, n_threads: int = 2, quantum: float = 40.0, n_static: int = 4000,
                 keep_p: float = 0.05, keep_len: int = 300) -> Trace:
    """A static start-up table (a 4-ary tree of read-mostly objects), then per-thread cyclic-pair churn."""
    b = Builder(rng)
    root = b.new(0, 60, static=True)
    table, frontier = [root], deque([root])
    while len(table) < n_static:
        par = frontier.popleft()
        for s in range(4):
            x = b.new(0, 61 + len(table) % 3, static=True)
            b.write(0, par, s, x)
            b.unroot(0, x)
            table.append(x)
            frontier.append(x)
    freeze_pos = len(b.ev)
    leaves = table[len(table) // 2:]

    def thread(tid):
        dq: deque[int] = deque()
        while True:
            a = b.new(tid, 70)
            c = b.new(tid, 71)
            b.write(tid, a, 0, c)
            b.write(tid, c, 0, a)
            b.write(tid, a, 2, leaves[int(rng.integers(len(leaves)))])  # read from the static table
            if rng.random() < 0.01:  # the static table occasionally registers a new object
                b.write(tid, leaves[int(rng.integers(len(leaves)))], 3, a)
            b.unroot(tid, c)
            if rng.random() < keep_p:
                if dq:
                    b.write(tid, a, 1, dq[0])
                    b.unroot(tid, dq[0])
                dq.appendleft(a)  # the newest survivor stays rooted
                if len(dq) > keep_len:
                    b.write(tid, dq[-2], 1, -1)
                    dq.pop()
            else:
                b.unroot(tid, a)
            yield

    _run(b, [thread(t) for t in range(n_threads)], n_alloc, quantum)
    return b.trace("static_churn", freeze_pos=freeze_pos, meta={"n_threads": n_threads, "n_static": n_static})


def graph(rng, n_alloc: int = 20000, n_threads: int = 2, quantum: float = 40.0, nodes_per_thread: int = 800,
          p_new: float = 0.3) -> Trace:
    """A long-lived random graph (each thread roots its node list); edges rewired, nodes replaced."""
    b = Builder(rng)
    lists: list[list[int]] = [[] for _ in range(n_threads)]

    def pick():
        lst = lists[int(rng.integers(n_threads))]
        return lst[int(rng.integers(len(lst)))] if lst else -1

    def thread(tid):
        own = lists[tid]
        for _ in range(nodes_per_thread):
            own.append(b.new(tid, 80 + tid % 2))
            yield
        while True:
            if rng.random() < p_new:
                n = b.new(tid, 82 + int(rng.integers(3)))
                for s in range(2):
                    d = pick()
                    if d >= 0:
                        b.write(tid, n, s, d)
                k = int(rng.integers(len(own)))
                b.unroot(tid, own[k])
                own[k] = n
            else:
                s, d = pick(), (pick() if rng.random() > 0.1 else -1)
                if s >= 0:
                    b.write(tid, s, int(rng.integers(4)), d)
            yield

    _run(b, [thread(t) for t in range(n_threads)], n_alloc, quantum)
    return b.trace("graph", meta={"n_threads": n_threads})


WORKLOADS = {"trees": trees, "lru": lru, "prodcons": prodcons, "static_churn": static_churn, "graph": graph}


def make(name: str, rng: np.random.Generator, n_alloc: int = 20000, n_threads: int = 2, **kw) -> Trace:
    """Generate workload ``name`` (one of :data:`WORKLOADS`) with about ``n_alloc`` allocations."""
    if name not in WORKLOADS:
        raise ValueError(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}")
    if n_alloc < 100 or n_threads < 1:
        raise ValueError(f"n_alloc must be >= 100 and n_threads >= 1 (got {n_alloc}, {n_threads})")
    return WORKLOADS[name](rng, n_alloc=n_alloc, n_threads=n_threads, **kw)
