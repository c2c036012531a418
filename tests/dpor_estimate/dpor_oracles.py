"""Independent oracles for the DPOR-estimation tests (written without the code under test).

* ``foata_class_count``: enumerate every interleaving (breadth-first, deduplicated on state + the
  Foata normal form of the prefix) and count the distinct Foata normal forms of complete runs;
  ``foata_deadlock_count`` counts those of runs that stop with every unfinished thread on a held lock;
  ``foata_assume_blocked_count`` those of runs that stop with some thread at a false ``Assume``;
  ``foata_complete_classes`` lists the complete classes' events, ``foata_final_memories`` their final memory.
* ``random_program``: seeded random programs (2-4 threads, <= 12 events, R/W/CAS/FAI, branches,
  optionally critical sections under a lock and spin-loop awaits ``Assume(Read(loc) == v)``).
* ``ScriptedRng`` + ``exact_expectation``: the exact expectation of a probe, enumerating every
  random choice it can make and weighting it by its probability, in ``fractions.Fraction``.
"""

from __future__ import annotations

import itertools
import random
from fractions import Fraction

import numpy as np

from support.dpor_estimate.dsl import CAS, FAI, Assume, Lock, Program, Read, Unlock, Write


def _past_true_assumes(gen, op):
    while isinstance(op, Assume) and op.cond:  # a true Assume is no event: the thread goes on
        op = gen.send(None)
    return op


def _replay(fn, hist):
    gen = fn()
    try:
        op = _past_true_assumes(gen, next(gen))
        for v in hist:
            op = _past_true_assumes(gen, gen.send(v))
    except StopIteration:
        return None
    return op


def foata_class_count(program: Program) -> int:
    """#Mazurkiewicz classes of complete runs, by brute force over interleavings (see ``_foata_runs``)."""
    return len(_foata_runs(program)[0])


def foata_deadlock_count(program: Program) -> int:
    """#Mazurkiewicz classes of deadlocked runs: no thread can move, unfinished ones all wait on held locks."""
    return len(_foata_runs(program)[1])


def foata_assume_blocked_count(program: Program) -> int:
    """#Mazurkiewicz classes of blocked runs: no thread can move and some thread stopped at a false Assume."""
    return len(_foata_runs(program)[2])


def foata_complete_classes(program: Program) -> list[frozenset]:
    """Every complete class as its set of events (thread, index, op name, location, value seen, writes?, level)."""
    return list(_foata_runs(program)[0])


def foata_final_memories(program: Program) -> set[tuple]:
    """The final memory, as sorted (location, value) pairs, of every complete class."""
    return set(_foata_runs(program)[0].values())


def _foata_runs(program: Program) -> tuple[dict, set, set]:
    """Complete runs (Foata normal form -> final memory), deadlocked and assume-blocked runs' normal forms.

    An RMW (FAI, successful CAS, lock acquire) is one atomic write-kind event; a failed CAS a read; a
    true Assume no event, a false one stops its thread for good (it never moves again).
    Dependence: same thread, or same location with at least one write-kind event. Each prefix is
    keyed by its Foata normal form (event -> Foata level), so equivalent prefixes merge.
    """
    threads = list(program.threads)
    locs = sorted(program.init)
    li = {l: i for i, l in enumerate(locs)}
    n = len(threads)
    cache: dict = {}

    def nxt(t, hist):
        k = (t, hist)
        if k not in cache:
            cache[k] = _replay(threads[t], hist)
        return cache[k]

    start = (tuple(() for _ in range(n)), tuple(program.init[l] for l in locs), frozenset(),
             (0,) * n, (0,) * len(locs), (0,) * len(locs))
    frontier = {start}
    complete: dict = {}
    deadlocked: set = set()
    assume_blocked: set = set()
    while frontier:
        new = set()
        for hists, mem, key, tlv, lw, la in frontier:
            moved = False
            for t in range(n):
                op = nxt(t, hists[t])
                if op is None or isinstance(op, Assume):
                    continue  # finished, or stopped at a false Assume
                i = li[op.loc]
                cur = mem[i]
                if isinstance(op, Lock) and cur != 0:
                    continue  # blocked for now
                if isinstance(op, Read):
                    res, newval, writes = cur, None, False
                elif isinstance(op, Write):
                    res, newval, writes = None, op.val, True
                elif isinstance(op, Unlock):
                    res, newval, writes = None, 0, True
                elif isinstance(op, Lock):
                    res, newval, writes = None, 1, True
                elif isinstance(op, FAI):
                    res, newval, writes = cur, cur + op.delta, True
                elif isinstance(op, CAS):
                    ok = cur == op.expected
                    res, newval, writes = ok, (op.new if ok else None), ok
                else:
                    raise TypeError(f"not an event: {op!r}")
                moved = True
                if writes:
                    lvl = 1 + max(tlv[t], la[i])
                    lw2 = lw[:i] + (lvl,) + lw[i + 1:]
                    la2 = la[:i] + (lvl,) + la[i + 1:]
                    mem2 = mem[:i] + (newval,) + mem[i + 1:]
                else:
                    lvl = 1 + max(tlv[t], lw[i])
                    lw2 = lw
                    la2 = la[:i] + (max(la[i], lvl),) + la[i + 1:]
                    mem2 = mem
                ev = (t, len(hists[t]), type(op).__name__, op.loc, cur, writes, lvl)
                h2 = hists[:t] + (hists[t] + (res,),) + hists[t + 1:]
                new.add((h2, mem2, key | {ev}, tlv[:t] + (lvl,) + tlv[t + 1:], lw2, la2))
            if not moved:
                ops = [nxt(t, hists[t]) for t in range(n)]
                if all(op is None for op in ops):
                    complete[key] = tuple(zip(locs, mem))
                elif any(isinstance(op, Assume) for op in ops):
                    assume_blocked.add(key)
                else:
                    deadlocked.add(key)
        frontier = new
    return complete, deadlocked, assume_blocked


