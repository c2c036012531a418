"""The hypertree (FIPS 205 §7) over lanes: all d layers of a batch built at once, then WOTS+ signing.

Every layer's (tree, leaf) is known from ``idx_tree``/``idx_leaf`` right after H_msg, so the B*d XMSS
trees are independent (TREE_Sign); layer j then signs the root of layer j-1 (WOTS+_Sign).
"""

from __future__ import annotations

import numpy as np

from support.herosign import address, wots, xmss
from support.herosign.hashes import Tweakable


def sign(th: Tweakable, kid, msg: np.ndarray, idx_tree, idx_leaf):
    """Hypertree signatures (FIPS 205 Alg. 12) of B messages ``uint8[B, n]``.

    Returns ``(sig uint8[B, d, len + h', n], top root uint8[B, n])``.
    """
    p = th.params
    kid = np.asarray(kid, np.intp)
    B = kid.shape[0]
    trees, leaves = address.layer_tree_leaf(idx_tree, idx_leaf, p.d, p.hp)
    roots, auth, hist = xmss.build(th, np.repeat(kid, p.d), np.tile(np.arange(p.d), B), trees.ravel(),
                                   leaves.ravel())
    roots = roots.reshape(B, p.d, p.n)
    msgs = np.concatenate([np.asarray(msg, np.uint8)[:, None], roots[:, :-1]], axis=1).reshape(B * p.d, p.n)
    wsig = wots.sign_from_history(p, hist, msgs)
    sig = np.concatenate([wsig, auth], axis=1).reshape(B, p.d, p.len + p.hp, p.n)
    return sig, roots[:, -1]


def verify(th: Tweakable, kid, msg: np.ndarray, sig: np.ndarray, idx_tree, idx_leaf, pk_root) -> np.ndarray:
    """Hypertree verification (FIPS 205 Alg. 13), layer by layer; ``bool[B]``."""
    p = th.params
    trees, leaves = address.layer_tree_leaf(idx_tree, idx_leaf, p.d, p.hp)
    node = np.asarray(msg, np.uint8)
    for j in range(p.d):
        node = xmss.root_from_sig(th, kid, j, trees[:, j], leaves[:, j], sig[:, j, : p.len], sig[:, j, p.len:],
                                  node)
    return (node == np.asarray(pk_root, np.uint8)).all(axis=1)
