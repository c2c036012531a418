"""Lossless stage of PackKV: per-channel frame-of-reference bit-packing of quantization codes.

Codes of one layer ``(T, C)`` (``T`` a multiple of the 64-token block, ``C = n_heads * head_dim``) are cut into
**tiles** of one block × one KV head (``block`` tokens × ``head_dim`` channels), ordered block-major then head.
Inside a tile every channel is split into packs of ``pack`` consecutive tokens (16 by default). A pack stores

* ``min``: the smallest code, a ``raw_bits`` field (``raw_bits`` = bits of the layer's largest code);
* ``width = bit_length(max - min)``: a ``width_bits`` field (``width_bits`` = bits of ``raw_bits``);
* ``width`` **bit planes** of ``pack`` bits each: plane ``j`` holds bit ``j`` of the ``pack`` residuals
  ``code - min`` (bit ``i`` of the plane = token ``i`` of the pack). A pack of 16 is exactly ``2 * width``
  bytes, as in the paper; width 0 (a constant channel) costs nothing.

Serialized tile = its ``min`` fields and ``width`` fields (bit-packed little-endian, pack order ``(group,
channel)``) and its planes; a ``uint32`` offset per tile locates its planes. :attr:`PackedTiles.nbytes` is the
length of :meth:`PackedTiles.to_bytes`, header included. Per-token scales and zero points are counted by the
caller (:mod:`support.packkv.blocks`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

PLANE_DTYPES = {8: np.uint8, 16: np.uint16, 32: np.uint32}
_MAGIC = b"PKV1"


class PackedFormatError(ValueError):
    """A serialized buffer that cannot be what :meth:`PackedTiles.to_bytes` (or the KIVI baseline's
    :meth:`support.packkv.kivi.GroupQuantized.to_bytes`) wrote: a corrupt or truncated header, offsets or length;
    the message names the field."""


def bit_length(a: np.ndarray) -> np.ndarray:
    """Element-wise number of bits of non-negative integers (0 -> 0)."""
    a = np.asarray(a, dtype=np.int64)
    if a.size == 0 or (a.min() >= 0 and a.max() < 2 ** 53):  # exact in float64: frexp's exponent is the bit length
        return np.frexp(a.astype(np.float64))[1].astype(np.int64)
    out = np.zeros(a.shape, dtype=np.int64)
    v = a.copy()
    while np.any(v):
        nz = v > 0
        out += nz
        v >>= 1
    return out


def pack_fields(values: np.ndarray, bits: int) -> np.ndarray:
    """Fixed-width fields, little-endian bit order: bit ``k`` of value ``i`` at stream bit ``i*bits + k``."""
    if bits <= 0:
        return np.zeros(0, dtype=np.uint8)
    return pack_rows(np.asarray(values, dtype=np.int64).reshape(1, -1), bits)[0]


def pack_rows(values: np.ndarray, bits: int) -> np.ndarray:
    """:func:`pack_fields` of every row of ``values`` ``(rows, n)`` at once: ``(rows, ceil(n * bits / 8))`` uint8,
    each row's stream zero-padded to whole bytes (``bits >= 1``); :func:`pack_fields` is its one-row case."""
    values = np.asarray(values, dtype=np.int64)
    if values.ndim != 2 or bits <= 0:
        raise ValueError(f"pack_rows needs a 2-D array and bits >= 1; got shape {values.shape}, bits {bits}")
    if values.size and (values.min() < 0 or values.max() >= (1 << bits)):
        raise ValueError(f"values outside [0, 2**{bits})")
    rows, n = values.shape
    b = ((values[:, :, None] >> np.arange(bits)) & 1).astype(np.uint8).reshape(rows, n * bits)
    return np.packbits(b, axis=1, bitorder="little")


def unpack_fields(buf: np.ndarray, bits: int, n: int) -> np.ndarray:
    """Inverse of :func:`pack_fields`: ``n`` fields of ``bits`` bits (int64)."""
    if bits <= 0:
        return np.zeros(n, dtype=np.int64)
    return unpack_rows(np.asarray(buf, dtype=np.uint8).reshape(1, -1), bits, n)[0]


