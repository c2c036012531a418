"""The on-disk format of one rank's checkpoint file: superblock, block-aligned tensor regions, JSON
header, per-tensor checksums.

Layout (all integers little-endian)::

    [0, 64)                       superblock: magic, version, alignment, data start, header offset and
                                  length, file size, header checksum, superblock checksum
    [data_start, ...)             tensors, each at an offset aligned to ``alignment`` (zero padding)
    [header_offset, +header_len)  JSON header {key, dtype, shape, offset, nbytes, checksum} per tensor
    ... zero padding to ``alignment`` = end of file

``data_start = max(alignment, 64)`` so the superblock owns the first aligned block (the group's
public engine puts the header offset at the top and the JSON header at the end in the same way).
The header is parseable alone (superblock + one read). A file shorter than the superblock says, or
with a checksum that does not match, raises :class:`CheckpointCorruptError` naming what is wrong.
"""

from __future__ import annotations

import json
import struct
import sys
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from support.validate import check_int

MAGIC = b"CKPTIO\x00\x01"
VERSION = 1
SUPERBLOCK = 64
ALIGNMENTS = {"none": 1, "512B": 512, "4KiB": 4096, "1MiB": 1 << 20}
_SB = struct.Struct("<8sIIQQQQQI")  # magic version flags alignment data_start header_off header_len file_size hcrc
assert _SB.size == 60

try:  # hardware CRC-32C (7 GB/s here); zlib's CRC-32 (1 GB/s) otherwise
    import crc32c as _crc32c

    DEFAULT_CHECKSUM = "crc32c"
