"""SLH-DSA (FIPS 205) key generation, signing and verification, batched over lanes (CPU / NumPy).

Internal API (§9): :func:`keygen_internal`, :func:`sign_internal`, :func:`verify_internal` and their
``*_batch`` forms. External API (§10): :func:`sign` / :func:`verify` (pure, with context) and
:func:`hash_sign` / :func:`hash_verify` (HashSLH-DSA); deterministic or hedged signing.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from support.herosign import fors, hypertree, xmss
from support.herosign.hashes import Tweakable, h_msg, prf_msg
from support.herosign.params import Params, get_params
from support.validate import check_int

SIGN_CHUNK = 64  # signatures per batched pass: bounds memory (chain history ~ 16*d*len*n bytes per signature)

_PREHASH = {  # FIPS 205 §10.2.1: OID (DER) and digest size of the allowed pre-hash functions
    "SHA2-256": (bytes.fromhex("0609608648016503040201"), lambda m: hashlib.sha256(m).digest()),
    "SHA2-512": (bytes.fromhex("0609608648016503040203"), lambda m: hashlib.sha512(m).digest()),
    "SHAKE128": (bytes.fromhex("060960864801650304020B"), lambda m: hashlib.shake_128(m).digest(32)),
    "SHAKE256": (bytes.fromhex("060960864801650304020C"), lambda m: hashlib.shake_256(m).digest(64)),
}


def _bytes(x, what: str) -> bytes:
    if not isinstance(x, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} must be bytes, got {type(x).__name__}")
    return bytes(x)


def _sized(x, size: int, what: str, p: Params) -> bytes:
    b = _bytes(x, what)
    if len(b) != size:
        raise ValueError(f"{what} must be {size} bytes for {p.name}, got {len(b)}")
    return b


@dataclass(frozen=True)
class SecretKey:
    """SK = SK.seed || SK.prf || PK.seed || PK.root (FIPS 205 Fig. 15), parsed."""

    params: Params
    sk_seed: bytes
    sk_prf: bytes
    pk_seed: bytes
    pk_root: bytes

    @classmethod
    def parse(cls, params, sk) -> SecretKey:
        p = get_params(params)
        b = _sized(sk, p.sk_bytes, "secret key", p)
        n = p.n
        return cls(p, b[:n], b[n:2 * n], b[2 * n:3 * n], b[3 * n:])


@dataclass(frozen=True)
class PublicKey:
    """PK = PK.seed || PK.root (FIPS 205 Fig. 16), parsed."""

    params: Params
    pk_seed: bytes
    pk_root: bytes

    @classmethod
    def parse(cls, params, pk) -> PublicKey:
        p = get_params(params)
        b = _sized(pk, p.pk_bytes, "public key", p)
        return cls(p, b[: p.n], b[p.n:])


def _rows(items: Sequence[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(items), np.uint8).reshape(len(items), -1)


# ----------------------------------------------------------------------------------------------- keygen

def keygen_internal_batch(params, seeds: Sequence[tuple[bytes, bytes, bytes]],
                          calls: Counter | None = None) -> list[tuple[bytes, bytes]]:
    """slh_keygen_internal (FIPS 205 Alg. 18) for many (SK.seed, SK.prf, PK.seed): top XMSS roots in one pass;
    a seed entry that is not exactly three seeds is refused (ValueError naming its index and length)."""
    p = get_params(params)
    if not seeds:
        return []
    for i, t in enumerate(seeds):
        if not isinstance(t, (tuple, list)) or len(t) != 3:
            got = f"{len(t)} items" if isinstance(t, (tuple, list)) else type(t).__name__
            raise ValueError(f"seeds[{i}] must be (SK.seed, SK.prf, PK.seed), three seeds; got {got}")
    seeds = [tuple(_sized(s, p.n, name, p) for s, name in zip(t, ("SK.seed", "SK.prf", "PK.seed")))
             for t in seeds]
    th = Tweakable(p, _rows([s[2] for s in seeds]), _rows([s[0] for s in seeds]))
    K = len(seeds)
    root, _, _ = xmss.build(th, np.arange(K), p.d - 1, np.zeros(K, np.uint64))
    if calls is not None:
        calls.update(th.calls)
    out = []
    for (sks, skp, pks), r in zip(seeds, root):
        pk = pks + r.tobytes()
        out.append((sks + skp + pk, pk))
    return out


def keygen_internal(params, sk_seed: bytes, sk_prf: bytes, pk_seed: bytes) -> tuple[bytes, bytes]:
    """slh_keygen_internal (FIPS 205 Alg. 18): ``(sk, pk)`` from the three seeds."""
    return keygen_internal_batch(params, [(sk_seed, sk_prf, pk_seed)])[0]


def keygen(params, randbytes=os.urandom) -> tuple[bytes, bytes]:
    """slh_keygen (FIPS 205 Alg. 21): ``(sk, pk)`` from fresh randomness (``randbytes(n)``)."""
    p = get_params(params)
    return keygen_internal(p, randbytes(p.n), randbytes(p.n), randbytes(p.n))


# ----------------------------------------------------------------------------------------------- signing

@dataclass(frozen=True)
class Digest:
    """The parts of H_msg(R, PK.seed, PK.root, M) (FIPS 205 Alg. 19 lines 6-11) for a batch."""

    md: np.ndarray  # uint8[B, ceil(k a / 8)]
    idx_tree: np.ndarray  # uint64[B]
    idx_leaf: np.ndarray  # int64[B]


def split_digest(p: Params, digests: Sequence[bytes]) -> Digest:
    """Split m-byte digests into FORS message, tree index (h - h' bits) and leaf index (h' bits)."""
    md, trees, leaves = [], [], []
    a, b = p.md_bytes, p.md_bytes + p.tree_bytes
    for dg in digests:
        md.append(dg[:a])
        trees.append(int.from_bytes(dg[a:b], "big") % (1 << (p.h - p.hp)))
        leaves.append(int.from_bytes(dg[b:b + p.leaf_bytes], "big") % (1 << p.hp))
    return Digest(_rows(md), np.array(trees, np.uint64), np.array(leaves, np.int64))


def sign_internal_batch(params, sks: Sequence[bytes], msgs: Sequence[bytes],
                        addrnds: Sequence[bytes | None] | None = None, *, fors_order: str = "fips205",
                        calls: Counter | None = None, chunk: int = SIGN_CHUNK) -> list[bytes]:
    """slh_sign_internal (FIPS 205 Alg. 19) for a batch: message i signed with ``sks[i]``.

    ``addrnds[i] = None`` is the deterministic variant (opt_rand = PK.seed). Phases: PRF_msg/H_msg
    per message (hashlib), then FORS and the hypertree over lanes, ``chunk`` (>= 1) signatures at a time.
    """
    p = get_params(params)
    chunk = check_int(chunk, "chunk (signatures per batched pass)", minimum=1)
    if len(sks) != len(msgs):
        raise ValueError(f"{len(sks)} secret keys for {len(msgs)} messages")
    addrnds = [None] * len(msgs) if addrnds is None else list(addrnds)
    if len(addrnds) != len(msgs):
        raise ValueError(f"{len(addrnds)} addrnd values for {len(msgs)} messages")
    keys = [SecretKey.parse(p, sk) for sk in sks]
    msgs = [_bytes(m, "message") for m in msgs]
    opt = [k.pk_seed if r is None else _sized(r, p.n, "addrnd", p) for k, r in zip(keys, addrnds)]
    out: list[bytes] = []
    for s in range(0, len(msgs), chunk):
        out += _sign_chunk(p, keys[s:s + chunk], msgs[s:s + chunk], opt[s:s + chunk], fors_order, calls)
    return out


def _sign_chunk(p: Params, keys, msgs, opt, fors_order, calls) -> list[bytes]:
    B = len(keys)
    if B == 0:
        return []
    R = [prf_msg(p, k.sk_prf, o, m) for k, o, m in zip(keys, opt, msgs)]
    dg = split_digest(p, [h_msg(p, r, k.pk_seed, k.pk_root, m) for r, k, m in zip(R, keys, msgs)])
    th = Tweakable(p, _rows([k.pk_seed for k in keys]), _rows([k.sk_seed for k in keys]))
    kid = np.arange(B)
    idx = fors.indices(p, dg.md, fors_order)
    fsig, fpk = fors.sign(th, kid, dg.idx_tree, dg.idx_leaf, idx)
    hsig, _ = hypertree.sign(th, kid, fpk, dg.idx_tree, dg.idx_leaf)
    if calls is not None:
        calls.update(th.calls)
        calls.update({"PRF_msg": B, "H_msg": B})
    fsig = fsig.reshape(B, -1)
    hsig = hsig.reshape(B, -1)
    return [R[i] + fsig[i].tobytes() + hsig[i].tobytes() for i in range(B)]


def sign_internal(params, sk: bytes, msg: bytes, addrnd: bytes | None = None, *,
                  fors_order: str = "fips205") -> bytes:
    """slh_sign_internal (FIPS 205 Alg. 19); ``addrnd=None`` is deterministic signing."""
    return sign_internal_batch(params, [sk], [msg], [addrnd], fors_order=fors_order)[0]


# ----------------------------------------------------------------------------------------------- verification

def verify_internal_batch(params, pks: Sequence[bytes], msgs: Sequence[bytes], sigs: Sequence[bytes], *,
                          fors_order: str = "fips205") -> list[bool]:
    """slh_verify_internal (FIPS 205 Alg. 20) for a batch; a signature of the wrong length is False."""
    p = get_params(params)
    if not len(pks) == len(msgs) == len(sigs):
        raise ValueError(f"verify needs as many keys, messages and signatures; got {len(pks)}, {len(msgs)}, "
                         f"{len(sigs)}")
    keys = [PublicKey.parse(p, pk) for pk in pks]
    msgs = [_bytes(m, "message") for m in msgs]
    sigs = [_bytes(s, "signature") for s in sigs]
    ok = [len(s) == p.sig_bytes for s in sigs]
    live = [i for i, o in enumerate(ok) if o]
    if not live:
        return ok
    keys = [keys[i] for i in live]
    B = len(live)
    S = _rows([sigs[i] for i in live])
    R = [S[i, : p.n].tobytes() for i in range(B)]
    dg = split_digest(p, [h_msg(p, r, k.pk_seed, k.pk_root, msgs[i]) for r, k, i in zip(R, keys, live)])
    th = Tweakable(p, _rows([k.pk_seed for k in keys]))
    kid = np.arange(B)
    fsig = S[:, p.n: p.n + p.fors_sig_bytes].reshape(B, p.k, p.a + 1, p.n)
    hsig = S[:, p.n + p.fors_sig_bytes:].reshape(B, p.d, p.len + p.hp, p.n)
    fpk = fors.pk_from_sig(th, kid, dg.idx_tree, dg.idx_leaf, fors.indices(p, dg.md, fors_order), fsig)
    good = hypertree.verify(th, kid, fpk, hsig, dg.idx_tree, dg.idx_leaf, _rows([k.pk_root for k in keys]))
    for i, g in zip(live, good):
        ok[i] = bool(g)
    return ok


def verify_internal(params, pk: bytes, msg: bytes, sig: bytes) -> bool:
    """slh_verify_internal (FIPS 205 Alg. 20)."""
    return verify_internal_batch(params, [pk], [msg], [sig])[0]


# ----------------------------------------------------------------------------------------------- external API

def _ctx(ctx) -> bytes:
    c = _bytes(ctx, "context")
    if len(c) > 255:
        raise ValueError(f"context must be at most 255 bytes, got {len(c)}")
    return c


def pure_message(msg: bytes, ctx: bytes = b"") -> bytes:
    """M' = 0x00 || |ctx| || ctx || M (FIPS 205 Alg. 22 line 8)."""
    c = _ctx(ctx)
    return b"\x00" + bytes([len(c)]) + c + _bytes(msg, "message")


