"""Fused decompress + mat-vec on packed blocks (NumPy reference of the GPU kernels), float64.

With a per-token scale ``s_t`` and integer zero ``z_t`` the dequantization moves **after** the integer dot
product (the paper's LLM-aware argument for per-token K):

* ``q · k_hat_t = s_t * ( sum_c q_c * (min_{p(t),c} + r_{t,c}) + z_t * sum_c q_c )``
* ``sum_t w_t * v_hat_t = sum_t (w_t s_t) * (min_{p(t)} + r_t) + (sum_t w_t s_t z_t) * 1``

where ``min`` and the residuals ``r`` come straight from the packs (bit planes), never as a float K or V.
Under grouped-query attention each KV head serves ``H / H_kv`` query heads. Results are in **stored** token order
(what a decode kernel sees); softmax and the weighted sum do not care about the order.
"""

from __future__ import annotations

import numpy as np

from support.packkv import bitpack
from support.packkv.blocks import PackedLayer


def _codes_by_tile(p: bitpack.PackedTiles) -> np.ndarray:
    """``min + residual`` per pack as int64 ``(n_blocks, H, groups, D, pack)`` read from the planes."""
    mins, _ = p.fields()
    c = bitpack.residuals(p) + mins[..., None]
    return c.reshape(p.n_blocks, p.n_heads, p.groups, p.head_dim, p.pack)


def _per_token(a: np.ndarray, H: int) -> np.ndarray:
    """Scale or zero as float64 ``(H, T)`` (per token, broadcast to heads, or per token and head)."""
    a = np.asarray(a, dtype=np.float64)
    return np.broadcast_to(a[None, :], (H, a.shape[0])) if a.ndim == 1 else a.T


def qk_packed(q: np.ndarray, layer: PackedLayer) -> np.ndarray:
    """Scores ``q · K_hat^T`` for queries ``q`` ``(H_q, D)`` over the packed tokens: ``(H_q, n)`` float64."""
    p = layer.k
    q = np.asarray(q, dtype=np.float64)
    single = q.ndim == 2
    q3 = q[:, None, :] if single else q  # (Hq, nq, D)
    Hq, nq, D = q3.shape
    if D != p.head_dim or Hq % p.n_heads:
        raise ValueError(f"queries {q.shape} do not fit {p.n_heads} KV heads of dim {p.head_dim}")
    g = Hq // p.n_heads
    c = _codes_by_tile(p)  # (nb, H, G, D, pack)
    qg = q3.reshape(p.n_heads, g * nq, D)
    dot = np.einsum("bhGdp,hkd->hkbGp", c, qg, optimize=True).reshape(p.n_heads, g * nq, p.n_tokens)
    s = _per_token(layer.kq.scale, p.n_heads)[:, None, :]
    z = _per_token(layer.kq.zero, p.n_heads)[:, None, :]
    out = (s * (dot + z * qg.sum(axis=-1)[..., None])).reshape(Hq, nq, p.n_tokens)
    return out[:, 0] if single else out


def wv_packed(w: np.ndarray, layer: PackedLayer) -> np.ndarray:
    """``w · V_hat`` for attention weights ``w`` ``(H_q, n)`` (stored order): ``(H_q, D)`` float64."""
    p = layer.v
    w = np.asarray(w, dtype=np.float64)
    single = w.ndim == 2
    w3 = w[:, None, :] if single else w  # (Hq, nq, n)
    Hq, nq, n = w3.shape
    if n != p.n_tokens or Hq % p.n_heads:
        raise ValueError(f"weights {w.shape} do not fit {p.n_tokens} tokens and {p.n_heads} KV heads")
    g = Hq // p.n_heads
    s = _per_token(layer.vq.scale, p.n_heads)[:, None, :]
    z = _per_token(layer.vq.zero, p.n_heads)[:, None, :]
    ws = w3.reshape(p.n_heads, g * nq, n) * s  # w'_t = w_t * s_t
    c = _codes_by_tile(p)
    wsb = ws.reshape(p.n_heads, g * nq, p.n_blocks, p.groups, p.pack)
    out = np.einsum("hkbGp,bhGdp->hkd", wsb, c, optimize=True)
    out += (ws * z).sum(axis=-1)[..., None]
    out = out.reshape(Hq, nq, p.head_dim)
    return out[:, 0] if single else out


def qk_dense(q: np.ndarray, layer: PackedLayer) -> np.ndarray:
    """Decompress-then-matmul reference for :func:`qk_packed` (stored order, float64)."""
    k, _ = layer.dequantize(original_order=False)
    q = np.asarray(q, dtype=np.float64)
    g = q.shape[0] // k.shape[0]
    return np.einsum("hd,htd->ht", q, np.repeat(k.astype(np.float64), g, axis=0))


def wv_dense(w: np.ndarray, layer: PackedLayer) -> np.ndarray:
    """Decompress-then-matmul reference for :func:`wv_packed`."""
    _, v = layer.dequantize(original_order=False)
    g = w.shape[0] // v.shape[0]
    return np.einsum("ht,htd->hd", np.asarray(w, np.float64), np.repeat(v.astype(np.float64), g, axis=0))
