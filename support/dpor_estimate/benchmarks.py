"""The standard DPOR benchmarks, written in the DSL from their published sources, with exact counts.

Sources: GenMC ``tests/correct/synthetic/*`` (big0, big1, fib_bench, lastzero, readers, inc, casrot,
indexer, cinc, ainc, N-writers, peterson, szymanski), Nidhugg from_TRACER (CO-2+2W), SV-COMP
pthread-atomic (dekker); used by the paper's evaluation (§7). The mutual-exclusion ones wait with ``Assume``.
Expected counts are GenMC's ``expected.sc.mo.in`` (SC, Mazurkiewicz classes), closed forms, or (fib_bench
below NUM = 5, lastzero below N = 5) counts re-derived by the implementer's prototype; :func:`count_source` says which.
"""

from __future__ import annotations

from collections.abc import Callable
from math import factorial

from support.dpor_estimate.dsl import CAS, FAI, Assume, Lock, Program, Read, Unlock, Write


def _reader(name: str, locs: str):
    def t():
        for loc in locs:
            yield Read(loc)
    t.__name__ = name
    return t


def _pair_writer(name: str, a: str, b: str, values=(1, 2, 3)):
    def t():
        for v in values:
            yield Write(a, v)
            yield Write(b, v)
    t.__name__ = name
    return t


def big0() -> Program:
    """GenMC synthetic/big0: two readers (7 and 3 reads) and two writers of x,y and z,w (GenMC order)."""
    return Program("big0", [_reader("r1", "xyzwxyz"), _reader("r2", "xyz"),
                            _pair_writer("w_xy", "x", "y"), _pair_writer("w_zw", "z", "w")],
                   {"x": 0, "y": 0, "z": 0, "w": 0})


def big1() -> Program:
    """GenMC synthetic/big1: as big0 with longer readers (8 and 6 reads)."""
    return Program("big1", [_reader("r1", "xyzwxyzw"), _reader("r2", "xyzwxy"),
                            _pair_writer("w_xy", "x", "y"), _pair_writer("w_zw", "z", "w")],
                   {"x": 0, "y": 0, "z": 0, "w": 0})


def fib_bench(num: int) -> Program:
    """SV-COMP/GenMC fib_bench: t1 does x := x + y, t2 y := x + y, NUM times; t3 checks x, y > 144."""
    def t1():
        for _ in range(num):
            a = yield Read("x")
            b = yield Read("y")
            yield Write("x", a + b)

    def t2():
        for _ in range(num):
            a = yield Read("x")
            b = yield Read("y")
            yield Write("y", a + b)

    def t3():  # the final check `x > 144 || y > 144` (short-circuit: y is read only if x <= 144)
        a = yield Read("x")
        if a <= 144:
            yield Read("y")

    return Program(f"fib_bench({num})", [t1, t2, t3], {"x": 1, "y": 1})


def lastzero(n: int) -> Program:
    """Concuerror/GenMC lastzero(N): a reader scans a[N..0] for the last zero; writer j: a[j] = a[j-1] + 1."""
    def reader():
        i = n
        while (yield Read(f"a{i}")) != 0:
            i -= 1

    def writer(j: int):
        def t():
            v = yield Read(f"a{j - 1}")
            yield Write(f"a{j}", v + 1)
        t.__name__ = f"writer{j}"
        return t

    return Program(f"lastzero({n})", [reader] + [writer(j) for j in range(1, n + 1)],
                   {f"a{i}": 0 for i in range(n + 1)})


def readers(n: int) -> Program:
    """GenMC/RCMC readers(N): one writer of x, N readers of x; 2^N classes."""
    def writer():
        yield Write("x", 42)
    return Program(f"readers({n})", [writer] + [_reader(f"r{i}", "x") for i in range(n)], {"x": 0})


def inc(n: int) -> Program:
    """GenMC synthetic/inc: N threads do a non-atomic x := x + 1 (read then write); (N!)^2 classes."""
    def t():
        v = yield Read("x")
        yield Write("x", v + 1)
    return Program(f"inc({n})", [t] * n, {"x": 0}, [f"inc{i}" for i in range(n)])


