"""The functions that turn measured rows into claim values, on hand-made tables whose medians are known:
a warm-up row with an absurd value in every case must be ignored, and each ratio must come out as the
hand-computed quotient of the right two medians."""

from __future__ import annotations

import math
import os

import pandas as pd
import pytest

from support.ckpt_io import experiments as X
from support.ckpt_io import mixes, peers, uring
from support.ckpt_io.claims import CLAIMS

KiB, MiB = 1 << 10, 1 << 20
QD1 = "POSIX pwrite QD1"


def _rows(key: dict, measured: list[float], value: str = "gbps") -> list[dict]:
    """One warm-up row (value 1000, must be ignored) and one row per measured value."""
    return [{**key, "warmup": True, value: 1000.0}] + [{**key, "warmup": False, value: v} for v in measured]


def _f1(panel: str = "O_DIRECT, overwrite", scale: float = 1.0) -> pd.DataFrame:
    med = {  # (size, engine) -> measured values; medians in the comments
        (4 * KiB, QD1): [1, 2, 9],                    # 2
        (4 * KiB, "io_uring QD4"): [40, 50, 60],      # 50: QD < 32, must not count
        (4 * KiB, "io_uring QD32"): [10, 10, 10],     # 10
        (4 * KiB, "io_uring QD128"): [16, 15, 17],    # 16 -> uring_qd_4k = 16 / 2 = 8
        (64 * KiB, QD1): [5, 4, 6],                   # 5
        (64 * KiB, "io_uring QD4"): [90, 90, 90],
        (64 * KiB, "io_uring QD32"): [20, 19, 21],    # 20 -> uring_qd_64k = 20 / 5 = 4
        (64 * KiB, "io_uring QD128"): [15, 15, 15],
        (16 * MiB, QD1): [100, 80, 120],              # 100 -> direct_4k_over_16m = 2 / 100
        (16 * MiB, "io_uring QD32"): [1, 1, 1],
    }
    rows = []
    for (size, eng), vals in med.items():
        qd = 1 if eng == QD1 else int(eng.rsplit("QD", 1)[1])
        rows += _rows({"mode": panel, "request_bytes": size, "engine": eng, "queue_depth": qd},
                      [v * scale for v in vals])
    return pd.DataFrame(rows)


def test_f1_ratios_use_qd1_medians_and_the_best_queue_depth_of_at_least_32():
    r = X.f1_ratios(_f1())
    assert r["direct_4k_over_16m"] == pytest.approx(2 / 100)
    assert r["uring_qd_4k"] == pytest.approx(16 / 2)
    assert r["uring_qd_64k"] == pytest.approx(20 / 5)
    assert X.f1_ratios(_f1(), "O_DIRECT, new file") == {}


F2_PER, F2_PER_QD32 = "per-tensor, O_DIRECT, pwrite QD1", "per-tensor, O_DIRECT, io_uring QD32"
F2_AGG1, F2_AGG = "aggregated, O_DIRECT, pwrite QD1", "aggregated, O_DIRECT, io_uring QD4"
F2_PER_BUF, F2_AGG_BUF = "per-tensor, buffered, pwrite QD1", "aggregated, buffered, io_uring writev"


def _f2(agg: str = F2_AGG) -> pd.DataFrame:
    """Medians: realistic per 1, QD32 2, aggregated QD1 2.4, aggregated ``agg`` 3; synthetic per 4,
    aggregated QD1 5, aggregated ``agg`` 6 (one synthetic tensor, 160 realistic ones)."""
    med = {
        ("realistic", F2_PER): [1, 0.5, 1.5], ("realistic", F2_PER_QD32): [2, 2, 2],
        ("realistic", F2_AGG1): [2.4, 2.3, 2.5], ("synthetic uniform", F2_AGG1): [5, 4, 6],
        ("realistic", agg): [3, 2, 4], ("synthetic uniform", F2_PER): [4, 3, 5],
        ("synthetic uniform", F2_PER_QD32): [7, 7, 7], ("synthetic uniform", agg): [6, 6, 7],
        ("realistic", F2_PER_BUF): [0.9, 0.9, 0.9], ("synthetic uniform", F2_PER_BUF): [3, 3, 3],
        ("realistic", F2_AGG_BUF): [8, 8, 8], ("synthetic uniform", F2_AGG_BUF): [9, 9, 9],
    }
    rows = []
    for (wl, meth), vals in med.items():
        rows += _rows({"mix": "m", "workload": wl, "method": meth, "tensors": 160 if wl == "realistic" else 1}, vals)
    return pd.DataFrame(rows)


