"""Keccak-f[1600] and SHAKE256 vectorised over lanes (FIPS 202 §3.2, §6.2) in NumPy.

The state is ``uint64[25, L]`` (Keccak lane x + 5y, little-endian), lanes last; each step of a
round (theta, rho+pi, chi, iota) is a few whole-array operations over all 25 words at once.
"""

from __future__ import annotations

import numpy as np

CHUNK = 8192
RATE_SHAKE256 = 136


def _round_constants() -> np.ndarray:
    """The 24 iota constants from the rc(t) LFSR (FIPS 202 Alg. 5-6)."""
    def rc(t: int) -> int:
        if t % 255 == 0:
            return 1
        r = 1
        for _ in range(t % 255):
            r <<= 1
            if r & 0x100:
                r ^= 0x171
        return r & 1

    out = []
    for ir in range(24):
        v = 0
        for j in range(7):
            if rc(j + 7 * ir):
                v |= 1 << ((1 << j) - 1)
        out.append(v)
    return np.array(out, np.uint64)


def _rho_pi() -> tuple[np.ndarray, np.ndarray]:
    """Rotation of each source word and the gather order that applies pi (FIPS 202 Alg. 2-3)."""
    rho = np.zeros(25, np.uint64)
    x, y = 1, 0
    for t in range(24):
        rho[x + 5 * y] = ((t + 1) * (t + 2) // 2) % 64
        x, y = y, (2 * x + 3 * y) % 5
    src = np.zeros(25, np.intp)  # pi: A'[x, y] = A[(x + 3y) mod 5, x]
    for x in range(5):
        for y in range(5):
            src[x + 5 * y] = (x + 3 * y) % 5 + 5 * x
    return rho, src


RC = _round_constants()
RHO, PI_SRC = _rho_pi()
_U = np.uint64
_RC = [_U(int(c)) for c in RC]
_ROT = [(int(PI_SRC[i]), _U(int(RHO[PI_SRC[i]])), _U((64 - int(RHO[PI_SRC[i]])) % 64)) for i in range(25)]
_ONE, _63 = _U(1), _U(63)


def keccak_f1600(state: np.ndarray) -> np.ndarray:
    """The 24-round permutation on ``uint64[25, L]`` (returns a new array).

    Unrolled over the 25 words so every operation is one scalar-shift NumPy call over L lanes.
    """
    A = [state[i] for i in range(25)]
    for ir in range(24):
        C = [A[x] ^ A[x + 5] ^ A[x + 10] ^ A[x + 15] ^ A[x + 20] for x in range(5)]
        D = [C[(x - 1) % 5] ^ ((C[(x + 1) % 5] << _ONE) | (C[(x + 1) % 5] >> _63)) for x in range(5)]
        B = []
        for s, rl, rr in _ROT:  # theta applied to the source word, then rho and pi
            a = A[s] ^ D[s % 5]
            B.append(a if rl == 0 else (a << rl) | (a >> rr))
        A = [B[i] ^ (~B[i - i % 5 + (i + 1) % 5] & B[i - i % 5 + (i + 2) % 5]) for i in range(25)]
        A[0] = A[0] ^ _RC[ir]
    return np.stack(A)


def permute(state: np.ndarray) -> np.ndarray:
    """Keccak-f[1600] over lanes, in chunks of :data:`CHUNK` lanes."""
    if state.shape[0] != 25:
        raise ValueError(f"Keccak state must be uint64[25, L], got {state.shape}")
    L = state.shape[1]
    if L <= CHUNK:
        return keccak_f1600(state)
    out = np.empty_like(state)
    for s in range(0, L, CHUNK):
        out[:, s:s + CHUNK] = keccak_f1600(state[:, s:s + CHUNK])
    return out


def shake256_lanes(msgs: np.ndarray, out_bytes: int) -> np.ndarray:
    """SHAKE256 of each row of ``uint8[L, m]`` (all rows the same length), ``out_bytes`` per lane."""
    msgs = np.asarray(msgs, np.uint8)
    if msgs.ndim != 2:
        raise ValueError(f"msgs must be uint8[L, m], got shape {msgs.shape}")
    L, m = msgs.shape
    r = RATE_SHAKE256
    nblk = m // r + 1
    buf = np.zeros((L, nblk * r), np.uint8)
    buf[:, :m] = msgs
    buf[:, m] ^= 0x1F
    buf[:, -1] ^= 0x80
    words = buf.view("<u8").astype(np.uint64).reshape(L, nblk, r // 8).transpose(1, 2, 0)
    A = np.zeros((25, L), np.uint64)
    for blk in words:
        A[: r // 8] ^= blk
        A = permute(A)
    out = []
    need = out_bytes
    while True:
        out.append(np.ascontiguousarray(A[: r // 8].T).astype("<u8").view(np.uint8))
        need -= r
        if need <= 0:
            break
        A = permute(A)
    return np.concatenate(out, axis=1)[:, :out_bytes]