def co_2_2w(n: int) -> Program:
    """Nidhugg from_TRACER CO-2+2W(N): N threads each write x twice; (2N)!/2^N classes (co orders)."""
    def th(i: int):
        def t():
            yield Write("x", 2 * i + 1)
            yield Write("x", 2 * i + 2)
        t.__name__ = f"w{i}"
        return t
    return Program(f"CO-2+2W({n})", [th(i) for i in range(n)], {"x": 0})


def n_writers(n: int) -> Program:
    """N writers of x and a reader: (N+1)! classes (closed form).

    Modelled on GenMC synthetic/N-writers, whose N spawns N + 1 writers: GenMC's 720 (its N = 4) is our n_writers(5).
    """
    def w(i: int):
        def t():
            yield Write("x", i + 1)
        t.__name__ = f"w{i}"
        return t
    return Program(f"N-writers({n})", [w(i) for i in range(n)] + [_reader("reader", "x")], {"x": 0})


def casrot(n: int) -> Program:
    """GenMC synthetic/casrot(N): thread i does CAS(x, i-1, i); a failed CAS is a read."""
    def th(new: int):
        def t():
            yield CAS("x", new - 1, new)
        t.__name__ = f"cas{new}"
        return t
    return Program(f"casrot({n})", [th(i + 1) for i in range(n)], {"x": 0})


def indexer(n: int, size: int = 128, max_ins: int = 4) -> Program:
    """SV-COMP/GenMC indexer(N): N threads insert 4 keys each into a hash table with a CAS probe loop."""
    def th(tid: int):
        def t():
            for m in range(1, max_ins + 1):
                w = m * 11 + tid
                h = (w * 7) % size
                while not (yield CAS(f"t{h}", 0, w)):
                    h = (h + 1) % size
        t.__name__ = f"ins{tid}"
        return t
    return Program(f"indexer({n})", [th(i) for i in range(n)], {f"t{h}": 0 for h in range(size)})


def cinc(n: int) -> Program:
    """GenMC synthetic/cinc: N threads each fetch-and-add x, y, z; (N!)^3 classes."""
    def t():
        yield FAI("x")
        yield FAI("y")
        yield FAI("z")
    return Program(f"cinc({n})", [t] * n, {"x": 0, "y": 0, "z": 0}, [f"cinc{i}" for i in range(n)])


def ainc(n: int) -> Program:
    """GenMC synthetic/ainc: N threads fetch-and-add x; N! classes."""
    def t():
        yield FAI("x")
    return Program(f"ainc({n})", [t] * n, {"x": 0}, [f"ainc{i}" for i in range(n)])


def lockinc(n: int) -> Program:
    """GenMC synthetic/lockinc: N threads increment x under a mutex; N! complete classes."""
    def t():
        yield Lock("m")
        v = yield Read("x")
        yield Write("x", v + 1)
        yield Unlock("m")
    return Program(f"lockinc({n})", [t] * n, {"m": 0, "x": 0}, [f"lock{i}" for i in range(n)])


def _critical(loc: str, mine: int, counter: bool):
    """The critical section: GenMC's ``x = mine; load x`` (the load sees ``mine`` under mutual exclusion), or with
    ``counter`` a non-atomic increment of ``c`` (it ends at 2 in every complete execution under mutual exclusion)."""
    if counter:
        v = yield Read("c")
        yield Write("c", v + 1)
    else:
        yield Write(loc, mine)
        yield Read(loc)


def _named(fn, name: str):
    fn.__name__ = name
    return fn