def prehash_message(msg: bytes, ctx: bytes = b"", ph: str = "SHA2-256") -> bytes:
    """M' = 0x01 || |ctx| || ctx || OID || PH(M) (FIPS 205 Alg. 23)."""
    c = _ctx(ctx)
    if ph not in _PREHASH:
        raise ValueError(f"unknown pre-hash {ph!r}; expected one of {', '.join(_PREHASH)}")
    oid, fn = _PREHASH[ph]
    return b"\x01" + bytes([len(c)]) + c + oid + fn(_bytes(msg, "message"))


def _addrnd(p: Params, deterministic: bool, addrnd, randbytes) -> bytes | None:
    if deterministic:
        if addrnd is not None:
            raise ValueError("deterministic signing takes no addrnd")
        return None
    return randbytes(p.n) if addrnd is None else addrnd


def sign(params, sk: bytes, msg: bytes, ctx: bytes = b"", *, deterministic: bool = False,
         addrnd: bytes | None = None, randbytes=os.urandom) -> bytes:
    """slh_sign (FIPS 205 Alg. 22), pure: hedged by default, ``deterministic=True`` for opt_rand = PK.seed."""
    p = get_params(params)
    return sign_internal(p, sk, pure_message(msg, ctx), _addrnd(p, deterministic, addrnd, randbytes))


