"""GEN's pause cost follows CPython's gc_collect_main: visits counted by hand on a tiny heap."""

import numpy as np
import pytest

from support.vgc.collectors import GCConfig, simulate
from support.vgc.cpython_cost import collection_work
from support.vgc.trace import ALLOC, ROOT_DEL, WRITE, make_trace

# Six young objects, two slots each: 0 (rooted) -> 1 -> 2 survive; 3 <-> 4 is a garbage cycle; 5 -> 0 is
# garbage that points at a live object.
PTR = np.array([[1, -1], [2, -1], [-1, -1], [4, -1], [3, -1], [0, -1]], dtype=np.int32)
YOUNG = np.ones(6, bool)
LIVE = np.array([1, 1, 1, 0, 0, 0], bool)


def test_young_collection_work_counted_by_hand():
    # |Y| = 6, L = 3, U = 3; references: all 5 (subtract_refs), 2 from survivors (move_unreachable),
    # 3 from garbage (visited again by the resurrection check and by tp_clear).
    # update_refs 6 + subtract_refs 6 + 5 + move_unreachable 6 + 2 + untrack_tuples 3
    # + garbage passes 11 * 3 + 2 * 3 = 67
    w = collection_work(PTR, YOUNG, LIVE, 0)
    assert (w.young, w.survivors, w.garbage, w.refs_young, w.refs_survivors, w.refs_garbage) == (6, 3, 3, 5, 2, 3)
    assert w.work == 6 + (6 + 5) + (6 + 2) + 3 + 33 + 6 == 67


def test_full_collection_also_walks_the_interpreters_objects():
    # 10 interpreter objects holding 7 references join generation 2; survivors get 3 list passes
    # (untrack_tuples, untrack_dicts, gc_list_size): 3*16 + 12 + 9 + 3*13 + 33 + 6 = 147
    assert collection_work(PTR, YOUNG, LIVE, 2, extra_objects=10, extra_refs=7).work == 147


def test_garbage_costs_more_than_survivors_and_every_young_object_costs_something():
    all_live = collection_work(PTR, YOUNG, np.ones(6, bool), 0).work
    all_dead = collection_work(PTR, YOUNG, np.zeros(6, bool), 0).work
    assert all_live == 3 * 6 + 5 + 5 + 6 == 34 and all_dead == 3 * 6 + 5 + 11 * 6 + 2 * 5 == 99
    assert collection_work(PTR, np.zeros(6, bool), np.zeros(6, bool), 0).work == 0


def test_simulated_gen_pause_equals_the_hand_count():
    # build the same heap by a trace; the 7th allocation exceeds threshold0 = 6 and triggers generation 0
    ev = [(ALLOC, i, 0, 0, 0) for i in range(6)]
    ev += [(WRITE, 0, 0, 1, 0), (WRITE, 1, 0, 2, 0), (WRITE, 3, 0, 4, 0), (WRITE, 4, 0, 3, 0), (WRITE, 5, 0, 0, 0)]
    ev += [(ROOT_DEL, i, 0, 0, 0) for i in range(1, 6)] + [(ALLOC, 6, 0, 0, 0)]
    t = make_trace("hand", ev, [64] * 7, [0] * 7, n_slots=2)
    r = simulate(t, GCConfig(kind="GEN", threshold0=6, refcount=False, external_tracked=10 ** 6))
    assert r.pauses["kind"].tolist() == ["gen0"]
    assert r.pauses["work"].tolist() == [67] and r.pauses["freed"].tolist() == [3]
    # GEN-2T: the 62 list-pass units split over 2 workers, the traversal 0 -> 1 -> 2 is a chain of levels
    # costing 2 + 2 + 1 whatever the workers
    assert r.pauses["pause2"].tolist() == [31 + 5]
    # the same collection charged as a tracing collector (GEN-TRACE): 1 root + mark 3 objects and 2 references
    # + sweep 6 x 64 B / 64 + free 3 garbage objects and their 3 references
    assert r.pauses["trace1"].tolist() == [1 + 5 + 6 + 6]
    assert r.pauses["trace2"].tolist() == [1 + 5 + 6]


def test_bad_cost_inputs_raise():
    with pytest.raises(ValueError, match="generation"):
        collection_work(PTR, YOUNG, LIVE, 3)
    with pytest.raises(ValueError, match="subset"):
        collection_work(PTR, LIVE, YOUNG, 0)


def test_repeated_timing_runs_combine_to_the_median_per_collection_index():
    from support.vgc.record import median_pauses

    runs = [np.array([[0, 10, 1], [0, 30, 2], [1, 100, 5]]), np.array([[0, 20, 1], [1, 300, 5], [1, 50, 0]]),
            np.array([[0, 40, 3], [0, 10, 2]])]
    # gen 0: first collections 10, 20, 40 -> 20; second 30, 10 -> 20; gen 1: 100, 300 -> 200; then 50 alone
    assert median_pauses(runs).tolist() == [[0, 20, 1], [0, 20, 2], [1, 200, 5], [1, 50, 0]]
