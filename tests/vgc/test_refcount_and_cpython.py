"""Reference-count replay against a brute-force recount, and the simulator against real CPython."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from support.vgc import experiments as X
from support.vgc.record import record
from support.vgc.refcount import replay
from support.vgc.trace import ALLOC, ROOT_ADD, ROOT_DEL, WRITE
from support.vgc.workloads import make


def brute_force_deaths(t):
    """After every event, recount every object's references from scratch and free zero-count objects
    until nothing changes."""
    N, K = t.n_objects, t.n_slots
    ptr = np.full((N, K), -1)
    roots = np.zeros(N, int)
    allocated = np.zeros(N, bool)
    dead = np.zeros(N, bool)
    death = np.full(N, -1)
    for i in range(t.n_events):
        o, a, b, c = int(t.op[i]), int(t.a[i]), int(t.b[i]), int(t.c[i])
        if o == ALLOC:
            allocated[a] = True
            roots[a] += 1
        elif o == ROOT_ADD:
            roots[a] += 1
        elif o == ROOT_DEL:
            roots[a] -= 1
        elif o == WRITE:
            ptr[a, b] = c
        while True:
            holders = allocated & ~dead
            src = np.repeat(holders, K).reshape(N, K)
            tgt = ptr[src & (ptr >= 0)]
            count = roots + np.bincount(tgt, minlength=N)
            newly = holders & (count == 0)
            if not newly.any():
                break
            dead |= newly
            death[newly] = i
    return death


@pytest.mark.parametrize("name", ["trees", "prodcons", "graph"])
def test_replay_matches_a_brute_force_recount(name):
    t = make(name, np.random.default_rng(5), n_alloc=150, n_threads=2)
    assert np.array_equal(replay(t), brute_force_deaths(t))


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    d = tmp_path_factory.mktemp("rec")
    return {p: record(p, n, d) for p, n in (("cycles", 12000), ("prodcons", 6000))}


def test_replay_predicts_every_death_cpython_made_outside_a_collection(recordings):
    for r in recordings.values():
        outside = (r.real_death >= 0) & ~r.died_in_gc
        if outside.any():
            assert np.array_equal(replay(r.trace)[outside], r.real_death[outside])
    assert ((recordings["prodcons"].real_death >= 0) & ~recordings["prodcons"].died_in_gc).sum() > 100


def test_simulated_gen_collection_counts_equal_cpython_get_stats(recordings):
    fid, calib, _ = X.fidelity(recordings)
    for g in range(3):
        assert (fid[f"sim_gen{g}"] - fid[f"real_gen{g}"]).abs().max() <= 1, fid
    assert fid.real_gen1.max() >= 1 and calib["ns_per_work"] > 0


def test_class_fidelity_ranks_class_medians_and_fits_pause_against_work():
    # two programs x two generations; within a class the work is tied and the pauses are noise
    rows = [("a", 0, 100, 0.010), ("a", 0, 100, 0.013), ("a", 1, 1000, 0.09), ("a", 1, 1000, 0.12),
            ("b", 0, 300, 0.031), ("b", 0, 300, 0.027), ("b", 1, 9000, 0.95), ("b", 1, 9000, 0.85)]
    pairs = pd.DataFrame(rows, columns=["program", "generation", "sim_work", "real_pause_ms"])
    cl = X.collection_classes(pairs)
    assert list(cl.collections) == [2, 2, 2, 2] and cl.work_cv.max() == 0
    f = X.class_fidelity(pairs)
    assert f["classes"] == 4 and f["spearman_class_medians"] == pytest.approx(1.0)
    want = np.polyfit(np.log(pairs.sim_work), np.log(pairs.real_pause_ms), 1)[0]  # numpy's own fit as oracle
    assert f["loglog_slope"] == pytest.approx(want) and 0.95 < f["loglog_r2"] <= 1
    swapped = pairs.assign(real_pause_ms=pairs.real_pause_ms.where(pairs.generation == 1, 0.5))
    assert X.class_fidelity(swapped)["spearman_class_medians"] < 1


def test_recording_a_multithreaded_program_keeps_its_threads(recordings):
    t = recordings["prodcons"].trace
    assert t.n_threads == 5 and len(np.unique(t.tid)) == 5


def test_prodcons_label_counts_the_main_thread_apart_from_two_producers_and_two_consumers(recordings):
    t = recordings["prodcons"].trace
    allocs = t.op == ALLOC
    makers = {s: set(np.unique(t.tid[allocs][t.site == s]).tolist()) for s in (0, 6, 9)}
    assert makers == {0: {1, 3}, 6: {2, 4}, 9: {0}}  # messages, consumer state, the shared queue (main thread)
    assert int((t.tid == 0).sum()) == 2  # the main thread only allocates the queue and drops it at the end
    assert X.thread_label(recordings["prodcons"]) == "main + 4 threads"
    assert X.thread_label(recordings["cycles"]) == "main thread"


def test_unknown_program_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown program"):
        record("nope", 1000, tmp_path)


def test_timing_runs_go_in_rounds_with_every_program_once_per_round(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(X, "record", lambda p, n, d, timing=True: SimpleNamespace(name=p))
    monkeypatch.setattr(X, "timing_run", lambda p, n, d, k: calls.append((k, p)) or f"{p}{k}")
    monkeypatch.setattr(X, "attach_timing", lambda r, paths: setattr(r, "paths", paths))
    progs = ("trees", "lru", "cycles", "prodcons")
    recs = X.record_programs(1000, tmp_path, progs, repeats=3, seed=4)
    assert [k for k, _ in calls] == [0] * 4 + [1] * 4 + [2] * 4
    rounds = [[p for k, p in calls if k == r] for r in range(3)]
    assert all(sorted(r) == sorted(progs) for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1  # the order is drawn afresh per round (seeded)
    assert all(recs[p].paths == [f"{p}{k}" for k in range(3)] for p in progs)


def _alloc_recording(tmp_path, cpu_ns, wall_ns, walls=(0.4, 0.6)):
    """1,500 rooted allocations (two gen-0 collections) with timing runs holding the given pauses."""
    import json

    from support.vgc.record import Recording, attach_timing
    from support.vgc.trace import make_trace

    n = 1500
    t = make_trace("alloc", [(ALLOC, i, 0, 0, 0) for i in range(n)], [64] * n, [0] * n)
    rec = Recording(t, [2, 0, 0], np.array([[0, 2_000_000, 0, 700], [0, 6_000_000, 0, 1401]]),
                    np.full(n, -1), np.zeros(n, bool), 0, 0, (700, 10, 10), "3.x", 1.0)
    paths = []
    for k, wall in enumerate(walls):
        p = tmp_path / f"timing{k}.npz"
        arrays = {"pauses": np.array([0, cpu_ns[0], 0, 0, cpu_ns[1], 0])}
        if wall_ns is not None:
            arrays["wall_ns"] = np.array(wall_ns)
        np.savez_compressed(p, header=json.dumps({"wall_s": wall, "stats_collections": [2, 0, 0]}), **arrays)
        paths.append(p)
    return attach_timing(rec, paths) if wall_ns is not None else (rec, paths)


def test_ns_per_event_comes_from_the_timing_runs_whose_pauses_it_subtracts(tmp_path):
    # the recorded (instrumented) run took 1.0 s; two timing runs took 0.4 s and 0.6 s, each with two
    # generation-0 pauses of 1 ms and 3 ms wall time: mutator time = median timing wall 0.5 s - 4 ms of collection
    rec = _alloc_recording(tmp_path, (500_000, 1_000_000), (1_000_000, 3_000_000))
    fid, calib, _ = X.fidelity({"alloc": rec})
    assert fid.real_gc_s.iloc[0] == pytest.approx(0.004)
    assert calib["ns_per_event"] == pytest.approx((0.5 - 0.004) * 1e9 / rec.trace.n_objects)


def test_spearman_pairs_cpu_pauses_while_the_calibration_uses_wall_pauses(tmp_path):
    # CPU time 0.5 and 1 ms, wall time 1 and 3 ms (the thread was descheduled during the second collection)
    rec = _alloc_recording(tmp_path, (500_000, 1_000_000), (1_000_000, 3_000_000))
    _, calib, pairs = X.fidelity({"alloc": rec})
    assert pairs.real_pause_ms.tolist() == [0.5, 1.0]
    assert pairs.real_wall_ms.tolist() == [1.0, 3.0]
    work = pairs.sim_work.to_numpy()
    assert calib["ns_per_work"] == pytest.approx(np.median(np.array([1e6, 3e6]) / work))


def test_a_timing_file_without_wall_clock_pauses_is_rejected(tmp_path):
    from support.vgc.record import attach_timing

    rec, paths = _alloc_recording(tmp_path, (500_000, 1_000_000), None)
    with pytest.raises(ValueError, match="wall-clock pause"):
        attach_timing(rec, paths)


def test_pause_callback_times_the_collecting_threads_cpu_not_time_spent_off_cpu(monkeypatch):
    import time
    from array import array

    from support.vgc import record as R

    monkeypatch.setattr(R, "_ap", lambda x: None)  # keep the module's trace log untouched
    pauses, wall = array("q"), array("q")
    cb = R.pause_callback(pauses, wall)
    cb("start", {"generation": 1})
    time.sleep(0.05)  # off CPU, as when the process is descheduled inside a collection
    cb("stop", {"generation": 1, "collected": 3})
    assert pauses[0] == 1 and pauses[2] == 3
    assert wall[0] >= 50_000_000 and 0 <= pauses[1] < 10_000_000


def test_recorded_cpu_pauses_never_exceed_the_wall_pauses(recordings):
    for r in recordings.values():
        assert r.timing.shape == r.timing_wall.shape and (r.timing[:, 0] == r.timing_wall[:, 0]).all()
        assert (r.timing[:, 1] <= r.timing_wall[:, 1] + 20_000).all()  # 20 us for the two clocks' reads
        assert r.collections_wall_ns.size == len(r.collections)


def test_class_ceiling_gives_each_collection_its_class_median_real_pause():
    from scipy.stats import spearmanr

    # gen-0 pauses out of order with the work: the ceiling ranks by the real class medians, not by the work;
    # class (a, 0) has median 0.40 above (b, 0)'s 0.35 but a mean (0.31) below it
    rows = [("a", 0, 100, 0.50), ("a", 0, 100, 0.40), ("a", 0, 100, 0.02), ("a", 1, 1000, 0.09),
            ("a", 1, 1000, 0.12), ("b", 0, 300, 0.35), ("b", 0, 300, 0.35), ("b", 1, 9000, 0.95), ("b", 1, 9000, 0.85)]
    pairs = pd.DataFrame(rows, columns=["program", "generation", "sim_work", "real_pause_ms"])
    medians = [0.40, 0.40, 0.40, 0.105, 0.105, 0.35, 0.35, 0.90, 0.90]
    want = spearmanr(medians, pairs.real_pause_ms).statistic
    assert X.class_fidelity(pairs)["spearman_class_ceiling"] == pytest.approx(want)
    assert want > spearmanr(pairs.sim_work, pairs.real_pause_ms).statistic
