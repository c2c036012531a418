"""A small concurrency DSL: threads are generator functions that yield shared-memory events.

The paper (arXiv 2512.23996, §2 "Programs and Mazurkiewicz traces") counts the trace classes of a
bounded program; this module is the program side. A thread is deterministic, so its local state is a
function of the tuple of results it has received; :meth:`Program.next_op` replays only that thread.

Events and the value each one sends back into the generator::

    Read(loc)              -> the value read
    Write(loc, val)        -> None
    CAS(loc, exp, new)     -> True/False (a failed CAS is a plain read)
    FAI(loc, delta)        -> the old value (a read-modify-write)
    Lock(m) / Unlock(m)    -> None (acquire = CAS(m, 0, 1) that blocks while m != 0; release = write 0)
    Assume(cond)           -> None (thread-local, no location: if ``cond`` is false the thread stops for good)

``Assume`` is GenMC's ``__VERIFIER_assume``: an execution where some thread meets a false ``Assume`` is
*blocked*, not a complete class. A spin loop ``while (x != 0) {}`` becomes ``r = yield Read("x")`` then
``yield Assume(r == 0)`` (GenMC's spin-assume transformation: only the last, successful iteration matters).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from support.validate import check_int


@dataclass(frozen=True, slots=True)
class Read:
    """Load ``loc`` (§2: a read event)."""

    loc: str


@dataclass(frozen=True, slots=True)
class Write:
    """Store ``val`` into ``loc`` (§2: a write event)."""

    loc: str
    val: int


@dataclass(frozen=True, slots=True)
class CAS:
    """Compare-and-swap: if ``loc == expected`` write ``new`` atomically; a failure is a read."""

    loc: str
    expected: int
    new: int


@dataclass(frozen=True, slots=True)
class FAI:
    """Fetch-and-add ``delta`` to ``loc`` atomically; sends back the old value."""

    loc: str
    delta: int = 1


@dataclass(frozen=True, slots=True)
class Lock:
    """Acquire mutex ``loc``: CAS(loc, 0, 1) that blocks the thread while the mutex is held."""

    loc: str


@dataclass(frozen=True, slots=True)
class Unlock:
    """Release mutex ``loc``: write 0."""

    loc: str


@dataclass(frozen=True, slots=True)
class Assume:
    """Block the thread forever unless ``cond`` holds (GenMC's ``__VERIFIER_assume``); no memory location.

    A true Assume is skipped by :meth:`Program.next_op`; a false one is the thread's last event (it never runs).
    """

    cond: bool


Op = Read | Write | CAS | FAI | Lock | Unlock | Assume
OP_TYPES = (Read, Write, CAS, FAI, Lock, Unlock, Assume)
READ_KINDS = (Read, CAS, FAI, Lock)  # events with a read part (get an rf edge)
ThreadFn = Callable[[], Generator[Any, Any, None]]


# Per-execution bound on steps (events yielded by all threads together). The longest execution of any
# registered benchmark at the notebook's sizes has 51 steps (indexer(12)); threads are replayed statelessly,
# so k steps cost O(k^2) generator resumptions and a spinning thread reaches this bound in about a second.
MAX_STEPS = 1_000


class MalformedProgram(ValueError):
    """A thread yielded something that is not an event, or touched an unknown location."""


class StepLimitError(MalformedProgram):
    """An execution exceeded ``max_steps`` steps: a spin loop, unbounded CAS retry or unreleased spin lock.

    Such a program has unboundedly many executions, so there is no finite class count to explore or estimate.
    """

    def __init__(self, program: Program, t: int, own_steps: int, max_steps: int):
        self.program, self.thread, self.own_steps, self.max_steps = program.name, t, own_steps, max_steps
        super().__init__(
            f"{program.describe_thread(t)} was running when one execution reached max_steps={max_steps} "
            f"steps ({own_steps} of them by this thread): the program does not terminate in every execution "
            "(a spin loop, an unbounded CAS retry or a spin lock never released?). The DSL needs bounded "
            "programs; bound the loop, or raise max_steps if executions really are that long")


def check_max_steps(max_steps: int) -> int:
    """Validate a step bound (an int >= 1) and return it, so a bad bound fails loudly, not silently.

    A ``ValueError``: a library argument, not a notebook parameter, so the runner never reports it as a usage error."""
    return check_int(max_steps, "max_steps", minimum=1)


def result_of(op: Op, value_read: int | None) -> Any:
    """The value sent back into the thread for ``op`` when its read part saw ``value_read``."""
    if isinstance(op, (Read, FAI)):
        return value_read
    if isinstance(op, CAS):
        return value_read == op.expected
    return None


def write_value(op: Op, value_read: int | None) -> int:
    """The value the write part of ``op`` stores (for RMWs, given the value its read part saw)."""
    if isinstance(op, Write):
        return op.val
    if isinstance(op, CAS):
        return op.new
    if isinstance(op, FAI):
        return value_read + op.delta
    if isinstance(op, Lock):
        return 1
    if isinstance(op, Unlock):
        return 0
    raise TypeError(f"{op!r} has no write part")


def rmw_succeeds(op: Op, value_read: int) -> bool:
    """Whether a read part that saw ``value_read`` is followed by an exclusive write part."""
    if isinstance(op, FAI):
        return True
    if isinstance(op, CAS):
        return value_read == op.expected
    if isinstance(op, Lock):
        return value_read == 0
    return False


@dataclass
class Program:
    """A bounded concurrent program: thread functions plus the initial value of every location.

    §2 of the paper: all threads start at once (``pthread_create`` before any shared access).
    """

    name: str
    threads: Sequence[ThreadFn]
    init: Mapping[str, int]
    thread_names: Sequence[str] = ()
    _next: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.threads:
            raise MalformedProgram(f"program {self.name!r} has no threads")
        for i, t in enumerate(self.threads):
            if not callable(t):
                raise MalformedProgram(f"program {self.name!r}: thread {i} is {t!r}, not a generator function")
        self.threads = tuple(self.threads)
        self.init = dict(self.init)
        if not self.thread_names:
            self.thread_names = tuple(getattr(t, "__name__", f"t{i}") for i, t in enumerate(self.threads))
        self.thread_names = tuple(self.thread_names)

    @property
    def n_threads(self) -> int:
        return len(self.threads)

    def describe_thread(self, t: int) -> str:
        return f"thread {t} ({self.thread_names[t]}) of {self.name!r}"

    def next_op(self, t: int, hist: tuple) -> Op | None:
        """The next event of thread ``t`` after it received ``hist``, or None when it has finished.

        Replays only thread ``t`` (memoised), stepping over true Assumes; a false :class:`Assume` is returned
        (the thread is stopped for good). Raises :class:`MalformedProgram` naming thread and step.
        """
        key = (t, hist)
        cache = self._next
        if key in cache:
            return cache[key]
        gen = self.threads[t]()
        step = 0
        try:
            op = self._past_true_assumes(t, gen, next(gen), step)
            for v in hist:
                step += 1
                op = self._past_true_assumes(t, gen, gen.send(v), step)
        except StopIteration:
            op = None
        except MalformedProgram:
            raise
        except Exception as exc:  # a bug inside the thread body
            raise MalformedProgram(f"{self.describe_thread(t)} raised {exc!r} at step {step}") from exc
        finally:
            gen.close()
        if op is not None:
            if not isinstance(op, OP_TYPES):
                raise MalformedProgram(f"{self.describe_thread(t)} yielded {op!r} at step {step}, "
                                       f"which is not an event (expected one of "
                                       f"{', '.join(c.__name__ for c in OP_TYPES)})")
            if not isinstance(op, Assume) and op.loc not in self.init:
                raise MalformedProgram(f"{self.describe_thread(t)} accessed unknown location {op.loc!r} at "
                                       f"step {step}; known locations: {', '.join(sorted(self.init))}")
        cache[key] = op
        return op

    def _past_true_assumes(self, t: int, gen, op, step: int):
        """``op``, or the first op after a run of true Assumes (each gets None back); checks the condition type."""
        skipped = 0
        while isinstance(op, Assume):
            if not isinstance(op.cond, bool):
                raise MalformedProgram(f"{self.describe_thread(t)} yielded {op!r} at step {step}: the condition "
                                       "of an Assume must be a bool, e.g. Assume(r == 0)")
            if not op.cond:
                return op
            skipped += 1
            if skipped > MAX_STEPS:
                raise MalformedProgram(f"{self.describe_thread(t)} yielded more than {MAX_STEPS} true Assumes in a "
                                       f"row at step {step} without touching memory: a loop that never ends?")
            op = gen.send(None)
        return op

    def reordered(self, order: Sequence[int], suffix: str = "") -> Program:
        """The same program with threads in ``order`` (the event-addition order, §6 ablation)."""
        if sorted(order) != list(range(self.n_threads)):
            raise ValueError(f"order {list(order)} is not a permutation of the {self.n_threads} threads")
        return Program(self.name + suffix, [self.threads[i] for i in order], self.init,
                       [self.thread_names[i] for i in order])

    def solo_profile(self, t: int, max_steps: int = MAX_STEPS) -> tuple[int, int]:
        """(#read-only events, #events with a write part) of thread ``t`` run alone from ``init``.

        The run ends when the thread finishes or meets a false Assume. Raises :class:`StepLimitError` if
        the thread alone takes more than ``max_steps`` steps.
        """
        check_max_steps(max_steps)
        mem = dict(self.init)
        hist: tuple = ()
        reads = writes = 0
        while True:
            op = self.next_op(t, hist)
            if op is None or isinstance(op, Assume):
                return reads, writes
            if len(hist) >= max_steps:
                raise StepLimitError(self, t, len(hist), max_steps)
            v = mem[op.loc] if isinstance(op, READ_KINDS) else None
            if isinstance(op, (Write, Unlock)) or (isinstance(op, READ_KINDS) and rmw_succeeds(op, v)):
                mem[op.loc] = write_value(op, v)
                writes += 1
            else:
                reads += 1
            hist = hist + (result_of(op, v),)
