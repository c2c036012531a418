"""One way to seed: NumPy, CuPy and ``random`` from the notebook's ``seed`` parameter."""

from __future__ import annotations

import random

import numpy as np

from support.xp import _cupy_or_none


def seed_everything(seed: int) -> np.random.Generator:
    """Seed ``random``, NumPy's legacy global state and CuPy (if present); return a fresh Generator.

    Code should prefer the returned ``np.random.Generator`` (or ``derive``) over global state.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    cp = _cupy_or_none()
    if cp is not None:
        cp.random.seed(seed)
    return np.random.default_rng(seed)


def derive(seed: int, *keys: int | str) -> np.random.Generator:
    """An independent Generator for a sub-stream (trial i, component 'net', ...) of ``seed``."""
    words = [seed] + [k if isinstance(k, int) else int.from_bytes(k.encode()[:8].ljust(8, b"\0"), "little")
                      for k in keys]
    return np.random.default_rng(np.random.SeedSequence(words))
