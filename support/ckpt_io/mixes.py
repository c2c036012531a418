"""Tensor mixes of one rank, generated from model architectures (shapes only; no weights needed).

* :func:`llama2_7b_tp8` - Llama-2-7B (h 4096, ffn 11008, 32 layers, vocab 32000) with Megatron tensor
  parallelism 8: fused QKV, o_proj, fused gate/up, down per layer, two RMSNorm weights per layer, final
  norm, vocab-parallel embedding and LM head: 195 tensors, 1.569 GiB of bf16 per rank. ``layers`` cuts it.
* ``optimizer=True`` adds the fp32 master copy and Adam's two moments per tensor (4x tensors, 7x bytes).
* :func:`gpt_neox_biased` - GPT-NeoX-20B style (h 6144, ffn 24576, vocab 50432, fp16) at TP 8: every
  linear has a bias and every LayerNorm a weight and bias, so most tensors are a few KiB.
* :func:`many_small` - ``n`` tensors of log-uniform size between 1 KiB and 1 MiB (the small-buffer regime).
* :func:`uniform` - the synthetic control: the same bytes in uniform 64 MiB tensors.

:func:`materialize` fills a mix deterministically from the seed (finite values; bf16 kept as raw bits
when NumPy arrays are asked for).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from support.seeding import derive
from support.validate import check_int

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
_ITEM = {"bfloat16": 2, "float16": 2, "float32": 4}


@dataclass(frozen=True)
class TensorSpec:
    key: str
    shape: tuple[int, ...]
    dtype: str = "bfloat16"

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * _ITEM[self.dtype]


@dataclass(frozen=True)
class Mix:
    name: str
    specs: tuple[TensorSpec, ...]
    description: str = ""

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self.specs)

    @property
    def count(self) -> int:
        return len(self.specs)

    def sizes(self) -> np.ndarray:
        return np.array([s.nbytes for s in self.specs], dtype=np.int64)

    def summary(self) -> dict:
        s = self.sizes()
        return {"mix": self.name, "tensors": self.count, "GiB": self.nbytes / GiB,
                "median_KiB": float(np.median(s)) / KiB if len(s) else 0.0,
                "under_16KiB": int((s < 16 * KiB).sum()), "description": self.description}


def _with_optimizer(specs: list[TensorSpec]) -> list[TensorSpec]:
    """Megatron without the distributed optimizer: fp32 master weight + Adam exp_avg + exp_avg_sq."""
    out = list(specs)
    for s in specs:
        for part in ("fp32_master", "exp_avg", "exp_avg_sq"):
            out.append(TensorSpec(f"optimizer.{part}.{s.key}", s.shape, "float32"))
    return out


def llama2_7b_tp8(layers: int = 32, tp: int = 8, optimizer: bool = False, hidden: int = 4096, ffn: int = 11008,
                  vocab: int = 32000) -> Mix:
    """One tensor-parallel rank of Llama-2-7B (bf16), optionally cut to ``layers`` and with optimizer state."""
    layers, tp = check_int(layers, "layers", minimum=1), check_int(tp, "tp", minimum=1)
    for name, dim in (("hidden", hidden), ("ffn", ffn), ("vocab", vocab)):
        if dim % tp:
            raise ValueError(f"{name}={dim} is not divisible by tp={tp}")
    specs = [TensorSpec("embedding.word_embeddings.weight", (vocab // tp, hidden))]
    for i in range(layers):
        p = f"layers.{i}."
        specs += [TensorSpec(p + "input_layernorm.weight", (hidden,)),
                  TensorSpec(p + "self_attention.query_key_value.weight", (3 * hidden // tp, hidden)),
                  TensorSpec(p + "self_attention.dense.weight", (hidden, hidden // tp)),
                  TensorSpec(p + "post_attention_layernorm.weight", (hidden,)),
                  TensorSpec(p + "mlp.dense_h_to_4h.weight", (2 * ffn // tp, hidden)),
                  TensorSpec(p + "mlp.dense_4h_to_h.weight", (hidden, ffn // tp))]
    specs += [TensorSpec("final_layernorm.weight", (hidden,)), TensorSpec("output_layer.weight", (vocab // tp, hidden))]
    name = f"llama2-7b-tp{tp}" + (f"-{layers}L" if layers != 32 else "") + ("+adam" if optimizer else "")
    if optimizer:
        specs = _with_optimizer(specs)
    return Mix(name, tuple(specs), f"Llama-2-7B, TP={tp}, {layers} layers, bf16" + (" + fp32 Adam" if optimizer else ""))


def gpt_neox_biased(layers: int = 44, tp: int = 8, hidden: int = 6144, ffn: int = 24576, vocab: int = 50432) -> Mix:
    """One TP rank of a GPT-NeoX-20B-style model: biases and LayerNorm parameters make many tiny tensors."""
    layers, tp = check_int(layers, "layers", minimum=1), check_int(tp, "tp", minimum=1)
    for name, dim in (("hidden", hidden), ("ffn", ffn), ("vocab", vocab)):
        if dim % tp:
            raise ValueError(f"{name}={dim} is not divisible by tp={tp}")
    dt = "float16"
    specs = [TensorSpec("embed_in.weight", (vocab // tp, hidden), dt)]
    for i in range(layers):
        p = f"layers.{i}."
        specs += [TensorSpec(p + "input_layernorm.weight", (hidden,), dt),
                  TensorSpec(p + "input_layernorm.bias", (hidden,), dt),
                  TensorSpec(p + "attention.query_key_value.weight", (3 * hidden // tp, hidden), dt),
                  TensorSpec(p + "attention.query_key_value.bias", (3 * hidden // tp,), dt),
                  TensorSpec(p + "attention.dense.weight", (hidden, hidden // tp), dt),
                  TensorSpec(p + "attention.dense.bias", (hidden,), dt),
                  TensorSpec(p + "post_attention_layernorm.weight", (hidden,), dt),
                  TensorSpec(p + "post_attention_layernorm.bias", (hidden,), dt),
                  TensorSpec(p + "mlp.dense_h_to_4h.weight", (ffn // tp, hidden), dt),
                  TensorSpec(p + "mlp.dense_h_to_4h.bias", (ffn // tp,), dt),
                  TensorSpec(p + "mlp.dense_4h_to_h.weight", (hidden, ffn // tp), dt),
                  TensorSpec(p + "mlp.dense_4h_to_h.bias", (hidden,), dt)]
    specs += [TensorSpec("final_layer_norm.weight", (hidden,), dt), TensorSpec("final_layer_norm.bias", (hidden,), dt),
              TensorSpec("embed_out.weight", (vocab // tp, hidden), dt)]
    return Mix(f"gpt-neox-20b-tp{tp}-{layers}L", tuple(specs), f"GPT-NeoX-20B style, TP={tp}, {layers} layers, fp16, "
               "with biases")


def many_small(n: int = 4096, lo: int = KiB, hi: int = MiB, seed: int = 0) -> Mix:
    """``n`` bf16 tensors whose byte sizes are log-uniform in [lo, hi] (even sizes)."""
    n = check_int(n, "n", minimum=1)
    if not (2 <= lo < hi):
        raise ValueError(f"need 2 <= lo < hi, got lo={lo}, hi={hi}")
    rng = derive(seed, "many_small", n)
    sizes = np.exp(rng.uniform(math.log(lo), math.log(hi), size=n))
    elems = np.maximum(1, (sizes // 2).astype(np.int64))
    return Mix(f"many-small-{n}", tuple(TensorSpec(f"t{i:05d}", (int(e),)) for i, e in enumerate(elems)),
               f"{n} tensors, log-uniform {lo // KiB} KiB - {hi // KiB} KiB, bf16")


def uniform(total_bytes: int, size: int = 64 * MiB) -> Mix:
    """The synthetic workload: ``total_bytes`` in tensors of ``size`` bytes (the last one may be smaller)."""
    total_bytes, size = check_int(total_bytes, "total_bytes", minimum=2), check_int(size, "size", minimum=2)
    specs, left, i = [], total_bytes, 0
    while left >= 2:
        b = min(size, left)
        specs.append(TensorSpec(f"u{i:05d}", (b // 2,)))
        left -= b // 2 * 2
        i += 1
    return Mix(f"uniform-{size // MiB}MiB", tuple(specs), f"synthetic: {len(specs)} uniform {size // MiB} MiB tensors")


_MASK = {"bfloat16": (np.uint16, 0xBFFF), "float16": (np.uint16, 0xBFFF), "float32": (np.uint32, 0xBFFFFFFF)}


def materialize(mix: Mix, seed: int = 0, as_torch: bool = True) -> dict:
    """Deterministic tensor values for ``mix`` from (seed, tensor index): random bits with the top
    exponent bit cleared, so every value is a finite float of magnitude below 2 (fast: no transcendental
    functions, about 0.5 s per GiB)."""
    out = {}
    for i, s in enumerate(mix.specs):
        rng = derive(seed, "tensor", i)
        raw = rng.bit_generator.random_raw(-(-s.nbytes // 8)).view(np.uint8)[:s.nbytes]
        utype, mask = _MASK[s.dtype]
        bits = raw.view(utype)
        bits &= utype(mask)
        a = bits.reshape(s.shape)
        if as_torch:
            import torch

            t = torch.from_numpy(a)
            out[s.key] = t.view(torch.bfloat16) if s.dtype == "bfloat16" else t.view(getattr(torch, s.dtype))
        else:
            out[s.key] = a if s.dtype == "bfloat16" else a.view(np.dtype(s.dtype))
    return out


def by_name(name: str, **kw) -> Mix:
    """Mixes by name: llama, llama+adam, neox, many-small, uniform."""
    makers = {"llama": lambda: llama2_7b_tp8(**kw), "llama+adam": lambda: llama2_7b_tp8(optimizer=True, **kw),
              "neox": lambda: gpt_neox_biased(**kw), "many-small": lambda: many_small(**kw),
              "uniform": lambda: uniform(**kw)}
    if name not in makers:
        raise ValueError(f"unknown mix {name!r}; choose one of {', '.join(makers)}")
    return makers[name]()