def peterson(counter: bool = False) -> Program:
    """GenMC synthetic/peterson, under SC: two threads; the wait is GenMC's own
    ``assume(flag_other != 1 || turn != other)`` (short-circuit: turn is read only if the flag is set)."""
    def th(me: int, other: int, turn: int):  # as in GenMC: thread_1 sets turn = 1, thread_2 turn = 0
        def t():
            yield Write(f"flag{me}", 1)
            yield Write("turn", turn)
            if (yield Read(f"flag{other}")) == 1:
                yield Assume((yield Read("turn")) != turn)
            yield from _critical("x", me - 1, counter)
            yield Write(f"flag{me}", 0)
        return _named(t, f"thread_{me}")
    return Program("peterson" + ("[counter]" if counter else ""), [th(1, 2, 1), th(2, 1, 0)],
                   {"flag1": 0, "flag2": 0, "turn": 0, "x": 0, "c": 0})


def dekker(counter: bool = False) -> Program:
    """SV-COMP pthread-atomic/dekker, under SC, with spin loops as assumes (GenMC's transformation).

    The inner ``while (turn != me) {}`` is ``Assume(turn == me)``; an outer-loop iteration that writes nothing
    (flag of the other set, turn already mine) is a pure spin, so only a later iteration matters: ``Assume(False)``.
    """
    def th(me: int, other: int):
        def t():
            yield Write(f"flag{me}", 1)
            while (yield Read(f"flag{other}")) >= 1:
                if (yield Read("turn")) != me - 1:
                    yield Write(f"flag{me}", 0)
                    yield Assume((yield Read("turn")) == me - 1)
                    yield Write(f"flag{me}", 1)
                else:
                    yield Assume(False)  # an iteration without side effects: only the last one counts
            yield from _critical("x", me - 1, counter)
            yield Write("turn", other - 1)
            yield Write(f"flag{me}", 0)
        return _named(t, f"thr{me}")
    return Program("dekker" + ("[counter]" if counter else ""), [th(1, 2), th(2, 1)],
                   {"flag1": 0, "flag2": 0, "turn": 0, "x": 0, "c": 0})


def szymanski(n: int, counter: bool = False) -> Program:
    """GenMC synthetic/szymanski (N rounds per thread), under SC, where its SC fences add nothing; GenMC's own
    assumes. The critical section stores x, loads it and loads it again for GenMC's assert."""
    def th(me: int, other: int):
        def t():
            f = f"flag{other}"
            for _ in range(n):
                yield Write(f"flag{me}", 1)
                yield Assume((yield Read(f)) < 3)
                yield Write(f"flag{me}", 3)
                if (yield Read(f)) == 1:
                    yield Write(f"flag{me}", 2)
                    yield Assume((yield Read(f)) == 4)
                yield Write(f"flag{me}", 4)
                yield Assume((yield Read(f)) < 2)
                yield from _critical("x", me - 1, counter)
                if not counter:
                    yield Read("x")  # GenMC's assert(load x <= 0) (thread 1) / (>= 1) (thread 2)
                if not 2 > (yield Read(f)):  # assume(2 > flag || flag > 3), short-circuit
                    yield Assume((yield Read(f)) > 3)
                yield Write(f"flag{me}", 0)
        return _named(t, f"thread_{me}")
    return Program(f"szymanski({n})" + ("[counter]" if counter else ""), [th(1, 2), th(2, 1)],
                   {"flag1": 0, "flag2": 0, "x": 0, "c": 0})


CASROT = {2: 2, 3: 5, 4: 14, 5: 43, 6: 144, 7: 523, 8: 2048, 9: 8597}
FIB_BENCH = {1: 11, 2: 140, 3: 1698, 4: 19605, 5: 218243}  # GenMC publishes NUM = 5 only
LASTZERO = {2: 5, 3: 12, 4: 28, 5: 64, 10: 3328, 15: 147456}  # GenMC publishes N = 5, 10, 15

