"""Cache organisation of PackKV: a full-precision recent window, 64-token blocks for the older tokens, optional
token reordering inside a block (one permutation shared by K and V), and the growing cache used while decoding.

* :func:`n_compressed` is the repository's rule: after every step the fp window holds ``recent .. recent+block-1``
  tokens (128..191 by default); everything older sits in whole 64-token blocks.
* :func:`compress_layer` quantizes per token (:mod:`quantize`), reorders, and bit-packs (:mod:`bitpack`) one
  layer's older tokens. Reordering needs no stored permutation for attention (a softmax-weighted sum does not depend
  on token order once RoPE is baked into K), so none is counted; it is kept only to put tokens back in place.
* :class:`PackKVCache` is a drop-in cache for :class:`support.lm.model.Llama`: blocks are compressed as they fill
  and attention reads them through the fused operators of :mod:`fused`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np

from support.packkv import bitpack
from support.packkv.quantize import TokenQuantized, check_rel, head_major, quantize_tokens, token_major
from support.validate import check_int
from support.xp import to_numpy

REORDERS = ("none", "median", "greedy")
SCALE_ZERO_BYTES = 4  # float16 scale + int16 zero point per token (per head with per_head=True)


def n_compressed(n_tokens: int, recent: int = 128, block: int = 64) -> int:
    """Tokens in compressed blocks when ``n_tokens`` are cached: whole blocks leaving at least ``recent`` fp."""
    if recent < 0 or block <= 0:
        raise ValueError(f"recent must be >= 0 and block > 0; got {recent}, {block}")
    return max(0, (n_tokens - recent) // block * block)


def raw_bits_for(rel: float) -> int:
    """Bits that hold every code the per-token quantizer can emit at ``rel`` (schedule-independent layout)."""
    rel = check_rel(rel)
    return int(np.floor((1.0 / rel) * (1 + 2.0 ** -10)) + 1).bit_length()


def plain_bits_for(rel: float) -> int:
    """Bits of a plain fixed-width quantizer with the same step: codes ``round((x - min) / s)`` reach at most
    ``round(range / s) = round(1 / rel)`` (float16 step rounding allowed for, as in :func:`raw_bits_for`)."""
    rel = check_rel(rel)
    return max(1, int(np.floor((1.0 / rel) * (1 + 2.0 ** -10) + 0.5)).bit_length())


def median_order(v_codes: np.ndarray, block: int | None = None) -> np.ndarray:
    """MEDIAN repacking: tokens sorted by the median of their V codes (descending, stable) within each run of
    ``block`` consecutive tokens (all of them as one block for None); a token's median is its own, so a layer's
    medians are taken in one call and only the sorts are per block."""
    med = np.median(np.asarray(v_codes, dtype=np.float64), axis=1)
    size = block or max(med.size, 1)
    parts = [b0 + np.argsort(-med[b0:b0 + size], kind="stable") for b0 in range(0, med.size, size)]
    return np.concatenate(parts) if parts else np.arange(0)


def greedy_order(k_codes: np.ndarray, v_codes: np.ndarray, pack: int = 16) -> np.ndarray:
    """GREEDY repacking: seed each pack with the remaining token closest (cosine) to the block mean, then add the
    token that least increases the pack's summed bit widths over all K and V channels."""
    x = np.concatenate([np.asarray(k_codes, np.int64), np.asarray(v_codes, np.int64)], axis=1)
    T = x.shape[0]
    left = np.ones(T, dtype=bool)
    order: list[int] = []
    xf = x.astype(np.float64)
    while left.any():
        idx = np.flatnonzero(left)
        mean = xf[idx].mean(axis=0)
        cos = xf[idx] @ mean / (np.linalg.norm(xf[idx], axis=1) * np.linalg.norm(mean) + 1e-12)
        first = idx[int(np.argmax(cos))]
        left[first] = False
        members = [first]
        lo, hi = x[first].copy(), x[first].copy()
        while len(members) < pack and left.any():
            idx = np.flatnonzero(left)
            nlo, nhi = np.minimum(lo, x[idx]), np.maximum(hi, x[idx])
            cost = bitpack.bit_length(nhi - nlo).sum(axis=1)
            best = idx[int(np.argmin(cost))]
            left[best] = False
            members.append(best)
            lo, hi = np.minimum(lo, x[best]), np.maximum(hi, x[best])
        order.extend(members)
    return np.asarray(order, dtype=np.int64)


