"""Error-bounded uniform quantization with one scale and one integer zero point per token (PackKV, §3).

For a token's vector ``x`` (all KV heads of one layer, or one head with ``per_head=True``) and a relative error
bound ``rel``: step ``s = rel * (max x - min x)`` (stored as float16), zero point ``z = round(min x / s)``
(stored as int16), codes ``c = round(x / s) - z >= 0``, reconstruction ``x_hat = (c + z) * s``. Every element
satisfies ``|x - x_hat| <= s / 2`` (up to float32 rounding of the product), and ``s <= rel * range`` up to the
float16 rounding of the scale (relative 2**-11), except that the step is floored at ``2**-14`` (the smallest
normal float16, :func:`step16`): a token whose ``rel * range`` is smaller gets that coarser step, and a constant
token the step ``|min|``. K is quantized **after RoPE**, as the paper does.

Layouts: a layer's cache is ``(n_kv_heads, T, head_dim)``; quantizers work on the token-major ``(T, C)`` view
with ``C = n_kv_heads * head_dim`` and channel ``h * head_dim + d`` (:func:`token_major`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def token_major(x: np.ndarray) -> np.ndarray:
    """``(H, T, D)`` -> ``(T, H*D)``."""
    H, T, D = x.shape
    return np.ascontiguousarray(np.asarray(x).transpose(1, 0, 2).reshape(T, H * D))


def head_major(x: np.ndarray, n_heads: int) -> np.ndarray:
    """``(T, H*D)`` -> ``(H, T, D)``."""
    T, C = x.shape
    return np.ascontiguousarray(x.reshape(T, n_heads, C // n_heads).transpose(1, 0, 2))


def check_rel(rel: float) -> float:
    rel = float(rel)
    if not (0.0 < rel <= 1.0) or not np.isfinite(rel):
        raise ValueError(f"relative error bound rel must be in (0, 1]; got {rel!r}")
    if 1.0 / rel > 30000:
        raise ValueError(f"rel={rel!r} is too fine: codes would not fit 16 bits")
    return rel


def step16(mn: np.ndarray, mx: np.ndarray, rel: float) -> np.ndarray:
    """Float16 step ``rel * (max - min)`` per group (floor ``2**-14``, and at least ``|min| / 32767`` so that the
    int16 zero point holds: a nearly constant group far from zero, e.g. [3.0] * 7 + [3.0001], was refused). A
    constant group (``max == min``) gets the step ``|min|`` (code 0, zero point +-1), so it is reproduced to float16
    precision; a step beyond float16 is refused rather than turned into NaN."""
    with np.errstate(over="ignore"):
        s16 = ((mx - mn) * np.float32(rel)).astype(np.float16)
        const = np.abs(mn).astype(np.float16)
    if not np.all(np.isfinite(s16)):
        raise ValueError("a group's range times rel exceeds the float16 range of the stored scale")
    const = np.where(np.isfinite(const) & (const > 0), const, np.float16(1.0))
    # the zero-point floor, raised by 2^-10 so that rounding to float16 cannot take it below |min| / 32767
    zfloor = (np.abs(mn).astype(np.float32) / np.float32(32767) * np.float32(1 + 2.0 ** -10)).astype(np.float16)
    floor = np.maximum(np.float16(2.0 ** -14), zfloor)
    return np.where(mx > mn, np.maximum(s16, floor), const).astype(np.float16)


@dataclass
class TokenQuantized:
    """Codes ``(T, C)`` plus per-token (or per-token-per-head) float16 scale and int16 zero point."""

    codes: np.ndarray  # uint8 / uint16, (T, C)
    scale: np.ndarray  # float16, (T,) or (T, H) with per_head
    zero: np.ndarray  # int16, same shape as scale
    rel: float
    n_heads: int = 1  # >1 only with per_head=True

    @property
    def per_head(self) -> bool:
        return self.scale.ndim == 2

    def _expand(self, a: np.ndarray) -> np.ndarray:
        C = self.codes.shape[1]
        a = a.astype(np.float32)
        return np.repeat(a, C // a.shape[1], axis=1) if a.ndim == 2 else a[:, None]

    def dequantize(self) -> np.ndarray:
        """``(c + z) * s`` as float32, shape ``(T, C)``."""
        return ((self.codes.astype(np.float32) + self._expand(self.zero)) * self._expand(self.scale)).astype(
            np.float32)

    def error_bound(self) -> np.ndarray:
        """Per-element bound ``s/2`` (float32, shape ``(T, C)``)."""
        return np.broadcast_to(0.5 * self._expand(self.scale), self.codes.shape)

    @property
    def raw_bits(self) -> int:
        """Bits of the largest code: the fixed width a quantization-only store needs."""
        return max(1, int(self.codes.max()).bit_length()) if self.codes.size else 1

    def take(self, idx) -> TokenQuantized:
        """The tokens ``idx`` (a slice or an index array), e.g. a block or a permutation of one."""
        return TokenQuantized(self.codes[idx], self.scale[idx], self.zero[idx], self.rel, self.n_heads)

    def meta_nbytes(self) -> int:
        return int(self.scale.nbytes + self.zero.nbytes)


def quantize_tokens(x: np.ndarray, rel: float, per_head: bool = False, n_heads: int = 1) -> TokenQuantized:
    """Per-token error-bounded quantization of ``x`` ``(T, C)``; ``per_head`` gives one scale per (token, head)."""
    rel = check_rel(rel)
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected a (tokens, channels) array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("input contains NaN or infinity")
    T, C = x.shape
    if per_head:
        if C % n_heads:
            raise ValueError(f"{C} channels do not split into {n_heads} heads")
        xv = x.reshape(T, n_heads, C // n_heads)
    else:
        xv = x.reshape(T, 1, C)
    mn, mx = xv.min(axis=2), xv.max(axis=2)
    s16 = step16(mn, mx, rel)
    s = s16.astype(np.float32)
    zf = np.rint(mn / s)
    if np.any(np.abs(zf) > np.iinfo(np.int16).max):
        raise ValueError("a token's values lie too far from zero relative to their range for an int16 zero point")
    c = np.rint(xv / s[:, :, None]) - zf[:, :, None]
    cmax = int(c.max()) if c.size else 0
    codes = c.reshape(T, C).astype(np.uint8 if cmax < 256 else np.uint16)
    zero = zf.astype(np.int16)
    if not per_head:
        s16, zero = s16[:, 0], zero[:, 0]
    return TokenQuantized(codes, s16, zero, rel, n_heads if per_head else 1)


def fake_quantize_tokens(x: np.ndarray, rel: float, per_head: bool = False, n_heads: int = 1) -> np.ndarray:
    """Quantize then dequantize (the accuracy experiments' "fake quantization")."""
    return quantize_tokens(x, rel, per_head, n_heads).dequantize()
