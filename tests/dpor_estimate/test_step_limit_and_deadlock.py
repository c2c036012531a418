"""Non-terminating programs raise a clear StepLimitError; real deadlocks are counted, described and estimated."""

from __future__ import annotations

import time

import numpy as np
import pytest
from dpor_oracles import exact_expectation as oracle_expectation
from dpor_oracles import foata_deadlock_count

from support.dpor_estimate.benchmarks import make, spec_count
from support.dpor_estimate.dsl import CAS, MAX_STEPS, Lock, Program, Read, StepLimitError, Unlock, Write
from support.dpor_estimate.knuth import exact_expectation, knuth_probe
from support.dpor_estimate.order import with_order
from support.dpor_estimate.stochastic_enumeration import se_trial
from support.dpor_estimate.trust import explore

# A thread's generator is replayed from scratch at every step, so one replay that runs this far past
# the default bound means the bound was not enforced: fail with a different error instead of hanging.
RUNAWAY = MAX_STEPS + 500


def _spin_until(loc: str, value: int, name: str):
    def t():
        for _ in range(RUNAWAY):
            if (yield Read(loc)) == value:
                return
        raise RuntimeError("runaway spin: the step bound was not enforced")
    t.__name__ = name
    return t


def _cas_acquire_forever(name: str):
    def t():  # a spin lock that is taken and never released
        for _ in range(RUNAWAY):
            if (yield CAS("m", 0, 1)):
                return
        raise RuntimeError("runaway CAS retry: the step bound was not enforced")
    t.__name__ = name
    return t


def unset_flag() -> Program:
    """A thread waits for a flag that no thread ever sets."""
    return Program("unset_flag", [_spin_until("flag", 1, "waiter")], {"flag": 0})


def flag_set_later() -> Program:
    """A thread waits for a flag a later thread sets: it may read 0 any number of times (infinite tree)."""
    def setter():
        yield Write("flag", 1)
    return Program("flag_set_later", [_spin_until("flag", 1, "waiter"), setter], {"flag": 0})


def spin_lock_never_released() -> Program:
    """Two threads take a CAS spin lock and never release it: the loser retries forever."""
    return Program("spin_lock", [_cas_acquire_forever("a"), _cas_acquire_forever("b")], {"m": 0})


