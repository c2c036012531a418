"""NIST PQCgenKAT ``.rsp`` reproduction for SLH-DSA: the AES-256 CTR_DRBG of NIST's ``rng.c`` and the KAT loop.

The SHA-256 of the 100-entry ``PQCsignKAT_*.rsp`` is compared with the digests the sphincsplus
project publishes (``SHA256SUMS``, branch consistent-basew = FIPS 205 FORS order).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from support.herosign import slhdsa
from support.herosign.params import Params, get_params

# SHA-256 of PQCsignKAT_<set>.rsp as published by sphincs/sphincsplus (simple variants), FIPS 205 order.
PUBLISHED_DIGESTS = {
    "sha2-128f": "664a19493058178ad7ebb65037183e69e79b1e27668142f6ce684db304aff59a",
    "sha2-192f": "84b1a342683bcad658efb6c65f7367c6b30623e74e3a24c2238d19eaf74722ab",
    "sha2-256f": "9f648631e4a1aee1ee5e68800b6274418af81b56d8524841c6f28cc61f4ba02a",
    "shake-128f": "38e281107864e07ab78cfe6c9cbbb1c037a739dd5fee5d4f5a162cde8a3a0666",
    "shake-256f": "d28c9bf208f0cd88700723b126c8110e3d390299d945beab1f74659fa176ef25",
    "shake-128s": "3cce989c0b95c7005d5874adb62c4db35851f49d83aa1bf4ae05b5519d1d729a",
}
# SPHINCS+ 3.1 (master branch, older FORS index order): only the published prefix is on record.
PUBLISHED_DIGESTS_31_PREFIX = {"sha2-128f": "708f6ab7"}


class CtrDrbg:
    """AES-256 CTR_DRBG without derivation function, as in NIST's PQC ``rng.c`` (SP 800-90A §10.2.1)."""

    def __init__(self, entropy: bytes, personalization: bytes | None = None):
        if len(entropy) != 48:
            raise ValueError(f"CTR_DRBG entropy input must be 48 bytes, got {len(entropy)}")
        seed = bytearray(entropy)
        if personalization is not None:
            seed = bytearray(a ^ b for a, b in zip(seed, personalization))
        self.key, self.v = bytes(32), bytes(16)
        self._update(bytes(seed))

    def _block(self) -> bytes:
        self.v = ((int.from_bytes(self.v, "big") + 1) % (1 << 128)).to_bytes(16, "big")
        enc = Cipher(algorithms.AES(self.key), modes.ECB()).encryptor()
        return enc.update(self.v) + enc.finalize()

    def _update(self, provided: bytes | None) -> None:
        temp = b"".join(self._block() for _ in range(3))
        if provided is not None:
            temp = bytes(a ^ b for a, b in zip(temp, provided))
        self.key, self.v = temp[:32], temp[32:]

    def random_bytes(self, n: int) -> bytes:
        """``randombytes(x, n)`` of rng.c: counter-mode blocks, then an update with no input."""
        out = b""
        while len(out) < n:
            out += self._block()
        self._update(None)
        return out[:n]


@dataclass(frozen=True)
class KatEntry:
    count: int
    seed: bytes
    msg: bytes
    pk: bytes
    sk: bytes
    sm: bytes


def _hex(b: bytes) -> str:
    return b.hex().upper() if b else "00"


def kat_inputs(count: int = 100) -> list[tuple[bytes, bytes]]:
    """(seed, msg) of each entry, from the DRBG seeded with bytes 0..47 (PQCgenKAT_sign.c request file)."""
    drbg = CtrDrbg(bytes(range(48)))
    out = []
    for i in range(count):
        seed = drbg.random_bytes(48)
        out.append((seed, drbg.random_bytes(33 * (i + 1))))
    return out


def generate(params: str | Params, count: int = 100, *, fors_order: str = "fips205",
             sign_batch: Callable | None = None) -> list[KatEntry]:
    """The KAT entries: per entry the DRBG re-seeded with ``seed`` gives SK.seed||SK.prf||PK.seed, then opt_rand.

    ``sign_batch(params, sks, msgs, addrnds)`` defaults to the CPU signer; the GPU path passes its own.
    """
    p = get_params(params)
    inputs = kat_inputs(count)
    seeds, rnds = [], []
    for seed, _ in inputs:
        drbg = CtrDrbg(seed)
        s = drbg.random_bytes(3 * p.n)
        seeds.append((s[: p.n], s[p.n: 2 * p.n], s[2 * p.n:]))
        rnds.append(drbg.random_bytes(p.n))
    keys = slhdsa.keygen_internal_batch(p, seeds)
    msgs = [m for _, m in inputs]
    sks = [sk for sk, _ in keys]
    if sign_batch is None:
        sigs = slhdsa.sign_internal_batch(p, sks, msgs, rnds, fors_order=fors_order)
    else:
        sigs = sign_batch(p, sks, msgs, rnds)
    return [KatEntry(i, inputs[i][0], msgs[i], keys[i][1], sks[i], sigs[i] + msgs[i]) for i in range(count)]


def rsp_text(entries: list[KatEntry]) -> str:
    """The ``.rsp`` file exactly as PQCgenKAT_sign.c writes it."""
    lines = ["# SPHINCS+", ""]
    for e in entries:
        lines += [f"count = {e.count}", f"seed = {_hex(e.seed)}", f"mlen = {len(e.msg)}", f"msg = {_hex(e.msg)}",
                  f"pk = {_hex(e.pk)}", f"sk = {_hex(e.sk)}", f"smlen = {len(e.sm)}", f"sm = {_hex(e.sm)}", ""]
    return "\n".join(lines) + "\n"


def rsp_digest(params: str | Params, count: int = 100, **kw) -> str:
    """SHA-256 (hex) of the reproduced ``PQCsignKAT_<set>.rsp``."""
    return hashlib.sha256(rsp_text(generate(params, count, **kw)).encode()).hexdigest()
