"""Named, independent RNG streams derived from one seed (via :func:`support.seeding.derive`)."""

from __future__ import annotations

import numpy as np

from support.seeding import derive


class Streams:
    """``Streams(seed)["arrivals"]`` is a ``np.random.Generator`` private to that component.

    The same (seed, name) always gives the same stream, and adding a component does not change the
    draws of the others (each name has its own SeedSequence).
    """

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._s: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        if name not in self._s:
            self._s[name] = derive(self.seed, "sim", name)
        return self._s[name]

    def fresh(self, name: str) -> np.random.Generator:
        """A new generator at the start of stream ``name`` (replays the same draws)."""
        return derive(self.seed, "sim", name)