ENTRY_POINTS = {
    "explore": lambda p: explore(p),
    "knuth_probe": lambda p: knuth_probe(p, np.random.default_rng(0)),
    "exact_expectation": lambda p: exact_expectation(p),
    "se_trial": lambda p: se_trial(p, 4, np.random.default_rng(0)),
    "writers_first_order": lambda p: with_order(p, "writers_first"),
    "solo_profile": lambda p: p.solo_profile(0),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_spinning_program_raises_step_limit_error_within_seconds_in_every_entry_point(entry):
    t0 = time.perf_counter()
    with pytest.raises(StepLimitError, match=r"thread 0 \(waiter\) of 'unset_flag'.*max_steps=1000") as err:
        ENTRY_POINTS[entry](unset_flag())
    assert time.perf_counter() - t0 < 10.0  # ~1 s on a loaded 2-core machine
    assert (err.value.program, err.value.thread, err.value.max_steps) == ("unset_flag", 0, MAX_STEPS)
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(("build", "thread"), [(flag_set_later, r"thread 0 \(waiter\)"),
                                                (spin_lock_never_released, r"thread [01] \((a|b)\)")])
def test_unbounded_waits_name_the_spinning_thread(build, thread):
    # the waiter could stop once the flag is set, but it may read 0 any number of times first: the
    # set of executions is infinite, so exploration and estimation must refuse rather than run forever.
    # Either spin-lock thread may lose; the named one must be the spinner (all but <= 1 of the steps).
    for run in (lambda p: explore(p, max_steps=200), lambda p: knuth_probe(p, np.random.default_rng(1), 200)):
        with pytest.raises(StepLimitError, match=thread + r" of '\w+'.*max_steps=200") as err:
            run(build())
        assert err.value.own_steps >= 199


# longest execution, in steps (events yielded by all threads), derived by hand from each program:
# inc(n): read + write per thread = 2n; lastzero(n): writers 2n, the reader reads a[n..0] = n + 1;
# fib_bench(n): 2 x 3n + 2 checks; lockinc(n): lock, read, write, unlock = 4n; cinc(n): 3n FAIs;
# casrot(n): one CAS each
LONGEST = {"inc(3)": 6, "lastzero(3)": 10, "fib_bench(1)": 8, "lockinc(2)": 8, "cinc(2)": 6, "casrot(4)": 4}


@pytest.mark.parametrize("spec", LONGEST)
def test_step_bound_admits_exactly_the_longest_execution(spec):
    assert explore(make(spec), max_steps=LONGEST[spec]).complete == spec_count(spec)
    with pytest.raises(StepLimitError, match=rf"max_steps={LONGEST[spec] - 1}\b"):
        explore(make(spec), max_steps=LONGEST[spec] - 1)


def test_default_bound_is_far_above_every_registered_benchmark_execution():
    # indexer(12) has the longest executions of the registered sizes: 48 successful CAS + 3 collisions
    assert explore(make("indexer(12)"), max_steps=51).complete == spec_count("indexer(12)")
    assert MAX_STEPS >= 10 * 51


def _abba() -> Program:
    def a():
        yield Lock("m1")
        yield Lock("m2")
        yield Unlock("m2")
        yield Unlock("m1")

    def b():
        yield Lock("m2")
        yield Lock("m1")
        yield Unlock("m1")
        yield Unlock("m2")
    return Program("abba", [a, b], {"m1": 0, "m2": 0})


def _never_released() -> Program:
    def a():
        yield Lock("m")

    def b():
        yield Lock("m")
    return Program("never_released", [a, b], {"m": 0})


@pytest.mark.parametrize("build", [_abba, _never_released, lambda: make("lockinc(3)")])
def test_deadlocks_are_counted_as_the_brute_force_oracle_counts_them(build):
    # lockinc's blocked leaves are exploration artefacts (a lock attempt saw a value a later unlock
    # overwrote), not deadlocks; abba deadlocks in 1 class, an unreleased lock in 2 (either thread wins)
    ex = explore(build())
    assert ex.deadlocks == foata_deadlock_count(build())
    assert ex.deadlocks <= ex.blocked


def test_deadlock_report_names_the_waiting_threads_and_locks():
    ex = explore(_abba())
    assert (ex.complete, ex.deadlocks) == (2, 1)
    assert "thread 0 (a) of 'abba' waits forever on lock 'm2'" in ex.deadlock
    assert "thread 1 (b) of 'abba' waits forever on lock 'm1'" in ex.deadlock
    assert explore(make("lockinc(3)")).deadlock == ""


def _philosophers(n: int) -> Program:
    """n threads in a ring, each takes its left then its right mutex: one deadlock (all hold their left one)."""
    def th(i: int):
        def t():
            yield Lock(f"f{i}")
            yield Lock(f"f{(i + 1) % n}")
            yield Unlock(f"f{(i + 1) % n}")
            yield Unlock(f"f{i}")
        t.__name__ = f"phil{i}"
        return t
    return Program(f"philosophers({n})", [th(i) for i in range(n)], {f"f{i}": 0 for i in range(n)})


# (build, deadlocked executions): abba and the ring deadlock once, an unreleased lock twice (either thread
# wins), lockinc never (its 9 blocked leaves are lock artefacts, which must score 0)
DEADLOCKING = {"abba": (_abba, 1), "never_released": (_never_released, 2),
               "philosophers(3)": (lambda: _philosophers(3), 1), "lockinc(3)": (lambda: make("lockinc(3)"), 0)}


@pytest.mark.parametrize("name", DEADLOCKING)
def test_knuth_deadlock_estimate_is_unbiased_exactly(name):
    build, expected = DEADLOCKING[name]
    p = build()
    assert explore(p).deadlocks == foata_deadlock_count(p) == expected
    assert exact_expectation(p, "deadlocks") == oracle_expectation(knuth_probe, p, "deadlocks") == expected


@pytest.mark.parametrize("name", ["abba", "never_released", "lockinc(3)"])
def test_se_deadlock_estimate_is_unbiased_exactly(name):
    build, expected = DEADLOCKING[name]
    e = oracle_expectation(lambda prog, rng: se_trial(prog, 2, rng), build(), "deadlocks")
    assert float(e) == pytest.approx(expected, abs=1e-9)


def test_deadlock_estimate_is_the_path_weight_at_a_deadlocked_leaf_and_zero_elsewhere():
    p = _abba()
    probes = [knuth_probe(p, np.random.default_rng(s)) for s in range(40)]
    kinds = {(pr.blocked, pr.classes > 0, pr.deadlocks > 0) for pr in probes}
    assert kinds <= {(False, True, False), (True, False, True), (True, False, False)}
    assert any(pr.deadlocks > 0 for pr in probes)