def test_f2_ratios_divide_realistic_by_synthetic_per_tensor_qd1_writes():
    r = X.f2_ratios(_f2(), "m", "O_DIRECT")
    assert r["per_tensor_over_synthetic"] == pytest.approx(1 / 4)
    assert r["aggregated_method"] == F2_AGG1 and r["queued_method"] == F2_AGG
    assert r["aggregated_over_synthetic"] == pytest.approx(2.4 / 4)
    assert r["aggregated_over_synthetic_aggregated"] == pytest.approx(2.4 / 5)
    assert r["queued_over_synthetic"] == pytest.approx(3 / 4)
    assert r["queued_over_synthetic_aggregated"] == pytest.approx(3 / 6)
    assert r["synthetic_gbps"] == pytest.approx(4)
    assert X.f2_ratios(_f2(), "m", "buffered")["per_tensor_over_synthetic"] == pytest.approx(0.9 / 3)


def test_f2_table_puts_realistic_over_synthetic_per_method_in_method_order():
    t = X.f2_table(_f2())
    assert t.loc[("m", F2_PER), "realistic / synthetic"] == pytest.approx(1 / 4)
    assert t.loc[("m", F2_AGG1), "realistic / synthetic"] == pytest.approx(2.4 / 5)
    assert t.loc[("m", F2_AGG), "realistic / synthetic"] == pytest.approx(3 / 6)
    assert [m for _, m in t.index] == list(X.F2_METHODS)


def test_aggregation_restores_divides_aggregated_qd1_by_the_halving_denominator():
    """Only coalescing differs between numerator and denominator; the queued method's ratios stay in the note."""
    t1 = _t1()
    v = X.claim_values(_f1(), _f2(), "m", _f4(), t1, X.t1_table(t1))
    value, note = v["aggregation_restores"]
    assert value == pytest.approx(2.4 / 4)
    assert "also aggregated at QD1 (5.00 GB/s): 0.48" in note
    assert f"{F2_AGG}: 0.75 over the per-tensor synthetic, 0.50 over the synthetic written the same way" in note
    assert "1 tensor(s) of at most 64 MiB" in v["halving"][1]


def test_f2_ratios_name_the_thread_pool_method_when_io_uring_did_not_run():
    threads = "aggregated, O_DIRECT, pwrite threads QD4"
    r = X.f2_ratios(_f2(agg=threads), "m", "O_DIRECT")
    assert r["queued_method"] == threads and r["queued_over_synthetic"] == pytest.approx(3 / 4)
    t1 = _t1()
    note = X.claim_values(_f1(), _f2(agg=threads), "m", _f4(), t1, X.t1_table(t1))["aggregation_restores"][1]
    assert threads in note and "io_uring" not in note


def _f4() -> pd.DataFrame:
    rows = []
    for name, files, vals in (("file per tensor", 48, [0.1, 0.2, 0.05]), ("1 MiB", 5, [0.5, 0.5, 0.5]),
                              ("one file", 1, [0.8, 0.7, 0.9])):
        rows += _rows({"bucket": name, "bucket_bytes": None, "files": files}, vals)
    return pd.DataFrame(rows)


def _t1() -> pd.DataFrame:
    """Write medians: ours 2, torch.save 0.5, DataStates-style 1, its O_DIRECT variant 1.6, disk limit 2.5;
    read medians: ours 3, torch.save 1.5, DataStates-style 4."""
    spec = {"ours": ([2, 1.8, 2.2], [3, 3, 3]), "torch.save": ([0.5, 0.4, 0.6], [1.5, 1.5, 1.5]),
            "DataStates-style": ([1, 1, 1.1], [4, 4, 4]), "DataStates-style O_DIRECT": ([1.6] * 3, [2] * 3),
            "disk limit": ([2.5, 2.4, 2.6], [math.nan] * 3)}
    rows = []
    for eng, (w, rd) in spec.items():
        rows.append({"engine": eng, "warmup": True, "write_gbps": 1000.0, "read_gbps": 1000.0, "files": 1,
                     "bitwise_equal": eng != "disk limit" or math.nan})
        rows += [{"engine": eng, "warmup": False, "write_gbps": a, "read_gbps": b, "files": 1}
                 for a, b in zip(w, rd)]
    df = pd.DataFrame(rows)
    df.attrs["unavailable"] = {"torchsnapshot": "torchsnapshot is not installed"}
    df.attrs["failed"] = {}
    return df


