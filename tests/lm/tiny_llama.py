"""A tiny Llama with random weights and no model file, shared by the LM tests and 01's token-track tests.

Import it as ``from tests.lm.tiny_llama import tiny_llama`` (as other shared test helpers are imported): the shapes of
SmolLM2's forward pass and KV cache, loaded in milliseconds. Used by the LM tests, 01's token track and 08's cache.
"""

from __future__ import annotations

import numpy as np

from support.lm.gguf_loader import LayerWeights, LlamaConfig, LlamaWeights
from support.lm.model import Llama


def tiny_llama_weights(seed: int = 0, *, vocab_size: int = 97, d_model: int = 64, n_heads: int = 4,
                       n_kv_heads: int = 2, head_dim: int = 16, d_ff: int = 128, n_layers: int = 2,
                       bos_id: int = 1, eos_id: int = 2, context_length: int = 64) -> LlamaWeights:
    """Random grouped-query Llama weights (each matrix scaled by 1/sqrt(fan-in), norms near 1, tied embeddings);
    the same ``seed`` and shape give the same weights."""
    rng = np.random.default_rng(seed)
    cfg = LlamaConfig(n_layers=n_layers, d_model=d_model, n_heads=n_heads, n_kv_heads=n_kv_heads, head_dim=head_dim,
                      d_ff=d_ff, vocab_size=vocab_size, rope_base=10000.0, norm_eps=1e-5, context_length=context_length,
                      bos_id=bos_id, eos_id=eos_id)

    def m(*shape):
        return (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float32)

    q, kv = n_heads * head_dim, n_kv_heads * head_dim
    layers = [LayerWeights(1 + 0.1 * m(d_model), m(q, d_model), m(kv, d_model), m(kv, d_model), m(d_model, q),
                           1 + 0.1 * m(d_model), m(d_ff, d_model), m(d_ff, d_model), m(d_model, d_ff))
              for _ in range(n_layers)]
    emb = m(vocab_size, d_model)
    return LlamaWeights(cfg, emb, 1 + 0.1 * m(d_model), emb, layers)


def tiny_llama(seed: int = 0, **shape) -> Llama:
    """:func:`tiny_llama_weights` as a NumPy :class:`Llama`."""
    return Llama(tiny_llama_weights(seed, **shape))
