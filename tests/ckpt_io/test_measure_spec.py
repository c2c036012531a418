"""The measurement protocol (interleaving, warm-up, medians) and the one gross ratio the disk must show."""

from __future__ import annotations

import os
import stat
import time

import numpy as np
import pandas as pd
import pytest

from support.ckpt_io import experiments, measure, posix


def test_rounds_interleave_with_rotation_and_warmup():
    r = measure.rounds(["a", "b", "c"], repeats=2, warmup=1)
    assert [c for _, _, c in r] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert [w for _, w, _ in r] == [True] * 3 + [False] * 6
    with pytest.raises(ValueError):
        measure.rounds(["a"], repeats=0)


def test_medians_ignore_the_warmup_round():
    df = pd.DataFrame({"case": ["a", "a", "a", "a"], "warmup": [True, False, False, False], "v": [100, 1, 2, 3]})
    assert measure.medians(df, "case", "v")["a"] == 2


def test_small_o_direct_writes_are_grossly_slower_than_large_ones(tmp_path):
    """Gross ratio only (expected ~0.01-0.03 here; asserted <= 0.5)."""
    if not posix.o_direct_support(tmp_path)[0]:
        pytest.skip("O_DIRECT unsupported here")
    df = experiments.request_size_sweep(tmp_path, (4096, 16 << 20), n_requests=256, min_total=1 << 20,
                                        max_total=16 << 20, qds=(32,), repeats=3, panels=("O_DIRECT, new file",))
    r = experiments.f1_ratios(df, "O_DIRECT, new file")
    assert r["direct_4k_over_16m"] <= 0.5
    assert list(tmp_path.iterdir()) == []


def test_disk_limit_cleans_up(tmp_path):
    d = measure.disk_limit(tmp_path, total=8 << 20, repeats=1)
    assert d["gbps"] > 0 and list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------ what the clock covers
def _spy_io(monkeypatch, events: list) -> None:
    """Log fsync, page dropping and clock reads (each still does the real thing)."""
    real_fsync, real_fadvise, real_clock = os.fsync, os.posix_fadvise, time.perf_counter

    def fsync(fd):
        events.append("fsync file" if stat.S_ISREG(os.fstat(fd).st_mode) else "fsync dir")
        return real_fsync(fd)

    def fadvise(fd, off, n, advice):
        events.append("drop" if advice == os.POSIX_FADV_DONTNEED else "fadvise")
        return real_fadvise(fd, off, n, advice)

    def clock():
        events.append("clock")
        return real_clock()

    monkeypatch.setattr(measure.os, "fsync", fsync)
    monkeypatch.setattr(measure.os, "posix_fadvise", fadvise)
    monkeypatch.setattr(measure.time, "perf_counter", clock)


def _collapse(events: list) -> list:
    return [e for i, e in enumerate(events) if i == 0 or e != events[i - 1]]


def test_timed_write_fsyncs_inside_the_clock_and_drops_pages_after_it(tmp_path, monkeypatch):
    events: list = []
    _spy_io(monkeypatch, events)

    def write(d):
        events.append("write")
        (d / "a.bin").write_bytes(b"x" * 10_000)

    _, size = measure.timed_write(write, tmp_path)
    assert _collapse(events) == ["clock", "write", "fsync file", "fsync dir", "clock", "drop"]
    assert size == 10_000


def test_timed_write_does_not_charge_the_page_drop(tmp_path, monkeypatch):
    """A slow page drop must not appear in the write time of a tiny file. The drop advances a virtual clock by
    1000 s, so the check does not depend on how long the real fsyncs take on a busy disk."""
    real, real_clock, skew = os.posix_fadvise, time.perf_counter, [0.0]

    def slow_fadvise(*a):
        skew[0] += 1000.0
        return real(*a)

    monkeypatch.setattr(measure.os, "posix_fadvise", slow_fadvise)
    monkeypatch.setattr(measure.time, "perf_counter", lambda: real_clock() + skew[0])
    seconds, _ = measure.timed_write(lambda d: (d / "a.bin").write_bytes(b"x"), tmp_path)
    assert skew[0] >= 1000.0  # the drop ran
    assert seconds < 1000.0


def test_timed_read_drops_pages_before_the_clock_starts(tmp_path, monkeypatch):
    (tmp_path / "a.bin").write_bytes(b"x" * 10_000)
    events: list = []
    _spy_io(monkeypatch, events)

    def read(d):
        events.append("read")
        return (d / "a.bin").read_bytes()

    _, out = measure.timed_read(read, tmp_path)
    assert _collapse(events) == ["drop", "clock", "read", "clock"] and len(out) == 10_000


def test_write_pattern_fsyncs_inside_the_clock_and_drops_pages_after_it(tmp_path, monkeypatch):
    src = np.arange(4096, dtype=np.uint8)
    events: list = []
    _spy_io(monkeypatch, events)
    measure.write_pattern(tmp_path / "p.bin", src, 1024, direct=False, backend="pwrite", queue_depth=1)
    assert _collapse(events) == ["clock", "fsync file", "clock", "drop"]
    assert (tmp_path / "p.bin").read_bytes() == src.tobytes()


# ------------------------------------------------------------------------------------------ bad request sizes
@pytest.mark.parametrize("size", [0, -4096, True, 4096.0])
def test_request_size_must_be_a_positive_integer(size):
    with pytest.raises(ValueError, match="positive integer"):
        measure.check_request_size(size, direct=False)


def test_o_direct_request_size_must_be_a_multiple_of_the_alignment():
    with pytest.raises(ValueError, match="multiple of 512"):
        measure.check_request_size(1000, direct=True)
    assert measure.check_request_size(1000, direct=False) == 1000
    assert measure.check_request_size(4096, direct=True, alignment=4096) == 4096


@pytest.mark.parametrize("sizes,panel", [((4096, -4096), "buffered, new file"), ((0,), "buffered, new file"),
                                         ((1000,), "O_DIRECT, overwrite")])
def test_request_size_sweep_rejects_bad_sizes_before_any_io(tmp_path, monkeypatch, sizes, panel):
    if "O_DIRECT" in panel and not posix.o_direct_support(tmp_path)[0]:
        pytest.skip("O_DIRECT unsupported here")

    def no_io(*a, **k):
        raise AssertionError("wrote before checking the request sizes")

    monkeypatch.setattr(measure, "write_pattern", no_io)
    monkeypatch.setattr(measure, "precondition", no_io)
    with pytest.raises(ValueError, match="request size"):
        experiments.request_size_sweep(tmp_path, sizes, repeats=1, panels=(panel,))
    assert list(tmp_path.iterdir()) == []


def test_write_pattern_rejects_a_zero_request_size(tmp_path):
    with pytest.raises(ValueError, match="positive integer"):
        measure.write_pattern(tmp_path / "p.bin", np.zeros(4096, np.uint8), 0, direct=False, backend="pwrite",
                              queue_depth=1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("src_bytes,size,total", [(8192, 4096, 6000), (4096, 1024, 5000)])
def test_write_pattern_writes_exactly_total_bytes_when_the_last_request_is_partial(tmp_path, src_bytes, size, total):
    """``total`` bytes, no more: the last request is cut to what is left (file size and content checked against the
    source repeated and cut by hand), so the throughput is computed over the bytes actually written."""
    src = (np.arange(src_bytes) % 251).astype(np.uint8)
    p = tmp_path / "p.bin"
    measure.write_pattern(p, src, size, direct=False, backend="pwrite", queue_depth=1, total=total)
    want = np.tile(src, -(-total // src_bytes))[:total].tobytes()
    assert p.stat().st_size == total and p.read_bytes() == want
