"""WOTS+ over lanes (FIPS 205 §5): base-2^b digits, full chains (public keys) and chain completion.

One lane is one chain; all chains of all WOTS+ instances of a batch advance together, one F call
per chain step (the ``w - 1 = 15`` rounds of HERO-Sign's TREE kernel).
"""

from __future__ import annotations

from math import ceil

import numpy as np

from support.herosign import address
from support.herosign.hashes import Tweakable
from support.herosign.params import Params


def base_2b(X: np.ndarray, b: int, out_len: int) -> np.ndarray:
    """FIPS 205 Alg. 4 on each row: big-endian bit string of ``uint8[L, nb]`` cut into ``out_len`` b-bit ints."""
    X = np.asarray(X, np.uint8)
    if X.shape[1] * 8 < b * out_len:
        raise ValueError(f"base_2b: {X.shape[1]} bytes hold fewer than {out_len} digits of {b} bits")
    bits = np.unpackbits(X, axis=1)[:, : b * out_len].reshape(X.shape[0], out_len, b).astype(np.int64)
    return bits @ (np.int64(1) << np.arange(b - 1, -1, -1, dtype=np.int64))


def digits(p: Params, msg: np.ndarray) -> np.ndarray:
    """Message digits plus checksum digits, ``uint8[L, n]`` -> ``int64[L, len]`` (FIPS 205 Alg. 7 lines 1-7)."""
    d1 = base_2b(msg, p.lg_w, p.len1)
    csum = ((p.w - 1) - d1).sum(axis=1)
    csum = csum << ((8 - (p.len2 * p.lg_w) % 8) % 8)
    nb = ceil(p.len2 * p.lg_w / 8)
    cb = np.stack([(csum >> (8 * (nb - 1 - i))) & 0xFF for i in range(nb)], axis=1).astype(np.uint8)
    return np.concatenate([d1, base_2b(cb, p.lg_w, p.len2)], axis=1)


def _chain_addresses(p: Params, layer, tree, keypair, type_: int) -> np.ndarray:
    M = len(keypair)
    ln = p.len
    return address.make(np.repeat(layer, ln), np.repeat(np.asarray(tree, np.uint64), ln), type_,
                        np.repeat(keypair, ln), np.tile(np.arange(ln), M), 0)


def pk_gen(th: Tweakable, kid, layer, tree, keypair, keep: np.ndarray | None = None):
    """WOTS+ public keys of M instances (FIPS 205 Alg. 6), all ``M*len`` chains run in lock step.

    ``keep`` (instance indices) records every intermediate chain value of those instances:
    the WOTS+ signature of any message is then a gather (``history[digit, chain]``).
    Returns ``(pk uint8[M, n], history uint8[w, len(keep)*len, n] or None)``.
    """
    p = th.params
    kid = np.asarray(kid, np.intp)
    M = kid.shape[0]
    kidc = np.repeat(kid, p.len)
    ad = _chain_addresses(p, layer, tree, keypair, address.WOTS_PRF)
    x = th.PRF(kidc, ad)
    ad[:, 4] = address.WOTS_HASH
    sel = None if keep is None else (np.asarray(keep)[:, None] * p.len + np.arange(p.len)).ravel()
    hist = []
    for s in range(p.w - 1):
        if sel is not None:
            hist.append(x[sel])
        ad[:, 7] = s
        x = th.F(kidc, ad, x)
    if sel is not None:
        hist.append(x[sel])
    pk = th.T(kid, address.make(layer, tree, address.WOTS_PK, keypair), x.reshape(M, p.len * p.n))
    return pk, (np.stack(hist) if sel is not None else None)


def sign_from_history(p: Params, history: np.ndarray, msg: np.ndarray) -> np.ndarray:
    """WOTS+ signatures (FIPS 205 Alg. 10) read from recorded chains: ``msg uint8[M, n]`` -> ``[M, len, n]``."""
    dg = digits(p, msg).ravel()
    return history[dg, np.arange(dg.shape[0])].reshape(msg.shape[0], p.len, p.n)


def pk_from_sig(th: Tweakable, kid, layer, tree, keypair, sig: np.ndarray, msg: np.ndarray) -> np.ndarray:
    """WOTS+ public keys from signatures (FIPS 205 Alg. 8): chains finished from each digit to w - 1."""
    p = th.params
    kid = np.asarray(kid, np.intp)
    M = kid.shape[0]
    kidc = np.repeat(kid, p.len)
    dg = digits(p, msg).ravel()
    ad = _chain_addresses(p, layer, tree, keypair, address.WOTS_HASH)
    x = np.array(sig, np.uint8).reshape(M * p.len, p.n)
    for s in range(p.w - 1):
        act = np.nonzero(dg <= s)[0]
        ad[act, 7] = s
        x[act] = th.F(kidc[act], ad[act], x[act])
    return th.T(kid, address.make(layer, tree, address.WOTS_PK, keypair), x.reshape(M, p.len * p.n))
