"""FORS over lanes (FIPS 205 §8): all k*2^a leaves of a batch, then a levels of H -- FORS_Sign.

The GPU version (``fors_sign_fused`` in ``kernels/slhdsa.cu``) fuses these levels ("tree fusion"): T threads
per FORS tree each build a subtree by treehash, and the block joins the subtree roots in shared memory; this
NumPy version is its oracle.
"""

from __future__ import annotations

import numpy as np

from support.herosign import address
from support.herosign.hashes import Tweakable
from support.herosign.params import Params
from support.herosign.wots import base_2b

ORDERS = ("fips205", "sphincs3.1")


def indices(p: Params, md: np.ndarray, order: str = "fips205") -> np.ndarray:
    """FORS leaf indices from the message digest part ``uint8[B, ceil(k*a/8)]`` -> ``int64[B, k]``.

    ``fips205``: base_2b (FIPS 205 Alg. 16 line 1). ``sphincs3.1``: the older bit order of
    SPHINCS+ 3.1 ``message_to_indices`` (LSB first), kept to reproduce legacy KATs.
    """
    md = np.asarray(md, np.uint8)
    if order == "fips205":
        return base_2b(md, p.a, p.k)
    if order == "sphincs3.1":
        bits = np.unpackbits(md, axis=1, bitorder="little")[:, : p.k * p.a].reshape(-1, p.k, p.a)
        return bits.astype(np.int64) @ (np.int64(1) << np.arange(p.a, dtype=np.int64))
    raise ValueError(f"unknown FORS index order {order!r}; expected one of {ORDERS}")


def sign(th: Tweakable, kid, tree, keypair, idx: np.ndarray):
    """FORS signatures and public keys of B messages (FIPS 205 Alg. 14-16), full trees.

    Returns ``(sig uint8[B, k, a+1, n], pk uint8[B, n])``; ``sig[:, i, 0]`` is the secret leaf.
    """
    p = th.params
    kid = np.asarray(kid, np.intp)
    B = kid.shape[0]
    nl = 1 << p.a
    tot = p.k * nl
    tree = np.asarray(tree, np.uint64)
    keypair = np.asarray(keypair)
    kidL = np.repeat(kid, tot)
    ad = address.make(0, np.repeat(tree, tot), address.FORS_PRF, np.repeat(keypair, tot), 0,
                      np.tile(np.arange(tot), B))
    sk = th.PRF(kidL, ad)
    ad[:, 4] = address.FORS_TREE
    nodes = th.F(kidL, ad, sk).reshape(B, p.k, nl, p.n)
    bI, iI = np.arange(B)[:, None], np.arange(p.k)[None, :]
    sig = np.empty((B, p.k, p.a + 1, p.n), np.uint8)
    sig[:, :, 0] = sk.reshape(B, p.k, nl, p.n)[bI, iI, idx]
    for z in range(1, p.a + 1):
        sig[:, :, z] = nodes[bI, iI, (idx >> (z - 1)) ^ 1]
        cnt = nl >> z
        gidx = (np.arange(p.k)[:, None] * cnt + np.arange(cnt)).ravel()
        ad = address.make(0, np.repeat(tree, p.k * cnt), address.FORS_TREE, np.repeat(keypair, p.k * cnt), z,
                          np.tile(gidx, B))
        nodes = th.H(np.repeat(kid, p.k * cnt), ad, nodes.reshape(-1, 2 * p.n)).reshape(B, p.k, cnt, p.n)
    pk = th.T(kid, address.make(0, tree, address.FORS_ROOTS, keypair), nodes.reshape(B, p.k * p.n))
    return sig, pk


def pk_from_sig(th: Tweakable, kid, tree, keypair, idx: np.ndarray, sig: np.ndarray) -> np.ndarray:
    """FORS public keys implied by signatures ``uint8[B, k, a+1, n]`` (FIPS 205 Alg. 17)."""
    p = th.params
    kid = np.asarray(kid, np.intp)
    B = kid.shape[0]
    tree = np.asarray(tree, np.uint64)
    keypair = np.asarray(keypair)
    tidx = (np.arange(p.k)[None, :] * (1 << p.a) + idx).ravel()
    kidk = np.repeat(kid, p.k)
    ad = address.make(0, np.repeat(tree, p.k), address.FORS_TREE, np.repeat(keypair, p.k), 0, tidx)
    node = th.F(kidk, ad, sig[:, :, 0].reshape(-1, p.n))
    for z in range(1, p.a + 1):
        ad[:, 6] = z
        ad[:, 7] = tidx >> z
        even = (((tidx >> (z - 1)) & 1) == 0)[:, None]
        a = sig[:, :, z].reshape(-1, p.n)
        node = th.H(kidk, ad, np.where(even, np.concatenate([node, a], 1), np.concatenate([a, node], 1)))
    return th.T(kid, address.make(0, tree, address.FORS_ROOTS, keypair), node.reshape(B, p.k * p.n))
