"""The drivers that produce the measured tables (F1-F4, T1, the crash check) and the notebook's parameter
checks: each case runs with the engine, queue depth, layout, workload and comparison its label names."""

from __future__ import annotations

import pytest

from support.ckpt_io import engine, mixes, peers, uring
from support.ckpt_io import experiments as X
from support.ckpt_io.format import CheckpointError
from support.validate import ParameterError

torch = pytest.importorskip("torch")
KiB, MiB = 1 << 10, 1 << 20
NO_URING = "kernel.io_uring_disabled = 2 (io_uring switched off)"
BACKEND_OF_LABEL = {"POSIX pwrite": "pwrite", "io_uring": "uring", "pwrite threads": "threads"}


def _flip_one_bit(tensors: dict) -> dict:
    """A copy of ``tensors`` with the lowest bit of the first byte of the first tensor flipped."""
    out = {k: v.clone() for k, v in tensors.items()}
    first = next(iter(out.values()))
    first.view(-1).view(torch.uint8)[0] ^= 1
    return out


# ------------------------------------------------------------------------------------------ notebook parameters
@pytest.mark.parametrize("alignment,chunk_mib,queue_depth,match", [
    ("2KiB", 16, 4, "alignment"), (4096, 16, 4, "alignment"), ("4KiB", 0, 4, "chunk_mib"),
    ("4KiB", 1.5, 4, "chunk_mib"), ("4KiB", 16, 0, "queue_depth"), ("4KiB", 16, True, "queue_depth"),
    ("4KiB", 16, X.MAX_QUEUE_DEPTH + 1, "queue_depth"), ("4KiB", 2048, 4, r"chunk_mib .*2047")])
def test_check_parameters_rejects_a_bad_engine_parameter_naming_it(alignment, chunk_mib, queue_depth, match):
    with pytest.raises(ParameterError, match=match):
        X.check_parameters(alignment, chunk_mib, queue_depth)


def test_check_parameters_accepts_every_named_alignment():
    for a in ("none", "512B", "4KiB", "1MiB"):
        X.check_parameters(a, 1, 1)


def test_missing_target_dir_is_a_parameter_error_naming_it(tmp_path):
    with pytest.raises(ParameterError, match="target_dir .*does-not-exist"):
        X.scratch(tmp_path / "does-not-exist")


def test_end_to_end_raises_our_engines_own_error_instead_of_dropping_it(tmp_path):
    """"ours" is the subject of T1, not a peer: its failure must reach the user with the engine's message."""
    with pytest.raises(CheckpointError, match="alignment must be one of"):
        X.end_to_end(tmp_path, mixes.many_small(4, seed=1), repeats=1, warmup=0, include=("ours",),
                     ours_options={"alignment": "2KiB"}, disk_limit=False)


def test_end_to_end_raises_our_engines_own_error_under_whatever_label_it_runs(tmp_path):
    """The subject is named by the same label rule as peers.ours: a relabelled engine is still not a peer."""
    with pytest.raises(CheckpointError, match="alignment must be one of"):
        X.end_to_end(tmp_path, mixes.many_small(4, seed=1), repeats=1, warmup=0, include=("ours, 2 KiB",),
                     ours_options={"alignment": "2KiB", "label": "ours, 2 KiB"}, disk_limit=False)


# ------------------------------------------------------------------------------------------ F1
def _record_f1(monkeypatch, tmp_path, **kw) -> tuple[list[dict], object]:
    """Run F1 with write_pattern replaced by a recorder of how each case was asked to write."""
    calls = []

    def fake(path, src, size, *, direct, backend, queue_depth, ring=None, layout="new", total=None):
        calls.append({"file": path.name, "size": size, "direct": direct, "backend": backend, "qd": queue_depth,
                      "layout": layout, "ring": ring})
        return 0.01

    monkeypatch.setattr(X.measure, "write_pattern", fake)
    df = X.request_size_sweep(tmp_path, (4 * KiB, 64 * KiB), n_requests=4, min_total=1 * MiB, max_total=1 * MiB,
                              qds=(4, 32), repeats=1, warmup=0, **kw)
    return calls, df


