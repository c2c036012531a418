"""The tweakable hash functions of SLH-DSA over lanes (FIPS 205 §11): F, H, T_l, PRF; and H_msg, PRF_msg.

SHA2 sets hash PK.seed padded to one block first; that state is computed once per key and each
F/PRF/H lane is then one compression (§11.2). SHAKE sets absorb PK.seed || ADRS || M (§11.1).

Engines: ``lanes`` runs the NumPy lane kernels (:mod:`sha2_lanes`, :mod:`keccak_lanes`); ``hashlib``
makes one OpenSSL call per lane; ``auto`` takes lanes for big SHA-2 batches and hashlib otherwise
(on a CPU one OpenSSL SHAKE call per lane is faster than the NumPy Keccak, which mirrors the GPU kernel).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from support.herosign import address, sha2_lanes
from support.herosign.keccak_lanes import shake256_lanes
from support.herosign.params import Params
from support.herosign.sha2_lanes import SHA256, SHA512, compress, hash_padded, initial_state, pad_frame

ENGINES = ("auto", "lanes", "hashlib")
LANES_MIN = 2048  # below this many lanes one hashlib call per lane beats a NumPy pass over the lanes


def seeded_state(spec, pk_seed: np.ndarray) -> np.ndarray:
    """SHA-2 state after the block PK.seed || 0^(B-n), one column per key: ``uint8[K, n]`` -> ``[8, K]``."""
    K, n = pk_seed.shape
    blk = np.zeros((K, spec.block_bytes), np.uint8)
    blk[:, :n] = pk_seed
    words = np.ascontiguousarray(blk).view(spec.word_be).astype(spec.dtype).T
    return compress(spec, initial_state(spec, K), np.ascontiguousarray(words))


@dataclass
class Tweakable:
    """F, H, T_l and PRF for a set of keys; every call hashes L lanes, lane i keyed by ``kid[i]``.

    ``pk_seed``/``sk_seed`` are ``uint8[K, n]``; ``calls`` counts hash calls by function name.
    """

    params: Params
    pk_seed: np.ndarray
    sk_seed: np.ndarray | None = None
    engine: str = "auto"
    calls: Counter = field(default_factory=Counter)

    def __post_init__(self):
        p = self.params
        self.pk_seed = np.ascontiguousarray(self.pk_seed, np.uint8).reshape(-1, p.n)
        if self.sk_seed is not None:
            self.sk_seed = np.ascontiguousarray(self.sk_seed, np.uint8).reshape(-1, p.n)
        if self.engine not in ENGINES:
            raise ValueError(f"unknown hash engine {self.engine!r}; expected one of {ENGINES}")
        if p.family == "sha2":
            self._st256 = seeded_state(SHA256, self.pk_seed)
            self._st512 = seeded_state(SHA512, self.pk_seed) if p.big_sha2 else None
            self._base = {}

    def _use_lanes(self, lanes: int) -> bool:
        if self.engine != "auto":
            return self.engine == "lanes"
        return self.params.family == "sha2" and lanes >= LANES_MIN

    def _sha2_hashlib(self, kid, msgs, big: bool) -> np.ndarray:
        name = "sha512" if big else "sha256"
        if name not in self._base:
            bb = 128 if big else 64
            self._base[name] = [hashlib.new(name, s.tobytes() + bytes(bb - self.params.n)) for s in self.pk_seed]
        base, n, w = self._base[name], self.params.n, msgs.shape[1]
        buf = msgs.tobytes()
        out = []
        for i, k in enumerate(kid.tolist()):
            h = base[k].copy()
            h.update(buf[i * w:(i + 1) * w])
            out.append(h.digest()[:n])
        return np.frombuffer(b"".join(out), np.uint8).reshape(-1, n)

    def _sha2(self, kid, adrs, m, big: bool) -> np.ndarray:
        spec, st = (SHA512, self._st512) if big else (SHA256, self._st256)
        if not self._use_lanes(kid.shape[0]):
            return self._sha2_hashlib(kid, np.concatenate([address.compressed(adrs), m], axis=1), big)
        L, w, n = kid.shape[0], 22 + m.shape[1], self.params.n
        out = np.empty((L, n), np.uint8)
        for s in range(0, L, sha2_lanes.CHUNK):  # a chunk at a time: padding, words and rounds stay in cache
            e = min(s + sha2_lanes.CHUNK, L)
            padded = pad_frame(spec, e - s, w, spec.block_bytes)  # ADRSc || M after the PK.seed block
            address.compressed(adrs[s:e], padded[:, :22])
            padded[:, 22:w] = m[s:e]
            out[s:e] = hash_padded(spec, padded, np.take(st, kid[s:e], axis=1), n)
        return out

    def _shake(self, kid, adrs, m) -> np.ndarray:
        msgs = np.concatenate([self.pk_seed[kid], address.to_bytes(adrs), m], axis=1)
        if self._use_lanes(kid.shape[0]):
            return shake256_lanes(msgs, self.params.n)
        n, w = self.params.n, msgs.shape[1]
        buf = msgs.tobytes()
        out = b"".join([hashlib.shake_256(buf[i:i + w]).digest(n) for i in range(0, len(buf), w)])
        return np.frombuffer(out, np.uint8).reshape(-1, n)

    def _call(self, name: str, kid, adrs, m, big: bool) -> np.ndarray:
        kid = np.asarray(kid, np.intp)
        if adrs.shape[0] != kid.shape[0]:
            raise ValueError(f"{name}: {adrs.shape[0]} addresses for {kid.shape[0]} lanes")
        self.calls[name] += kid.shape[0]
        if kid.shape[0] == 0:
            return np.zeros((0, self.params.n), np.uint8)
        m = np.asarray(m, np.uint8).reshape(kid.shape[0], -1)
        if self.params.family == "sha2":
            return self._sha2(kid, adrs, m, big)
        return self._shake(kid, adrs, m)

    def F(self, kid, adrs, m) -> np.ndarray:
        """F(PK.seed, ADRS, M1), M1 of n bytes per lane (FIPS 205 §11.1/11.2)."""
        return self._call("F", kid, adrs, m, False)

    def H(self, kid, adrs, m) -> np.ndarray:
        """H(PK.seed, ADRS, M2), M2 of 2n bytes per lane; SHA-512 at SHA2 categories 3/5."""
        return self._call("H", kid, adrs, m, self.params.big_sha2)

    def T(self, kid, adrs, m) -> np.ndarray:
        """T_l(PK.seed, ADRS, M_l), M_l of l*n bytes per lane; SHA-512 at SHA2 categories 3/5."""
        return self._call("T", kid, adrs, m, self.params.big_sha2)

    def PRF(self, kid, adrs) -> np.ndarray:
        """PRF(PK.seed, SK.seed, ADRS): F keyed with SK.seed as the message (always SHA-256 for SHA2)."""
        if self.sk_seed is None:
            raise ValueError("PRF needs SK.seed; this Tweakable was built for verification only")
        kid = np.asarray(kid, np.intp)
        return self._call("PRF", kid, adrs, self.sk_seed[kid], False)


def prf_msg(p: Params, sk_prf: bytes, opt_rand: bytes, msg: bytes) -> bytes:
    """PRF_msg(SK.prf, opt_rand, M) (FIPS 205 §11.1: SHAKE256; §11.2: HMAC-SHA-256/512)."""
    if p.family == "shake":
        return hashlib.shake_256(sk_prf + opt_rand + msg).digest(p.n)
    return hmac.new(sk_prf, opt_rand + msg, "sha512" if p.big_sha2 else "sha256").digest()[: p.n]


def mgf1(hash_name: str, seed: bytes, length: int) -> bytes:
    """MGF1 (RFC 8017 B.2.1) with SHA-256 or SHA-512."""
    out = b""
    c = 0
    while len(out) < length:
        out += hashlib.new(hash_name, seed + c.to_bytes(4, "big")).digest()
        c += 1
    return out[:length]


def h_msg(p: Params, R: bytes, pk_seed: bytes, pk_root: bytes, msg: bytes) -> bytes:
    """H_msg(R, PK.seed, PK.root, M) -> m bytes (FIPS 205 §11.1 / §11.2.1-2)."""
    if p.family == "shake":
        return hashlib.shake_256(R + pk_seed + pk_root + msg).digest(p.m)
    name = "sha512" if p.big_sha2 else "sha256"
    inner = hashlib.new(name, R + pk_seed + pk_root + msg).digest()
    return mgf1(name, R + pk_seed + inner, p.m)
