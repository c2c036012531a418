"""``Assume`` (GenMC's ``__VERIFIER_assume``) and the spin-loop benchmarks: blocked executions are counted apart.

A false Assume stops its thread for good; the execution is then *blocked*, neither a class nor a deadlock.
Every count here is pinned to the brute-force Foata oracle of ``dpor_oracles.py``, never to GenMC (see below).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from dpor_oracles import (
    exact_expectation,
    foata_assume_blocked_count,
    foata_class_count,
    foata_complete_classes,
    foata_deadlock_count,
    foata_final_memories,
    random_program,
)

from support.dpor_estimate.benchmarks import SPIN, dekker, make, peterson, spec_count, szymanski
from support.dpor_estimate.dsl import Assume, Lock, MalformedProgram, Program, Read, Unlock, Write
from support.dpor_estimate.knuth import exact_expectation as lib_expectation
from support.dpor_estimate.knuth import knuth_probe
from support.dpor_estimate.order import POLICIES, with_order
from support.dpor_estimate.stochastic_enumeration import se_trial
from support.dpor_estimate.trust import explore

# Our exhaustive TruSt counts (complete classes, assume-blocked executions), equal to the brute-force oracle's.
#
# GenMC comparison (MPI-SWS/genmc tests/correct/synthetic, as stored for this project; SC, `expected.sc.mo.in`):
# * peterson: the folder holds peterson.c, one variant and args.rc11.mo.in only, so GenMC publishes no SC count
#   for it. The program waits with __VERIFIER_assume itself (no loop to transform), so GenMC under SC should
#   count the same 4 complete executions; its RC11 run (release/acquire accesses) allows more rf choices.
# * szymanski(1): szymanski.c (N = 1) and two variants (thread creation order swapped), no expected file. Its
#   smp_mb() are SC fences: under SC they add no rf/co choice, so our model leaves them out.
# * dekker: GenMC has no plain Dekker test. synthetic/dekker2-fixed lists 6 in expected.sc.mo.in, for a
#   4-thread program whose source is not stored: not our program, so not compared. Ours is SV-COMP's
#   pthread-atomic/dekker with its spin loops as assumes, keeping only the last iteration as GenMC's
#   spin-assume transformation does: an outer-loop iteration that writes nothing is Assume(False). GenMC
#   transforms only side-effect-free loops; Dekker's outer loop writes its flag on one path, so GenMC would
#   need -unroll there, counting each unrolled iteration and blocking at the bound (counts would differ).
# * A fenced Dekker flavour (`dekker_f`) is not added: under SC a fence orders nothing more and adds no event
#   with choices, so it would have exactly these counts.
SPIN_COUNTS = {"peterson": (4, 6), "dekker": (4, 8), "szymanski(1)": (6, 97), "szymanski(2)": (78, 1913)}


@pytest.mark.parametrize("spec", SPIN_COUNTS)
def test_spin_benchmark_counts_equal_the_brute_force_oracle(spec):
    p = make(spec)
    ex = explore(p)
    assert (ex.complete, ex.assume_blocked) == (foata_class_count(p), foata_assume_blocked_count(p))
    assert (ex.complete, ex.assume_blocked) == SPIN_COUNTS[spec]
    assert ex.blocked == ex.assume_blocked and ex.deadlocks == 0  # no locks: every blocked leaf is a real one


@pytest.mark.parametrize("policy", POLICIES)
def test_spin_benchmark_counts_do_not_depend_on_event_order(policy):
    for spec in ("peterson", "dekker", "szymanski(1)"):
        ex = explore(with_order(make(spec), policy))
        assert (ex.complete, ex.assume_blocked) == SPIN_COUNTS[spec]


def test_spin_benchmarks_have_no_published_count_and_build_by_name():
    assert set(SPIN) == {"peterson", "dekker", "szymanski"}
    for spec in SPIN_COUNTS:
        assert spec_count(spec) is None and make(spec).n_threads == 2


MUTEX = {"peterson": (peterson, 1), "dekker": (dekker, 1), "szymanski(1)": (lambda c: szymanski(1, c), 1),
         "szymanski(2)": (lambda c: szymanski(2, c), 2)}


@pytest.mark.parametrize("spec", MUTEX)
def test_mutual_exclusion_holds_in_every_complete_class(spec):
    build, rounds = MUTEX[spec]
    # a non-atomic increment of c in the critical section ends at 2 per round in every complete class
    assert {dict(m)["c"] for m in foata_final_memories(build(True))} == {2 * rounds}
    # GenMC's own form: thread t stores t to x in its critical section and every load of x there sees t
    seen = {(e[0], e[4]) for cls in foata_complete_classes(build(False)) for e in cls if e[2:4] == ("Read", "x")}
    assert seen == {(0, 0), (1, 1)}


def _ignoring_assumes(program: Program) -> Program:
    """The same threads with every Assume made true: the waits are gone."""
    def wrap(fn):
        def t():
            gen = fn()
            op = next(gen)
            try:
                while True:
                    res = yield (Assume(True) if isinstance(op, Assume) else op)
                    op = gen.send(res)
            except StopIteration:
                return
        return t
    return Program(program.name + "[no waits]", [wrap(f) for f in program.threads], program.init)


@pytest.mark.parametrize("spec", ["peterson", "szymanski(1)"])  # (dekker's outer loop would spin for ever)
def test_mutual_exclusion_check_detects_a_lost_update_without_the_waits(spec):
    # the check above is not vacuous: without the Assume-waits both threads can be in the critical section
    assert 1 in {dict(m)["c"] for m in foata_final_memories(_ignoring_assumes(MUTEX[spec][0](True)))}


def _mutexes_then_stuck() -> Program:
    """Thread a takes m and stops at a false Assume while holding it; b then waits on m forever."""
    def a():
        yield Lock("m")
        yield Assume((yield Read("x")) == 1)
        yield Unlock("m")

    def b():
        yield Lock("m")
        yield Unlock("m")
    return Program("stuck_in_lock", [a, b], {"m": 0, "x": 0})


def test_a_false_assume_is_a_blocked_execution_not_a_deadlock():
    p = _mutexes_then_stuck()
    ex = explore(p)
    # b first then a stops; or a stops holding m and b waits: two blocked executions, neither a deadlock
    assert (ex.complete, ex.deadlocks, ex.assume_blocked) == (0, 0, 2)
    assert (foata_deadlock_count(p), foata_assume_blocked_count(p)) == (0, 2)
    assert ex.deadlock == ""


def test_a_thread_waiting_on_a_lock_is_not_stopped_at_the_assume_behind_it():
    # a takes m for good; b's false Assume comes after its Lock: if a wins, b waits on m (a deadlock), if b
    # wins, b stops at the Assume holding m and a waits behind it (a blocked execution)
    def a():
        yield Lock("m")

    def b():
        yield Lock("m")
        yield Assume(False)
    p = Program("lock_then_stop", [a, b], {"m": 0})
    ex = explore(p)
    assert (ex.complete, ex.deadlocks, ex.assume_blocked) == (0, 1, 1)
    assert (foata_deadlock_count(p), foata_assume_blocked_count(p)) == (1, 1)


def test_lock_artefacts_beside_a_stopped_thread_are_not_blocked_executions():
    # a waiter that never passes, two lock/unlock threads: 2 lock orders, each a blocked execution; TruSt
    # also has 2 leaves where a lock attempt saw the mutex held before its unlock (artefacts, retried elsewhere)
    def waiter():
        yield Assume((yield Read("x")) == 1)

    def locker():
        yield Lock("m")
        yield Unlock("m")
    p = Program("wait_and_lock", [waiter, locker, locker], {"x": 0, "m": 0}, ["waiter", "l1", "l2"])
    ex = explore(p)
    assert (ex.complete, ex.blocked, ex.assume_blocked, ex.deadlocks) == (0, 4, 2, 0)
    assert foata_assume_blocked_count(p) == 2


def test_assume_false_alone_blocks_and_true_is_transparent():
    def waits():
        yield Assume(False)

    def passes():
        yield Assume(True)
        yield Write("x", 1)
    ex = explore(Program("assumes", [waits, passes], {"x": 0}))
    assert (ex.complete, ex.assume_blocked, ex.deadlocks) == (0, 1, 0)
    p = Program("pass", [passes], {"x": 0})
    assert p.next_op(0, ()) == Write("x", 1) and p.next_op(0, (None,)) is None
    assert explore(p).complete == 1


def test_spin_wait_reads_then_assumes_its_value():
    def waiter():
        yield Assume((yield Read("flag")) == 1)
        yield Write("done", 1)

    def setter():
        yield Write("flag", 1)
    p = Program("await", [waiter, setter], {"flag": 0, "done": 0})
    assert p.next_op(0, (0,)) == Assume(False) and p.next_op(0, (1,)) == Write("done", 1)
    assert p.solo_profile(0) == (1, 0)  # alone, it reads 0 and stops
    ex = explore(p)
    assert (ex.complete, ex.assume_blocked) == (1, 1) == (foata_class_count(p), foata_assume_blocked_count(p))


@pytest.mark.parametrize("cond", ["flag", 1, None])
def test_assume_condition_must_be_a_bool(cond):
    def t():
        yield Read("x")
        yield Assume(cond)
    with pytest.raises(MalformedProgram, match=r"thread 0 \(t\).*step 1: the condition of an Assume must be a bool"):
        explore(Program("bad", [t], {"x": 0}))


def test_endless_true_assumes_fail_instead_of_hanging():
    def t():
        while True:
            yield Assume(True)
    with pytest.raises(MalformedProgram, match=r"thread 0 \(t\).*true Assumes in a row"):
        explore(Program("loop", [t], {"x": 0}))


def _mismatches(seed: int, n: int, max_events: int, locks: bool) -> list:
    rng = random.Random(seed)
    out = []
    for k in range(n):
        p = random_program(rng, max_events=max_events, locks=locks, assumes=True)
        ex = explore(p)
        ours = (ex.complete, ex.assume_blocked, ex.deadlocks)
        oracle = (foata_class_count(p), foata_assume_blocked_count(p), foata_deadlock_count(p))
        if ours != oracle:
            out.append((k, ours, oracle))
    return out


def test_trust_matches_brute_force_on_300_random_programs_with_assume():
    assert _mismatches(seed=3, n=300, max_events=9, locks=False) == []


def test_trust_matches_brute_force_on_random_programs_with_assume_and_locks():
    assert _mismatches(seed=5, n=120, max_events=12, locks=True) == []


def test_random_programs_with_assume_do_block():
    # the differential tests above exercise blocked leaves, not only complete ones
    rng = random.Random(3)
    blocked = sum(explore(random_program(rng, max_events=9, assumes=True)).assume_blocked > 0 for _ in range(50))
    assert blocked >= 10


@pytest.mark.parametrize("spec", ["peterson", "dekker", "szymanski(1)"])
def test_knuth_is_unbiased_exactly_on_assume_programs(spec):
    p = make(spec)
    ex = explore(p)
    assert lib_expectation(p, "classes") == exact_expectation(knuth_probe, p, "classes") == ex.complete
    assert lib_expectation(p, "nodes") == ex.nodes


@pytest.mark.parametrize("spec", ["peterson", "dekker"])
def test_se_is_unbiased_exactly_on_assume_programs(spec):
    p = make(spec)
    e = exact_expectation(lambda prog, rng: se_trial(prog, 2, rng), p, "classes")
    assert float(e) == pytest.approx(explore(p).complete, rel=1e-9)


def test_a_probe_ending_at_a_false_assume_scores_zero():
    def t():
        yield Assume(False)
    pr = knuth_probe(Program("stop", [t], {"x": 0}), np.random.default_rng(0))
    assert (pr.classes, pr.blocked, pr.deadlocks) == (0, True, 0)


@pytest.mark.parametrize("spec", ["peterson", "dekker"])
def test_spin_table_counts_match_brute_force_and_its_probe_statistics_match_their_exact_expectations(spec):
    """The spin table's classes and blocked executions against the Foata oracle; its Knuth mean and share of
    zero-valued probes (400 probes) within 4 standard errors of their exact values over every probe path (the share
    of probes ending at a blocked leaf is 0.60 on peterson, so reporting the share of non-zero probes fails)."""
    from types import SimpleNamespace

    from support.dpor_estimate.experiments import spin_table

    trials = 400
    row = spin_table([spec], "program", trials, seed=0).iloc[0]
    p = make(spec)
    classes = foata_class_count(p)
    assert (row["classes"], row["blocked (false Assume)"]) == (classes, foata_assume_blocked_count(p))

    def scored(prog, rng):
        pr = knuth_probe(prog, rng)
        return SimpleNamespace(zero=int(pr.classes == 0), square=pr.classes ** 2)

    p_zero = float(exact_expectation(scored, p, "zero"))
    var = float(exact_expectation(scored, p, "square")) - classes ** 2
    assert abs(row["zero-valued probes"] - p_zero) <= 4 * np.sqrt(p_zero * (1 - p_zero) / trials)
    mean = row[f"Knuth mean ({trials} probes)"]
    assert abs(mean - classes) <= 4 * np.sqrt(var / trials)
    assert row["rel. error"] == pytest.approx(mean / classes - 1)