def verify(params, pk: bytes, msg: bytes, sig: bytes, ctx: bytes = b"") -> bool:
    """slh_verify (FIPS 205 Alg. 24), pure."""
    return verify_internal(params, pk, pure_message(msg, ctx), sig)


def sign_batch(params, sks: Sequence[bytes], msgs: Sequence[bytes], ctx: bytes = b"", *,
               deterministic: bool = False, randbytes=os.urandom, chunk: int = SIGN_CHUNK) -> list[bytes]:
    """Pure slh_sign for a batch of (key, message) pairs with one context; ``chunk`` (>= 1) signatures per pass."""
    p = get_params(params)
    wrapped = [pure_message(m, ctx) for m in msgs]
    rnd = [_addrnd(p, deterministic, None, randbytes) for _ in wrapped]
    return sign_internal_batch(p, sks, wrapped, rnd, chunk=chunk)


def hash_sign(params, sk: bytes, msg: bytes, ctx: bytes = b"", ph: str = "SHA2-256", *,
              deterministic: bool = False, addrnd: bytes | None = None, randbytes=os.urandom) -> bytes:
    """hash_slh_sign (FIPS 205 Alg. 23) with pre-hash ``ph``."""
    p = get_params(params)
    return sign_internal(p, sk, prehash_message(msg, ctx, ph), _addrnd(p, deterministic, addrnd, randbytes))


def hash_verify(params, pk: bytes, msg: bytes, sig: bytes, ctx: bytes = b"", ph: str = "SHA2-256") -> bool:
    """hash_slh_verify (FIPS 205 Alg. 25)."""
    return verify_internal(params, pk, prehash_message(msg, ctx, ph), sig)
