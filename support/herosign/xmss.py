"""XMSS trees over lanes (FIPS 205 §6): whole trees of many instances level by level.

``build`` is HERO-Sign's TREE_Sign for a batch: 2^h' WOTS+ leaves per tree, then h' levels of H.
"""

from __future__ import annotations

import numpy as np

from support.herosign import address, wots
from support.herosign.hashes import Tweakable


def build(th: Tweakable, kid, layer, tree, leaf=None):
    """Roots of M XMSS trees (FIPS 205 Alg. 9), with the auth path and WOTS+ chain history of ``leaf``.

    Returns ``(root [M, n], auth [M, h', n] or None, history or None)``.
    """
    p = th.params
    kid = np.asarray(kid, np.intp)
    M = kid.shape[0]
    npl = 1 << p.hp
    layer = np.broadcast_to(np.asarray(layer), (M,))
    tree = np.broadcast_to(np.asarray(tree, np.uint64), (M,))
    keep = None if leaf is None else np.arange(M) * npl + np.asarray(leaf)
    pk, hist = wots.pk_gen(th, np.repeat(kid, npl), np.repeat(layer, npl), np.repeat(tree, npl),
                           np.tile(np.arange(npl), M), keep)
    nodes = pk.reshape(M, npl, p.n)
    auth = None if leaf is None else np.empty((M, p.hp, p.n), np.uint8)
    rows = np.arange(M)
    for z in range(1, p.hp + 1):
        if auth is not None:
            auth[:, z - 1] = nodes[rows, (np.asarray(leaf) >> (z - 1)) ^ 1]
        cnt = npl >> z
        ad = address.make(np.repeat(layer, cnt), np.repeat(tree, cnt), address.TREE, 0, z,
                          np.tile(np.arange(cnt), M))
        nodes = th.H(np.repeat(kid, cnt), ad, nodes.reshape(M * cnt, 2 * p.n)).reshape(M, cnt, p.n)
    return nodes[:, 0], auth, hist


def root_from_sig(th: Tweakable, kid, layer, tree, leaf, wots_sig, auth, msg) -> np.ndarray:
    """XMSS root implied by a signature (FIPS 205 Alg. 11), M instances at once."""
    p = th.params
    kid = np.asarray(kid, np.intp)
    M = kid.shape[0]
    layer = np.broadcast_to(np.asarray(layer), (M,))
    leaf = np.asarray(leaf, np.int64)
    node = wots.pk_from_sig(th, kid, layer, tree, leaf, wots_sig, msg)
    for z in range(1, p.hp + 1):
        ad = address.make(layer, tree, address.TREE, 0, z, leaf >> z)
        even = (((leaf >> (z - 1)) & 1) == 0)[:, None]
        a = auth[:, z - 1]
        m = np.where(even, np.concatenate([node, a], 1), np.concatenate([a, node], 1))
        node = th.H(kid, ad, m)
    return node