@pytest.mark.parametrize("io_uring", [True, False])
def test_f1_runs_each_case_with_the_backend_and_queue_depth_its_label_names(monkeypatch, tmp_path, io_uring):
    if io_uring and not uring.availability()[0]:
        pytest.skip(uring.availability()[1])
    if not io_uring:
        monkeypatch.setattr(uring, "availability", lambda: (False, NO_URING))
    calls, df = _record_f1(monkeypatch, tmp_path)
    assert len(calls) == len(df) > 0
    for call, (_, row) in zip(calls, df.iterrows()):
        label = row["engine"]
        prefix, qd = label.rsplit(" QD", 1)
        assert call["backend"] == BACKEND_OF_LABEL[prefix] and call["qd"] == int(qd), label
        assert (call["ring"] is not None) == (call["backend"] == "uring"), label
        assert row["queue_depth"] == int(qd) and call["size"] == row["request_bytes"]
    labels = set(df["engine"])
    assert any(lab.startswith("io_uring") for lab in labels) == io_uring
    assert {"QD4", "QD32"} <= {lab.rsplit(" ", 1)[1] for lab in labels}


def test_f1_panels_write_with_the_mode_and_layout_they_name(monkeypatch, tmp_path):
    calls, df = _record_f1(monkeypatch, tmp_path)
    for call, (_, row) in zip(calls, df.iterrows()):
        direct, layout = X.F1_PANELS[row["mode"]]
        assert (call["direct"], call["layout"]) == (direct, layout), row["mode"]
        assert call["file"] == (".f1-old.bin" if layout == "overwrite" else ".f1-new.bin")


@pytest.mark.parametrize("sizes,min_total,max_total,match", [
    ((4 * KiB, 64 * MiB), 1 * MiB, 16 * MiB, "request size 67108864 B exceeds max_total"),
    ((4 * KiB,), 32 * MiB, 16 * MiB, "min_total .* must not exceed max_total")])
def test_f1_refuses_a_request_size_it_cannot_write_before_any_io(monkeypatch, tmp_path, sizes, min_total,
                                                                 max_total, match):
    """A size above max_total would write nothing and report 0 GB/s; refused before probing the directory."""
    def no_io(*a, **k):
        raise AssertionError("I/O before the sizes were checked")

    monkeypatch.setattr(X.posix, "o_direct_support", no_io)
    monkeypatch.setattr(X.measure, "write_pattern", no_io)
    with pytest.raises(ValueError, match=match):
        X.request_size_sweep(tmp_path, sizes, n_requests=16, min_total=min_total, max_total=max_total, qds=(32,),
                             repeats=1, panels=("buffered, new file",))
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------ F2
def _record_f2(monkeypatch, tmp_path, mix) -> list[dict]:
    """Run F2 with engine.save replaced by a recorder of the tensors and options of each write."""
    calls = []

    def fake(path, tensors, **opts):
        calls.append({"sizes": [t.numel() * t.element_size() for t in tensors.values()], "opts": opts})

    monkeypatch.setattr(engine, "direct_capability", lambda d: (True, 512))
    monkeypatch.setattr(engine, "save", fake)
    X.mix_vs_synthetic(tmp_path, [mix], repeats=1, warmup=0)
    return calls


def test_f2_synthetic_control_is_the_same_bytes_in_tensors_of_at_most_64_mib(monkeypatch, tmp_path):
    mix = mixes.many_small(40, seed=2)
    calls = _record_f2(monkeypatch, tmp_path, mix)
    real = [c["sizes"] for c in calls if len(c["sizes"]) == mix.count]
    synthetic = [c["sizes"] for c in calls if len(c["sizes"]) != mix.count]
    assert len(real) == len(synthetic) == len(X.F2_METHODS)
    for sizes in synthetic:
        assert sum(sizes) == mix.nbytes
        assert all(s == min(64 * MiB, mix.nbytes) for s in sizes[:-1]) and sizes[0] == min(64 * MiB, mix.nbytes)
    assert all(sum(s) == mix.nbytes for s in real)


