"""The F1/F3/F4 tables and the claim branches the notebook shows, on hand-made rows whose medians are known, plus the
F3 driver and the refusals of the drivers. Every warm-up row carries an absurd value (1000) that must be ignored."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support.ckpt_io import engine, measure, mixes, posix
from support.ckpt_io import experiments as X

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
QD1 = "POSIX pwrite QD1"
OVER, NEW, BUF = "O_DIRECT, overwrite", "O_DIRECT, new file", "buffered, new file"


def _rows(key: dict, measured: list[float], value: str = "gbps") -> list[dict]:
    return [{**key, "warmup": True, value: 1000.0}] + [{**key, "warmup": False, value: v} for v in measured]


def _f1(spec: dict) -> pd.DataFrame:
    """``spec``: (panel, size, engine) -> measured values."""
    rows = []
    for (panel, size, eng), vals in spec.items():
        qd = 1 if eng == QD1 else int(eng.rsplit("QD", 1)[1])
        rows += _rows({"mode": panel, "request_bytes": size, "engine": eng, "queue_depth": qd}, vals)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------- F1 tables
def test_f1_summary_is_the_median_per_panel_and_size_with_engines_by_queue_depth():
    """Rows in F1_PANELS order (buffered given first must still come last), sizes ascending and labelled,
    engine columns by queue depth (QD128 given first must come last); a case that did not run is NaN."""
    df = _f1({(BUF, 16 * MiB, "io_uring QD128"): [7, 8, 9],       # median 8
              (BUF, 16 * MiB, QD1): [3, 1, 2],                    # 2
              (BUF, 4 * KiB, QD1): [0.1, 0.3, 0.2],               # 0.2
              (OVER, 4 * KiB, QD1): [5, 6, 100],                  # 6
              (OVER, 4 * KiB, "io_uring QD4"): [1, 2, 3],         # 2
              (OVER, 16 * MiB, "io_uring QD128"): [4, 4, 4]})     # 4
    t = X.f1_summary(df)
    assert list(t.columns) == [QD1, "io_uring QD4", "io_uring QD128"]
    assert list(t.index) == [(OVER, "4 KiB"), (OVER, "16 MiB"), (BUF, "4 KiB"), (BUF, "16 MiB")]
    assert t.index.names == ["panel", "request"]
    assert t.loc[(OVER, "4 KiB"), QD1] == 6 and t.loc[(OVER, "4 KiB"), "io_uring QD4"] == 2
    assert t.loc[(BUF, "16 MiB"), QD1] == 2 and t.loc[(BUF, "16 MiB"), "io_uring QD128"] == 8
    assert t.loc[(BUF, "4 KiB"), QD1] == pytest.approx(0.2)
    assert math.isnan(t.loc[(OVER, "16 MiB"), QD1]) and math.isnan(t.loc[(BUF, "4 KiB"), "io_uring QD128"])


def test_queue_gain_is_the_best_deeper_queue_median_over_the_qd1_median_per_size_in_one_panel():
    """4 KiB: QD1 median 2, deeper medians 10 and 16 -> 8; 64 KiB: QD1 5, threads QD32 20 -> 4. The other
    panel (QD1 median 1, deep 1000) must not leak in."""
    df = _f1({(OVER, 64 * KiB, QD1): [4, 5, 6], (OVER, 64 * KiB, "pwrite threads QD32"): [20, 19, 21],
              (OVER, 4 * KiB, QD1): [1, 2, 9], (OVER, 4 * KiB, "io_uring QD32"): [10, 10, 10],
              (OVER, 4 * KiB, "io_uring QD128"): [16, 15, 17],
              (NEW, 4 * KiB, QD1): [1, 1, 1], (NEW, 4 * KiB, "io_uring QD32"): [999, 999, 999]})
    g = X.queue_gain(df, OVER)
    assert g.name == "best QD / QD1"
    assert list(g.index) == ["4 KiB", "64 KiB"]
    assert g.tolist() == [pytest.approx(8.0), pytest.approx(4.0)]


# ---------------------------------------------------------------------------------------------- F3 / F4 tables
def _f3() -> pd.DataFrame:
    rows = []
    spec = {  # (alignment, requested) -> (actual, padding overhead, measured)
        ("1MiB", "O_DIRECT"): ("O_DIRECT", 3.5, [4, 5, 6]),
        ("1MiB", "buffered"): ("buffered", 3.5, [1, 2, 3]),
        ("none", "O_DIRECT"): ("buffered", 0.001234567, [0.5, 0.7, 0.6]),
        ("none", "buffered"): ("buffered", 0.001234567, [2, 2, 2]),
        ("4KiB", "O_DIRECT"): ("O_DIRECT", 0.25, [3, 3, 30]),
    }
    for (a, req), (act, pad, vals) in spec.items():
        rows += _rows({"alignment": a, "requested": req, "actual": act, "padding_overhead": pad}, vals)
    return pd.DataFrame(rows)


def test_f3_table_orders_alignments_and_reports_medians_what_ran_and_rounded_padding():
    t = X.f3_table(_f3())
    assert list(t.index) == ["none", "4KiB", "1MiB"]
    assert t.loc["none", "O_DIRECT requested (GB/s)"] == pytest.approx(0.6)
    assert t.loc["4KiB", "O_DIRECT requested (GB/s)"] == 3
    assert t.loc["1MiB", "buffered requested (GB/s)"] == 2
    assert math.isnan(t.loc["4KiB", "buffered requested (GB/s)"])
    assert t["ran O_DIRECT"].tolist() == ["buffered", "O_DIRECT", "O_DIRECT"]
    assert t["padding overhead"].tolist() == [0.0012, 0.25, 3.5]


def test_f4_table_takes_medians_and_each_granularitys_share_of_the_one_file_rate():
    """Medians: per tensor 0.1, 1 MiB 0.5, one file 0.8; shares 0.125, 0.625, 1; rows by file count, most first."""
    rows = []
    for name, b, files, ops, vals in (("1 MiB", MiB, 5, 20, [0.5, 0.4, 0.6]), ("one file", None, 1, 4, [0.8, 0.7, 0.9]),
                                      ("file per tensor", 0, 48, 192, [0.1, 0.2, 0.05])):
        rows += _rows({"bucket": name, "bucket_bytes": b, "files": files, "metadata_ops": ops}, vals)
    t = X.f4_table(pd.DataFrame(rows))
    assert list(t.index) == ["file per tensor", "1 MiB", "one file"]
    assert t["gbps"].tolist() == pytest.approx([0.1, 0.5, 0.8])
    assert t["of one file"].tolist() == pytest.approx([0.125, 0.625, 1.0])
    assert t["metadata_ops"].tolist() == [192, 20, 4]


# ---------------------------------------------------------------------------------------------- F2 ratios
def test_f2_ratios_are_empty_without_per_tensor_qd1_rows_of_the_mode():
    rows = _rows({"mix": "m", "workload": "realistic", "method": "per-tensor, buffered, pwrite QD1"}, [1, 1])
    rows += _rows({"mix": "m", "workload": "synthetic uniform", "method": "per-tensor, buffered, pwrite QD1"}, [2, 2])
    df = pd.DataFrame(rows)
    assert X.f2_ratios(df, "m", "O_DIRECT") == {}
    assert X.f2_ratios(df, "m", "buffered")["per_tensor_over_synthetic"] == pytest.approx(0.5)


def test_f2_methods_drop_every_o_direct_method_where_o_direct_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(engine, "direct_capability", lambda d: (False, "refused here"))
    got = X.f2_methods(tmp_path)
    expected = [k for k, v in X.F2_METHODS.items() if v["direct"] is False]
    assert [X._fallback_label(k) for k in expected] == [X._fallback_label(k) for k in got]
    assert all(o["direct"] is False for o in got.values())


# ---------------------------------------------------------------------------------------------- claim branches
def _f2_per_only() -> pd.DataFrame:
    per = "per-tensor, O_DIRECT, pwrite QD1"
    rows = _rows({"mix": "m", "workload": "realistic", "method": per, "tensors": 10}, [1, 1, 1])
    rows += _rows({"mix": "m", "workload": "synthetic uniform", "method": per, "tensors": 1}, [4, 4, 4])
    return pd.DataFrame(rows)


def _f4_t1():
    f4 = pd.DataFrame(_rows({"bucket": "one file", "files": 1}, [1.0]))
    t1 = pd.DataFrame(_rows({"engine": "ours", "files": 1, "read_gbps": 1.0}, [2.0], "write_gbps"))
    t1.attrs["unavailable"], t1.attrs["failed"] = {}, {}
    return f4, t1, X.t1_table(t1)


def test_claim_values_without_any_o_direct_panel_or_rows_name_o_direct_as_the_reason():
    f1 = _f1({(BUF, 4 * KiB, QD1): [1, 1], (BUF, 16 * MiB, QD1): [2, 2]})
    f2 = pd.DataFrame(_rows({"mix": "m", "workload": "realistic", "method": "per-tensor, buffered, pwrite QD1"}, [1]))
    f4, t1, tab = _f4_t1()
    out = X.claim_values(f1, f2, "m", f4, t1, tab)
    for k in ("direct_4k_vs_16m", "uring_qd_4k", "uring_qd_64k", "halving", "aggregation_restores"):
        assert out[k] == (None, "O_DIRECT is not supported in the target directory"), k


def test_claim_values_say_the_plan_lacks_a_size_rather_than_invent_a_ratio():
    """The overwrite panel ran io_uring QD32 at 4 KiB and 64 KiB but never 16 MiB: only that ratio is missing."""
    f1 = _f1({(OVER, 4 * KiB, QD1): [2, 2], (OVER, 4 * KiB, "io_uring QD32"): [6, 6],
              (OVER, 64 * KiB, QD1): [5, 5], (OVER, 64 * KiB, "io_uring QD32"): [10, 10]})
    f4, t1, tab = _f4_t1()
    out = X.claim_values(f1, _f2_per_only(), "m", f4, t1, tab)
    assert out["direct_4k_vs_16m"] == (None, "the F1 plan lacks a request size this ratio needs")
    assert out["uring_qd_4k"][0] == pytest.approx(3.0) and out["uring_qd_64k"][0] == pytest.approx(2.0)


def test_aggregation_claim_is_not_applicable_when_the_aggregated_qd1_method_did_not_run():
    f1 = _f1({(OVER, 4 * KiB, QD1): [2, 2]})
    f4, t1, tab = _f4_t1()
    out = X.claim_values(f1, _f2_per_only(), "m", f4, t1, tab)
    assert out["halving"][0] == pytest.approx(0.25) and "10 tensor(s)" not in out["halving"][1]
    assert "1 tensor(s)" in out["halving"][1]
    assert out["aggregation_restores"] == (None, "the aggregated pwrite QD1 method did not run")


# ---------------------------------------------------------------------------------------------- F3 driver
def test_alignment_sweep_rates_padding_and_the_mode_that_actually_ran(monkeypatch, tmp_path):
    """Stub clock at 0.25 s: GB/s = mix bytes / 0.25 / 1e9. The padding overhead is the file's size on disk
    (os.stat here) over the tensor bytes, minus 1; it cannot shrink as the alignment grows. An unaligned layout
    cannot run O_DIRECT, and a buffered request never does."""
    mix = mixes.many_small(12, lo=100, hi=9000, seed=2)
    seen = []

    def clock(fn, d):
        fn(d)
        size = sum(os.stat(p).st_size for p in Path(d).rglob("*") if p.is_file())
        seen.append(size)
        return 0.25, size

    monkeypatch.setattr(measure, "timed_write", clock)
    df = X.alignment_sweep(tmp_path, mix, repeats=1, warmup=0)
    assert len(df) == 8 and len(seen) == 8
    assert df["gbps"].tolist() == pytest.approx([mix.nbytes / 0.25 / 1e9] * 8)
    assert (df["padding_overhead"] == df["file_bytes"] / mix.nbytes - 1).all()
    over = df.groupby("alignment")["padding_overhead"].first()
    assert over["none"] < over["512B"] <= over["4KiB"] < over["1MiB"]
    assert over["1MiB"] * mix.nbytes >= (mix.count - 1) * (MiB - 9000)  # every tensor but one padded to 1 MiB
    assert (df.loc[df.requested == "buffered", "actual"] == "buffered").all()
    assert df.loc[(df.alignment == "none") & (df.requested == "O_DIRECT"), "actual"].item() == "buffered"
    if posix.o_direct_support(tmp_path)[0]:
        assert df.loc[(df.alignment == "4KiB") & (df.requested == "O_DIRECT"), "actual"].item() == "O_DIRECT"


# ---------------------------------------------------------------------------------------------- refusals, plan
def test_request_size_sweep_refuses_an_unknown_panel_and_an_empty_size_list_before_any_io(monkeypatch, tmp_path):
    monkeypatch.setattr(measure, "write_pattern", lambda *a, **k: pytest.fail("no I/O expected"))
    with pytest.raises(ValueError, match="unknown F1 panels"):
        X.request_size_sweep(tmp_path, (4 * KiB,), panels=("O_DIRECT, sideways",))
    with pytest.raises(ValueError, match="at least one request size"):
        X.request_size_sweep(tmp_path, ())
    assert list(tmp_path.iterdir()) == []


def test_corruption_detection_reports_a_fault_that_loads_without_error_as_undetected(monkeypatch, tmp_path):
    """A planted fault: a loader that never raises. Every row must then say 'not detected'."""
    calls = []
    monkeypatch.setattr(engine, "load", lambda p, **kw: calls.append(Path(p).name))
    df = X.corruption_detection(tmp_path)
    assert len(df) == 5 and not df["detected"].any() and calls == ["bad.ckpt"] * 5
    assert (df["error"] == "(loaded without error)").all()


@pytest.mark.parametrize("scale", ["smoke", "default", "paper"])
def test_every_plan_lets_every_throughput_claim_be_measured(scale):
    """f1_ratios needs 4 KiB, 64 KiB and 16 MiB and an O_DIRECT panel; the metadata claim needs the file-per-tensor
    (0) and one-file (None) buckets; no F1 size may exceed the total (request_size_sweep refuses it)."""
    p = X.plan(scale)
    assert {4 * KiB, 64 * KiB, 16 * MiB} <= set(p["f1_sizes"])
    assert any(X.F1_PANELS[q][0] for q in p["f1_panels"]) and set(p["f1_panels"]) <= set(X.F1_PANELS)
    assert max(p["f1_sizes"]) <= p["f1_max"] and p["f1_min"] <= p["f1_max"]
    assert 0 in p["f4_buckets"] and None in p["f4_buckets"]
    assert all(p[k] >= 1 for k in ("f1_repeats", "f2_repeats", "f3_repeats", "f4_repeats", "t1_repeats"))
    t = X.mixes_table(p)
    assert t.index.is_unique and p["t1_mix"].name in t.index


def test_plan_refuses_an_unknown_scale_naming_the_known_ones():
    with pytest.raises(ValueError, match="smoke, default, paper; got 'huge'"):
        X.plan("huge")


def test_environment_reports_free_space_in_gib_rounded_to_a_tenth(monkeypatch, tmp_path):
    class Det:
        def as_dict(self):
            return {"fs": "ext4", "free_bytes": 3 * GiB + GiB // 2 + GiB // 100}

    monkeypatch.setattr(posix, "detect", lambda d: Det())
    t = X.environment(tmp_path)
    assert t.loc["free_GiB", "value"] == 3.5 and "free_bytes" not in t.index
    assert t.loc["cpu_count", "value"] == os.cpu_count() and t.loc["fs", "value"] == "ext4"
    assert np.isfinite(t.loc["load_average_1min", "value"])


def test_a_peer_that_failed_once_is_not_run_again_in_later_rounds(monkeypatch, tmp_path):
    """Three rounds (one warm-up): the broken peer is tried in the first only, ours runs in all three."""
    pytest.importorskip("torch")
    from support.ckpt_io import peers

    calls = []

    def boom(tensors, d):
        calls.append(d)
        raise RuntimeError("boom")

    broken = peers.Peer("broken", boom, lambda d, like: {}, "raises on save")
    monkeypatch.setattr(peers, "all_peers", lambda include=None, ours_options=None: [peers.ours(), broken])
    t1 = X.end_to_end(tmp_path, mixes.many_small(4, seed=1), repeats=2, warmup=1, disk_limit=False)
    assert len(calls) == 1 and t1["engine"].tolist() == ["ours"] * 3
    assert list(tmp_path.iterdir()) == []
