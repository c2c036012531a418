"""A fast reader of GGUF model files (the llama.cpp format, versions 2 and 3, little-endian): metadata and tensor views.

``gguf.GGUFReader`` builds a NumPy view per metadata item, which takes about 4 s for the 49K-token vocabulary and 48K
BPE merges of SmolLM2; this reader decodes the metadata with ``struct`` in about 0.1 s and maps the tensor data
the same way (a read-only memmap per tensor, shaped as ``GGUFReader`` shapes it, so ``gguf.quants.dequantize`` takes
it). ``gguf.GGUFReader`` is the oracle in the tests.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"GGUF"
VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32

# metadata value types of the GGUF spec: type id -> struct format (little-endian); 8 = string, 9 = array
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_NUMPY = {t: np.dtype(fmt) for t, fmt in _SCALARS.items()}  # the same types for arrays (numpy reads struct codes)
# tensor types GGUFReader exposes as elements (gguf.GGMLQuantizationType names); the others are quantized blocks
_PLAIN = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I8": np.int8, "I16": np.int16, "I32": np.int32,
          "I64": np.int64}
STRING, ARRAY = 8, 9


class GGUFFormatError(ValueError):
    """The file is not a GGUF file this reader understands; the message says where and why."""


@dataclass(frozen=True)
class GGUFTensor:
    name: str
    ggml_type: int  # a gguf.GGMLQuantizationType value
    shape: tuple[int, ...]  # as stored: innermost dimension first (GGUF order)
    data: np.ndarray  # read-only view of the file: elements for plain types, bytes per row for quantized ones


@dataclass(frozen=True)
class GGUFFile:
    version: int
    fields: dict[str, Any]  # key -> str, int, float, bool or a list of them (as GGUFReader's field.contents())
    tensors: dict[str, GGUFTensor]  # in file order


class _Cursor:
    """Sequential little-endian decoding of a bytes-like buffer, with the offset in every error."""

    def __init__(self, buf, path: str):
        self.buf, self.off, self.path = buf, 0, path

    def take(self, n: int) -> memoryview:
        if n < 0 or self.off + n > len(self.buf):
            raise GGUFFormatError(f"{self.path}: truncated at byte {self.off} (needs {n} more bytes, file has "
                                  f"{len(self.buf)})")
        out = memoryview(self.buf)[self.off:self.off + n]
        self.off += n
        return out

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.unpack("<Q")
        raw = self.take(n)
        try:
            return str(raw, "utf-8")
        except UnicodeDecodeError as e:
            raise GGUFFormatError(f"{self.path}: string at byte {self.off - n} is not UTF-8: {e}") from None

    def value(self, vtype: int, key: str):
        if vtype == STRING:
            return self.string()
        if vtype == ARRAY:
            sub, count = self.unpack("<I"), self.unpack("<Q")
            if sub == STRING:
                return [self.string() for _ in range(count)]
            if sub in _NUMPY:
                dt = _NUMPY[sub]
                return np.frombuffer(self.take(count * dt.itemsize), dt).tolist()
            if sub == ARRAY:
                return [self.value(ARRAY, key) for _ in range(count)]
            raise GGUFFormatError(f"{self.path}: metadata {key!r} is an array of unknown value type {sub}")
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        raise GGUFFormatError(f"{self.path}: metadata {key!r} has unknown value type {vtype}")


def _tensor_view(mm: np.memmap, start: int, ggml_type: int, dims: tuple[int, ...], path: str, name: str) -> np.ndarray:
    """The tensor's bytes in the file as ``GGUFReader`` exposes them (plain types as elements, quantized as bytes)."""
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType
    from gguf.quants import quant_shape_to_byte_shape

    try:
        qtype = GGMLQuantizationType(ggml_type)
    except ValueError:
        raise GGUFFormatError(f"{path}: tensor {name!r} has unknown type {ggml_type}") from None
    n_elems = int(np.prod(dims, dtype=np.int64))
    np_dims = tuple(reversed(dims))
    plain = _PLAIN.get(qtype.name)
    if plain is not None:
        dtype, count = np.dtype(plain), n_elems
    else:
        block, size = GGML_QUANT_SIZES[qtype]
        dtype, count, np_dims = np.dtype(np.uint8), n_elems * size // block, quant_shape_to_byte_shape(np_dims, qtype)
    end = start + count * dtype.itemsize
    if end > len(mm):
        raise GGUFFormatError(f"{path}: tensor {name!r} ends at byte {end}, past the end of the file ({len(mm)})")
    return mm[start:end].view(dtype).reshape(np_dims)


def read_gguf(path: str | Path) -> GGUFFile:
    """Metadata and tensor views of the GGUF file ``path`` (GGUF spec: header, key-value metadata, tensor
    infos, data aligned to ``general.alignment``). A malformed file raises :class:`GGUFFormatError` naming the problem."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise GGUFFormatError(f"{path}: empty file, not a GGUF file")
    mm = np.memmap(path, mode="r")
    cur = _Cursor(mm, str(path))
    if bytes(cur.take(4)) != MAGIC:
        raise GGUFFormatError(f"{path}: not a GGUF file (the first 4 bytes are not {MAGIC!r})")
    version = cur.unpack("<I")
    if version not in VERSIONS:
        hint = " (a big-endian file?)" if version & 0xFFFF == 0 else ""
        raise GGUFFormatError(f"{path}: GGUF version {version}{hint}; this reader supports {VERSIONS}")
    n_tensors, n_kv = cur.unpack("<Q"), cur.unpack("<Q")
    fields: dict[str, Any] = {}
    for _ in range(n_kv):
        key = cur.string()
        fields[key] = cur.value(cur.unpack("<I"), key)
    infos = []
    for _ in range(n_tensors):
        name = cur.string()
        n_dims = cur.unpack("<I")
        dims = tuple(cur.unpack("<Q") for _ in range(n_dims))
        infos.append((name, dims, cur.unpack("<I"), cur.unpack("<Q")))
    align = fields.get("general.alignment", DEFAULT_ALIGNMENT)
    if type(align) is not int or align <= 0 or align & (align - 1):
        raise GGUFFormatError(f"{path}: general.alignment must be a power of two, got {align!r}")
    base = -(-cur.off // align) * align
    tensors: dict[str, GGUFTensor] = {}
    for name, dims, ggml_type, offset in infos:
        if name in tensors:
            raise GGUFFormatError(f"{path}: tensor {name!r} appears twice")
        tensors[name] = GGUFTensor(name, ggml_type, dims, _tensor_view(mm, base + offset, ggml_type, dims,
                                                                       str(path), name))
    return GGUFFile(version, fields, tensors)


__all__ = ["GGUFFile", "GGUFFormatError", "GGUFTensor", "read_gguf"]
