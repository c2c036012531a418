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


_CONSTS: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}


def _consts(spec: Sha2Spec) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Shift counts 0..bits and round constants K[t] as 0-d arrays of the word type (a ufunc given a NumPy scalar
    converts it on every call: twice the per-operation cost of a 0-d array), built once per spec."""
    c = _CONSTS.get(spec.name)
    if c is None:
        dt = spec.dtype
        c = _CONSTS[spec.name] = ([np.array(r, dt) for r in range(spec.bits + 1)], [np.array(k, dt) for k in spec.K])
    return c


def _compress_chunk(spec: Sha2Spec, state: np.ndarray, block: np.ndarray) -> np.ndarray:
    """The rounds of FIPS 180-4 §6.2.2 / §6.4.2 as in-place ufunc calls on preallocated rows (no temporaries);
    Maj(a, b, c) = b ^ ((a ^ b) & (b ^ c)) reuses the previous round's a ^ b as b ^ c (integer ops: same words)."""
    bits, dt = spec.bits, spec.dtype
    S, K = _consts(spec)
    rs, ls, xor, band, add = np.right_shift, np.left_shift, np.bitwise_xor, np.bitwise_and, np.add
    L = state.shape[1]
    u, s, t1, t2, ab = (np.empty(L, dt) for _ in range(5))

    def rotr3(x, r, out):  # out = ROTR^r0(x) ^ ROTR^r1(x) ^ ROTR^r2(x)
        rs(x, S[r[0]], out), ls(x, S[bits - r[0]], u), xor(out, u, out)
        rs(x, S[r[1]], u), xor(out, u, out), ls(x, S[bits - r[1]], u), xor(out, u, out)
        rs(x, S[r[2]], u), xor(out, u, out), ls(x, S[bits - r[2]], u), xor(out, u, out)
        return out

    def rotr2_shr(x, r, out):  # out = ROTR^r0(x) ^ ROTR^r1(x) ^ SHR^r2(x)
        rs(x, S[r[0]], out), ls(x, S[bits - r[0]], u), xor(out, u, out)
        rs(x, S[r[1]], u), xor(out, u, out), ls(x, S[bits - r[1]], u), xor(out, u, out)
        rs(x, S[r[2]], u), xor(out, u, out)
        return out

    W = np.array(block, dt, order="C")  # the message schedule, 16 rows updated in place
    a, b, c, d, e, f, g, h = np.array(state, dt, order="C")  # contiguous rows: a gathered state is column-major
    bc = xor(b, c)
    for t in range(spec.rounds):
        wj = W[t & 15]
        if t >= 16:
            add(wj, rotr2_shr(W[(t - 15) & 15], spec.small_sigma0, s), wj)
            add(wj, W[(t - 7) & 15], wj)
            add(wj, rotr2_shr(W[(t - 2) & 15], spec.small_sigma1, s), wj)
        add(h, rotr3(e, spec.big_sigma1, s), t1)
        xor(f, g, s), band(s, e, s), xor(s, g, s)  # Ch(e, f, g)
        add(t1, s, t1), add(t1, K[t], t1), add(t1, wj, t1)
        rotr3(a, spec.big_sigma0, t2)
        xor(a, b, ab), band(ab, bc, s), xor(s, b, s)  # Maj(a, b, c)
        add(t2, s, t2)
        add(d, t1, d)  # d's row becomes e
        add(t1, t2, h)  # h's row becomes a
        h, g, f, e, d, c, b, a = g, f, e, d, c, b, a, h
        ab, bc = bc, ab
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


def pad_frame(spec: Sha2Spec, lanes: int, m: int, prefix_bytes: int = 0) -> np.ndarray:
    """Padded blocks ``uint8[lanes, nb*B]`` for ``m``-byte messages after ``prefix_bytes`` (FIPS 180-4 §5.1), message
    bytes left zero: the caller writes its parts into ``[:, :m]`` in place, with no concatenated copy first."""
    bb, lb = spec.block_bytes, spec.length_bytes
    nblk = -(-(m + 1 + lb) // bb)
    out = np.zeros((lanes, nblk * bb), np.uint8)
    out[:, m] = 0x80
    out[:, -lb:] = np.frombuffer(((prefix_bytes + m) * 8).to_bytes(lb, "big"), np.uint8)
    return out


def pad(spec: Sha2Spec, msgs: np.ndarray, prefix_bytes: int = 0) -> np.ndarray:
    """Merkle-Damgard padding of equal-length messages ``uint8[L, m]`` that follow ``prefix_bytes`` already hashed."""
    L, m = msgs.shape
    out = pad_frame(spec, L, m, prefix_bytes)
    out[:, :m] = msgs
    return out


def to_words(spec: Sha2Spec, padded: np.ndarray) -> np.ndarray:
    """Padded bytes ``uint8[L, nb*B]`` -> big-endian words, block-major ``[nb, 16, L]``."""
    L = padded.shape[0]
    words = np.ascontiguousarray(padded).view(spec.word_be).reshape(L, -1, 16).transpose(1, 2, 0)
    return np.ascontiguousarray(words, dtype=spec.dtype)  # byte swap and transpose in one pass


def state_bytes(spec: Sha2Spec, state: np.ndarray, nbytes: int) -> np.ndarray:
    """First ``nbytes`` of the big-endian digest of each lane: ``[8, L]`` -> ``uint8[L, nbytes]``."""
    be = np.ascontiguousarray(state.T, dtype=spec.word_be)  # transpose and byte swap in one pass
    return be.view(np.uint8).reshape(state.shape[1], -1)[:, :nbytes]


def initial_state(spec: Sha2Spec, lanes: int) -> np.ndarray:
    return np.repeat(spec.IV[:, None], lanes, axis=1)


def hash_padded(spec: Sha2Spec, padded: np.ndarray, state: np.ndarray, out_bytes: int | None = None) -> np.ndarray:
    """Compress the padded blocks ``uint8[L, nb*B]`` (:func:`pad`, :func:`pad_frame`) into ``state[8, L]``; the
    first ``out_bytes`` of each lane's digest (all of it for ``None``)."""
    st = state
    for blk in to_words(spec, padded):
        st = compress(spec, st, blk)
    return state_bytes(spec, st, spec.bits if out_bytes is None else out_bytes)


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
    return hash_padded(spec, pad(spec, msgs, prefix_bytes), st, out_bytes)
