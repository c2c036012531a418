"""A Llama forward pass written against ``xp`` (NumPy or CuPy): RMSNorm, rotate-half RoPE, grouped-query
attention, SwiGLU, tied LM head; incremental decoding with a pluggable KV cache.

The cache stores **post-RoPE** K and V per layer, shape ``(n_kv_heads, T, head_dim)``, which is what KV-cache
compressors (PackKV, KIVI) see. Two ways to put a compressor in the loop:

* ``kv_hook(layer, k, v) -> (k_hat, v_hat)``: applied to the whole sequence's K and V before attention (the
  "fake quantization" used for accuracy sweeps);
* a cache object with ``attend(layer, q, k, v)`` (see :class:`DenseKVCache`): it appends the new tokens and
  computes attention from whatever it stores, e.g. packed blocks read by fused kernels.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType

import numpy as np

from support.lm.gguf_loader import LlamaConfig, LlamaWeights

KVHook = Callable[[int, object, object], tuple[object, object]]


def rms_norm(x, w, eps: float, xp: ModuleType = np):
    x32 = x.astype(xp.float32, copy=False)
    return x32 / xp.sqrt(xp.mean(x32 * x32, axis=-1, keepdims=True) + eps) * w


def rope_tables(positions, head_dim: int, base: float, xp: ModuleType = np):
    """cos and sin tables, shape ``(n, head_dim/2)``, for integer ``positions`` (HF rotate-half convention)."""
    inv = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    ang = np.asarray(positions, dtype=np.float64)[:, None] * inv[None, :]
    return xp.asarray(np.cos(ang), dtype=xp.float32), xp.asarray(np.sin(ang), dtype=xp.float32)


def apply_rope(x, cos, sin, xp: ModuleType = np):
    """Rotate ``x`` of shape ``(heads, n, head_dim)``: channel ``i`` pairs with ``i + head_dim/2``."""
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return xp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def attention(q, k, v, n_past: int = 0, xp: ModuleType = np):
    """Causal grouped-query attention.

    ``q``: ``(H, n, D)`` queries at positions ``n_past .. n_past+n-1``; ``k``, ``v``: ``(H_kv, n_past+n, D)``.
    Query head ``h`` uses KV head ``h // (H/H_kv)``. Key ``j`` is visible to query ``i`` iff ``j <= n_past + i``.
    Returns ``(H, n, D)``.
    """
    H, n, D = q.shape
    Hkv, T, _ = k.shape
    if H % Hkv or T != n_past + n:
        raise ValueError(f"shapes q{q.shape} k{k.shape} with n_past={n_past} do not fit")
    g = H // Hkv
    qg = xp.ascontiguousarray(q).reshape(Hkv, g * n, D)
    k, v = xp.ascontiguousarray(k), xp.ascontiguousarray(v)  # strided operands make matmul skip BLAS
    s = qg @ k.transpose(0, 2, 1)  # (Hkv, g*n, T), a fresh array: scaled, masked and normalised in place
    s *= np.float32(1.0 / np.sqrt(D))
    s = s.reshape(Hkv, g, n, T)
    if n > 1:
        s += _causal_bias(n, n_past, xp)
    p = _softmax_in_place(s, xp).reshape(Hkv, g * n, T)
    return (p @ v).reshape(H, n, D)


@functools.lru_cache(maxsize=8)
def _causal_bias(n: int, n_past: int, xp: ModuleType = np):
    """The additive causal mask ``(n, n_past + n)``: 0 where key ``j <= n_past + i``, -inf after. Made once per shape
    and reused by every layer and window of that shape (read-only: callers only add it)."""
    i = xp.arange(n)[:, None]
    j = xp.arange(n_past + n)[None, :]
    bias = xp.where(j <= n_past + i, xp.float32(0), xp.float32(-np.inf))
    if xp is np:
        bias.flags.writeable = False
    return bias


def _softmax_in_place(x, xp: ModuleType = np):
    """Softmax over the last axis, written into ``x`` (max-shifted exponent over its sum; no temporaries: attention's
    scores are the largest arrays of a forward pass)."""
    x -= xp.max(x, axis=-1, keepdims=True)
    xp.exp(x, out=x)
    x /= xp.sum(x, axis=-1, keepdims=True)
    return x


class DenseKVCache:
    """The uncompressed cache: per layer post-RoPE K and V of shape ``(n_kv_heads, T, head_dim)``."""

    def __init__(self, n_layers: int, xp: ModuleType = np):
        self.xp = xp
        self.k: list = [None] * n_layers
        self.v: list = [None] * n_layers

    def length(self, layer: int = 0) -> int:
        return 0 if self.k[layer] is None else int(self.k[layer].shape[1])

    def truncate(self, n: int) -> None:
        """Forget every position from ``n`` on in all layers (backtracking); no-op where fewer are cached."""
        n = max(int(n), 0)
        for layer in range(len(self.k)):
            if self.k[layer] is not None and self.k[layer].shape[1] > n:
                self.k[layer] = self.k[layer][:, :n]
                self.v[layer] = self.v[layer][:, :n]

    def append(self, layer: int, k, v) -> None:
        xp = self.xp
        self.k[layer] = k if self.k[layer] is None else xp.concatenate([self.k[layer], k], axis=1)
        self.v[layer] = v if self.v[layer] is None else xp.concatenate([self.v[layer], v], axis=1)

    def attend(self, layer: int, q, k, v):
        """Append the new tokens' ``k``, ``v`` and attend ``q`` (``(H, n, D)``) over everything cached."""
        n_past = self.length(layer)
        self.append(layer, k, v)
        return attention(q, self.k[layer], self.v[layer], n_past, self.xp)

    def nbytes(self, bits_per_element: int = 16) -> int:
        """Bytes of K and V at ``bits_per_element`` (16 = the fp16 cache a GPU server would keep)."""
        n = sum(int(a.size) for a in self.k + self.v if a is not None)
        return n * bits_per_element // 8


