"""Small log-space helpers shared by the representations (all exact, -inf safe)."""

from __future__ import annotations

import numpy as np

LOG_2PI = float(np.log(2.0 * np.pi))


def logsumexp(a: np.ndarray, axis=None, keepdims: bool = False) -> np.ndarray:
    """``log(sum(exp(a)))`` over ``axis``; all -inf slices give -inf without warnings.

    Stable form with the slice maximum taken out (used by every marginalize/normalize).
    """
    a = np.asarray(a, dtype=float)
    if a.size == 0:
        return np.full(np.sum(a, axis=axis, keepdims=keepdims).shape, -np.inf)
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return s if keepdims else np.squeeze(s, axis=axis) if axis is not None else s.reshape(())


def safe_log(p: np.ndarray) -> np.ndarray:
    """Elementwise log with log(0) = -inf and no warning."""
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(p, dtype=float))
