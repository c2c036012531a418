"""Exhaustive TruSt exploration counts exactly the Mazurkiewicz classes (paper §4, exact mode)."""

from __future__ import annotations

import random

import pytest
from dpor_oracles import foata_class_count, random_program

from support.dpor_estimate.benchmarks import count_source, make, spec_count
from support.dpor_estimate.order import POLICIES, with_order
from support.dpor_estimate.trust import children, explore, is_blocked, root

SMALL = ([f"readers({n})" for n in range(1, 9)] + [f"inc({n})" for n in (2, 3, 4)]
         + [f"co_2_2w({n})" for n in (2, 3, 4)] + [f"n_writers({n})" for n in (1, 2, 3, 4)]
         + [f"lastzero({n})" for n in (2, 3, 4, 5, 10)] + [f"fib_bench({n})" for n in (1, 2, 3)]
         + [f"casrot({n})" for n in range(2, 10)] + ["cinc(2)", "cinc(3)", "ainc(4)", "lockinc(3)",
                                                        "lockinc(4)", "indexer(12)"])


@pytest.mark.parametrize("spec", SMALL)
def test_exhaustive_count_equals_published_count(spec):
    assert explore(make(spec)).complete == spec_count(spec)


def test_big0_equals_genmc_count_and_fib_bench4_the_prototype_count():
    assert explore(with_order(make("big0"), "writers_first")).complete == 69_112  # GenMC expected.sc.mo.in
    assert explore(make("fib_bench(4)")).complete == 19_605  # not published: GenMC lists NUM = 5 only


# lines copied by hand from MPI-SWS/genmc tests/correct/synthetic/<name>/expected.sc.mo.in, paired with args.*.in
GENMC_EXPECTED = {"big0": 69_112, "big1": 1_820_474, "casrot(9)": 8_597, "lastzero(15)": 147_456,
                  "fib_bench(5)": 218_243, "readers(13)": 8_192, "ainc(7)": 5_040, "cinc(4)": 13_824,
                  "indexer(12)": 8, "n_writers(5)": 720}


@pytest.mark.parametrize("spec", GENMC_EXPECTED)
def test_counts_labelled_genmc_are_lines_of_genmc_expected_files(spec):
    assert count_source(spec).startswith("GenMC")
    assert spec_count(spec) == GENMC_EXPECTED[spec]


def test_genmc_n_writers_720_is_our_n_writers_5_and_smaller_sizes_are_not_labelled_genmc():
    # GenMC's N-writers spawns N + 1 writers and a reader: its N = 4 line (720) has 5 writers
    assert explore(make("n_writers(5)")).complete == 720
    assert count_source("n_writers(4)") == "closed form"
    assert not count_source("fib_bench(4)").startswith("GenMC")
    assert not count_source("lastzero(4)").startswith("GenMC")


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["big0", "fib_bench(5)", "big1", "lastzero(15)", "co_2_2w(5)"])
def test_large_exhaustive_counts(spec):
    assert explore(with_order(make(spec), "writers_first")).complete == spec_count(spec)


def _mismatches(seed: int, n: int, max_events: int) -> list:
    rng = random.Random(seed)
    out = []
    for k in range(n):
        p = random_program(rng, max_events=max_events)
        ours, oracle = explore(p).complete, foata_class_count(p)
        if ours != oracle:
            out.append((k, ours, oracle))
    return out


def test_trust_matches_foata_brute_force_on_300_random_programs_up_to_9_events():
    assert _mismatches(seed=1, n=300, max_events=9) == []


@pytest.mark.slow
def test_trust_matches_foata_brute_force_on_1000_random_programs_up_to_12_events():
    # ~5 min on one core: some programs have ~1e5 classes
    assert _mismatches(seed=20251231, n=1000, max_events=12) == []


def test_trust_matches_brute_force_on_random_programs_with_locks():
    rng = random.Random(7)
    for _ in range(150):
        p = random_program(rng, max_events=12, locks=True)
        assert explore(p).complete == foata_class_count(p)


@pytest.mark.parametrize("policy", POLICIES)
def test_count_does_not_depend_on_event_order(policy):
    for spec in ("lastzero(5)", "fib_bench(2)", "casrot(5)", "lockinc(3)"):
        assert explore(with_order(make(spec), policy)).complete == spec_count(spec)


def _leaves(program):
    stack, out = [root(program)], []
    while stack:
        g = stack.pop()
        ch = children(program, g)
        if ch is None:
            out.append(g)
        else:
            stack.extend(ch)
    return out


@pytest.mark.parametrize("spec", ["lastzero(4)", "fib_bench(2)", "casrot(6)", "cinc(2)", "co_2_2w(3)"])
def test_tree_is_optimal_every_leaf_a_distinct_complete_class(spec):
    p = make(spec)
    leaves = _leaves(p)
    assert not any(is_blocked(g, p) for g in leaves)  # no blocked leaves without locks or Assume
    assert len({g.key() for g in leaves}) == len(leaves)  # each class explored exactly once


def test_brute_force_oracle_reproduces_closed_forms():
    # the oracle itself, on programs with a known count
    assert foata_class_count(make("inc(3)")) == 36
    assert foata_class_count(make("co_2_2w(2)")) == 6
    assert foata_class_count(make("casrot(4)")) == 14
    assert foata_class_count(make("lockinc(3)")) == 6
    assert foata_class_count(make("readers(4)")) == 16
