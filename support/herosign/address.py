"""Hash addresses ADRS (FIPS 205 §4.2) built vectorised: one ``uint32[L, 8]`` row of words per lane.

Words: 0 layer, 1-3 tree (96 bits, we use the low 64), 4 type, 5 key pair, 6 chain / tree height,
7 hash / tree index. ``to_bytes`` gives the 32-byte ADRS, ``compressed`` the 22-byte ADRSc (§11.2).
"""

from __future__ import annotations

import numpy as np

WOTS_HASH, WOTS_PK, TREE, FORS_TREE, FORS_ROOTS, WOTS_PRF, FORS_PRF = range(7)


def make(layer, tree, type_: int, keypair=0, word6=0, word7=0) -> np.ndarray:
    """ADRS words for broadcast-compatible 1-D fields; ``tree`` may use all 64 bits (uint64)."""
    tree = np.asarray(tree, np.uint64)
    fields = np.broadcast_arrays(np.asarray(layer), tree, np.asarray(keypair), np.asarray(word6),
                                 np.asarray(word7))
    shape = np.broadcast_shapes(*(f.shape for f in fields), (1,))
    out = np.zeros(shape + (8,), np.uint32)
    out[..., 0] = fields[0]
    t = np.broadcast_to(fields[1], shape)
    out[..., 2] = (t >> np.uint64(32)).astype(np.uint32)
    out[..., 3] = (t & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    out[..., 4] = type_
    out[..., 5] = fields[2]
    out[..., 6] = fields[3]
    out[..., 7] = fields[4]
    return out.reshape(-1, 8)


def to_bytes(adrs: np.ndarray) -> np.ndarray:
    """The 32-byte big-endian ADRS of each lane: ``uint32[L, 8]`` -> ``uint8[L, 32]``."""
    return np.ascontiguousarray(adrs).astype(">u4").view(np.uint8).reshape(-1, 32)


def compressed(adrs: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The 22-byte ADRSc of the SHA2 sets (FIPS 205 §11.2): ``uint32[L, 8]`` -> ``uint8[L, 22]``, written into
    ``out`` (``uint8[L, 22]``, e.g. the head of a padded hash block) when given: three column slices, no gather."""
    b = to_bytes(adrs)
    if out is None:
        out = np.empty((b.shape[0], 22), np.uint8)
    out[:, 0] = b[:, 3]  # layer (low byte of word 0)
    out[:, 1:9] = b[:, 8:16]  # tree (words 2-3)
    out[:, 9:22] = b[:, 19:32]  # type (low byte of word 4), then words 5-7
    return out


def layer_tree_leaf(idx_tree: np.ndarray, idx_leaf: np.ndarray, d: int, hp: int) -> tuple[np.ndarray, np.ndarray]:
    """Tree and leaf index of every hypertree layer (FIPS 205 Alg. 12): ``[B]`` -> ``[B, d]`` each."""
    idx_tree = np.asarray(idx_tree, np.uint64)
    shifts = np.arange(d, dtype=np.uint64) * np.uint64(hp)
    safe = np.minimum(shifts, np.uint64(63))
    trees = np.where(shifts[None] >= 64, np.uint64(0), idx_tree[:, None] >> safe[None])
    leaves = np.empty((idx_tree.shape[0], d), np.int64)
    leaves[:, 0] = idx_leaf
    if d > 1:
        leaves[:, 1:] = (trees[:, :-1] & np.uint64((1 << hp) - 1)).astype(np.int64)
    return trees, leaves
