"""Our engine: bitwise round trips on every I/O path, identical bytes across paths and runs, zero-copy
restore, random access, corruption always detected, crash safety with a killed writer."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from support.ckpt_io import engine, experiments, mixes, peers, posix, uring
from support.ckpt_io.format import CheckpointCorruptError, CheckpointError

torch = pytest.importorskip("torch")

PATHS = [  # (backend, coalesce, direct)
    ("uring", "stage", "auto"), ("uring", "iovec", False), ("uring", "per-tensor", "auto"),
    ("uring", "per-tensor", False), ("pwrite", "stage", "auto"), ("pwrite", "per-tensor", False),
    ("pwritev", "stage", False), ("pwritev", "iovec", False), ("threads", "stage", "auto"),
    ("threads", "per-tensor", False),
]


def _sha(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


@pytest.mark.parametrize("backend,coalesce,direct", PATHS)
def test_every_io_path_restores_bitwise_and_writes_identical_bytes(tmp_path, tensors, backend, coalesce, direct):
    if backend == "uring" and not uring.availability()[0]:
        pytest.skip(uring.availability()[1])
    ref = tmp_path / "ref.ckpt"
    engine.save(ref, tensors, backend="pwrite", coalesce="stage", direct=False, chunk_bytes=64 * 1024)
    p = tmp_path / "c.ckpt"
    st = engine.save(p, tensors, backend=backend, coalesce=coalesce, direct=direct, chunk_bytes=64 * 1024,
                     queue_depth=8)
    assert st.backend == backend and st.coalesce == coalesce
    assert _sha(p) == _sha(ref), "io_uring and POSIX paths must write the same bytes"
    for rb in ("pwrite", backend):
        ck = engine.load(p, backend=rb, chunk_bytes=64 * 1024, queue_depth=4)
        assert peers.bitwise_equal(tensors, ck.to_torch())
    assert sorted(x.name for x in tmp_path.iterdir()) == ["c.ckpt", "ref.ckpt"]


def test_same_seed_same_bytes_across_runs(tmp_path):
    r = experiments.determinism(tmp_path, mixes.llama2_7b_tp8(layers=1, hidden=512, ffn=1376, vocab=4000), seed=7)
    assert r["identical"], r
    assert r["paths"][1] == "pwrite buffered" and r["paths"][0] != r["paths"][1], r["paths"]
    a = mixes.materialize(mixes.many_small(8, seed=1), seed=1)
    b = mixes.materialize(mixes.many_small(8, seed=1), seed=2)
    assert not peers.bitwise_equal(a, b), "a different seed gives different tensors"


def test_restore_is_zero_copy_and_random_access_reads_one_tensor(tmp_path, tensors):
    p = tmp_path / "c.ckpt"
    engine.save(p, tensors)
    ck = engine.load(p)
    lo = posix.address(ck.buffer)
    hi = lo + ck.buffer.nbytes
    for k in tensors:
        t = ck.torch(k)
        if t.numel():
            assert lo <= t.data_ptr() < hi, f"{k} is a view into the loaded buffer"
    key = list(tensors)[17]
    x = engine.read_tensor(p, key, as_torch=True)
    assert peers.bitwise_equal({key: tensors[key]}, {key: x})
    np.testing.assert_array_equal(engine.read_tensor(p, "i8"), np.arange(-5, 6, dtype=np.int8))
    assert ck["f16"].dtype == np.float16 and ck["f16"].shape == (7, 1)


def test_restore_buffers_are_reused_after_release(tmp_path, tensors):
    p = tmp_path / "c.ckpt"
    engine.save(p, tensors)
    pool = posix.BufferPool()
    a = pool.lease(10_000)
    addr = posix.address(a)
    v = a[5:9]
    del a
    assert pool.cached_bytes == 0, "a live view keeps the lease"
    del v
    import gc

    gc.collect()
    assert pool.cached_bytes > 0
    assert posix.address(pool.lease(5_000)) == addr


FAULTS = ["truncated (last 4 KiB cut)", "truncated inside tensor data", "bit flip in tensor data",
          "bit flip in JSON header", "bit flip in superblock"]


def test_planted_truncation_and_bit_flips_raise_clear_errors(tmp_path):
    df = experiments.corruption_detection(tmp_path)
    assert list(df.fault) == FAULTS
    assert df.detected.all(), df
    msgs = dict(zip(df.fault, df.error))
    assert "truncated" in msgs["truncated (last 4 KiB cut)"]
    assert "truncated" in msgs["truncated inside tensor data"]
    assert "checksum mismatch in tensor" in msgs["bit flip in tensor data"]
    assert "header checksum" in msgs["bit flip in JSON header"]
    assert "superblock" in msgs["bit flip in superblock"]
    assert list(tmp_path.iterdir()) == []


def test_random_access_detects_a_flipped_tensor(tmp_path, tensors):
    p = tmp_path / "c.ckpt"
    engine.save(p, tensors)
    e = engine.read_header(p).entries["t00005"]
    with open(p, "r+b") as f:
        f.seek(e.offset)
        b = f.read(1)[0]
        f.seek(e.offset)
        f.write(bytes([b ^ 1]))
    with pytest.raises(CheckpointCorruptError, match="t00005"):
        engine.read_tensor(p, "t00005")
    engine.read_tensor(p, "t00006")  # the other tensors are still readable one by one


def test_random_access_survives_short_reads(tmp_path, tensors, monkeypatch):
    """POSIX lets read(2) return fewer bytes than asked (Linux moves at most 2 GiB - 4 KiB per call):
    a valid file read in 1000-byte pieces must still give the saved tensor, not a corruption error."""
    p = tmp_path / "c.ckpt"
    engine.save(p, tensors)
    key = max(tensors, key=lambda k: tensors[k].numel() * tensors[k].element_size())
    assert tensors[key].numel() * tensors[key].element_size() > 10_000
    real = os.preadv

    def short_preadv(fd, bufs, offset):
        first = memoryview(bufs[0]).cast("B")
        return real(fd, [first[:min(1000, first.nbytes)]], offset)

    monkeypatch.setattr(os, "preadv", short_preadv)
    x = engine.read_tensor(p, key, as_torch=True)
    assert peers.bitwise_equal({key: tensors[key]}, {key: x})


def test_killed_writer_leaves_previous_checkpoint_intact(tmp_path):
    r = experiments.crash_consistency(tmp_path)
    assert r["killed_mid_write"], "the writer must be killed while writing"
    assert r["previous_intact"] and r["ok"]
    assert r["temp_files_left"] == 1, "the killed writer's temporary file is the only trace"
    assert list(tmp_path.iterdir()) == []


def test_failing_writer_removes_its_temporary_file(tmp_path, tensors):
    p = tmp_path / "c.ckpt"
    engine.save(p, {"a": torch.ones(3)})

    def boom(i):
        if i == 2:
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        engine.save(p, tensors, chunk_bytes=4096, _on_request=boom)
    assert [x.name for x in tmp_path.iterdir()] == ["c.ckpt"]
    assert torch.equal(engine.load(p).torch("a"), torch.ones(3))


def test_aggregation_issues_few_large_requests(tmp_path):
    """Structural, not timing: the many-small mix is one request per tensor uncoalesced, a handful aggregated."""
    m = mixes.many_small(300, seed=0)
    t = mixes.materialize(m, 0)
    per = engine.save(tmp_path / "a.ckpt", t, coalesce="per-tensor", direct=False)
    agg = engine.save(tmp_path / "b.ckpt", t, coalesce="stage", chunk_bytes=16 << 20)
    assert per.requests == 300 + 2
    assert agg.requests <= -(-m.nbytes // (16 << 20)) + 1 + 2
    b = engine.save_buckets(tmp_path / "buckets", t, 0)
    assert b["files"] == 300 and b["metadata_ops"] == 1200
    assert peers.bitwise_equal(t, engine.load_buckets(tmp_path / "buckets"))


def test_per_tensor_o_direct_writes_one_request_per_tensor(tmp_path):
    """Uncoalesced means uncoalesced with O_DIRECT too (the halving claim's numerator): each tensor of at most
    the staging chunk is one request of its own, plus the header and superblock."""
    if not engine.direct_capability(tmp_path)[0]:
        pytest.skip("O_DIRECT is refused here")
    m = mixes.many_small(50, seed=0)
    st = engine.save(tmp_path / "a.ckpt", mixes.materialize(m, 0), coalesce="per-tensor", direct=True, backend="pwrite")
    assert st.direct and st.coalesce == "per-tensor"
    assert st.requests == 50 + 2


def test_io_uring_disabled_falls_back_to_posix(tmp_path, tensors, monkeypatch):
    monkeypatch.setattr(uring, "availability", lambda: (False, "kernel.io_uring_disabled = 2 (io_uring switched off)"))
    st = engine.save(tmp_path / "c.ckpt", tensors, queue_depth=4)
    assert st.backend == "threads"
    assert engine.save(tmp_path / "d.ckpt", tensors, queue_depth=1).backend == "pwrite"
    with pytest.raises(CheckpointError, match="io_uring requested but unavailable: kernel.io_uring_disabled"):
        engine.save(tmp_path / "e.ckpt", tensors, backend="uring")
    assert peers.bitwise_equal(tensors, engine.load(tmp_path / "c.ckpt").to_torch())


def test_no_o_direct_falls_back_to_buffered(tmp_path, tensors, monkeypatch):
    """tmpfs on older kernels (and some network file systems) refuse O_DIRECT: detected, never a crash."""
    real_open = os.open

    def fake_open(path, flags, *a, **k):
        if flags & os.O_DIRECT:
            raise OSError(22, "Invalid argument")
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(engine, "_ENV_CACHE", {})
    ok, why = posix.o_direct_support(tmp_path)
    assert not ok and "Invalid argument" in why
    st = engine.save(tmp_path / "c.ckpt", tensors, direct="auto")
    assert not st.direct
    with pytest.raises(CheckpointError, match="O_DIRECT requested but"):
        engine.save(tmp_path / "d.ckpt", tensors, direct=True)
    assert peers.bitwise_equal(tensors, engine.load(tmp_path / "c.ckpt").to_torch())


def test_environment_detection_never_raises_on_tmpfs():
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm")
    if posix.fs_type("/dev/shm") != "tmpfs":
        pytest.skip("/dev/shm is not a tmpfs here")
    env = posix.detect("/dev/shm")
    assert isinstance(env.o_direct, bool) and env.o_direct_reason  # refused before Linux 6.6, accepted since
    assert env.fs_type == "tmpfs" and env.fs_type in env.o_direct_reason


@pytest.mark.parametrize("qd", [True, 0, 2.0])
def test_queue_depth_must_be_a_real_positive_int(tmp_path, qd):
    t = {"a": torch.ones(3)}
    with pytest.raises(CheckpointError, match="queue_depth"):
        engine.save(tmp_path / "q.ckpt", t, queue_depth=qd)
    engine.save(tmp_path / "ok.ckpt", t)
    with pytest.raises(CheckpointError, match="queue_depth"):
        engine.load(tmp_path / "ok.ckpt", queue_depth=qd)
    assert not (tmp_path / "q.ckpt").exists()


@pytest.mark.parametrize("chunk", [True, 0, -4096, 2.0])
def test_chunk_size_must_be_a_real_positive_int_on_save_and_on_load(tmp_path, chunk):
    t = {"a": torch.ones(3)}
    with pytest.raises(CheckpointError, match="chunk_bytes"):
        engine.save(tmp_path / "c.ckpt", t, alignment="none", chunk_bytes=chunk)
    engine.save(tmp_path / "ok.ckpt", t)
    with pytest.raises(CheckpointError, match="chunk_bytes"):
        engine.load(tmp_path / "ok.ckpt", chunk_bytes=chunk)
    assert not (tmp_path / "c.ckpt").exists()


@pytest.mark.parametrize("bucket", [-1, True, 1.5])
def test_bad_bucket_size_raises_before_creating_the_directory(tmp_path, bucket):
    with pytest.raises(CheckpointError, match="bucket_bytes"):
        engine.save_buckets(tmp_path / "bk", {"a": torch.ones(3)}, bucket)
    assert not (tmp_path / "bk").exists()


def test_two_saves_at_once_each_write_their_own_bytes(tmp_path):
    """Both saves lease the process-wide staging pool of their (size, count): before, they staged into the same
    buffers at once, and every file failed its checksum on load (8 of 8 with pwrite at queue depth 1)."""
    import threading

    data = [{"x": np.full(8 << 20, i + 1, np.uint8)} for i in range(2)]
    errors = []

    def run(i):
        try:
            engine.save(tmp_path / f"r{i}.ckpt", data[i], chunk_bytes=1 << 20, queue_depth=1, backend="pwrite",
                        coalesce="stage", fsync=False)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    for _ in range(3):
        ts = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not errors, errors
        for i in range(2):
            assert (engine.load(tmp_path / f"r{i}.ckpt")["x"] == i + 1).all()


def test_a_big_endian_array_comes_back_with_its_values(tmp_path):
    """The header records the dtype's name only ('float32' for '>f4' too): the bytes came back swapped."""
    x = np.array([0.5, 1.5, 2.5], dtype=">f4")
    engine.save(tmp_path / "be.ckpt", {"x": x}, fsync=False)
    back = engine.load(tmp_path / "be.ckpt")["x"]
    assert back.tolist() == [0.5, 1.5, 2.5] and back.dtype.isnative


def test_a_failed_final_rename_leaves_no_temporary_copy(tmp_path):
    target = tmp_path / "ckpt"
    target.mkdir()  # the path is a directory: os.replace fails after the whole file was written
    with pytest.raises(OSError):
        engine.save(target, {"x": np.ones(1000, np.float32)}, fsync=False)
    assert list(tmp_path.iterdir()) == [target] and list(target.iterdir()) == []