def test_t1_table_ratio_column_is_ours_over_each_engine():
    tab = X.t1_table(_t1())
    assert tab.loc["torch.save", "ours / engine (write)"] == pytest.approx(2 / 0.5)
    assert tab.loc["DataStates-style", "ours / engine (write)"] == pytest.approx(2 / 1)
    assert tab.loc["DataStates-style", "ours / engine (read)"] == pytest.approx(3 / 4)
    assert tab.loc["ours", "ours / engine (write)"] == pytest.approx(1)
    assert list(tab.index) == ["torch.save", "DataStates-style", "DataStates-style O_DIRECT", "ours", "disk limit"]


def test_claim_values_compute_every_throughput_claim_from_the_right_medians():
    f1 = pd.concat([_f1(), _f1("O_DIRECT, new file", scale=0.5)], ignore_index=True)
    f1.loc[(f1["mode"] == "O_DIRECT, new file") & (f1.request_bytes == 4 * KiB) & (f1.engine == QD1), "gbps"] *= 2
    t1 = _t1()
    v = X.claim_values(f1, _f2(), "m", _f4(), t1, X.t1_table(t1))
    assert v["direct_4k_vs_16m"][0] == pytest.approx(0.02) and "overwrite" in v["direct_4k_vs_16m"][1]
    assert v["uring_qd_4k"][0] == pytest.approx(8) and "new-file panel: 4" in v["uring_qd_4k"][1]
    assert v["uring_qd_64k"][0] == pytest.approx(4)
    assert v["halving"][0] == pytest.approx(0.25) and "buffered + fsync: 0.30" in v["halving"][1]
    assert v["aggregation_restores"][0] == pytest.approx(2.4 / 4) and ": 0.48" in v["aggregation_restores"][1]
    assert v["metadata_reduction"][0] == pytest.approx(0.8 / 0.1) and "48 files vs 1" in v["metadata_reduction"][1]
    assert v["vs_datastates"][0] == pytest.approx(2) and "O_DIRECT (1.60 GB/s): 1.25x" in v["vs_datastates"][1]
    assert v["vs_torch_save"][0] == pytest.approx(4)
    assert v["vs_torchsnapshot"] == (None, "torchsnapshot is not installed")
    assert v["disk_fraction"][0] == pytest.approx(2 / 2.5)


def test_claim_values_find_our_engine_under_the_name_peers_ours_label_gives(monkeypatch):
    """One rule names T1's subject (peers.ours_label): relabelled there, the same rows give the same claims."""
    t1 = _t1()
    want = X.claim_values(_f1(), _f2(), "m", _f4(), t1, X.t1_table(t1))
    monkeypatch.setattr(peers, "ours_label", lambda options=None: "ours, relabelled")
    t1["engine"] = t1["engine"].replace("ours", "ours, relabelled")
    tab = X.t1_table(t1)
    assert tab.loc["torch.save", "ours / engine (write)"] == pytest.approx(2 / 0.5)
    assert X.claim_values(_f1(), _f2(), "m", _f4(), t1, tab) == want


def test_t1_table_refuses_an_engine_it_does_not_know_naming_it():
    t1 = _t1()
    t1["engine"] = t1["engine"].replace("ours", "ours, 2 KiB")  # ours run under a label no T1 path uses
    with pytest.raises(ValueError, match=r"\['ours, 2 KiB'\] are not T1 engines"):
        X.t1_table(t1)


def test_claim_values_fall_back_to_the_new_file_panel_without_an_overwrite_panel():
    t1 = _t1()
    v = X.claim_values(_f1("O_DIRECT, new file"), _f2(), "m", _f4(), t1, X.t1_table(t1))
    assert v["uring_qd_4k"][0] == pytest.approx(8) and v["uring_qd_4k"][1].startswith("new file")


