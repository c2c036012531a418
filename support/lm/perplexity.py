"""Next-token metrics from logits: log-probabilities, perplexity, KL divergence, top-1 agreement."""

from __future__ import annotations

import math

import numpy as np

from support.xp import to_numpy


def log_softmax(logits) -> np.ndarray:
    """Row-wise log-softmax in float64 on the host, shape ``(n, vocab)``: shift and normalise in place on the float64
    copy (one more temporary, the exponent; a window's rows are 49k-wide), the same operations as the plain form."""
    z = to_numpy(logits).astype(np.float64)
    z -= z.max(axis=-1, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return z


def token_nll(logits, ids) -> np.ndarray:
    """Negative log-likelihood of ``ids[1:]`` under ``logits[:-1]`` (nats, one per predicted token)."""
    ids = np.asarray(ids).reshape(-1)
    lp = log_softmax(logits)
    if lp.shape[0] != ids.size:
        raise ValueError(f"{lp.shape[0]} logit rows for {ids.size} ids")
    return -lp[np.arange(ids.size - 1), ids[1:]]


def perplexity_from_nll(nll) -> float:
    return float(math.exp(float(np.mean(nll))))


def perplexity(model, ids, kv_hook=None) -> float:
    """Perplexity of ``ids`` (one causal window) under ``model``, optionally with a KV hook."""
    return perplexity_from_nll(token_nll(model.forward(ids, kv_hook=kv_hook), ids))


def kl_divergence(logp_ref: np.ndarray, logp: np.ndarray, p_ref: np.ndarray | None = None) -> np.ndarray:
    """``KL(p_ref || p)`` per row, in nats, from log-probabilities; ``p_ref``: ``exp(logp_ref)`` if already
    computed (a reference compared with many distributions)."""
    return np.sum((np.exp(logp_ref) if p_ref is None else p_ref) * (logp_ref - logp), axis=-1)


def top1_agreement(logp_ref: np.ndarray, logp: np.ndarray, top_ref: np.ndarray | None = None) -> float:
    """Fraction of positions whose most likely next token is the same under both distributions; ``top_ref``:
    ``argmax(logp_ref)`` per row if already computed."""
    ref = np.argmax(logp_ref, axis=-1) if top_ref is None else top_ref
    return float(np.mean(ref == np.argmax(logp, axis=-1)))