class Llama:
    """Llama decoder on ``xp``. ``forward(ids, cache=...)`` runs prefill or decode steps."""

    def __init__(self, weights: LlamaWeights, xp: ModuleType = np):
        self.config: LlamaConfig = weights.config
        self.xp = xp
        a = (lambda t: xp.asarray(t, dtype=xp.float32))
        self.tok_embd = a(weights.tok_embd)
        self.out_norm = a(weights.out_norm)
        self.output = self.tok_embd if weights.output is weights.tok_embd else a(weights.output)
        self.layers = [{name: a(getattr(lw, name)) for name in
                        ("attn_norm", "wq", "wk", "wv", "wo", "ffn_norm", "w_gate", "w_up", "w_down")}
                       for lw in weights.layers]

    def new_cache(self) -> DenseKVCache:
        return DenseKVCache(self.config.n_layers, self.xp)

    def forward(self, ids, cache=None, kv_hook: KVHook | None = None, capture=None, logits: str = "all",
                start_pos: int | None = None):
        """Logits ``(n, vocab)`` (or ``(1, vocab)`` with ``logits="last"``, ``None`` with ``logits="none"``).

        ``ids``: new token ids. With ``cache``, positions continue after the cached tokens and the cache is
        updated; without, the ids are one causal sequence from position ``start_pos`` (default 0).
        ``kv_hook(layer, k, v)`` replaces K and V before attention (no-cache mode only).
        ``capture(layer, q, k, v)`` receives post-RoPE queries, keys and values of every layer.
        """
        xp, c = self.xp, self.config
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size == 0:
            raise ValueError("forward() needs at least one token id")
        if ids.min() < 0 or ids.max() >= c.vocab_size:
            raise ValueError(f"token ids must lie in [0, {c.vocab_size}); got {ids.min()}..{ids.max()}")
        if cache is not None and kv_hook is not None:
            raise ValueError("kv_hook applies to cache-free runs; put the compressor in the cache instead")
        if logits not in ("all", "last", "none"):
            raise ValueError(f"logits must be 'all', 'last' or 'none', got {logits!r}")
        n = ids.size
        pos0 = cache.length(0) if cache is not None else (start_pos or 0)
        cos, sin = rope_tables(np.arange(pos0, pos0 + n), c.head_dim, c.rope_base, xp)
        x = self.tok_embd[xp.asarray(ids)]
        H, Hkv, D = c.n_heads, c.n_kv_heads, c.head_dim
        for li, L in enumerate(self.layers):
            h = rms_norm(x, L["attn_norm"], c.norm_eps, xp)
            q = (h @ L["wq"].T).reshape(n, H, D).transpose(1, 0, 2)
            k = (h @ L["wk"].T).reshape(n, Hkv, D).transpose(1, 0, 2)
            v = xp.ascontiguousarray((h @ L["wv"].T).reshape(n, Hkv, D).transpose(1, 0, 2))
            q = apply_rope(q, cos, sin, xp)
            k = apply_rope(k, cos, sin, xp)
            if capture is not None:
                capture(li, q, k, v)
            if cache is not None:
                o = cache.attend(li, q, k, v)
            else:
                if kv_hook is not None:
                    k, v = kv_hook(li, k, v)
                o = attention(q, k, v, 0, xp)
            x = x + o.transpose(1, 0, 2).reshape(n, H * D) @ L["wo"].T
            h = rms_norm(x, L["ffn_norm"], c.norm_eps, xp)
            g = h @ L["w_gate"].T
            x = x + ((g / (1.0 + xp.exp(-g))) * (h @ L["w_up"].T)) @ L["w_down"].T
        if logits == "none":
            return None
        if logits == "last":
            x = x[-1:]
        return rms_norm(x, self.out_norm, c.norm_eps, xp) @ self.output.T

    def generate(self, prompt_ids, n_new: int, cache=None) -> np.ndarray:
        """Greedy decoding of ``n_new`` tokens after ``prompt_ids`` (prefill, then one token per step)."""
        cache = cache if cache is not None else self.new_cache()
        lg = self.forward(prompt_ids, cache=cache, logits="last")
        out = []
        for _ in range(n_new):
            t = int(self.xp.argmax(lg[-1]))
            out.append(t)
            lg = self.forward([t], cache=cache, logits="last")
        return np.asarray(out, dtype=np.int64)


def smollm2(xp: ModuleType = np) -> Llama:
    """SmolLM2-135M-Instruct on ``xp`` (weights loaded once per process)."""
    from support.lm.gguf_loader import load_smollm2

    return Llama(load_smollm2(), xp)
