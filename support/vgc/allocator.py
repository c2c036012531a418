"""A pymalloc-like allocator model: size classes, pools, committed bytes, alignment padding (issue 15, step 4).

Objects up to ``max_small`` bytes go to pools of one size class (size rounded up to ``align``); a pool
(``pool_size`` bytes, ``pool_overhead`` header) is committed while it holds at least one object. Larger
objects are counted at their rounded size. Separate ``group`` values (zones) never share a pool, so
zone segregation shows up as extra partly-filled pools. CPython 3.11 on 64-bit uses 16 KiB pools
inside 1 MiB arenas and 16-byte alignment; arenas are not modelled (pool-level committed bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AllocatorConfig:
    """Pool geometry and alignment (defaults: CPython 3.11, 64-bit)."""

    pool_size: int = 16384
    pool_overhead: int = 48
    max_small: int = 512
    align: int = 16

    def __post_init__(self):
        if self.align <= 0 or self.align & (self.align - 1):
            raise ValueError(f"align must be a power of two, got {self.align}")
        if self.pool_size <= self.pool_overhead + self.max_small:
            raise ValueError(f"pool_size {self.pool_size} too small for max_small {self.max_small}")


def rounded(size: np.ndarray | int, align: int) -> np.ndarray:
    """Size rounded up to a multiple of ``align`` (the slot an object occupies)."""
    return -(-np.asarray(size, dtype=np.int64) // align) * align


def padding_fraction(sizes: np.ndarray, align: int) -> float:
    """Extra bytes from alignment alone: ``sum(rounded) / sum(raw) - 1``."""
    s = np.asarray(sizes, dtype=np.int64)
    return float(rounded(s, align).sum() / s.sum() - 1.0)


class Allocator:
    """Sequential size-class allocator; tracks live, committed and peak committed bytes."""

    def __init__(self, cfg: AllocatorConfig, n_objects: int, group_align: dict[int, int] | None = None):
        self.cfg = cfg
        self.group_align = dict(group_align or {})
        self.obj_pool = np.full(n_objects, -2, dtype=np.int64)  # -2 never allocated / freed, -1 large
        self.obj_bytes = np.zeros(n_objects, dtype=np.int64)
        self.used: list[int] = []
        self.cap: list[int] = []
        self.key: list[tuple[int, int]] = []
        self.partial: dict[tuple[int, int], list[int]] = {}
        self.pools_in_use = 0
        self.large = 0
        self.live = 0
        self.peak_committed = 0
        self.live_at_peak = 0
        self.peak_live = 0

    @property
    def committed(self) -> int:
        return self.pools_in_use * self.cfg.pool_size + self.large

    def alloc(self, i: int, size: int, group: int = 0) -> None:
        a = self.group_align.get(group, self.cfg.align)
        slot = -(-size // a) * a
        if size > self.cfg.max_small:
            self.obj_pool[i] = -1
            self.large += slot
        else:
            key = (group, slot)
            st = self.partial.get(key)
            if st is None:
                st = self.partial[key] = []
            while st and (self.used[st[-1]] in (0, self.cap[st[-1]])):
                st.pop()  # lazily drop released or full pools
            if st:
                p = st[-1]
            else:
                p = len(self.used)
                self.used.append(0)
                self.cap.append((self.cfg.pool_size - self.cfg.pool_overhead) // slot)
                self.key.append(key)
                st.append(p)
                self.pools_in_use += 1
            self.used[p] += 1
            self.obj_pool[i] = p
        self.obj_bytes[i] = slot
        self.live += size
        c = self.pools_in_use * self.cfg.pool_size + self.large
        if c > self.peak_committed:
            self.peak_committed, self.live_at_peak = c, self.live
        self.peak_live = max(self.peak_live, self.live)

    def free(self, i: int, size: int) -> None:
        p = int(self.obj_pool[i])
        if p == -2:
            raise ValueError(f"object {i} freed twice or never allocated")
        if p == -1:
            self.large -= int(self.obj_bytes[i])
        else:
            u = self.used[p] - 1
            self.used[p] = u
            if u == 0:
                self.pools_in_use -= 1  # an empty pool goes back (its stale stack entry is skipped later)
            elif u == self.cap[p] - 1:
                self.partial[self.key[p]].append(p)
        self.obj_pool[i] = -2
        self.live -= size