def unpack_rows(buf: np.ndarray, bits: int, n: int) -> np.ndarray:
    """:func:`unpack_fields` of every row of ``buf`` ``(rows, nbytes)`` at once: ``(rows, n)`` int64, the inverse
    of :func:`pack_rows` (``bits >= 1``); :func:`unpack_fields` is its one-row case."""
    buf = np.asarray(buf, dtype=np.uint8)
    if buf.ndim != 2 or bits <= 0:
        raise ValueError(f"unpack_rows needs a 2-D byte array and bits >= 1; got shape {buf.shape}, bits {bits}")
    b = np.unpackbits(buf, axis=1, bitorder="little", count=n * bits)
    return (b.reshape(buf.shape[0], n, bits).astype(np.int64) << np.arange(bits)).sum(axis=2)


@dataclass
class PackedTiles:
    """Bit-packed codes of one tensor (K or V) of one layer; see the module docstring for the layout."""

    n_tokens: int
    n_heads: int
    head_dim: int
    block: int
    pack: int
    raw_bits: int
    width_bits: int
    mins: np.ndarray  # uint8 (n_tiles, min_bytes)
    widths: np.ndarray  # uint8 (n_tiles, width_bytes)
    planes: np.ndarray  # plane dtype, all tiles concatenated
    offsets: np.ndarray  # uint32 (n_tiles + 1), in planes

    @property
    def n_blocks(self) -> int:
        return self.n_tokens // self.block

    @property
    def n_tiles(self) -> int:
        return self.n_blocks * self.n_heads

    @property
    def groups(self) -> int:
        return self.block // self.pack

    HEADER = struct.Struct("<4sIHHHHBB")  # magic, tokens, heads, head_dim, block, pack, raw_bits, width_bits

    @property
    def nbytes(self) -> int:
        """Serialized size: header + offsets + min fields + width fields + bit planes."""
        return (self.HEADER.size + self.offsets.nbytes + self.mins.nbytes + self.widths.nbytes
                + self.planes.nbytes)

    def to_bytes(self) -> bytes:
        head = self.HEADER.pack(_MAGIC, self.n_tokens, self.n_heads, self.head_dim, self.block, self.pack,
                                self.raw_bits, self.width_bits)
        return b"".join([head, self.offsets.astype("<u4").tobytes(), self.mins.tobytes(), self.widths.tobytes(),
                         self.planes.astype(self.planes.dtype.newbyteorder("<")).tobytes()])

    @classmethod
    def from_bytes(cls, buf: bytes) -> PackedTiles:
        """The tiles :meth:`to_bytes` wrote; :class:`PackedFormatError` naming the field for anything else."""
        if len(buf) < cls.HEADER.size:
            raise PackedFormatError("buffer too short for a PackKV header")
        magic, T, H, D, block, pack, raw, wb = cls.HEADER.unpack_from(buf, 0)
        if magic != _MAGIC:
            raise PackedFormatError(f"not a PackKV buffer (magic {magic!r})")
        _check_header(T, H, D, block, pack, raw, wb)
        n_tiles = (T // block) * H
        mb, wbytes = _field_bytes(block // pack * D, raw), _field_bytes(block // pack * D, wb)
        pos = cls.HEADER.size
        need = pos + 4 * (n_tiles + 1) + n_tiles * (mb + wbytes)
        if len(buf) < need:
            raise PackedFormatError(f"buffer length {len(buf)} is shorter than the offsets and fields of its header's "
                                    f"{n_tiles} tiles ({need} bytes)")
        offsets = np.frombuffer(buf, "<u4", n_tiles + 1, pos).astype(np.uint32)
        if offsets[0] != 0 or np.any(np.diff(offsets.astype(np.int64)) < 0):
            raise PackedFormatError("corrupt PackKV plane offsets: they must start at 0 and never decrease")
        pos += offsets.nbytes
        mins = np.frombuffer(buf, np.uint8, n_tiles * mb, pos).reshape(n_tiles, mb).copy()
        pos += mins.nbytes
        widths = np.frombuffer(buf, np.uint8, n_tiles * wbytes, pos).reshape(n_tiles, wbytes).copy()
        pos += widths.nbytes
        dt = np.dtype(PLANE_DTYPES[pack]).newbyteorder("<")
        n_planes = int(offsets[-1])
        if len(buf) != pos + n_planes * dt.itemsize:
            raise PackedFormatError(f"buffer length {len(buf)} does not match its header "
                                    f"({pos + n_planes * dt.itemsize})")
        planes = np.frombuffer(buf, dt, n_planes, pos).astype(PLANE_DTYPES[pack])
        tiles = cls(T, H, D, block, pack, raw, wb, mins, widths, planes, offsets)
        # the fields must describe the planes: a flipped bit in them decoded silently to codes above the raw range
        # (NumPy) or read other tiles' planes (the CUDA kernel, which follows the offsets)
        m, w = tiles.fields()
        if np.any(w > raw):
            raise PackedFormatError(f"corrupt PackKV width fields: a width above the {raw}-bit code range")
        if not np.array_equal(w.reshape(len(w), -1).sum(axis=1), np.diff(offsets.astype(np.int64))):
            raise PackedFormatError("corrupt PackKV width fields or offsets: a tile's widths do not add up to its "
                                    "planes")
        # a width w > 0 means the largest residual is at least 2^(w-1): the min plus that must still be a code
        if np.any((w > 0) & (m + (np.int64(1) << np.maximum(w - 1, 0)) > (np.int64(1) << raw) - 1)):
            raise PackedFormatError(f"corrupt PackKV min fields: a min plus its pack's residual exceeds {raw} bits")
        return tiles

    def fields(self) -> tuple[np.ndarray, np.ndarray]:
        """Unpacked ``(mins, widths)``, each int64 ``(n_tiles, groups, head_dim)``."""
        n = self.groups * self.head_dim
        mins = unpack_rows(self.mins, self.raw_bits, n) if self.n_tiles else np.zeros((0, n), np.int64)
        wid = unpack_rows(self.widths, self.width_bits, n) if self.n_tiles else np.zeros((0, n), np.int64)
        shape = (self.n_tiles, self.groups, self.head_dim)
        return mins.reshape(shape), wid.reshape(shape)

    def width_histogram(self) -> np.ndarray:
        """Number of packs of each width ``0 .. raw_bits``."""
        _, w = self.fields()
        return np.bincount(w.reshape(-1), minlength=self.raw_bits + 1)


def _field_bytes(n: int, bits: int) -> int:
    return (n * bits + 7) // 8


def _check_header(T: int, H: int, D: int, block: int, pack: int, raw: int, wb: int) -> None:
    """Refuse header fields :func:`encode` cannot write, naming the first bad one (PackedFormatError)."""
    if pack not in PLANE_DTYPES:
        raise PackedFormatError(f"corrupt PackKV header: pack={pack}, must be one of {sorted(PLANE_DTYPES)}")
    if block < pack or block % pack:
        raise PackedFormatError(f"corrupt PackKV header: block={block} is not a positive multiple of pack={pack}")
    if T % block:
        raise PackedFormatError(f"corrupt PackKV header: tokens={T} is not a whole number of {block}-token blocks")
    if H < 1 or D < 1:
        raise PackedFormatError(f"corrupt PackKV header: heads={H} and head_dim={D} must be at least 1")
    if not 1 <= raw <= 32 or wb != max(1, raw.bit_length()):
        raise PackedFormatError(f"corrupt PackKV header: raw_bits={raw} (1..32) with width_bits={wb} "
                                f"(expected {max(1, raw.bit_length())})")


def _check_codes(codes: np.ndarray, n_heads: int, block: int, pack: int) -> tuple[int, int, int]:
    if pack not in PLANE_DTYPES:
        raise ValueError(f"pack size must be one of {sorted(PLANE_DTYPES)}; got {pack}")
    if block % pack:
        raise ValueError(f"block {block} is not a multiple of pack {pack}")
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.dtype.kind not in "ui":
        raise ValueError(f"codes must be a 2-D integer array (tokens, channels); got {codes.dtype} {codes.shape}")
    T, C = codes.shape
    if T % block:
        raise ValueError(f"{T} tokens is not a whole number of {block}-token blocks")
    if C % n_heads:
        raise ValueError(f"{C} channels do not split into {n_heads} heads")
    if codes.size and codes.min() < 0:
        raise ValueError("codes must be non-negative")
    return T, C, C // n_heads


def encode(codes: np.ndarray, n_heads: int, block: int = 64, pack: int = 16,
           raw_bits: int | None = None) -> PackedTiles:
    """Bit-pack ``codes`` ``(T, C)`` into tiles of ``block`` tokens × one head."""
    T, _, D = _check_codes(codes, n_heads, block, pack)
    codes = np.asarray(codes, dtype=np.int64)
    cmax = int(codes.max()) if codes.size else 0
    raw = max(1, cmax.bit_length()) if raw_bits is None else int(raw_bits)
    if cmax >= (1 << raw):
        raise ValueError(f"raw_bits={raw} cannot hold code {cmax}")
    wb = max(1, raw.bit_length())
    nb, G = T // block, block // pack
    # (block, group, token-in-pack, head, channel) -> (block, head, group, channel, token-in-pack)
    c = codes.reshape(nb, G, pack, n_heads, D).transpose(0, 3, 1, 4, 2)
    mins = c.min(axis=-1)
    res = c - mins[..., None]
    widths = bit_length(res.max(axis=-1))  # (nb, H, G, D)
    n_tiles = nb * n_heads
    flat_w = widths.reshape(n_tiles, G * D)
    maxw = int(flat_w.max()) if flat_w.size else 0
    dt = PLANE_DTYPES[pack]
    weights = (np.uint64(1) << np.arange(pack, dtype=np.uint64))
    r = res.reshape(n_tiles * G * D, pack).astype(np.uint64)
    planes_all = np.stack([((r >> np.uint64(j)) & np.uint64(1)) @ weights for j in range(maxw)], axis=1) \
        if maxw else np.zeros((r.shape[0], 0), np.uint64)
    keep = np.arange(maxw)[None, :] < flat_w.reshape(-1, 1)
    planes = planes_all[keep].astype(dt)  # pack-major, plane-minor
    per_tile = flat_w.sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(per_tile)]).astype(np.uint32)
    mins_b = pack_rows(mins.reshape(n_tiles, G * D), raw)  # one row of fields per tile
    wid_b = pack_rows(flat_w, wb)
    return PackedTiles(T, n_heads, D, block, pack, raw, wb, mins_b, wid_b, planes, offsets)