def block_order(kq: TokenQuantized, vq: TokenQuantized, method: str, block: int = 64, pack: int = 16) -> np.ndarray:
    """Permutation of the compressed tokens: the identity, or a per-block reorder shared by K and V."""
    if method not in REORDERS:
        raise ValueError(f"reorder must be one of {', '.join(REORDERS)}; got {method!r}")
    n = kq.codes.shape[0]
    if method == "none":
        return np.arange(n)
    if method == "median":
        return median_order(vq.codes, block)
    parts = [b0 + greedy_order(kq.codes[b0:b0 + block], vq.codes[b0:b0 + block], pack) for b0 in range(0, n, block)]
    return np.concatenate(parts) if parts else np.arange(0)


@dataclass
class PackedLayer:
    """One layer's compressed tokens: quantization metadata and packed codes of K and V, in stored order."""

    kq: TokenQuantized | None  # codes kept for inspection; the store is `k` + scale/zero (None: compress_layer's
    vq: TokenQuantized | None  # ``only`` left this tensor out)
    k: bitpack.PackedTiles | None
    v: bitpack.PackedTiles | None
    order: np.ndarray  # stored position -> original token index (within this chunk)
    n_heads: int

    @property
    def n_tokens(self) -> int:
        return self.k.n_tokens

    @property
    def nbytes_k(self) -> int:
        return self.k.nbytes + self.kq.meta_nbytes()

    @property
    def nbytes_v(self) -> int:
        return self.v.nbytes + self.vq.meta_nbytes()

    def quant_only_nbytes(self, which: str) -> int:
        """Bytes of the same codes stored at a fixed width (``raw_bits``), plus scale and zero: no packing."""
        tq, p = (self.kq, self.k) if which == "k" else (self.vq, self.v)
        return bitpack.fixed_width_nbytes(tq.codes.size, p.raw_bits) + tq.meta_nbytes() + 16

    def plain_quant_nbytes(self, which: str) -> int:
        """Bytes of a plain quantizer with the same step and error bound (codes ``round((x - min) / s)``, float16
        scale and minimum per token) at its fixed width :func:`plain_bits_for`: the integer zero point's extra
        level is not charged to the baseline."""
        tq = self.kq if which == "k" else self.vq
        return bitpack.fixed_width_nbytes(tq.codes.size, plain_bits_for(tq.rel)) + tq.meta_nbytes() + 16

    def dequantize(self, original_order: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """K_hat and V_hat ``(H, n, D)`` float32 decoded from the packed bytes."""
        kc = bitpack.decode(self.k)
        vc = bitpack.decode(self.v)
        k = TokenQuantized(kc, self.kq.scale, self.kq.zero, self.kq.rel, self.kq.n_heads).dequantize()
        v = TokenQuantized(vc, self.vq.scale, self.vq.zero, self.vq.rel, self.vq.n_heads).dequantize()
        if original_order:
            inv = np.empty_like(self.order)
            inv[self.order] = np.arange(self.order.size)
            k, v = k[inv], v[inv]
        return head_major(k, self.n_heads), head_major(v, self.n_heads)


def compress_layer(k: np.ndarray, v: np.ndarray, rel_k: float, rel_v: float, block: int = 64, pack: int = 16,
                   reorder: str = "none", per_head: bool = False, only: str | None = None) -> PackedLayer:
    """Compress K and V ``(H, n, D)`` (``n`` a multiple of ``block``): per-token quantization, reordering, packing.
    ``only="k"`` or ``"v"`` packs that tensor alone, as the full call would (the other is quantized only where its
    codes set the order; its fields are ``None``): what sizing one swept tensor needs."""
    if only not in (None, "k", "v"):
        raise ValueError(f"only must be None, 'k' or 'v'; got {only!r}")
    k, v = np.asarray(k, np.float32), np.asarray(v, np.float32)
    if k.shape != v.shape or k.ndim != 3:
        raise ValueError(f"K and V must both be (heads, tokens, head_dim); got {k.shape} and {v.shape}")
    H, n, _ = k.shape
    if n % block:
        raise ValueError(f"{n} tokens is not a whole number of {block}-token blocks")
    need_k = only != "v" or reorder == "greedy"  # GREEDY reads K and V codes, MEDIAN V codes, none neither
    need_v = only != "k" or reorder in ("median", "greedy")
    kq = quantize_tokens(token_major(k), rel_k, per_head, H) if need_k else None
    vq = quantize_tokens(token_major(v), rel_v, per_head, H) if need_v else None
    order = block_order(kq if need_k else vq, vq if need_v else kq, reorder, block, pack)  # stand-in never read
    kq, kp = _pack(kq, order, H, block, pack, rel_k) if only != "v" else (None, None)
    vq, vp = _pack(vq, order, H, block, pack, rel_v) if only != "k" else (None, None)
    return PackedLayer(kq, vq, kp, vp, order, H)


def _pack(tq: TokenQuantized, order: np.ndarray, n_heads: int, block: int, pack: int,
          rel: float) -> tuple[TokenQuantized, bitpack.PackedTiles]:
    """One tensor of :func:`compress_layer`: its tokens in stored ``order`` and their tiles at the width of ``rel``."""
    tq = tq.take(order)
    return tq, bitpack.encode(tq.codes, n_heads, block, pack, raw_bits_for(rel))


def _check_layout(n_layers: int, recent: int, block: int, pack: int) -> None:
    """Refuse a cache layout that would only fail at the first compression (after tokens were counted)."""
    for name, val, lo in (("n_layers", n_layers, 1), ("recent", recent, 0), ("block", block, 1), ("pack", pack, 1)):
        check_int(val, name, minimum=lo)
    if pack not in bitpack.PLANE_DTYPES:
        raise ValueError(f"pack must be one of {sorted(bitpack.PLANE_DTYPES)}; got {pack}")
    if block % pack:
        raise ValueError(f"block={block} is not a whole number of pack={pack}-token packs")


class PackKVCache:
    """Growing compressed cache for :class:`support.lm.model.Llama` on ``xp`` (NumPy or CuPy).

    The cache itself lives in host memory (NumPy): K, V and queries from a CuPy model are brought over with
    :func:`support.xp.to_numpy` and :meth:`attend` returns an ``xp`` array, as the model multiplies it by its own
    weights (CuPy refuses implicit host/device conversion both ways). New tokens go to an fp window; whenever it holds ``recent + block`` tokens or more, whole blocks move into the
    compressed store (one :class:`PackedLayer` per move). Attention over the store uses
    :func:`support.packkv.fused.qk_packed` / :func:`~support.packkv.fused.wv_packed`, never a dequantized K or V.
    """

    def __init__(self, n_layers: int, rel_k: float, rel_v: float, recent: int = 128, block: int = 64,
                 pack: int = 16, reorder: str = "none", per_head: bool = False, xp: ModuleType = np):
        check_rel(rel_k), check_rel(rel_v)
        if reorder not in REORDERS:
            raise ValueError(f"reorder must be one of {', '.join(REORDERS)}; got {reorder!r}")
        _check_layout(n_layers, recent, block, pack)
        self.rel_k, self.rel_v, self.recent, self.block, self.pack = rel_k, rel_v, recent, block, pack
        self.reorder, self.per_head = reorder, per_head
        self.store: list[list[tuple[PackedLayer, np.ndarray]]] = [[] for _ in range(n_layers)]  # (layer, positions)
        self.buf_k: list = [None] * n_layers
        self.buf_v: list = [None] * n_layers
        self.n_seen = [0] * n_layers
        self.xp = xp

    def length(self, layer: int = 0) -> int:
        return self.n_seen[layer]

    def buffer_length(self, layer: int = 0) -> int:
        return 0 if self.buf_k[layer] is None else int(self.buf_k[layer].shape[1])

    def append(self, layer: int, k, v) -> None:
        """Cache ``k``, ``v`` ``(H_kv, n, D)`` (either backend) for ``layer``, compressing whole blocks as they fill."""
        k, v = np.asarray(to_numpy(k), np.float32), np.asarray(to_numpy(v), np.float32)
        if k.shape != v.shape or k.ndim != 3:
            raise ValueError(f"K and V must both be (heads, tokens, head_dim); got {k.shape} and {v.shape}")
        if not (np.all(np.isfinite(k)) and np.all(np.isfinite(v))):
            raise ValueError("appended K or V contains NaN or infinity")
        bk, bv = self.buf_k[layer], self.buf_v[layer]
        bk = k if bk is None else np.concatenate([bk, k], axis=1)
        bv = v if bv is None else np.concatenate([bv, v], axis=1)
        first = self.n_seen[layer] - (0 if self.buf_k[layer] is None else self.buf_k[layer].shape[1])
        n = n_compressed(bk.shape[1], self.recent, self.block)
        if n:  # compress first: a failure (e.g. NaN) leaves the cache exactly as it was
            pl = compress_layer(bk[:, :n], bv[:, :n], self.rel_k, self.rel_v, self.block, self.pack, self.reorder,
                                self.per_head)
            self.store[layer].append((pl, first + pl.order))
            bk, bv = bk[:, n:], bv[:, n:]
        self.buf_k[layer], self.buf_v[layer] = bk, bv
        self.n_seen[layer] += k.shape[1]

    def attend(self, layer: int, q, k, v):
        """Append ``k``, ``v`` and attend ``q`` ``(H, n, D)``: fused scores on packed blocks + dense fp window
        (computed on the host; the result is an ``xp`` array like the model's own attention output)."""
        from support.packkv.fused import qk_packed, wv_packed

        q = np.asarray(to_numpy(q), np.float32)
        H, nq, D = q.shape
        qpos = self.n_seen[layer] + np.arange(nq)
        self.append(layer, k, v)
        buf_k, buf_v = self.buf_k[layer], self.buf_v[layer]
        buf_pos = self.n_seen[layer] - buf_k.shape[1] + np.arange(buf_k.shape[1])
        Hkv = buf_k.shape[0]
        g = H // Hkv
        scale = 1.0 / np.sqrt(D)
        parts, pos = [], []
        for pl, p in self.store[layer]:
            parts.append(qk_packed(q, pl) * scale)  # (H, nq, n)
            pos.append(p)
        parts.append(np.einsum("hqd,htd->hqt", q.astype(np.float64), np.repeat(buf_k, g, axis=0)) * scale)
        pos.append(buf_pos)
        s = np.concatenate(parts, axis=2)
        allpos = np.concatenate(pos)
        s = np.where(allpos[None, None, :] <= qpos[None, :, None], s, -np.inf)
        w = np.exp(s - s.max(axis=2, keepdims=True))
        w /= w.sum(axis=2, keepdims=True)
        out, c0 = np.zeros((H, nq, D)), 0
        for pl, _ in self.store[layer]:
            out += wv_packed(w[:, :, c0:c0 + pl.n_tokens], pl)
            c0 += pl.n_tokens
        out += np.einsum("hqt,htd->hqd", w[:, :, c0:], np.repeat(buf_v, g, axis=0))
        return self.xp.asarray(out.astype(np.float32))

    def materialize(self, layer: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(K, V, positions) of everything cached, store decoded (stored order) followed by the fp window."""
        ks, vs, ps = [], [], []
        for pl, p in self.store[layer]:
            k, v = pl.dequantize(original_order=False)
            ks.append(k), vs.append(v), ps.append(p)
        if self.buf_k[layer] is not None:
            ks.append(self.buf_k[layer]), vs.append(self.buf_v[layer])
            ps.append(self.n_seen[layer] - self.buf_k[layer].shape[1] + np.arange(self.buf_k[layer].shape[1]))
        return np.concatenate(ks, axis=1), np.concatenate(vs, axis=1), np.concatenate(ps)

    def nbytes(self) -> dict[str, int]:
        """Bytes held: packed K and V (with scales/zeros), the fp16 window, and what an fp16 cache would hold."""
        k = sum(pl.nbytes_k for s in self.store for pl, _ in s)
        v = sum(pl.nbytes_v for s in self.store for pl, _ in s)
        window = sum(2 * (a.size + b.size) for a, b in zip(self.buf_k, self.buf_v) if a is not None)
        elems = sum(2 * self.buf_k[0].shape[0] * self.buf_k[0].shape[2] * n for n in self.n_seen) \
            if self.buf_k[0] is not None else 0
        return {"packed_k": k, "packed_v": v, "fp_window": window, "fp16_equivalent": 2 * elems}