# our sizes whose count is a line of MPI-SWS/genmc tests/correct/synthetic/<name>/expected.sc.mo.in (paired with
# args.sc.mo.in / args.*.in; cinc's args file was not seen, its lines 8, 216, 13824 are (N!)^3 for N = 2, 3, 4)
GENMC_SIZES: dict[str, tuple[int, ...]] = {
    "casrot": tuple(range(2, 10)), "lastzero": (5, 10, 15), "fib_bench": (5,), "readers": (2, 8, 13),
    "ainc": tuple(range(2, 8)), "cinc": (2, 3, 4), "indexer": (12,), "n_writers": (5,)}


def published_count(name: str, n: int | None = None) -> int | None:
    """The expected exact #classes (see :func:`count_source` for where it comes from), or None if unknown."""
    fixed = {"big0": 69_112, "big1": 1_820_474}
    if name in fixed:
        return fixed[name]
    table: dict[str, Callable[[int], int | None]] = {
        "fib_bench": FIB_BENCH.get, "lastzero": LASTZERO.get, "casrot": CASROT.get,
        "readers": lambda k: 2 ** k, "inc": lambda k: factorial(k) ** 2,
        "co_2_2w": lambda k: factorial(2 * k) // 2 ** k, "n_writers": lambda k: factorial(k + 1),
        "cinc": lambda k: factorial(k) ** 3, "ainc": factorial, "lockinc": factorial,
        "indexer": lambda k: 8 if k == 12 else None,
    }
    if name not in table:
        return None
    return table[name](n)


BUILDERS: dict[str, Callable[..., Program]] = {
    "big0": big0, "big1": big1, "fib_bench": fib_bench, "lastzero": lastzero, "readers": readers,
    "inc": inc, "co_2_2w": co_2_2w, "n_writers": n_writers, "casrot": casrot, "indexer": indexer,
    "cinc": cinc, "ainc": ainc, "lockinc": lockinc, "peterson": peterson, "dekker": dekker, "szymanski": szymanski,
}
FIXED = ("big0", "big1", "peterson", "dekker")  # built without a size parameter
SPIN = ("peterson", "dekker", "szymanski")  # mutual exclusion with Assume-waits (no published SC count)


def make(spec: str) -> Program:
    """Build a benchmark from a spec such as ``"big0"``, ``"peterson"`` or ``"lastzero(10)"``."""
    spec = spec.strip()
    if "(" in spec:
        if not spec.endswith(")"):
            raise ValueError(f"malformed benchmark spec {spec!r}; use e.g. 'lastzero(10)'")
        name, arg = spec[:-1].split("(", 1)
        try:
            n = int(arg)
        except ValueError:
            raise ValueError(f"malformed benchmark spec {spec!r}: {arg!r} is not an integer") from None
        if name not in BUILDERS or name in FIXED:
            raise ValueError(f"unknown parameterised benchmark {name!r}; known: "
                             f"{', '.join(sorted(set(BUILDERS) - set(FIXED)))}")
        if n < 1:
            raise ValueError(f"benchmark {spec!r}: parameter must be >= 1")
        return BUILDERS[name](n)
    if spec not in FIXED:
        raise ValueError(f"unknown benchmark {spec!r}; known: {', '.join(FIXED)}, or NAME(N) with NAME in "
                         f"{', '.join(sorted(set(BUILDERS) - set(FIXED)))}")
    return BUILDERS[spec]()


def spec_count(spec: str) -> int | None:
    """Published count for a spec string (see :func:`published_count`)."""
    spec = spec.strip()
    if "(" in spec:
        name, arg = spec[:-1].split("(", 1)
        return published_count(name, int(arg))
    return published_count(spec)


def count_source(spec: str) -> str:
    """Where :func:`spec_count` of ``spec`` comes from, so tables never call a closed form "published"."""
    spec = spec.strip()
    name, _, arg = spec.partition("(")
    n = int(arg[:-1]) if arg else None
    if spec_count(spec) is None:
        return "unknown"
    if name in ("big0", "big1") or n in GENMC_SIZES.get(name, ()):
        return "GenMC (its N = 4: N + 1 writers)" if name == "n_writers" else "GenMC"
    if name in ("fib_bench", "lastzero"):
        return "prototype (not published)"
    return "closed form"