def test_io_uring_claims_are_not_applicable_when_a_thread_pool_ran_in_its_place(monkeypatch):
    """F1 with io_uring unavailable runs "pwrite threads QDq": not what the claims name, so no value."""
    why = "kernel.io_uring_disabled = 2 (io_uring switched off)"
    monkeypatch.setattr(uring, "availability", lambda: (False, why))
    f1 = _f1()
    f1["engine"] = f1["engine"].str.replace("io_uring", "pwrite threads")
    t1 = _t1()
    v = X.claim_values(f1, _f2(), "m", _f4(), t1, X.t1_table(t1))
    for name in ("uring_qd_4k", "uring_qd_64k"):
        assert v[name][0] is None and why in v[name][1] and "thread pool" in v[name][1]
    assert v["direct_4k_vs_16m"][0] == pytest.approx(2 / 100)
    assert "uring_qd_4k" not in X.f1_ratios(f1)


def test_disk_fraction_and_the_peer_ratios_get_no_verdict_at_smoke():
    """One T1 round without warm-up at smoke: every ratio read from it is judged at default and paper only."""
    for name in ("disk_fraction", "vs_datastates", "vs_torchsnapshot", "vs_torch_save"):
        assert CLAIMS[name].scales == ("default", "paper"), name


# ------------------------------------------------------------------------------------------ roundtrip claim
def test_roundtrip_fails_when_an_installed_engine_raised():
    t1 = _t1()
    assert X.roundtrip_check(t1, X.t1_table(t1), "mix") == (True, "4 engines on mix")
    t1.attrs["failed"] = {"torch DCP": "RuntimeError: boom"}
    ok, note = X.roundtrip_check(t1, X.t1_table(t1), "mix")
    assert ok is False and "installed but failed: torch DCP (RuntimeError: boom)" in note


def test_roundtrip_fails_when_a_restore_is_not_bitwise_equal():
    t1 = _t1()
    t1.loc[(t1.engine == "torch.save") & t1.warmup, "bitwise_equal"] = False
    ok, note = X.roundtrip_check(t1, X.t1_table(t1), "mix")
    assert ok is False and "not bitwise equal: torch.save" in note


def test_end_to_end_reports_an_engine_that_raises_as_failed_not_unavailable(tmp_path, monkeypatch):
    pytest.importorskip("torch")

    def boom(tensors, d):
        raise RuntimeError("boom")

    broken = peers.Peer("broken", boom, lambda d, like: {}, "raises on save")
    monkeypatch.setattr(peers, "all_peers", lambda include=None, ours_options=None: [peers.ours(), broken])
    t1 = X.end_to_end(tmp_path, mixes.many_small(8, seed=1), repeats=1, warmup=0, disk_limit=False)
    assert set(t1.engine) == {"ours"} and "boom" in t1.attrs["failed"]["broken"]
    ok, note = X.roundtrip_check(t1, X.t1_table(t1), "many-small-8")
    assert ok is False and "broken" in note


def test_every_throughput_claim_is_not_applicable_on_a_ram_file_system_with_the_value_kept(monkeypatch):
    """On tmpfs (the default /tmp of several distributions; O_DIRECT works there since Linux 6.6) the ratios measure
    memory: each claim of claim_values reads None with the reason, the measured value and its note kept."""
    monkeypatch.setattr(X.posix, "fs_type", lambda d: "tmpfs")
    why = X.memory_target("/anywhere")
    assert why.startswith("the target directory is on tmpfs (memory, not a storage device)")
    t1 = _t1()
    plain = X.claim_values(_f1(), _f2(), "m", _f4(), t1, X.t1_table(t1))
    v = X.claim_values(_f1(), _f2(), "m", _f4(), t1, X.t1_table(t1), memory=why)
    assert set(v) == set(plain) and all(value is None for value, _ in v.values())
    assert v["halving"][1] == f"{why}; measured 0.25 ({plain['halving'][1]})"
    assert v["vs_torchsnapshot"][1] == f"{why}; torchsnapshot is not installed"  # nothing measured: the old reason
    monkeypatch.setattr(X.posix, "fs_type", lambda d: "ext4")
    assert X.memory_target("/anywhere") is None


def test_fs_type_names_dev_shm_tmpfs_as_stat_does():
    """The oracle is coreutils' stat -f (statfs's magic number), not /proc/mounts, which fs_type reads."""
    import shutil
    import subprocess

    if not os.path.isdir("/dev/shm") or shutil.which("stat") is None:
        pytest.skip("no /dev/shm or no stat here")
    kind = subprocess.run(["stat", "-f", "-c", "%T", "/dev/shm"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert (X.memory_target("/dev/shm") is not None) == (kind in ("tmpfs", "ramfs"))
