"""Claim code that no other unit test ran (found by a coverage run): the separate safety runs behind the safety and
completeness claims, the GEN-TRACE ablation ratios, the real-pause table, the alignment rows of the synthetic
workloads, the space-time sweep's rows, and the refusals of the recording functions."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from support.vgc import collectors as C
from support.vgc import experiments as X
from support.vgc import record as R
from support.vgc.workloads import make

SAFETY_COLLECTORS = ["GEN", "GEN-FREEZE", "INCR", "ZONE", "ZONE-THREAD", "ZONE-STW"]


# ------------------------------------------------------------------------------------------------ safety runs

def test_safety_runs_every_collector_under_the_oracle_and_finds_nothing_on_a_correct_simulator():
    df = X.safety(["trees"], [0], 3000, 2, 1.25)
    assert df["collector"].tolist() == SAFETY_COLLECTORS and (df["trace"] == "trees").all()
    assert (df["checked"] > 0).all() and df["full_checked"].sum() > 0
    assert (df["live_freed"] == 0).all() and (df["unreachable_retained"] == 0).all()
    assert (df["collections"] >= df["checked"]).all()


def _plant_oracle(monkeypatch, fill):
    """While a collector runs (not while the trace is prepared), the oracle it checks against says ``fill``."""
    run = X.Prepared.run

    def planted(self, *a, **kw):
        real = C.oracle
        C.oracle = SimpleNamespace(reachable=lambda ptr, alive, roots: fill(alive.shape, dtype=bool))
        try:
            return run(self, *a, **kw)
        finally:
            C.oracle = real

    monkeypatch.setattr(X.Prepared, "run", planted)


def test_safety_counts_freed_objects_as_live_when_the_oracle_calls_everything_reachable(monkeypatch):
    """Planted fault: an oracle that marks every object reachable, so each object a collection frees is a live one
    freed and nothing is left unreachable: the table must show the freed counts, not zeros."""
    _plant_oracle(monkeypatch, np.ones)
    df = X.safety(["trees"], [0], 3000, 2, 1.25).set_index("collector")
    assert (df["live_freed"] > 0).all() and (df["unreachable_retained"] == 0).all()


def test_safety_counts_objects_left_after_a_full_collection_when_the_oracle_calls_nothing_reachable(monkeypatch):
    """Planted fault: an oracle that marks nothing reachable: no freed object is live, and every object a full
    collection keeps is unreachable, so the stop-the-world collectors with full collections report retained ones."""
    _plant_oracle(monkeypatch, np.zeros)
    df = X.safety(["trees"], [0], 3000, 2, 1.25).set_index("collector")
    assert (df["live_freed"] == 0).all()
    full = df[df["full_checked"] > 0]
    assert len(full) > 0 and (full["unreachable_retained"] > 0).all()


def test_safety_adds_the_recorded_traces_to_the_synthetic_ones():
    t = replace(make("lru", np.random.default_rng(5), n_alloc=1500, n_threads=1), name="rec_lru")
    df = X.safety(["trees"], [0], 1500, 2, 1.25, recs={"lru": SimpleNamespace(trace=t)})
    assert df.groupby("trace", sort=False)["collector"].apply(list).to_dict() == {
        "trees": SAFETY_COLLECTORS, "rec_lru": SAFETY_COLLECTORS}


# ------------------------------------------------------------------------------------------------ ablation ratios

def test_claim_ratios_give_zone_and_gen_over_the_better_gen_trace_run_by_hand():
    """Two runs. Better GEN: 10, 20 (sum 30); better GEN-TRACE: 12, 30 (sum 42); ZONE 21, 21 (sum 42).
    ZONE / GEN-TRACE = 42/42 = 1; GEN-TRACE / GEN = 42/30 = 1.4."""
    rows = []
    for s, (g, g2, t, t2, z) in enumerate([(10, 11, 12, 15, 21), (25, 20, 31, 30, 21)]):
        rows += [("a", s, c, v, 100.0) for c, v in
                 (("GEN", g), ("GEN-2T", g2), ("GEN-TRACE", t), ("GEN-TRACE-2T", t2), ("ZONE", z))]
    grid = pd.DataFrame(rows, columns=["workload", "seed", "collector", "p99_work", "peak_committed"])
    r = X.claim_ratios(grid, n_boot=40)
    assert r["pause_ZONE_vs_GEN-TRACE"]["ratio"] == pytest.approx(1.0)
    assert r["pause_GEN-TRACE_vs_GEN"]["ratio"] == pytest.approx(1.4)
    assert r["pause_ZONE"]["ratio"] == pytest.approx(42 / 30)
    no_trace = X.claim_ratios(grid[~grid.collector.str.startswith("GEN-TRACE")], n_boot=40)
    assert "pause_ZONE_vs_GEN-TRACE" not in no_trace


# ------------------------------------------------------------------------------------------------ tables

def test_real_pauses_is_one_row_per_collection_with_the_pause_in_ms():
    recs = {"cycles": SimpleNamespace(collections=np.array([[0, 1_500_000, 7, 10], [2, 250_000_000, 0, 99]]),
                                      trace=SimpleNamespace(n_threads=1)),
            "prodcons": SimpleNamespace(collections=np.array([[1, 2_000, 3, 5]]), trace=SimpleNamespace(n_threads=5))}
    df = X.real_pauses(recs)
    assert df.to_dict("records") == [
        {"program": "cycles", "generation": 0, "pause_ms": 1.5, "collected": 7, "threads": 1},
        {"program": "cycles", "generation": 2, "pause_ms": 250.0, "collected": 0, "threads": 1},
        {"program": "prodcons", "generation": 1, "pause_ms": 0.002, "collected": 3, "threads": 5}]


def test_alignment_rows_of_synthetic_workloads_compare_gen_peaks_at_64_and_16_byte_alignment(monkeypatch):
    """A stand-in trace of sizes 24 and 40 B whose GEN peak is 1000 B at 16-B and 1250 B at 64-B alignment:
    +25 %; padding 16: (32 + 48)/64 - 1 = 0.25, padding 64: 128/64 - 1 = 1."""
    class P:
        t = SimpleNamespace(size=np.array([24, 40]))

        def run(self, name, budget_mult, allocator):
            assert name == "GEN" and budget_mult == 2.0
            return SimpleNamespace(peak_committed={16: 1000, 64: 1250}[allocator.align])

    monkeypatch.setattr(X, "prepare", lambda w, seed, n_alloc, n_threads: P())
    row = X.alignment_ablation(["trees"], 0, 100, 1, 2.0).iloc[0]
    assert row.source == "synthetic trees" and (row.peak_16, row.peak_64) == (1000, 1250)
    assert row.increase_64_vs_16 == pytest.approx(0.25)
    assert (row.padding_16, row.padding_64) == pytest.approx((0.25, 1.0))


def test_space_time_has_one_row_per_workload_budget_and_collector(monkeypatch):
    monkeypatch.setattr(X, "prepare", lambda w, seed, n_alloc, n_threads: w)
    monkeypatch.setattr(X, "run_all", lambda p, m, calib, **kw: [{"collector": c, "p99_work": m * len(p)}
                                                                   for c in ("GEN", "ZONE")])
    df = X.space_time(["ab", "abc"], 0, 100, 1, [1.5, 3.0], {})
    assert df[["workload", "budget_mult", "collector", "p99_work"]].values.tolist() == [
        ["ab", 1.5, "GEN", 3.0], ["ab", 1.5, "ZONE", 3.0], ["ab", 3.0, "GEN", 6.0], ["ab", 3.0, "ZONE", 6.0],
        ["abc", 1.5, "GEN", 4.5], ["abc", 1.5, "ZONE", 4.5], ["abc", 3.0, "GEN", 9.0], ["abc", 3.0, "ZONE", 9.0]]


# ------------------------------------------------------------------------------------------------ refusals

def test_wall_rows_refuse_recordings_without_their_wall_clock_pauses():
    trace = SimpleNamespace(name="rec_x")
    with pytest.raises(ValueError, match="without their wall-clock twin"):
        X._wall_rows(SimpleNamespace(trace=trace, timing=np.zeros((1, 3)), timing_wall=None))
    with pytest.raises(ValueError, match="collections_wall_ns"):
        X._wall_rows(SimpleNamespace(trace=trace, timing=None, collections_wall_ns=None))


@pytest.mark.parametrize(("kw", "match"), [({"programs": ("cycles", "nope")}, "unknown program 'nope'"),
                                           ({"repeats": 0}, "repeats must be >= 1, got 0")])
def test_record_programs_refuses_bad_arguments_before_recording(monkeypatch, tmp_path, kw, match):
    monkeypatch.setattr(X, "record", lambda *a, **k: pytest.fail("recorded"))
    with pytest.raises(ValueError, match=match):
        X.record_programs(1000, tmp_path, **kw)


@pytest.mark.parametrize(("n", "repeats", "match"), [(99, 1, "n must be >= 100, got 99"),
                                                     (100, 0, "repeats must be >= 1, got 0")])
def test_record_refuses_too_few_allocations_or_no_timing_repeat(tmp_path, n, repeats, match):
    with pytest.raises(ValueError, match=match):
        R.record("cycles", n, tmp_path, repeats=repeats)


def test_a_recording_whose_interpreter_failed_is_an_error_with_its_stderr(monkeypatch, tmp_path):
    monkeypatch.setattr(R.subprocess, "run", lambda *a, **k: SimpleNamespace(returncode=1, stderr="MemoryError"))
    with pytest.raises(RuntimeError, match="recording lru failed: MemoryError"):
        R.record("lru", 1000, tmp_path)


def test_static_claim_refuses_an_ablation_missing_a_variant():
    sa = pd.DataFrame([{"seed": 0, "variant": v, "median_full_pause_work": 10.0}
                       for v in ("GEN", "GEN-FREEZE", "GEN-TRACE", "ZONE-STW (static zone)", "ZONE-STW (no static zone)")])
    with pytest.raises(ValueError, match=r"lacks the variants \['GEN-TRACE-FREEZE'\]"):
        X.static_claim(sa)

# ------------------------------------------------------------------------------------------------ recorded programs

@pytest.mark.parametrize(("program", "n"), [("trees", 4000), ("lru", 9000)])
def test_objects_cpythons_collector_freed_are_unreachable_in_the_recorded_graph(tmp_path, program, n):
    """``trees`` and ``lru`` (run in the notebook, not by the other recording tests) free their garbage only in
    collections (parent pointers, values pointing back), so the refcount-replay check sees none of it. Oracle:
    CPython's own collector. Every object whose ``__del__`` ran inside a real collection after event e must be
    unreachable from the logged roots in the logged pointer graph replayed up to e; a program that logged a
    reference too many (a missing unroot or link) would show it reachable."""
    from support.vgc.collectors import HeapGraph
    from support.vgc.oracle import reachable
    from support.vgc.trace import ALLOC

    rec = R.record(program, n, tmp_path, timing=False)
    t = rec.trace
    in_gc = np.flatnonzero(rec.died_in_gc)
    assert in_gc.size > n // 5  # these programs make cyclic garbage
    g = HeapGraph(t)
    n_alloc = np.cumsum(t.op == ALLOC)
    for e in np.unique(rec.real_death[in_gc]):
        g.apply(int(e) + 1)
        allocated = np.arange(t.n_objects) < n_alloc[e]
        r = reachable(g.ptr, allocated, g.roots)
        assert r.any() and not r[in_gc[rec.real_death[in_gc] == e]].any(), f"event {e}"
