"""Metrics against brute force / known answers; the real-CPython anchors (gc.freeze, memray size mix)."""

import numpy as np
import pytest

from support.vgc import anchor
from support.vgc.allocator import padding_fraction
from support.vgc.metrics import bootstrap_ratio, mmu, pause_stats, timeline


def brute_mmu(start, dur, total, window, step):
    ts = np.arange(0, total - window + step / 2, step)
    e = start + dur
    gc = [np.clip(np.minimum(e, t + window) - np.maximum(start, t), 0, None).sum() for t in ts]
    return 1 - max(gc) / window


@pytest.mark.parametrize("seed", range(4))
def test_mmu_matches_a_sliding_window_brute_force(seed):
    rng = np.random.default_rng(seed)
    start, dur = timeline(np.sort(rng.integers(0, 10000, 30)), rng.integers(1, 400, 30), 1.0, 1.0)
    total = float(start[-1] + dur[-1] + 50)
    for w in (50.0, 500.0, 3000.0):
        exact, brute = mmu(start, dur, total, w), brute_mmu(start, dur, total, w, 0.5)
        assert exact <= brute + 1e-9 and exact >= brute - 2 * 0.5 / w


def test_mmu_without_pauses_is_one_and_with_one_long_pause_is_zero():
    assert mmu(np.array([]), np.array([]), 100.0, 10.0) == 1.0
    assert mmu(np.array([10.0]), np.array([50.0]), 100.0, 20.0) == 0.0


def test_pause_stats_match_numpy():
    p = np.arange(1, 201)
    s = pause_stats(p)
    assert s["p99"] == np.percentile(p, 99) and s["max"] == 200 and s["count"] == 200 and s["total"] == p.sum()


def test_bootstrap_of_a_constant_ratio_is_exact():
    den = np.array([10.0, 20, 30, 40, 50, 60])
    r = bootstrap_ratio(0.5 * den, den, np.array([0, 0, 0, 1, 1, 1]), n_boot=200)
    assert r["ratio"] == pytest.approx(0.5) and r["lo"] == pytest.approx(0.5) and r["hi"] == pytest.approx(0.5)


def test_bootstrap_interval_contains_the_point_estimate_and_rejects_bad_input():
    rng = np.random.default_rng(0)
    den = rng.uniform(1, 2, 20)
    r = bootstrap_ratio(den * rng.uniform(0.6, 1.0, 20), den, np.repeat([0, 1], 10), n_boot=500)
    assert r["lo"] <= r["ratio"] <= r["hi"] and 0.6 <= r["lo"] and r["hi"] <= 1.0
    with pytest.raises(ValueError):
        bootstrap_ratio(np.array([1.0]), np.array([0.0]), np.array([0]))


def test_gc_freeze_shortens_real_full_collections():
    r = anchor.freeze_experiment(20000, 20001)
    assert r["no_freeze"]["n_gen2"] >= 1 and r["freeze"]["frozen"] > 15000
    assert r["freeze"]["median_gen2_ms"] < r["no_freeze"]["median_gen2_ms"]


def test_gc_freeze_reports_cpu_and_wall_pauses_with_cpu_never_above_wall():
    r = anchor.freeze_experiment(20000, 20001)
    for v in ("no_freeze", "freeze"):
        cpu, wall = r[v]["gen2_ms"], r[v]["gen2_wall_ms"]
        assert cpu.shape == wall.shape and cpu.size >= 1
        assert np.all(cpu > 0) and np.all(cpu <= wall + 0.05)  # thread CPU time cannot exceed elapsed time


def test_real_object_sizes_pay_more_padding_at_64_than_at_16_bytes(tmp_path):
    s = anchor.object_size_mix(tmp_path, 500)
    s = s[(s > 0) & (s <= 512)]
    assert s.size > 1000
    assert padding_fraction(s, 64) > padding_fraction(s, 16) + 0.05


def test_mmu_of_a_run_counts_the_mutator_time_after_its_last_pause():
    # 701 rooted allocations (one generation-0 collection of 700 survivors at the 701st: 3*700 + 700 = 2800
    # units), then 9300 more events without allocation: the run lasts 10001 events x 0.1 ms + the pause.
    from support.vgc.collectors import GCConfig, simulate
    from support.vgc.experiments import summarize
    from support.vgc.trace import ALLOC, ROOT_ADD, ROOT_DEL, make_trace

    ev = [(ALLOC, i, 0, 0, 0) for i in range(701)] + [(ROOT_ADD if k % 2 == 0 else ROOT_DEL, 0, 0, 0, 0)
                                                       for k in range(9300)]
    t = make_trace("tail", ev, [64] * 701, [0] * 701)
    res = simulate(t, GCConfig(kind="GEN"))
    assert res.pauses["work"].tolist() == [2800]
    row = summarize(res, "GEN", 1, {"ns_per_event": 1e5, "ns_per_work": 5e6 / 2800})  # a 5 ms pause at 70 ms
    # by hand: a 100 ms or 10 ms window can hold the whole 5 ms pause, a 1 ms window only pause
    assert row["mmu_100ms"] == pytest.approx(1 - 5 / 100)
    assert row["mmu_10ms"] == pytest.approx(1 - 5 / 10)
    assert row["mmu_1ms"] == 0.0


def test_mmu_window_longer_than_the_mutator_time_alone_still_divides_by_the_window():
    """The run lasts its events plus its pauses: 970 events x 0.1 ms = 97 ms of mutator time and one 5 ms pause at
    70 ms (700 rooted objects, 2800 units) make a 102 ms run, so a 100 ms window fits inside it and the worst one
    holds the whole pause: MMU = 1 - 5 / 100 (by hand; 1 - 5 / 97 if the run ended with its last event)."""
    from support.vgc.collectors import GCConfig, simulate
    from support.vgc.experiments import summarize
    from support.vgc.trace import ALLOC, ROOT_ADD, ROOT_DEL, make_trace

    ev = [(ALLOC, i, 0, 0, 0) for i in range(701)] + [(ROOT_ADD if k % 2 == 0 else ROOT_DEL, 0, 0, 0, 0)
                                                       for k in range(269)]
    res = simulate(make_trace("short_tail", ev, [64] * 701, [0] * 701), GCConfig(kind="GEN"))
    assert res.n_events == 970 and res.pauses["work"].tolist() == [2800]
    row = summarize(res, "GEN", 1, {"ns_per_event": 1e5, "ns_per_work": 5e6 / 2800})
    assert row["mmu_100ms"] == pytest.approx(1 - 5 / 100)
    assert row["mmu_10ms"] == pytest.approx(1 - 5 / 10)


@pytest.mark.parametrize(("kw", "message"), [
    ({"groups": np.array([0, 0])}, r"^groups must name the group of each of the 3 runs"),  # used to resample 2 runs
    ({"n_boot": 0}, r"^n_boot must be an integer >= 40"),  # used to be an IndexError
    ({"level": 1.5}, r"^level must be a number in \(0, 1\), got 1\.5$"),  # used to be a quantile error
])
def test_bootstrap_ratio_refuses_groups_of_another_length_too_few_resamples_or_a_bad_level(kw, message):
    args = {"num": np.array([1.0, 2.0, 3.0]), "den": np.ones(3), "groups": np.array([0, 0, 1]), **kw}
    with pytest.raises(ValueError, match=message):
        bootstrap_ratio(**args)
