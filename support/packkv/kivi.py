"""The KIVI-style baseline (Liu et al., ICML 2024) with the same byte accounting as PackKV.

Asymmetric uniform quantization to a nominal ``bits`` (2, 3 or 4): K **per channel** over groups of ``group``
consecutive tokens, V **per token** over groups of ``group`` channels (one head by default). Each group stores a
float16 scale ``(max - min) / (2**bits - 1)`` and a float16 minimum; codes ``round((x - min) / scale)`` are
packed back to back at ``bits`` bits. Sizes are the length of :meth:`GroupQuantized.to_bytes`.

:func:`quantize_channel_rel` is the PackKV repository's own "KIVI" baseline (per-channel groups, step
``rel * range``, integer zero point, codes stored at the bits of the largest code), kept so the paper's
accounting can be shown next to the nominal-bit one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from support.packkv.bitpack import PackedFormatError, pack_fields, unpack_fields
from support.packkv.quantize import check_rel, step16


@dataclass
class GroupQuantized:
    """Codes ``(T, C)`` with float16 ``scale`` and ``offset`` per group of ``(g_tok, g_ch)`` elements.

    ``integer_zero=False``: ``x_hat = code * scale + offset`` (KIVI). ``True``: ``x_hat = (code + offset) *
    scale`` with an integer offset (the PackKV repository's channel quantizer).
    """

    codes: np.ndarray
    scale: np.ndarray  # (T // g_tok, C // g_ch) float16
    offset: np.ndarray  # same shape; float16 (KIVI) or int16 (integer zero point)
    bits: int
    g_tok: int
    g_ch: int
    integer_zero: bool = False

    def _expand(self, a: np.ndarray) -> np.ndarray:
        return np.repeat(np.repeat(a.astype(np.float32), self.g_tok, axis=0), self.g_ch, axis=1)

    def dequantize(self) -> np.ndarray:
        c = self.codes.astype(np.float32)
        if self.integer_zero:
            return (c + self._expand(self.offset)) * self._expand(self.scale)
        return c * self._expand(self.scale) + self._expand(self.offset)

    HEADER = struct.Struct("<IIBHH?")

    def to_bytes(self) -> bytes:
        T, C = self.codes.shape
        head = self.HEADER.pack(T, C, self.bits, self.g_tok, self.g_ch, self.integer_zero)
        return b"".join([head, pack_fields(self.codes, self.bits).tobytes(), self.scale.astype("<f2").tobytes(),
                         self.offset.astype("<i2" if self.integer_zero else "<f2").tobytes()])

    @classmethod
    def from_bytes(cls, buf: bytes) -> GroupQuantized:
        """The groups :meth:`to_bytes` wrote; :class:`PackedFormatError` naming the field for anything else."""
        if len(buf) < cls.HEADER.size:
            raise PackedFormatError(f"buffer of {len(buf)} bytes is too short for a group-quantized header "
                                    f"({cls.HEADER.size} bytes)")
        T, C, bits, gt, gc, iz = cls.HEADER.unpack_from(buf, 0)
        _check_group_header(T, C, bits, gt, gc)
        pos = cls.HEADER.size
        nc = (T * C * bits + 7) // 8
        ng = (T // gt) * (C // gc)
        if len(buf) != pos + nc + 4 * ng:
            raise PackedFormatError(f"buffer length {len(buf)} does not match its header ({pos + nc + 4 * ng} bytes "
                                    f"for {T}x{C} codes of {bits} bits and {ng} groups)")
        codes = unpack_fields(np.frombuffer(buf, np.uint8, nc, pos), bits, T * C).reshape(T, C)
        pos += nc
        scale = np.frombuffer(buf, "<f2", ng, pos).reshape(T // gt, C // gc).astype(np.float16)
        pos += 2 * ng
        off = np.frombuffer(buf, "<i2" if iz else "<f2", ng, pos).reshape(T // gt, C // gc)
        return cls(codes.astype(np.uint8 if bits <= 8 else np.uint16), scale, off.copy(), bits, gt, gc, bool(iz))

    @property
    def nbytes(self) -> int:
        T, C = self.codes.shape
        return self.HEADER.size + (T * C * self.bits + 7) // 8 + self.scale.nbytes + self.offset.nbytes


def _check_group_header(T: int, C: int, bits: int, g_tok: int, g_ch: int) -> None:
    """Refuse header fields :meth:`GroupQuantized.to_bytes` cannot write, naming the first bad one."""
    if T < 1 or C < 1:
        raise PackedFormatError(f"corrupt group-quantized header: tokens={T} and channels={C} must be at least 1")
    if not 1 <= bits <= 16:
        raise PackedFormatError(f"corrupt group-quantized header: bits={bits}, must be 1..16")
    if g_tok < 1 or g_ch < 1 or T % g_tok or C % g_ch:
        raise PackedFormatError(f"corrupt group-quantized header: {T}x{C} codes do not split into groups of "
                                f"{g_tok} tokens x {g_ch} channels")


def _groups(x: np.ndarray, g_tok: int, g_ch: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected (tokens, channels), got shape {x.shape}")
    T, C = x.shape
    if g_tok <= 0 or g_ch <= 0 or T % g_tok or C % g_ch:
        raise ValueError(f"shape {x.shape} does not split into groups of {g_tok} tokens x {g_ch} channels")
    if not np.all(np.isfinite(x)):
        raise ValueError("input contains NaN or infinity")
    return x.reshape(T // g_tok, g_tok, C // g_ch, g_ch)


def quantize_groups(x: np.ndarray, bits: int, g_tok: int, g_ch: int) -> GroupQuantized:
    """Asymmetric ``bits``-bit quantization with one float16 (scale, min) per ``g_tok x g_ch`` group; a group whose
    minimum or step does not fit float16 is refused (ValueError), never clipped or stored as infinity."""
    if bits not in (1, 2, 3, 4, 5, 6, 7, 8):
        raise ValueError(f"bits must be 1..8, got {bits!r}")
    xg = _groups(x, g_tok, g_ch)
    mn, mx = xg.min(axis=(1, 3)), xg.max(axis=(1, 3))
    levels = (1 << bits) - 1
    with np.errstate(over="ignore"):
        s16 = ((mx - mn) / levels).astype(np.float16)
        m16 = mn.astype(np.float16)
    if not (np.all(np.isfinite(s16)) and np.all(np.isfinite(m16))):
        raise ValueError("a group's minimum or step lies beyond the float16 range of its stored scale and minimum "
                         "(|value| > 65504); the KIVI baseline refuses it rather than store infinity")
    s16 = np.where(s16 > 0, s16, np.float16(1.0)).astype(np.float16)
    s, m = s16.astype(np.float32)[:, None, :, None], m16.astype(np.float32)[:, None, :, None]
    c = np.clip(np.rint((xg - m) / s), 0, levels).astype(np.uint8)
    return GroupQuantized(c.reshape(x.shape), s16, m16, bits, g_tok, g_ch)


def quantize_kivi_k(x: np.ndarray, bits: int, group: int = 32) -> GroupQuantized:
    """KIVI keys: per channel, groups of ``group`` tokens."""
    return quantize_groups(x, bits, group, 1)


def quantize_kivi_v(x: np.ndarray, bits: int, group: int = 64) -> GroupQuantized:
    """KIVI values: per token, groups of ``group`` channels (64 = one SmolLM2 head)."""
    return quantize_groups(x, bits, 1, group)


def quantize_channel_rel(x: np.ndarray, rel: float, group: int = 64) -> GroupQuantized:
    """The PackKV repository's channel quantizer: per (channel, ``group`` tokens) step ``rel * range``, integer
    zero point, codes stored at the bits of the layer's largest code (its "ceil(log2 #distinct)" accounting)."""
    rel = check_rel(rel)
    xg = _groups(x, group, 1)
    mn, mx = xg.min(axis=(1, 3)), xg.max(axis=(1, 3))
    s16 = step16(mn, mx, rel)
    s = s16.astype(np.float32)
    z = np.rint(mn / s)
    if np.any(np.abs(z) > np.iinfo(np.int16).max):
        raise ValueError("values too far from zero relative to their range for an int16 zero point")
    c = np.rint(xg / s[:, None, :, None]) - z[:, None, :, None]
    bits = max(1, int(c.max()).bit_length())
    return GroupQuantized(c.reshape(x.shape).astype(np.uint16 if bits > 8 else np.uint8), s16, z.astype(np.int16),
                          bits, group, 1, integer_zero=True)
