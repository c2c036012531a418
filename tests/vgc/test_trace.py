"""The trace format: structural checks name the problem; files round-trip; synthetic workloads are valid."""

import numpy as np
import pytest

from support.vgc.refcount import replay
from support.vgc.trace import ALLOC, ROOT_ADD, ROOT_DEL, WRITE, TraceError, load, make_trace, save
from support.vgc.workloads import WORKLOADS, make


def _t(events, n):
    return make_trace("t", events, [64] * n, [0] * n)


def test_valid_small_trace_is_accepted():
    t = _t([(ALLOC, 0, 0, 0, 0), (ALLOC, 1, 0, 0, 0), (WRITE, 0, 1, 1, 0), (ROOT_DEL, 1, 0, 0, 0)], 2)
    assert t.n_events == 4 and t.n_objects == 2 and t.n_threads == 1


def test_write_naming_an_unallocated_object_is_rejected():
    with pytest.raises(TraceError, match="not yet allocated"):
        _t([(ALLOC, 0, 0, 0, 0), (WRITE, 0, 0, 1, 0), (ALLOC, 1, 0, 0, 0)], 2)


def test_root_release_without_a_reference_is_rejected():
    with pytest.raises(TraceError, match="without a matching reference"):
        _t([(ALLOC, 0, 0, 0, 0), (ROOT_DEL, 0, 0, 0, 0), (ROOT_DEL, 0, 0, 0, 0)], 1)


def test_slot_outside_the_object_is_rejected():
    with pytest.raises(TraceError, match="slot 7"):
        _t([(ALLOC, 0, 0, 0, 0), (WRITE, 0, 7, -1, 0)], 1)


def test_allocations_out_of_order_are_rejected():
    with pytest.raises(TraceError, match="in order"):
        _t([(ALLOC, 1, 0, 0, 0), (ALLOC, 0, 0, 0, 0)], 2)


def test_trace_file_round_trips(tmp_path):
    t = make("lru", np.random.default_rng(3), n_alloc=300)
    u = load(save(t, tmp_path / "x.npz"))
    for k in ("op", "a", "b", "c", "tid", "size", "site", "static"):
        assert np.array_equal(getattr(t, k), getattr(u, k))
    assert (u.name, u.n_slots, u.freeze_pos) == (t.name, t.n_slots, t.freeze_pos)


def test_a_file_that_is_not_a_trace_raises_one_clear_error(tmp_path):
    p = tmp_path / "bad.npz"
    p.write_text("not a trace")
    with pytest.raises(TraceError, match="not a trace file"):
        load(p)


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_every_synthetic_workload_is_a_valid_trace(name):
    kw = {"n_static": 100} if name == "static_churn" else {}
    t = make(name, np.random.default_rng(1), n_alloc=400, n_threads=2, **kw)
    assert t.n_objects >= 400 and t.n_threads >= 2
    replay(t)  # raises TraceError on a write into a freed object


def test_unknown_workload_is_rejected():
    with pytest.raises(ValueError, match="unknown workload"):
        make("nope", np.random.default_rng(0))


def test_root_add_is_counted():
    t = _t([(ALLOC, 0, 0, 0, 0), (ROOT_ADD, 0, 0, 0, 1), (ROOT_DEL, 0, 0, 0, 0), (ROOT_DEL, 0, 0, 0, 1)], 1)
    assert replay(t).tolist() == [3]
