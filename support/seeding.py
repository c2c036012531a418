"""One way to seed: NumPy, CuPy and ``random`` from the notebook's ``seed`` parameter."""

from __future__ import annotations

import random

import numpy as np

from support.validate import ParameterError, check_int
from support.xp import _cupy_or_none


def seed_everything(seed: int) -> np.random.Generator:
    """Seed ``random``, NumPy's legacy global state and CuPy (if present); return a fresh Generator.

    Code should prefer the returned ``np.random.Generator`` (or ``derive``) over global state.
    """
    seed = check_int(seed, "seed", minimum=0, error=ParameterError)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    cp = _cupy_or_none()
    if cp is not None:
        cp.random.seed(seed)
    return np.random.default_rng(seed)


_KEY_OWNERS: dict[int, str] = {}  # stream word -> the string key that first used it, in this process


def _key_word(key: str) -> int:
    """The stream word of a string key: its first 8 UTF-8 bytes, little-endian (kept so that recorded runs
    replay). Two keys that share those bytes would share a stream, so the second one is refused."""
    word = int.from_bytes(key.encode()[:8].ljust(8, b"\0"), "little")
    owner = _KEY_OWNERS.setdefault(word, key)
    if owner != key:
        raise ValueError(f"stream keys {owner!r} and {key!r} share their first 8 bytes and would draw the same "
                         "random numbers; make them differ within the first 8 characters")
    return word


def derive(seed: int, *keys: int | str) -> np.random.Generator:
    """An independent Generator for a sub-stream (trial i, component 'net', ...) of ``seed``.

    Trailing integer keys equal to 0 name the same stream as none (NumPy's SeedSequence pads its words with
    zeros): ``derive(s, "k", 0)`` is ``derive(s, "k")``, so never use both forms for two different streams.
    """
    words = [seed] + [int(k) if isinstance(k, (int, np.integer)) else _key_word(k) for k in keys]
    return np.random.default_rng(np.random.SeedSequence(words))
