"""Refusals of the format, engine, measurement and mix helpers no other test reached: each bad input raises the
documented error naming what is wrong, before anything is written; and the two raw-request layouts nothing else
ran (a preallocated file, a cycled source) write exactly the bytes asked for."""

from __future__ import annotations

import os

import numpy as np
import pytest

from support.ckpt_io import engine, measure, mixes, peers, posix
from support.ckpt_io import format as F
from support.ckpt_io.uring import Request

KiB = 1 << 10


@pytest.mark.parametrize(("items", "match"), [
    ([("", "float32", [1], 4)], "keys must be non-empty strings"),
    ([("a", "float32", [1], 4), ("a", "int8", [2], 2)], "duplicate tensor key 'a'"),
    ([("a", "float32", [3, 2], 12)], r"a: 12 bytes do not match shape \[3, 2\] of float32"),  # 3*2*4 = 24
    ([("a", "float8", [1], 1)], "unsupported dtype 'float8'"),
])
def test_layout_plan_refuses_bad_keys_sizes_and_dtypes(items, match):
    with pytest.raises(F.CheckpointError, match=match):
        F.plan(items, 512)


def test_layout_plan_aligns_every_entry_and_the_end_by_hand():
    """alignment 512: data starts at align_up(64, 512) = 512; 'a' 24 B at 512, 'b' at 1024, end 1536."""
    lay = F.plan([("a", "float32", [3, 2], 24), ("b", "int8", [5], 5)], 512)
    assert [e.offset for e in lay.entries] == [512, 1024]
    assert lay.data_start == 512 and lay.data_end == 1536


def test_a_numpy_array_of_an_unsupported_dtype_is_refused():
    with pytest.raises(F.CheckpointError, match="unsupported dtype 'str96'"):
        F.as_bytes(np.array(["abc"]))


def _saved(tmp_path):
    p = tmp_path / "c.ckpt"
    engine.save(p, {"x": np.arange(300, dtype=np.float32)}, direct=False, backend="pwrite")
    return p, p.read_bytes()


def test_header_parse_refuses_a_short_superblock_and_a_file_shorter_than_recorded(tmp_path):
    _, raw = _saved(tmp_path)
    with pytest.raises(F.CheckpointCorruptError, match="truncated: 63 bytes, shorter than the 64-byte superblock"):
        F.parse_superblock(raw[:63], "c")
    _, _, hoff, hlen, fsize, _ = F.parse_superblock(raw[:64], "c")
    assert fsize == len(raw)
    with pytest.raises(F.CheckpointCorruptError, match=f"truncated: file has {len(raw) - 1} bytes, the superblock "
                                                        f"records {len(raw)}"):
        F.parse_header(raw[:64], raw[hoff:hoff + hlen], len(raw) - 1, "c")


def test_engine_refuses_a_bad_direct_value_a_non_mapping_and_a_missing_file(tmp_path):
    with pytest.raises(F.CheckpointError, match="direct must be True, False or 'auto'; got 'yes'"):
        engine.save(tmp_path / "a.ckpt", {"x": np.zeros(4, np.float32)}, direct="yes")
    with pytest.raises(F.CheckpointError, match="expected a mapping key -> tensor, got list"):
        engine.save(tmp_path / "b.ckpt", [np.zeros(4, np.float32)])
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        engine.load(tmp_path / "missing.ckpt")
    assert list(tmp_path.iterdir()) == []


def test_a_read_past_the_end_of_file_is_an_eof_error_not_a_short_buffer(tmp_path):
    p = tmp_path / "short.bin"
    p.write_bytes(b"z" * 100)
    buf = posix.aligned_buffer(4096)
    fd = os.open(p, os.O_RDONLY)
    try:
        with pytest.raises(EOFError, match="read hit end of file at offset 100"):
            posix.run_sync("read", fd, [Request(0, [(posix.address(buf), 200)], buf)])
        with pytest.raises(ValueError, match="unknown I/O backend 'aio'"):
            posix.run("aio", "read", fd, [])
    finally:
        os.close(fd)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        posix.detect(tmp_path / "nowhere")