def _thread_from_spec(spec):
    def t():
        last = None
        skip = False
        for kind, loc, a, b, cond in spec:
            if skip:
                skip = False
                continue
            if kind == "R":
                last = yield Read(loc)
            elif kind == "W":
                yield Write(loc, a)
            elif kind == "CAS":
                last = int((yield CAS(loc, a, b)))
            elif kind == "FAI":
                last = yield FAI(loc, a)
            elif kind == "LOCK":  # a critical section: lock, one access, unlock
                yield Lock("m")
                last = yield Read(loc)
                yield Write(loc, a)
                yield Unlock("m")
            elif kind == "ASSUME":  # a spin loop `while (loc != a) {}` as GenMC turns it into an assume
                last = yield Read(loc)
                yield Assume(last == a)
            if cond is not None and last != cond:
                skip = True
    return t


def random_program(rng: random.Random, max_events: int = 12, locks: bool = False, assumes: bool = False) -> Program:
    """A random program: 2-4 threads, <= 4 instructions each, <= ``max_events`` events in all.

    ``assumes`` adds spin-loop awaits (read, then Assume on its value); off, a seed gives the same program as before.
    """
    n = rng.randint(2, 4)
    locs = ["x", "y", "z"][: rng.randint(1, 3)]
    left = max_events
    specs = []
    kinds = ["R", "R", "W", "W", "CAS", "FAI"] + (["LOCK"] if locks else []) + (["ASSUME"] * 2 if assumes else [])
    for t in range(n):
        room = left - (n - t - 1)
        k = rng.randint(1, max(1, min(4, room)))
        spec = []
        for _ in range(k):
            kind = rng.choice(kinds)
            size = 4 if kind == "LOCK" else 1
            if size > left - (n - t - 1) - len(spec):
                kind, size = "R", 1
            loc = rng.choice(locs)
            a = rng.randint(0, 2) if kind in ("CAS", "ASSUME") else (1 if kind == "FAI" else rng.randint(1, 2))
            b = rng.randint(1, 3)
            cond = rng.randint(0, 2) if (kind in ("R", "CAS", "FAI", "LOCK") and rng.random() < 0.3) else None
            spec.append((kind, loc, a, b, cond))
            left -= size
        specs.append(spec)
    init = {l: 0 for l in locs}
    if locks:
        init["m"] = 0
    return Program(f"random{rng.random():.6f}", [_thread_from_spec(s) for s in specs], init)


class ScriptedRng:
    """Stands in for ``np.random.Generator.integers``: follows a scripted list of choices."""

    def __init__(self, script):
        self.script = list(script)
        self.pos = 0
        self.seen: list[int] = []  # the branching factors asked for

    def integers(self, d):
        self.seen.append(int(d))
        c = self.script[self.pos] if self.pos < len(self.script) else 0
        self.pos += 1
        return c

    def choice(self, n, size, replace=True):
        """``Generator.choice(n, size, replace=False)``: one scripted pick among all C(n, size) subsets."""
        if replace:
            raise NotImplementedError("only sampling without replacement is scripted")
        subsets = list(itertools.combinations(range(int(n)), int(size)))
        return np.array(subsets[self.integers(len(subsets))])


def exact_expectation(probe, program, field: str) -> Fraction:
    """E[probe(program).field], enumerating every sequence of random choices (odometer order)."""
    total = Fraction(0)
    script: list[int] = []
    paths = 0
    while True:
        rng = ScriptedRng(script)
        result = probe(program, rng)
        dims = rng.seen
        script = script[: len(dims)] + [0] * (len(dims) - len(script))
        p = Fraction(1)
        for d in dims:
            p /= d
        total += p * getattr(result, field)
        paths += 1
        # next script in odometer order
        j = len(dims) - 1
        while j >= 0 and script[j] + 1 >= dims[j]:
            j -= 1
        if j < 0:
            return total
        script = script[:j] + [script[j] + 1]
