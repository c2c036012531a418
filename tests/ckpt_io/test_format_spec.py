"""The file format, read by an independent parser written here from the spec in format.py's docstring:
superblock, aligned tensor regions, JSON header, checksums with known-answer vectors."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest

from support.ckpt_io import engine
from support.ckpt_io import format as F


def test_checksums_match_known_answer_vectors():
    assert F.checksum(b"123456789", 0, "crc32") == 0xCBF43926  # CRC-32 (ISO-HDLC) check value
    assert F.checksum(b"123456789", 0, "crc32c") == 0xE3069283  # CRC-32C (Castagnoli) check value
    # running checksums compose
    assert F.checksum(b"6789", F.checksum(b"12345", 0, "crc32c"), "crc32c") == 0xE3069283


def _independent_parse(path):
    raw = path.read_bytes()
    magic, version, _flags, align, data_start, hoff, hlen, fsize, hcrc = struct.unpack_from("<8sIIQQQQQI", raw)
    assert magic == b"CKPTIO\x00\x01" and version == 1
    assert struct.unpack_from("<I", raw, 60)[0] == zlib.crc32(raw[:60])
    assert len(raw) == fsize
    header = raw[hoff:hoff + hlen]
    assert zlib.crc32(header) == hcrc
    return raw, align, data_start, hoff, json.loads(header)


@pytest.mark.parametrize("alignment", ["none", "512B", "4KiB", "1MiB"])
def test_layout_is_block_aligned_and_padding_is_zero(tmp_path, tensors, alignment):
    p = tmp_path / "c.ckpt"
    engine.save(p, tensors, alignment=alignment, direct=False)
    raw, align, data_start, hoff, doc = _independent_parse(p)
    assert align == F.ALIGNMENTS[alignment]
    assert data_start == max(align, 64) and hoff % align == 0 and len(raw) % align == 0
    used = np.zeros(len(raw), bool)
    used[:64] = True
    for t in doc["tensors"]:
        assert t["offset"] % align == 0
        used[t["offset"]:t["offset"] + t["nbytes"]] = True
        data = raw[t["offset"]:t["offset"] + t["nbytes"]]
        assert F.checksum(data, 0, doc["checksum"]) == t["checksum"]
        src = tensors[t["key"]]
        assert data == src.contiguous().reshape(-1).view(__import__("torch").uint8).numpy().tobytes()
    used[hoff:hoff + len(json.dumps(doc, sort_keys=True, separators=(",", ":")))] = True
    gaps = np.frombuffer(raw, np.uint8)[~used]
    assert not gaps.any(), "padding must be zeros (deterministic files)"
    assert [t["key"] for t in doc["tensors"]] == list(tensors)


def test_header_only_parse_reads_no_tensor_data(tmp_path, tensors, monkeypatch):
    p = tmp_path / "c.ckpt"
    engine.save(p, tensors)
    h = engine.read_header(p)
    assert list(h.entries) == list(tensors)
    e = h.entries["f16"]
    assert (e.dtype, e.shape, e.nbytes) == ("float16", (7, 1), 14)
    # header-only: the data region can be garbage (zeroed) and the header still parses
    raw = bytearray(p.read_bytes())
    raw[h.data_start:h.header_offset] = bytes(h.header_offset - h.data_start)
    q = tmp_path / "zeroed.ckpt"
    q.write_bytes(bytes(raw))
    assert engine.read_header(q).entries == h.entries


@pytest.mark.parametrize("bad", [3, 0, -4096, "2KiB", 4096.0, True])
def test_bad_alignment_is_one_clear_error(tmp_path, tensors, bad):
    with pytest.raises(F.CheckpointError, match="alignment"):
        engine.save(tmp_path / "x.ckpt", tensors, alignment=bad)
    assert list(tmp_path.iterdir()) == []


def test_bad_inputs_name_the_problem(tmp_path, tensors):
    with pytest.raises(F.CheckpointError, match="'bad'.*expected a torch.Tensor"):
        engine.save(tmp_path / "x.ckpt", {**tensors, "bad": [1, 2, 3]})
    with pytest.raises(F.CheckpointError, match="does not exist"):
        engine.save(tmp_path / "nope" / "x.ckpt", tensors)
    with pytest.raises(F.CheckpointError, match="queue_depth"):
        engine.save(tmp_path / "x.ckpt", tensors, queue_depth=0)
    with pytest.raises(F.CheckpointError, match="coalesce"):
        engine.save(tmp_path / "x.ckpt", tensors, coalesce="sometimes")
    with pytest.raises(F.CheckpointError, match="backend"):
        engine.save(tmp_path / "x.ckpt", tensors, backend="aio")
    with pytest.raises(F.CheckpointError, match="iovec"):
        engine.save(tmp_path / "x.ckpt", tensors, coalesce="iovec", direct=True)
    with pytest.raises(F.CheckpointError, match="O_DIRECT needs alignment"):
        engine.save(tmp_path / "x.ckpt", tensors, alignment="none", direct=True)
    assert list(tmp_path.iterdir()) == [], "nothing half-written is left behind"
    engine.save(tmp_path / "ok.ckpt", tensors)
    with pytest.raises(F.CheckpointError, match="no tensor 'missing'"):
        engine.read_tensor(tmp_path / "ok.ckpt", "missing")
    with pytest.raises(F.CheckpointCorruptError, match="not a ckpt_io checkpoint"):
        (tmp_path / "junk.ckpt").write_bytes(b"PK\x03\x04" + bytes(200))
        engine.load(tmp_path / "junk.ckpt")


def test_trailing_bytes_after_the_recorded_file_size_are_refused(tmp_path, tensors):
    """A file longer than the size its superblock records (e.g. a torn overwrite of a longer old file) is corrupt:
    load and the header-only read both refuse it instead of returning data."""
    p = tmp_path / "c.ckpt"
    engine.save(p, tensors)
    with open(p, "ab") as f:
        f.write(b"\x00" * 4096)
    with pytest.raises(F.CheckpointCorruptError, match="trailing bytes"):
        engine.load(p)
    with pytest.raises(F.CheckpointCorruptError, match="trailing bytes"):
        engine.read_header(p)


def _hand_built(offset: int, nbytes: int, align: int = 4096) -> tuple[bytes, bytes, int]:
    """Superblock, JSON header and file size of a one-tensor checkpoint built here with struct and zlib from the
    documented layout: data region [align, 2 * align), header at 2 * align, file 3 * align bytes."""
    doc = {"format": "ckpt_io", "version": 1, "alignment": align, "checksum": "crc32", "meta": {},
           "tensors": [{"key": "t", "dtype": "uint8", "shape": [nbytes], "offset": offset, "nbytes": nbytes,
                        "checksum": 0}]}
    header = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    hoff, fsize = 2 * align, 3 * align
    body = struct.pack("<8sIIQQQQQI", b"CKPTIO\x00\x01", 1, 0, align, align, hoff, len(header), fsize,
                       zlib.crc32(header))
    return body + struct.pack("<I", zlib.crc32(body)), header, fsize


@pytest.mark.parametrize(("offset", "nbytes"), [(0, 16), (32, 16), (4095, 16), (8184, 16), (4096, 4097)])
def test_a_header_entry_outside_the_data_region_is_refused(offset, nbytes):
    """Valid checksums, but the tensor starts inside the superblock's aligned block [0, 4096) or runs past the data
    region's end at the header offset 8192 (8184 + 16, 4096 + 4097): refused, never read as data."""
    sb, header, fsize = _hand_built(offset, nbytes)
    with pytest.raises(F.CheckpointCorruptError, match="outside the data region"):
        F.parse_header(sb, header, fsize)


@pytest.mark.parametrize(("offset", "nbytes"), [(4096, 16), (8176, 16), (4096, 4096)])
def test_a_header_entry_inside_the_data_region_parses(offset, nbytes):
    sb, header, fsize = _hand_built(offset, nbytes)
    assert F.parse_header(sb, header, fsize).entries["t"].offset == offset


def test_a_superblock_of_another_format_version_is_refused_naming_the_version():
    """A superblock with a valid checksum but version 2 (built here with struct and zlib from the documented layout)
    is refused as unsupported, not parsed as version 1."""
    body = struct.pack("<8sIIQQQQQI", b"CKPTIO\x00\x01", 2, 0, 4096, 4096, 8192, 10, 12288, 0)
    with pytest.raises(F.CheckpointError, match="format version 2 is not supported"):
        F.parse_superblock(body + struct.pack("<I", zlib.crc32(body)))
