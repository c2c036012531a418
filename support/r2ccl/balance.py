"""Balance: after a failure every rank agrees on the failed NICs and spreads the load over the survivors.

R2CCL ORs per-rank failed-channel masks with a bootstrap allgather at the next collective and removes
the failed NIC's channels on *every* server, so its share spreads over all k-1 surviving NICs instead
of piling onto one backup. Here each rank contributes the connections it has declared dead; the union
is the same on every rank (it comes from the same messages), so all ranks plan the same lanes.

Localization: connections are a full mesh per rail with heartbeats on each, so when host d loses NIC
i, *all* of d's rail-i connections die while other hosts' rail-i connections stay alive. The host
incident to every dead edge of a rail is the degraded server (a vertex cover of size one; with two
hosts it is ambiguous and the failure is treated as rail-wide).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class View:
    """What all ranks agreed on at the start of a collective."""

    world: int
    k: int
    dead_edges: tuple = ()  # (rank a, rank b, nic) with a < b
    failed_rails: frozenset = field(default_factory=frozenset)
    degraded: dict = field(default_factory=dict)  # rail -> host that lost it (when localized)

    @property
    def healthy_rails(self) -> list[int]:
        return [i for i in range(self.k) if i not in self.failed_rails]


def agree(world: int, k: int, reports: dict[int, list]) -> View:
    """Merge every rank's dead connections into one :class:`View` (deterministic in its input)."""
    edges = sorted({tuple(int(x) for x in e) for rep in reports.values() for e in rep})
    rails = frozenset(e[2] for e in edges)
    degraded = {}
    for rail in rails:
        es = [e for e in edges if e[2] == rail]
        common = set(es[0][:2])
        for e in es[1:]:
            common &= set(e[:2])
        if world >= 3 and len(common) == 1 and len(es) >= 2:
            degraded[rail] = common.pop()
    return View(world, k, tuple(edges), rails, degraded)


def shares(bandwidth: list[float], failed: frozenset | set = frozenset()) -> np.ndarray:
    """Fraction of the data per NIC: proportional to bandwidth over the surviving NICs, 0 on failed ones."""
    bw = np.asarray(bandwidth, dtype=float)
    if bw.ndim != 1 or np.any(bw < 0):
        raise ValueError(f"bandwidths must be a list of non-negative numbers, got {bandwidth!r}")
    w = bw.copy()
    for i in failed:
        w[i] = 0.0
    if w.sum() <= 0:
        raise ValueError("no surviving NIC carries any bandwidth: R2CCL cannot run without a working NIC")
    return w / w.sum()


def split_range(a: int, b: int, weights) -> list[tuple[int, int]]:
    """Cut ``[a, b)`` into ``len(weights)`` contiguous pieces proportional to ``weights`` (integers, exact)."""
    w = np.asarray(weights, dtype=float)
    n = b - a
    cum = np.floor(np.cumsum(w) / w.sum() * n + 1e-9).astype(int)
    cum[-1] = n
    starts = np.concatenate([[0], cum[:-1]])
    return [(a + int(s), a + int(e)) for s, e in zip(starts, cum)]


def resilient_loads(f: float, w: float, hosts: int, k: int, failed: int = 1) -> tuple[float, float]:
    """Per-NIC load (in units of S/B) of the R2CCL-AllReduce split with ratio ``f``, one degraded host
    that lost ``failed`` of its k NICs.

    Fraction f takes the global ring on the k-failed good rails; 1-f is reduced by the healthy hosts
    (sub-ring on all k rails, a share ``w`` of it on the rails the degraded host lost) and the degraded
    host's contribution is folded in by a chain on the good rails. Returns (max good-rail load,
    failed-index-rail load) of the busiest host.
    """
    if not 0 < failed < k:
        raise ValueError(f"failed NICs must be in [1, {k - 1}]; got {failed}")
    a, b = _ring_and_subring(f, hosts)
    return (a + (1 - w) * b) / (k - failed), w * b / failed


def _ring_and_subring(f: float, h: int) -> tuple[float, float]:
    """Bytes per S of the global ring plus chain (a, good rails) and of the healthy sub-ring (b)."""
    a = 2 * f * (h - 1) / h + (1 - f)
    b = 2 * (1 - f) * (h - 2) / (h - 1) if h > 2 else 0.0
    return a, b


def subring_weight(f: float, hosts: int, k: int, failed: int = 1) -> float:
    """The sub-ring share w on the lost rails that equalises both rail kinds at split ``f``:
    (a + (1-w) b)/(k-m) = w b/m gives w = m (a + b)/(k b), capped at 1 (0 without a sub-ring)."""
    a, b = _ring_and_subring(f, hosts)
    return min(1.0, failed * (a + b) / (k * b)) if b > 0 else 0.0


def resilient_split(hosts: int, k: int, grid: int = 401, failed: int = 1) -> tuple[float, float]:
    """The split ratio f and sub-ring weight w minimising the busiest NIC's load with ``failed`` NICs lost
    on one host (large N: f* -> (2k-3m)/(2k-m), time 2k/(2k-m) T0 for m = failed <= 2k/3; notes 12 Sec. 1.7)."""
    if k < 2:
        raise ValueError("the resilient allreduce needs at least 2 NICs per host")
    best = (np.inf, 1.0, 0.0)
    for f in np.linspace(1, 0, grid):  # from 1 down: ties keep the plain ring (Balance)
        w = subring_weight(f, hosts, k, failed)
        load = max(resilient_loads(f, w, hosts, k, failed))
        if load < best[0] - 1e-12:
            best = (load, float(f), float(w))
    return best[1], best[2]