def test_f2_aggregated_qd1_method_differs_from_per_tensor_qd1_only_in_coalescing(monkeypatch, tmp_path):
    """The aggregation_restores claim divides these two: queue depth and backend must be the same."""
    calls = _record_f2(monkeypatch, tmp_path, mixes.many_small(8, seed=2))
    per = [c["opts"] for c in calls if c["opts"].get("coalesce") == "per-tensor" and c["opts"]["direct"] is True
           and c["opts"]["queue_depth"] == 1]
    agg = [c["opts"] for c in calls if c["opts"].get("coalesce") == "stage" and c["opts"]["queue_depth"] == 1]
    assert per and agg
    assert {k: v for k, v in agg[0].items() if k != "coalesce"} == {k: v for k, v in per[0].items() if k != "coalesce"}
    assert agg[0]["backend"] == "pwrite"


def test_f2_labels_name_the_thread_pool_when_io_uring_is_unavailable(monkeypatch, tmp_path):
    monkeypatch.setattr(uring, "availability", lambda: (False, NO_URING))
    monkeypatch.setattr(engine, "direct_capability", lambda d: (True, 512))
    methods = X.f2_methods(tmp_path)
    assert len(methods) == len(X.F2_METHODS)
    for label, opts in methods.items():
        assert "io_uring" not in label and opts["backend"] != "uring", label
        if opts["backend"] == "threads":
            assert "threads" in label, label
        if "QD" in label:
            assert int(label.rsplit("QD", 1)[1]) == opts["queue_depth"], label
    assert "aggregated, O_DIRECT, pwrite threads QD4" in methods


# ------------------------------------------------------------------------------------------ F4
def test_f4_labels_count_the_files_each_granularity_writes(tmp_path):
    mix = mixes.many_small(6, seed=4)
    df = X.bucket_sweep(tmp_path, mix, buckets=(0, None), repeats=1, warmup=0)
    files = df.groupby("bucket")["files"].first()
    assert files["file per tensor"] == 6 and files["one file"] == 1
    ops = df.groupby("bucket")["metadata_ops"].first()
    assert ops["file per tensor"] == 24 and ops["one file"] == 4


# ------------------------------------------------------------------------------------------ T1 and the exact checks
def test_roundtrip_fails_when_an_engine_restores_a_flipped_bit(tmp_path, monkeypatch):
    def save(tensors, d):
        torch.save(tensors, d / "model.pt")

    def load(d, like):
        return _flip_one_bit(torch.load(d / "model.pt", weights_only=True))

    flipper = peers.Peer("flipper", save, load, "restores one bit wrong")
    monkeypatch.setattr(peers, "all_peers", lambda include=None, ours_options=None: [peers.ours(), flipper])
    t1 = X.end_to_end(tmp_path, mixes.many_small(8, seed=1), repeats=1, warmup=0, disk_limit=False)
    ok, note = X.roundtrip_check(t1, X.t1_table(t1), "many-small-8")
    assert ok is False and "not bitwise equal: flipper" in note


def test_crash_check_fails_when_the_path_does_not_load_as_the_previous_checkpoint(tmp_path, monkeypatch):
    real_load = engine.load

    class Altered:
        def __init__(self, ck):
            self.ck = ck

        def to_torch(self):
            return _flip_one_bit(self.ck.to_torch())

    monkeypatch.setattr(engine, "load", lambda p, **kw: Altered(real_load(p, **kw)))
    r = X.crash_consistency(tmp_path, seed=0, timeout=60)
    assert r["killed_mid_write"] and r["previous_intact"] is False and r["ok"] is False


def test_disk_limit_rate_counts_the_bytes_its_whole_16_mib_requests_wrote(tmp_path, monkeypatch):
    """The disk-limit case writes the mix's bytes rounded up to whole 16 MiB requests: a mix under 16 MiB is one
    16,777,216-byte request, so at a (stubbed) 0.5 s its rate is 16,777,216 / 0.5 s = 0.0336 GB/s, not the mix's
    own byte count over that time."""
    from support.ckpt_io import measure

    mix = mixes.many_small(8, seed=1)
    assert mix.nbytes < 16 * MiB
    written = []

    def stub(path, src, size, *, total, **kw):
        written.append((size, total))
        return 0.5

    monkeypatch.setattr(measure, "write_pattern", stub)
    df = X.end_to_end(tmp_path, mix, repeats=1, warmup=0, include=())
    assert written == [(16 * MiB, 16 * MiB)]
    assert df.loc[df.engine == "disk limit", "write_gbps"].tolist() == [pytest.approx(16 * MiB / 0.5 / 1e9)]