def residuals(p: PackedTiles) -> np.ndarray:
    """Residuals ``code - min`` as int64 ``(n_tiles, groups, head_dim, pack)``, read from the bit planes."""
    _, widths = p.fields()
    w = widths.reshape(-1)
    n_packs = w.size
    start = np.concatenate([[0], np.cumsum(w)[:-1]]).astype(np.int64)
    planes = p.planes.astype(np.int64)
    tok = np.arange(p.pack)
    out = np.zeros((n_packs, p.pack), dtype=np.int64)
    for j in range(int(w.max()) if n_packs else 0):  # plane j of every pack that has one: bit j of its residuals
        has = np.flatnonzero(w > j)
        out[has] |= ((planes[start[has] + j][:, None] >> tok) & 1) << j
    return out.reshape(p.n_tiles, p.groups, p.head_dim, p.pack)


def decode(p: PackedTiles) -> np.ndarray:
    """The codes ``(T, C)`` back, bit-exact."""
    mins, _ = p.fields()
    c = residuals(p) + mins[..., None]  # (tiles, G, D, pack)
    c = c.reshape(p.n_blocks, p.n_heads, p.groups, p.head_dim, p.pack).transpose(0, 2, 4, 1, 3)
    return c.reshape(p.n_tokens, p.n_heads * p.head_dim)


def fixed_width_nbytes(n_values: int, bits: int) -> int:
    """Bytes of ``n_values`` fields of ``bits`` bits packed back to back (the quantization-only store)."""
    return _field_bytes(n_values, bits)
