"""Allocator pool arithmetic against hand computation; marking against the scipy BFS oracle."""

import numpy as np
import pytest

from support.vgc.allocator import Allocator, AllocatorConfig, padding_fraction
from support.vgc.marking import mark
from support.vgc.oracle import reachable


def test_pool_count_matches_hand_computation():
    a = Allocator(AllocatorConfig(), 600)
    per_pool = (16384 - 48) // 64  # 255 slots of 64 B in a 16 KiB pool
    for i in range(300):
        a.alloc(i, 60)
    assert a.pools_in_use == 2 and a.committed == 2 * 16384 and a.peak_committed == 2 * 16384
    for i in range(per_pool):
        a.free(i, 60)
    assert a.pools_in_use == 1 and a.live == 45 * 60
    a.alloc(300, 60)  # goes into the partly used pool, no new one
    assert a.pools_in_use == 1


def test_zones_never_share_a_pool_and_large_objects_count_rounded():
    a = Allocator(AllocatorConfig(), 3)
    a.alloc(0, 32, group=0)
    a.alloc(1, 32, group=1)
    a.alloc(2, 1000)
    assert a.pools_in_use == 2 and a.committed == 2 * 16384 + 1008


def test_alignment_rounds_to_the_group_alignment():
    a = Allocator(AllocatorConfig(), 2, group_align={5: 64})
    a.alloc(0, 40, group=5)
    a.alloc(1, 40, group=0)
    assert a.obj_bytes.tolist() == [64, 48]


def test_padding_fraction_known_values():
    assert padding_fraction(np.array([54]), 16) == pytest.approx(64 / 54 - 1)
    assert padding_fraction(np.array([1, 17]), 16) == pytest.approx(48 / 18 - 1)
    assert padding_fraction(np.array([64, 128]), 64) == 0.0


def test_bad_allocator_settings_are_rejected():
    with pytest.raises(ValueError, match="power of two"):
        AllocatorConfig(align=24)
    a = Allocator(AllocatorConfig(), 1)
    with pytest.raises(ValueError, match="freed twice"):
        a.free(0, 10)


def test_oracle_on_a_hand_built_graph():
    ptr = np.array([[1, -1], [2, -1], [-1, -1], [2, 0]])  # 0->1->2, 3->{2,0}; only 0 rooted
    alive = np.ones(4, bool)
    assert reachable(ptr, alive, np.array([1, 0, 0, 0])).tolist() == [True, True, True, False]
    alive[1] = False  # a freed object's own pointers do not count, but a dangling pointer to it shows it reachable
    assert reachable(ptr, alive, np.array([1, 0, 0, 0])).tolist() == [True, True, False, False]


@pytest.mark.parametrize("seed", range(5))
def test_marking_equals_the_oracle_on_random_graphs(seed):
    rng = np.random.default_rng(seed)
    N, K = 400, 4
    ptr = np.where(rng.random((N, K)) < 0.4, rng.integers(0, N, (N, K)), -1).astype(np.int32)
    roots = (rng.random(N) < 0.02).astype(np.int32)
    alive = np.ones(N, bool)
    m = mark(ptr, np.flatnonzero(roots), alive)
    assert np.array_equal(m.marked, reachable(ptr, alive, roots))
    assert m.work == int(m.marked.sum() + (ptr[m.marked] >= 0).sum())


def test_marking_stays_inside_the_candidate_region():
    ptr = np.array([[1], [2], [-1]], dtype=np.int32)
    cand = np.array([True, False, True])
    assert mark(ptr, np.array([0]), cand).marked.tolist() == [True, False, False]


def test_a_linked_list_gains_nothing_from_a_second_marker_and_a_wide_tree_about_half():
    N = 200
    chain = np.full((N, 1), -1, dtype=np.int32)
    chain[:-1, 0] = np.arange(1, N)
    m = mark(chain, np.array([0]), np.ones(N, bool))
    assert m.parallel_even(2) == m.work
    K, d = 4, 5
    n = sum(K ** i for i in range(d))
    tree = np.full((n, K), -1, dtype=np.int32)
    for i in range((n - 1) // K):
        tree[i] = np.arange(K * i + 1, K * i + K + 1)
    m = mark(tree, np.array([0]), np.ones(n, bool))
    assert m.work / 2 <= m.parallel_even(2) <= m.work / 2 + d
    assert m.parallel_by_owner(2) == m.work  # a single zone is marked by a single worker


def test_zones_are_marked_in_parallel_round_robin_over_the_workers():
    """Hand count: zone 0 is the chain 0 -> 1, zone 1 the chain 2 -> 3, zone 2 the lone object 4 (work = 1 per object
    + 1 per non-null slot). Level 0 marks 0, 2, 4 (work 2, 2, 1), level 1 marks 1, 3 (1, 1). With 2 workers zone z
    goes to worker z % 2: level 0 costs max(2 + 1, 2) = 3, level 1 max(1, 1) = 1, so 4 in all (7 on one worker)."""
    ptr = np.array([[1], [-1], [3], [-1], [-1]], dtype=np.int32)
    owner = np.array([0, 0, 1, 1, 2])
    m = mark(ptr, np.array([0, 2, 4]), np.ones(5, bool), owner, 3)
    assert m.level_work.tolist() == [[2, 2, 1], [1, 1, 0]] and m.work == 7
    assert m.parallel_by_owner(1) == 7
    assert m.parallel_by_owner(2) == 4
    assert m.parallel_by_owner(3) == 2 + 1  # one zone per worker: the largest zone's work per level