except ImportError:  # pragma: no cover - depends on the environment
    _crc32c = None
    DEFAULT_CHECKSUM = "crc32"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read as asked (bad parameters, unknown key, unsupported input)."""


class CheckpointCorruptError(CheckpointError):
    """The file is truncated, torn or corrupted: data is never returned in that case."""


def checksum(data, value: int = 0, algo: str = DEFAULT_CHECKSUM) -> int:
    """Running checksum of a bytes-like object (``crc32c`` or ``crc32``)."""
    if algo == "crc32c":
        if _crc32c is None:
            raise CheckpointError("this checkpoint uses CRC-32C checksums; install the 'crc32c' package to read it")
        return _crc32c.crc32c(data, value)
    if algo == "crc32":
        return zlib.crc32(data, value)
    raise CheckpointError(f"unknown checksum algorithm {algo!r}")


def align_up(x: int, a: int) -> int:
    return -(-x // a) * a


def parse_alignment(alignment: int | str) -> int:
    """Alignment in bytes from a number or one of ``none``, ``512B``, ``4KiB``, ``1MiB``."""
    if isinstance(alignment, str):
        if alignment not in ALIGNMENTS:
            raise CheckpointError(f"alignment must be one of {', '.join(ALIGNMENTS)} or a power of two; "
                                  f"got {alignment!r}")
        return ALIGNMENTS[alignment]
    a = check_int(alignment, "alignment", error=CheckpointError, what="an integer or a name")
    if a < 1 or a & (a - 1):
        raise CheckpointError(f"alignment must be a power of two >= 1 byte, got {a}")
    return a


# ------------------------------------------------------------------------------------------ dtypes
_NP = {"float64": np.float64, "float32": np.float32, "float16": np.float16, "int64": np.int64, "int32": np.int32,
       "int16": np.int16, "int8": np.int8, "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32,
       "uint64": np.uint64, "bool": np.bool_, "complex64": np.complex64, "complex128": np.complex128}
_SIZE = {k: np.dtype(v).itemsize for k, v in _NP.items()} | {"bfloat16": 2}


def dtype_size(name: str) -> int:
    if name not in _SIZE:
        raise CheckpointError(f"unsupported dtype {name!r}; supported: {', '.join(sorted(_SIZE))}")
    return _SIZE[name]


def numpy_dtype(name: str) -> np.dtype:
    """NumPy dtype for a stored dtype name; bfloat16 is exposed as its raw uint16 bits."""
    return np.dtype(np.uint16) if name == "bfloat16" else np.dtype(_NP[name])


def as_bytes(x: Any) -> tuple[np.ndarray, str, list[int]]:
    """A flat uint8 view of a CPU tensor or array (no copy if contiguous), its dtype name and shape."""
    torch = sys.modules.get("torch")  # a torch tensor implies torch is imported; never import it here
    if torch is not None and isinstance(x, torch.Tensor):
        if x.device.type != "cpu":
            raise CheckpointError(f"tensor on {x.device}: copy it to host memory first")
        name = str(x.dtype).removeprefix("torch.")
        if name not in _SIZE:
            raise CheckpointError(f"unsupported dtype {name!r}")
        t = x.detach().contiguous()
        flat = t.reshape(-1).view(torch.uint8) if t.numel() else torch.empty(0, dtype=torch.uint8)
        return flat.numpy(), name, list(t.shape)
    if isinstance(x, np.ndarray):
        name = x.dtype.name
        if name not in _NP:
            raise CheckpointError(f"unsupported dtype {name!r}")
        # stored in native byte order: the header records only the dtype's name, which is "float32" for '>f4' too,
        # so a big-endian array came back byte-swapped with a valid checksum
        a = np.ascontiguousarray(x if x.dtype.isnative else x.astype(x.dtype.newbyteorder("=")))
        return a.reshape(-1).view(np.uint8), name, list(a.shape)
    raise CheckpointError(f"expected a torch.Tensor or numpy.ndarray, got {type(x).__name__}")


# ------------------------------------------------------------------------------------------ layout
@dataclass(frozen=True)
class Entry:
    key: str
    dtype: str
    shape: tuple[int, ...]
    offset: int
    nbytes: int
    checksum: int = 0

    def as_json(self) -> dict:
        return {"key": self.key, "dtype": self.dtype, "shape": list(self.shape), "offset": self.offset,
                "nbytes": self.nbytes, "checksum": self.checksum}


@dataclass(frozen=True)
class Layout:
    """Where every tensor goes; the header itself is placed once checksums are known."""

    alignment: int
    data_start: int
    data_end: int  # aligned end of the tensor region = header offset
    entries: tuple[Entry, ...]

    @property
    def header_offset(self) -> int:
        return self.data_end


def plan(items: list[tuple[str, str, list[int], int]], alignment: int) -> Layout:
    """Offsets for ``(key, dtype, shape, nbytes)`` items in order: each starts on an ``alignment``
    boundary after the previous one (tensor-by-tensor coalescing into one region)."""
    seen = set()
    data_start = align_up(SUPERBLOCK, alignment)
    off, entries = data_start, []
    for key, dtype, shape, nbytes in items:
        if not isinstance(key, str) or not key:
            raise CheckpointError(f"tensor keys must be non-empty strings, got {key!r}")
        if key in seen:
            raise CheckpointError(f"duplicate tensor key {key!r}")
        seen.add(key)
        if nbytes != dtype_size(dtype) * int(np.prod(shape, dtype=np.int64)):
            raise CheckpointError(f"{key}: {nbytes} bytes do not match shape {shape} of {dtype}")
        entries.append(Entry(key, dtype, tuple(int(s) for s in shape), off, int(nbytes)))
        off = align_up(off + nbytes, alignment)
    return Layout(alignment, data_start, align_up(off, alignment), tuple(entries))


def header_bytes(entries: list[Entry] | tuple[Entry, ...], alignment: int, algo: str,
                 meta: dict | None = None) -> bytes:
    """The JSON header (deterministic: sorted keys, no timestamps)."""
    doc = {"format": "ckpt_io", "version": VERSION, "alignment": alignment, "checksum": algo,
           "tensors": [e.as_json() for e in entries], "meta": meta or {}}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def superblock(alignment: int, data_start: int, header_offset: int, header: bytes, file_size: int) -> bytes:
    body = _SB.pack(MAGIC, VERSION, 0, alignment, data_start, header_offset, len(header), file_size,
                    zlib.crc32(header))
    return body + struct.pack("<I", zlib.crc32(body))


# ------------------------------------------------------------------------------------------ parsing
@dataclass(frozen=True)
class Header:
    alignment: int
    data_start: int
    header_offset: int
    header_len: int
    file_size: int
    checksum: str
    entries: dict[str, Entry]
    meta: dict

    def entry(self, key: str) -> Entry:
        try:
            return self.entries[key]
        except KeyError:
            raise CheckpointError(f"no tensor {key!r} in checkpoint (has {len(self.entries)} tensors)") from None


def parse_superblock(sb: bytes, path: str = "checkpoint") -> tuple[int, int, int, int, int, int]:
    """(alignment, data_start, header_offset, header_len, file_size, header_crc) from the first 64 B."""
    if len(sb) < SUPERBLOCK:
        raise CheckpointCorruptError(f"{path}: truncated: {len(sb)} bytes, shorter than the 64-byte superblock")
    magic, version, _flags, align, data_start, hoff, hlen, fsize, hcrc = _SB.unpack_from(sb)
    if magic != MAGIC:
        raise CheckpointCorruptError(f"{path}: not a ckpt_io checkpoint (bad magic {magic!r})")
    (sbcrc,) = struct.unpack_from("<I", sb, _SB.size)
    if zlib.crc32(sb[:_SB.size]) != sbcrc:
        raise CheckpointCorruptError(f"{path}: superblock checksum mismatch (corrupted or torn header block)")
    if version != VERSION:
        raise CheckpointError(f"{path}: format version {version} is not supported (expected {VERSION})")
    return align, data_start, hoff, hlen, fsize, hcrc


def parse_header(sb: bytes, header: bytes, actual_size: int, path: str = "checkpoint") -> Header:
    """Validate superblock + JSON header against the real file size; return the parsed index."""
    align, data_start, hoff, hlen, fsize, hcrc = parse_superblock(sb, path)
    if actual_size < fsize:
        raise CheckpointCorruptError(f"{path}: truncated: file has {actual_size} bytes, the superblock records "
                                     f"{fsize}")
    if actual_size > fsize:
        raise CheckpointCorruptError(f"{path}: {actual_size - fsize} unexpected trailing bytes after the header")
    if len(header) != hlen or zlib.crc32(header) != hcrc:
        raise CheckpointCorruptError(f"{path}: header checksum mismatch (corrupted JSON header)")
    doc = json.loads(header)
    entries = {}
    for t in doc["tensors"]:
        e = Entry(t["key"], t["dtype"], tuple(t["shape"]), t["offset"], t["nbytes"], t["checksum"])
        if e.offset < data_start or e.offset + e.nbytes > hoff:
            raise CheckpointCorruptError(f"{path}: tensor {e.key!r} lies outside the data region")
        entries[e.key] = e
    return Header(align, data_start, hoff, hlen, fsize, doc["checksum"], entries, doc.get("meta", {}))


def verify(entry: Entry, data, algo: str, path: str = "checkpoint") -> None:
    """Raise :class:`CheckpointCorruptError` if ``data`` does not match the tensor's stored checksum."""
    got = checksum(data, 0, algo)
    if got != entry.checksum:
        raise CheckpointCorruptError(f"{path}: checksum mismatch in tensor {entry.key!r} "
                                     f"(stored {entry.checksum:#010x}, read {got:#010x}): the file is corrupt")
