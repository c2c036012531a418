"""TruSt-style optimal DPOR for sequential consistency: the exploration tree the estimators sample.

The paper (arXiv 2512.23996, §4 "From optimal DPOR to an estimator") views a stateless optimal DPOR
(TruSt, Kokologiannakis et al. POPL'22) as a tree whose leaves are the Mazurkiewicz classes. Here a
node is a consistent execution graph (events in po order, rf, co, addition stamps); its children are
computable locally (rf choices of a read, co placements of a write, backward revisits that pass the
maximality check), so a random probe knows its branching factor. RMWs (FAI, successful CAS, lock
acquire) are a read part followed by an exclusive write part placed immediately co-after its rf.
A thread whose next op is a false ``Assume`` adds no event and stays stopped; the leaf is then a blocked
execution (as GenMC's "blocked" count), not a class, unless a backward revisit changes what the thread read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from support.dpor_estimate.dsl import (
    CAS,
    FAI,
    MAX_STEPS,
    Assume,
    Lock,
    Op,
    Program,
    Read,
    StepLimitError,
    check_max_steps,
    result_of,
    rmw_succeeds,
    write_value,
)

# event tuple layout: (kind, loc, val, rf, stamp, op, excl)
R, W = 0, 1
K, LOC, VAL, RF, ST, OP, EX = range(7)
_READ_OPS = (Read, CAS, FAI, Lock)

EventId = tuple[int, int]  # (thread, index in thread); None stands for the initialisation write


class Graph:
    """An execution graph: per-thread event tuples, per-location coherence order, next stamp (§4)."""

    __slots__ = ("co", "ev", "hist", "memo", "nstamp")

    def __init__(self, ev: tuple, co: dict, nstamp: int, hist: tuple | None = None):
        self.ev = ev
        self.co = co
        self.nstamp = nstamp
        self.memo = None  # what memo_children knows of this node's children (None: never expanded)
        # per thread, the results its ops received (what its generator is replayed with)
        self.hist = tuple(_hist(t) for t in ev) if hist is None else hist

    def n_events(self) -> int:
        return sum(len(t) for t in self.ev)

    def key(self) -> tuple:
        """A canonical, hashable form of the graph (rf and co, no stamps): one per trace class."""
        evs = tuple(tuple((e[K], e[LOC], e[VAL], e[RF]) for e in t) for t in self.ev)
        return evs, tuple(sorted(self.co.items()))


def root(program: Program) -> Graph:
    """The empty graph: the root of the exploration tree."""
    return Graph(tuple(() for _ in range(program.n_threads)), {}, 0)


def _hist(evs: tuple) -> tuple:
    out = []
    for e in evs:
        if e[K] == R:
            out.append(result_of(e[OP], e[VAL]))
        elif not e[EX]:
            out.append(None)
    return tuple(out)


def _blocked(evs: tuple) -> bool:
    if not evs:
        return False
    last = evs[-1]
    return last[K] == R and not last[EX] and isinstance(last[OP], Lock)


def next_event(program: Program, g: Graph) -> tuple[int, Op, bool] | None:
    """The next event to add: a pending RMW write part first, else the lowest-index thread's next op.

    Returns (thread, op, is_write_part) or None when every thread has finished, is blocked on a lock
    or stopped at a false Assume.
    """
    nxt = _next_or_blocked(program, g)
    return nxt if type(nxt) is tuple else None


def _next_or_blocked(program: Program, g: Graph) -> tuple[int, Op, bool] | bool:
    """:func:`next_event`'s answer, or at a leaf :func:`is_blocked` (there every thread's op was looked up anyway)."""
    hist = g.hist
    cache = program._next
    found = None
    blocked = False
    for t, evs in enumerate(g.ev):
        if evs:
            last = evs[-1]
            if last[K] == R:
                if last[EX]:
                    return t, last[OP], True
                if type(last[OP]) is Lock:
                    blocked = True
                    continue  # blocked on a held lock
        if found is None:
            op = cache.get((t, hist[t]), cache)  # the cache itself marks "not computed yet"
            if op is cache:
                op = program.next_op(t, hist[t])
            if type(op) is Assume:  # a false Assume stops the thread
                blocked = True
            elif op is not None:
                found = (t, op, False)
    return blocked if found is None else found


def stopped_at_assume(program: Program, g: Graph) -> list[int]:
    """The threads of ``g`` whose next op is a false Assume (stopped for good; not waiting on a lock)."""
    return [t for t, evs in enumerate(g.ev) if not _blocked(evs) and type(program.next_op(t, g.hist[t])) is Assume]


def is_blocked(g: Graph, program: Program) -> bool:
    """A leaf that is not a complete class: a thread waits on a held lock or stopped at a false Assume.

    Such leaves score 0 as classes in the estimators (§4); GenMC reports them apart as "blocked". Asked of leaves
    (every caller's case): the blocked answer :func:`_next_or_blocked` gives where no thread can move.
    """
    return _next_or_blocked(program, g) is True


def _waits_forever(g: Graph, evs: tuple) -> bool:
    """The thread's blocked lock attempt read the co-last write of its mutex, so nobody releases it later."""
    last = evs[-1]
    lst = g.co.get(last[LOC], ())
    return last[RF] == (lst[-1] if lst else None)


def _locks_genuine(g: Graph) -> tuple[bool, bool]:
    """(some thread waits on a lock, every such thread waits forever), for the leaf ``g``."""
    waiting = [evs for evs in g.ev if _blocked(evs)]
    return bool(waiting), all(_waits_forever(g, evs) for evs in waiting)


def is_deadlock(g: Graph, program: Program) -> bool:
    """A blocked leaf that is a real deadlock: every blocked thread waits on a mutex held at the end.

    Other lock-blocked leaves are exploration artefacts (a lock attempt read a value that a later unlock
    overwrote; the execution where it retries is explored elsewhere). A thread stopped at a false Assume
    makes the leaf an assume-blocked execution instead (:func:`is_assume_blocked`), never a deadlock.
    """
    waiting, forever = _locks_genuine(g)
    return waiting and forever and not stopped_at_assume(program, g)


def is_assume_blocked(g: Graph, program: Program) -> bool:
    """A real blocked execution (GenMC's "blocked" count): some thread stopped at a false Assume.

    Any thread waiting on a lock must wait forever; otherwise the leaf is a lock artefact, retried elsewhere.
    """
    return _locks_genuine(g)[1] and bool(stopped_at_assume(program, g))


def describe_deadlock(program: Program, g: Graph) -> str:
    """Which thread waits on which mutex, for the report of a deadlocked leaf (see :func:`is_deadlock`)."""
    waits = [f"{program.describe_thread(t)} waits forever on lock {evs[-1][LOC]!r}"
             for t, evs in enumerate(g.ev) if _blocked(evs)]
    return "deadlock: " + "; ".join(waits)


def _write_val(program: Program, g: Graph, w: EventId | None, loc: str) -> int:
    return program.init[loc] if w is None else g.ev[w[0]][w[1]][VAL]


def _adjacency(g: Graph) -> tuple[dict, dict, dict]:
    """Successor lists of po ∪ rf ∪ co ∪ fr (fr to the immediate co-successor), readers, co-next."""
    readers: dict = {}
    for t, evs in enumerate(g.ev):
        for i, e in enumerate(evs):
            if e[K] == R:
                readers.setdefault((e[LOC], e[RF]), []).append((t, i))
    co_next: dict = {}
    co_first: dict = {}
    for loc, lst in g.co.items():
        if lst:
            co_first[loc] = lst[0]
        for j in range(len(lst) - 1):
            co_next[lst[j]] = lst[j + 1]
    adj: dict = {}
    for t, evs in enumerate(g.ev):
        n = len(evs)
        for i, e in enumerate(evs):
            eid = (t, i)
            s = [(t, i + 1)] if i + 1 < n else []
            if e[K] == W:
                nx = co_next.get(eid)
                if nx is not None:
                    s.append(nx)
                rs = readers.get((e[LOC], eid))
                if rs:
                    s.extend(rs)
            else:
                rf = e[RF]
                f = co_first.get(e[LOC]) if rf is None else co_next.get(rf)
                if f is not None:
                    s.append(f)
            adj[eid] = s
    return adj, readers, co_next


def _readers(g: Graph) -> dict:
    """The reads of ``g`` by (location, the write they read from; None: the initialisation)."""
    rd: dict = {}
    for t, evs in enumerate(g.ev):
        for i, e in enumerate(evs):
            if e[K] == R:
                rd.setdefault((e[LOC], e[RF]), []).append((t, i))
    return rd


def _co_closures(g: Graph, lst: tuple, lo: int, rd: dict):
    """For p = len(lst) - 1 down to ``lo``: (p, what lst[p] reaches along po ∪ rf ∪ co ∪ fr as the first event reached
    per thread, po-closed); lst[p] -> lst[p + 1] is co, so one vector grows write by write (yielded, not copied)."""
    ev = g.ev
    co = g.co
    vis = [len(evs) for evs in ev]
    for q in range(len(lst) - 1, lo - 1, -1):
        stack = [lst[q]]
        while stack:
            t, i = stack.pop()
            old = vis[t]
            if i >= old:
                continue
            vis[t] = i
            evs = ev[t]
            for x in range(i, old):  # the newly reached events (po to the next one is implied)
                e = evs[x]
                loc = e[LOC]
                cl = co.get(loc, ())
                if e[K] == W:
                    eid = (t, x)
                    j = cl.index(eid) + 1
                    if j < len(cl):
                        stack.append(cl[j])  # co
                    rs = rd.get((loc, eid))
                    if rs:
                        stack.extend(rs)  # rf
                else:
                    rf = e[RF]
                    j = 0 if rf is None else cl.index(rf) + 1
                    if j < len(cl):
                        stack.append(cl[j])  # fr
        yield q, vis


def _reaching_prefix(g: Graph, lst: tuple, target: EventId) -> int:
    """The k such that ``lst[j]`` reaches ``target`` in ``g`` exactly for j < k, for a coherence order ``lst``
    (reaching is closed downwards along ``lst``, :func:`_co_closures`: look from the co-last write back)."""
    if not lst:
        return 0
    t, i = target
    for j, vis in _co_closures(g, lst, 0, _readers(g)):
        if vis[t] <= i:
            return j + 1
    return 0


def _cyclic_placements(g: Graph, a: EventId, loc: str, lo: int) -> set[int]:
    """Co positions p >= ``lo`` of ``loc`` (p < its length) where the new write ``a`` between wp = co[p - 1] and ws = co[p]
    closes a cycle: ws reaches a's po-predecessor, wp or a read of wp (edges into ``a``: po, co, fr), §4."""
    lst = g.co.get(loc, ())
    out: set[int] = set()
    if lo >= len(lst):
        return out
    t, idx = a
    rd = _readers(g)
    for p, vis in _co_closures(g, lst, lo, rd):
        wp = lst[p - 1] if p > 0 else None
        if ((idx and vis[t] <= idx - 1) or (wp is not None and vis[wp[0]] <= wp[1])
                or any(vis[rt] <= ri for rt, ri in rd.get((loc, wp), ()))):
            out.add(p)
    return out


def consistent(g: Graph) -> bool:
    """SC consistency: acyclic(po ∪ rf ∪ co ∪ fr) plus RMW atomicity (full check, §2)."""
    adj, readers, _ = _adjacency(g)
    # atomicity: at most one successful RMW read per write; write part immediately co-after its rf
    for rs in readers.values():
        if sum(1 for (t, i) in rs if g.ev[t][i][EX]) > 1:
            return False
    for lst in g.co.values():
        for j, (t, i) in enumerate(lst):
            e = g.ev[t][i]
            if e[EX]:
                rf = g.ev[t][i - 1][RF]
                if (lst[j - 1] if j > 0 else None) != rf:
                    return False
    indeg = dict.fromkeys(adj, 0)
    for s in adj.values():
        for y in s:
            indeg[y] += 1
    queue = [x for x, d in indeg.items() if d == 0]
    seen = 0
    while queue:
        x = queue.pop()
        seen += 1
        for y in adj[x]:
            indeg[y] -= 1
            if indeg[y] == 0:
                queue.append(y)
    return seen == len(adj)


def _porf(g: Graph, a: EventId) -> list[int]:
    """porf-prefix of ``a`` as per-thread prefix lengths (po ∪ rf backward closure)."""
    v = [0] * len(g.ev)
    stack = [a]
    while stack:
        t, i = stack.pop()
        if i < v[t]:
            continue
        evs = g.ev[t]
        for j in range(v[t], i + 1):
            e = evs[j]
            if e[K] == R and e[RF] is not None:
                stack.append(e[RF])
        v[t] = i + 1
    return v


def _maximally_added(g: Graph, e: EventId, a: EventId, pv: list[int]) -> bool:
    """TruSt's maximality check (§4): ``e`` was added reading from / as the co-maximal write of its view."""
    ev = g.ev
    kind, loc, _, rf, st = ev[e[0]][e[1]][:5]

    def prev(x: EventId | None) -> bool:
        return x is None or x[1] < pv[x[0]] or ev[x[0]][x[1]][ST] <= st

    if kind == W:
        for t, evs in enumerate(ev):
            for i, x in enumerate(evs):
                if x[K] == R and x[RF] == e and prev((t, i)):
                    return False
        ew = e
    else:
        ew = rf
    if not prev(ew):
        return False
    lst = [w for w in g.co.get(loc, ()) if w != a]
    pos = 0 if ew is None else lst.index(ew) + 1
    return not any(prev(w) for w in lst[pos:])


def _co_positions(g: Graph, a: EventId, loc: str, excl_rf) -> range:
    lst = g.co.get(loc, ())
    if excl_rf is not False:  # an exclusive write part goes immediately after its rf
        p = 0 if excl_rf is None else lst.index(excl_rf) + 1
        return range(p, p + 1)
    return range(len(lst) + 1)


def _placed(g: Graph, a: EventId, loc: str, p: int) -> Graph:
    lst = g.co.get(loc, ())
    co = dict(g.co)
    co[loc] = lst[:p] + (a,) + lst[p:]
    return Graph(g.ev, co, g.nstamp, g.hist)


def children(program: Program, g: Graph, max_steps: int = MAX_STEPS) -> list[Graph] | None:
    """All children of node ``g`` in the TruSt tree, or None if ``g`` is a leaf (complete or blocked).

    §4: the next event's rf options (read), co placements and backward revisits (write), each kept
    only if SC-consistent; revisits only if every deleted event was added maximally. Raises
    :class:`StepLimitError` if the next step would exceed ``max_steps`` steps in this execution.
    """
    nxt = next_event(program, g)
    return None if nxt is None else _children_of(program, g, nxt, max_steps)


def _children_of(program: Program, g: Graph, nxt: tuple[int, Op, bool], max_steps: int) -> list[Graph]:
    """:func:`children` of the inner node ``g`` whose next event is ``nxt``."""
    t, op, is_wpart = nxt
    # steps = ops yielded so far by all threads; nstamp (the node's depth) >= #events >= steps is the cheap pre-test
    if g.nstamp >= max_steps and not is_wpart and sum(map(len, g.hist)) >= max_steps:
        raise StepLimitError(program, t, len(g.hist[t]), max_steps)
    evs = g.ev[t]
    idx = len(evs)
    a = (t, idx)
    loc = op.loc
    out: list[Graph] = []
    co_lst = g.co.get(loc, ())
    if not is_wpart and isinstance(op, _READ_OPS):
        popred = (t, idx - 1) if idx else None
        # reading from the write before co position j adds fr to co_lst[j]: a cycle iff co_lst[j] reaches popred
        k = 0 if popred is None else _reaching_prefix(g, co_lst, popred)
        for j, w in enumerate((None,) + co_lst):
            # an RMW read may read from a write another RMW already read: its write part's forward
            # placement is then inconsistent, but its backward revisits can repair the conflict (TruSt).
            if j < k:
                continue
            val = _write_val(program, g, w, loc)
            ex = rmw_succeeds(op, val)
            ev = list(g.ev)
            ev[t] = evs + ((R, loc, val, w, g.nstamp, op, ex),)
            hist = list(g.hist)
            hist[t] = hist[t] + (result_of(op, val),)
            out.append(Graph(tuple(ev), g.co, g.nstamp + 1, tuple(hist)))
        return out

    # a write (plain write, unlock, or the exclusive write part of an RMW)
    if is_wpart:
        rpart = evs[-1]
        excl_rf = rpart[RF]
        val = write_value(op, rpart[VAL])
    else:
        excl_rf = False
        val = write_value(op, None)
    ev = list(g.ev)
    ev[t] = evs + ((W, loc, val, None, g.nstamp, op, is_wpart),)
    hist = g.hist
    if not is_wpart:
        hist = list(hist)
        hist[t] = hist[t] + (None,)
        hist = tuple(hist)
    g1 = Graph(tuple(ev), g.co, g.nstamp + 1, hist)
    positions = _co_positions(g, a, loc, excl_rf)
    cyclic = _cyclic_placements(g, a, loc, positions[0])
    for p in positions:
        wp = co_lst[p - 1] if p > 0 else None
        ws = co_lst[p] if p < len(co_lst) else None
        if ws is not None:
            wt, wi = ws
            if g.ev[wt][wi][EX] and g.ev[wt][wi - 1][RF] == wp:
                continue  # would split an RMW from the write it read
            if p in cyclic:
                continue
        out.append(_placed(g1, a, loc, p))

    # backward revisits: reads of loc not in porf(a)
    pv = _porf(g1, a)
    for rt, revs in enumerate(g1.ev):
        for ri in range(pv[rt], len(revs)):
            re = revs[ri]
            if re[K] != R or re[LOC] != loc or not _maximally_added(g1, (rt, ri), a, pv):
                continue
            sr = re[ST]
            # deleted: stamp > sr and not in porf(a); per thread this is a suffix
            keep = []
            deleted = []
            for tt, tevs in enumerate(g1.ev):
                k = len(tevs)
                while k > pv[tt] and tevs[k - 1][ST] > sr:
                    k -= 1
                keep.append(k)
                deleted.extend((tt, j) for j in range(k, len(tevs)))
            if not all(_maximally_added(g1, d, a, pv) for d in deleted):
                continue
            dset = set(deleted)
            new_ev = [tevs[:keep[tt]] for tt, tevs in enumerate(g1.ev)]
            ex = rmw_succeeds(re[OP], val)
            new_ev[rt] = new_ev[rt][:ri] + ((R, loc, val, a, sr, re[OP], ex),)
            co = {lc: tuple(w for w in lst if w not in dset) for lc, lst in g.co.items()} if dset else dict(g.co)
            g2 = Graph(tuple(new_ev), co, g1.nstamp)
            for p in _co_positions(g2, a, loc, excl_rf):
                g3 = _placed(g2, a, loc, p)
                if consistent(g3):
                    out.append(g3)
    return out


def memo_children(program: Program, g: Graph, max_steps: int = MAX_STEPS) -> list[Graph] | None:
    """:func:`children` of ``g``, kept on ``g`` from its second expansion on (probes sharing a root re-walk the tree's
    top, §4-§5; a first expansion only marks ``g``); the list is shared: callers must not change it."""
    m = g.memo
    if m is not None and m[0] is program and m[1] == max_steps:
        if len(m) == 3:
            return m[2]
        ch = children(program, g, max_steps)
        g.memo = (program, max_steps, ch)
        return ch
    ch = children(program, g, max_steps)
    g.memo = (program, max_steps)
    return ch


@dataclass(frozen=True)
class Exploration:
    """Result of an exhaustive exploration of the TruSt tree."""

    program: str
    complete: int  # Mazurkiewicz classes (complete leaves)
    blocked: int  # leaves where a thread waits on a lock or stopped at a false Assume (all kinds below included)
    nodes: int  # explored graphs, root and leaves included (the model-checking cost)
    seconds: float
    deadlocks: int = 0  # blocked leaves that are real deadlocks (every blocked thread waits forever on a lock)
    deadlock: str = ""  # description of the first deadlock found ("" if none)
    assume_blocked: int = 0  # blocked executions: a thread stopped at a false Assume (GenMC's "blocked")


def explore(program: Program, limit: int | None = None, max_steps: int = MAX_STEPS) -> Exploration:
    """Exhaustive DFS of the TruSt tree: exact class count and node count (§4, exact mode).

    ``limit`` stops with an error after that many nodes (to protect a notebook budget); an execution
    longer than ``max_steps`` steps raises :class:`StepLimitError`. Deadlocks are counted and described;
    executions stopped at a false Assume are counted apart (``assume_blocked``), not as deadlocks.
    """
    check_max_steps(max_steps)
    t0 = time.perf_counter()
    stack = [root(program)]
    complete = blocked = nodes = deadlocks = assume_blocked = 0
    first = ""
    while stack:
        g = stack.pop()
        nodes += 1
        if limit is not None and nodes > limit:
            raise RuntimeError(f"explore({program.name}) exceeded {limit} nodes")
        nxt = _next_or_blocked(program, g)  # children() and, at a leaf, is_blocked() in one pass
        if type(nxt) is not tuple:
            if nxt:
                blocked += 1
                if is_deadlock(g, program):
                    deadlocks += 1
                    first = first or describe_deadlock(program, g)
                elif is_assume_blocked(g, program):
                    assume_blocked += 1
            else:
                complete += 1
        else:
            stack.extend(_children_of(program, g, nxt, max_steps))
    return Exploration(program.name, complete, blocked, nodes, time.perf_counter() - t0, deadlocks, first,
                       assume_blocked)