def test_write_pattern_refuses_a_bad_layout_an_uncyclable_source_and_an_overwrite_of_nothing(tmp_path):
    src = posix.aligned_buffer(3 * KiB)
    p = tmp_path / "f.bin"
    with pytest.raises(ValueError, match="layout must be one of new, fallocate, overwrite"):
        measure.write_pattern(p, src, KiB, direct=False, backend="pwrite", queue_depth=1,
                             layout="append")
    with pytest.raises(ValueError, match="a source of 3072 B cannot be cycled in 2048-byte requests"):
        measure.write_pattern(p, src, 2 * KiB, direct=False, backend="pwrite", queue_depth=1, total=8 * KiB)
    with pytest.raises(FileNotFoundError, match="overwrite layout needs"):
        measure.write_pattern(p, src, KiB, direct=False, backend="pwrite", queue_depth=1, layout="overwrite")
    assert not p.exists()


def test_write_pattern_with_preallocation_cycles_the_source_into_exactly_total_bytes(tmp_path):
    """A 2 KiB source of bytes 0..255 cycled in 1 KiB requests to 5.5 KiB total (the last request a half one): the
    file is the source repeated 2.75 times (numpy tile as the oracle)."""
    src = posix.aligned_buffer(2 * KiB)
    src[:] = np.arange(2 * KiB) % 256
    p = tmp_path / "f.bin"
    t = measure.write_pattern(p, src, KiB, direct=False, backend="threads", queue_depth=2,
                              layout="fallocate", total=5 * KiB + 512)
    assert t > 0
    assert p.read_bytes() == np.tile(np.arange(2 * KiB) % 256, 3)[:5 * KiB + 512].astype(np.uint8).tobytes()


def test_files_under_a_file_is_that_file_and_fresh_dir_empties_an_old_one(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"1")
    assert measure.files_under(f) == [f]
    d = measure.fresh_dir(tmp_path, "run")
    (d / "old").write_bytes(b"2")
    assert list(measure.fresh_dir(tmp_path, "run").iterdir()) == []


def test_mix_shapes_must_split_over_tensor_parallel_ranks():
    with pytest.raises(ValueError, match="hidden=4096 is not divisible by tp=3"):
        mixes.llama2_7b_tp8(layers=1, tp=3)
    with pytest.raises(ValueError, match="ffn=100 is not divisible by tp=8"):
        mixes.gpt_neox_biased(layers=1, ffn=100)
    assert mixes.by_name("many-small", n=3).count == 3


def test_an_unknown_t1_engine_is_refused_naming_it():
    """(The first call imports every peer library: a few seconds once per session.)"""
    with pytest.raises(ValueError, match=r"unknown engines \['tensorstore'\]"):
        peers.all_peers(include=("tensorstore",))


def test_numpy_materialization_gives_the_same_bits_as_the_torch_one():
    """bfloat16 has no NumPy dtype: the NumPy tensors carry its raw uint16 bits."""
    torch = pytest.importorskip("torch")
    mix = mixes.Mix("three", (mixes.TensorSpec("b", (5,)), mixes.TensorSpec("h", (2, 3), "float16"),
                              mixes.TensorSpec("f", (4,), "float32")))
    a, t = mixes.materialize(mix, 4, as_torch=False), mixes.materialize(mix, 4)
    assert list(a) == list(t)
    for k in a:
        name = str(t[k].dtype).removeprefix("torch.")
        assert a[k].dtype.name == ("uint16" if name == "bfloat16" else name)  # bfloat16: its raw bits
        assert a[k].tobytes() == t[k].view(torch.uint8).numpy().tobytes()
    assert [a[k].dtype.name for k in a] == ["uint16", "float16", "float32"]
