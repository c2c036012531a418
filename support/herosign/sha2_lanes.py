"""SHA-256 and SHA-512 compression vectorised over lanes (FIPS 180-4 §6.2, §6.4) in NumPy.

Arrays are lanes-last: a state is ``[8, L]`` words and a block ``[16, L]`` words, so each of the
64/80 rounds is a few whole-array operations. Bit-exact with :mod:`hashlib` (see the tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CHUNK = 32768  # lanes per compression call: big enough to amortise Python overhead, small enough for cache


def _primes(count: int) -> list[int]:
    out, c = [], 2
    while len(out) < count:
        if all(c % p for p in out if p * p <= c):
            out.append(c)
        c += 1
    return out


def _iroot(x: int, k: int) -> int:
    """floor(x ** (1/k)) for a non-negative integer, by Newton's method."""
    if x < 2:
        return x
    y = 1 << ((x.bit_length() + k - 1) // k)
    while True:
        z = ((k - 1) * y + x // y ** (k - 1)) // k
        if z >= y:
            return y
        y = z


def _frac_root_words(count: int, k: int, bits: int) -> list[int]:
    """First ``bits`` bits of the fractional parts of the k-th roots of the first primes (FIPS 180-4 §4.2)."""
    return [_iroot(p << (k * bits), k) & ((1 << bits) - 1) for p in _primes(count)]


@dataclass(frozen=True)
class Sha2Spec:
    """Constants of one SHA-2 compression function (word size, rotations, K, IV)."""

    name: str
    bits: int
    rounds: int
    big_sigma0: tuple[int, int, int]
    big_sigma1: tuple[int, int, int]
    small_sigma0: tuple[int, int, int]
    small_sigma1: tuple[int, int, int]
    K: np.ndarray = field(repr=False)
    IV: np.ndarray = field(repr=False)

    @property
    def dtype(self):
        return np.uint32 if self.bits == 32 else np.uint64

    @property
    def block_bytes(self) -> int:
        return 16 * self.bits // 8

    @property
    def length_bytes(self) -> int:
        return 2 * self.bits // 8

    @property
    def word_be(self) -> str:
        return ">u4" if self.bits == 32 else ">u8"


SHA256 = Sha2Spec("sha256", 32, 64, (2, 13, 22), (6, 11, 25), (7, 18, 3), (17, 19, 10),
                  np.array(_frac_root_words(64, 3, 32), np.uint32), np.array(_frac_root_words(8, 2, 32), np.uint32))
SHA512 = Sha2Spec("sha512", 64, 80, (28, 34, 39), (14, 18, 41), (1, 8, 7), (19, 61, 6),
                  np.array(_frac_root_words(80, 3, 64), np.uint64), np.array(_frac_root_words(8, 2, 64), np.uint64))


def _compress_chunk(spec: Sha2Spec, state: np.ndarray, block: np.ndarray) -> np.ndarray:
    bits = spec.bits
    dt = spec.dtype

    def rotr(x, r):
        return (x >> dt(r)) | (x << dt(bits - r))

    r0, r1, r2 = spec.big_sigma0
    e0, e1, e2 = spec.big_sigma1
    p0, p1, p2 = spec.small_sigma0
    q0, q1, q2 = spec.small_sigma1
    W = [block[i] for i in range(16)]
    a, b, c, d, e, f, g, h = (state[i] for i in range(8))
    K = spec.K
    for t in range(spec.rounds):
        j = t & 15
        if t >= 16:
            w15, w2 = W[(t - 15) & 15], W[(t - 2) & 15]
            W[j] = (W[j] + (rotr(w15, p0) ^ rotr(w15, p1) ^ (w15 >> dt(p2))) + W[(t - 7) & 15]
                    + (rotr(w2, q0) ^ rotr(w2, q1) ^ (w2 >> dt(q2))))
        t1 = h + (rotr(e, e0) ^ rotr(e, e1) ^ rotr(e, e2)) + (g ^ (e & (f ^ g))) + K[t] + W[j]
        t2 = (rotr(a, r0) ^ rotr(a, r1) ^ rotr(a, r2)) + ((a & b) | (c & (a | b)))
        h, g, f, e, d, c, b, a = g, f, e, d + t1, c, b, a, t1 + t2
    return np.stack([state[0] + a, state[1] + b, state[2] + c, state[3] + d,
                     state[4] + e, state[5] + f, state[6] + g, state[7] + h])


def compress(spec: Sha2Spec, state: np.ndarray, block: np.ndarray) -> np.ndarray:
    """One compression per lane: ``state[8, L]``, ``block[16, L]`` -> new ``state[8, L]`` (FIPS 180-4 §6.2.2)."""
    if state.shape[0] != 8 or block.shape[0] != 16 or state.shape[1:] != block.shape[1:]:
        raise ValueError(f"compress needs state [8, L] and block [16, L]; got {state.shape}, {block.shape}")
    L = state.shape[1]
    if L <= CHUNK:
        return _compress_chunk(spec, state, block)
    out = np.empty_like(state)
    for s in range(0, L, CHUNK):
        out[:, s:s + CHUNK] = _compress_chunk(spec, state[:, s:s + CHUNK], block[:, s:s + CHUNK])
    return out


def pad(spec: Sha2Spec, msgs: np.ndarray, prefix_bytes: int = 0) -> np.ndarray:
    """Merkle-Damgard padding of equal-length messages ``uint8[L, m]`` that follow ``prefix_bytes`` already hashed."""
    L, m = msgs.shape
    bb, lb = spec.block_bytes, spec.length_bytes
    total = m + 1 + lb
    nblk = -(-total // bb)
    out = np.zeros((L, nblk * bb), np.uint8)
    out[:, :m] = msgs
    out[:, m] = 0x80
    bitlen = (prefix_bytes + m) * 8
    out[:, -lb:] = np.frombuffer(bitlen.to_bytes(lb, "big"), np.uint8)
    return out


def to_words(spec: Sha2Spec, padded: np.ndarray) -> np.ndarray:
    """Padded bytes ``uint8[L, nb*B]`` -> big-endian words, block-major ``[nb, 16, L]``."""
    L = padded.shape[0]
    words = np.ascontiguousarray(padded).view(spec.word_be).astype(spec.dtype)
    return np.ascontiguousarray(words.reshape(L, -1, 16).transpose(1, 2, 0))


def state_bytes(spec: Sha2Spec, state: np.ndarray, nbytes: int) -> np.ndarray:
    """First ``nbytes`` of the big-endian digest of each lane: ``[8, L]`` -> ``uint8[L, nbytes]``."""
    be = np.ascontiguousarray(state.T).astype(spec.word_be)
    return be.view(np.uint8).reshape(state.shape[1], -1)[:, :nbytes]


def initial_state(spec: Sha2Spec, lanes: int) -> np.ndarray:
    return np.repeat(spec.IV[:, None], lanes, axis=1)


def hash_lanes(spec: Sha2Spec, msgs: np.ndarray, state: np.ndarray | None = None,
               prefix_bytes: int = 0, out_bytes: int | None = None) -> np.ndarray:
    """SHA-2 of each row of ``msgs`` (``uint8[L, m]``), continuing from ``state`` after ``prefix_bytes``.

    With the defaults this is plain SHA-256/512; SLH-DSA passes the state after the PK.seed block.
    """
    msgs = np.asarray(msgs, np.uint8)
    if msgs.ndim != 2:
        raise ValueError(f"msgs must be uint8[L, m], got shape {msgs.shape}")
    L = msgs.shape[0]
    st = initial_state(spec, L) if state is None else state
    for blk in to_words(spec, pad(spec, msgs, prefix_bytes)):
        st = compress(spec, st, blk)
    return state_bytes(spec, st, spec.bits if out_bytes is None else out_bytes)
