"""Bucketed checkpoints never mix a stale file into a restore, their metadata-operation count is what save did,
and a save whose io_uring setup fails leaves neither a temporary file nor an open descriptor behind."""

from __future__ import annotations

import errno
import os

import pytest

from support.ckpt_io import engine, peers, uring
from support.ckpt_io.format import CheckpointError

torch = pytest.importorskip("torch")


def _three():
    return {"a": torch.ones(4), "b": torch.arange(6, dtype=torch.int32), "c": torch.full((3,), 7.0)}


def test_save_buckets_refuses_a_folder_that_already_holds_files(tmp_path):
    # 3 one-tensor buckets, then a re-save as one bucket: it would leave bucket-1 and bucket-2 behind, and a
    # restore would merge their stale tensors over the new ones
    d = tmp_path / "bk"
    assert engine.save_buckets(d, _three(), 0)["files"] == 3
    before = {p.name: p.stat().st_mtime_ns for p in d.iterdir()}
    new = {k: v + 1 for k, v in _three().items()}
    with pytest.raises(CheckpointError, match=r"save_buckets needs an empty directory: .*bk.* holds 3 entries"):
        engine.save_buckets(d, new, 1 << 20)
    assert {p.name: p.stat().st_mtime_ns for p in d.iterdir()} == before  # nothing written or removed
    assert peers.bitwise_equal(_three(), engine.load_buckets(d))


def test_save_buckets_writes_into_a_new_or_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    for d in (tmp_path / "empty", tmp_path / "new" / "nested"):
        assert engine.save_buckets(d, _three(), 1 << 20)["files"] == 1
        assert peers.bitwise_equal(_three(), engine.load_buckets(d))


def test_load_buckets_refuses_a_key_saved_twice(tmp_path):
    # two bucket files both holding "b": merging would silently keep whichever sorts last
    engine.save(tmp_path / "bucket-000000.ckpt", {"a": torch.ones(2), "b": torch.zeros(2)})
    engine.save(tmp_path / "bucket-000001.ckpt", {"b": torch.ones(2), "c": torch.ones(1)})
    with pytest.raises(CheckpointError, match=r"tensor 'b' is in both .*bucket-000000\.ckpt.* and "
                                              r".*bucket-000001\.ckpt"):
        engine.load_buckets(tmp_path)


def _count_metadata_calls(monkeypatch) -> dict:
    """Spy on the calls that change or persist directory metadata: file creates, fsyncs, renames."""
    calls = {"create": 0, "fsync": 0, "rename": 0}
    real_open, real_fsync, real_replace = os.open, os.fsync, os.replace

    def spy_open(path, flags, *a, **k):
        calls["create"] += bool(flags & os.O_CREAT)
        return real_open(path, flags, *a, **k)

    def spy_fsync(fd):
        calls["fsync"] += 1
        return real_fsync(fd)

    def spy_replace(src, dst, *a, **k):
        calls["rename"] += 1
        return real_replace(src, dst, *a, **k)

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    return calls


@pytest.mark.parametrize(("fsync", "per_file"), [(True, 4), (False, 2)])
def test_bucket_metadata_ops_count_what_save_did(tmp_path, monkeypatch, fsync, per_file):
    # per file: create + rename, and with fsync also the file's and the directory's fsync
    d = tmp_path / "bk"
    d.mkdir()
    engine.direct_capability(d)  # probe O_DIRECT (it creates files) before the spies count
    calls = _count_metadata_calls(monkeypatch)
    b = engine.save_buckets(d, _three(), 0, fsync=fsync)
    assert b["files"] == 3
    assert b["metadata_ops"] == sum(calls.values()) == 3 * per_file
    assert calls["rename"] == calls["create"] == 3


def test_save_whose_ring_setup_fails_leaves_no_temporary_file_or_descriptor(tmp_path, monkeypatch):
    def no_memory(*a, **k):
        raise OSError(errno.ENOMEM, "Cannot allocate memory")

    monkeypatch.setattr(uring, "availability", lambda: (True, "stubbed"))
    monkeypatch.setattr(uring, "Ring", no_memory)
    engine.direct_capability(tmp_path)
    fds = set(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError, match="Cannot allocate memory"):
        engine.save(tmp_path / "c.ckpt", _three(), backend="uring")
    assert list(tmp_path.iterdir()) == []
    assert set(os.listdir("/proc/self/fd")) <= fds  # no new descriptor (one leaked earlier may close meanwhile)


@pytest.mark.parametrize(("bucket_bytes", "files"), [(40, [["a", "b"], ["c"]]), (39, [["a"], ["b", "c"]]),
                                                     (52, [["a", "b", "c"]]), (28, [["a"], ["b"], ["c"]])])
def test_a_bucket_holds_tensors_up_to_exactly_bucket_bytes(tmp_path, bucket_bytes, files):
    """a, b, c are 16, 24 and 12 bytes (4 float32, 6 int32, 3 float32): with 40-byte buckets a + b = 40 fills the
    first bucket exactly and c starts the second; with 39, 16 + 24 > 39 puts b in a new bucket that c then joins
    (24 + 12 = 36); 52 (the total) takes all three in one; with 28 every tensor goes alone (16 + 24, 24 + 12 > 28)."""
    d = tmp_path / "bk"
    r = engine.save_buckets(d, _three(), bucket_bytes)
    assert r["files"] == len(files)
    assert [sorted(engine.load(p)) for p in r["paths"]] == files
