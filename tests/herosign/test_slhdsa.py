"""SLH-DSA against independent oracles: slh-dsa (byte-exact), pqcrypto (cross-verification), NIST ACVP keyGen."""

import json
import os

import numpy as np
import pqcrypto
import pytest
import slhdsa as ref
from slhdsa.lowlevel import slhdsa as ref_ll
from slhdsa.lowlevel.addresses import Address
from slhdsa.lowlevel.xmss import XMSS

from support.herosign import slhdsa as ours
from support.herosign.params import F_SETS, PARAMS, UnknownParameterSet, get_params

CI_CASES = {"sha2-128f": 20, "shake-128f": 20}  # other f sets: 2 in CI, 20 under -m slow


def _ref_par(name):
    return getattr(ref, name.replace("-", "_"))


def _ref_sk(name, sk):
    p = get_params(name)
    n = p.n
    par = _ref_par(name)
    root = XMSS(par).node(sk[:n], 0, par.h_m, sk[2 * n:3 * n], Address(par.d - 1, 0))
    return ref.SecretKey((sk[:n], sk[n:2 * n], sk[2 * n:3 * n], root), par)


def _cases(name, count, seed):
    p = get_params(name)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        seeds = tuple(rng.integers(0, 256, p.n, dtype=np.uint8).tobytes() for _ in range(3))
        msg = rng.integers(0, 256, int(rng.integers(0, 200)), dtype=np.uint8).tobytes()
        ctx = rng.integers(0, 256, int(rng.integers(0, 40)), dtype=np.uint8).tobytes()
        out.append((seeds, msg, ctx, rng.integers(0, 256, p.n, dtype=np.uint8).tobytes()))
    return out


def _check_against_slhdsa(name, count, seed=0, hedged=None):
    """``count`` deterministic signatures equal slh-dsa's; the first ``hedged`` also with injected opt_rand."""
    p = get_params(name)
    cases = _cases(name, count, seed)
    hedged = count if hedged is None else hedged
    keys = ours.keygen_internal_batch(p, [c[0] for c in cases])
    sks = [k[0] for k in keys]
    wrapped = [ours.pure_message(c[1], c[2]) for c in cases]
    det = ours.sign_internal_batch(p, sks, wrapped)
    hed = ours.sign_internal_batch(p, sks[:hedged], wrapped[:hedged], [c[3] for c in cases[:hedged]])
    for i, ((seeds, msg, ctx, rnd), (sk, pk), s_det) in enumerate(zip(cases, keys, det)):
        rsk = _ref_sk(name, sk)
        assert rsk.pubkey.digest() == pk, "public key differs from slh-dsa"
        assert s_det == rsk.sign_pure(msg, False, ctx), "deterministic signature differs"
        if i >= hedged:
            continue
        s_hed = hed[i]
        orig = ref_ll.token_bytes
        ref_ll.token_bytes = lambda n, _r=rnd: _r
        try:
            assert s_hed == rsk.sign_pure(msg, True, ctx), "hedged signature (injected opt_rand) differs"
        finally:
            ref_ll.token_bytes = orig


@pytest.mark.parametrize("name", F_SETS)
def test_equal_to_slhdsa_byte_for_byte(name):
    _check_against_slhdsa(name, CI_CASES.get(name, 2), hedged=4 if name in CI_CASES else 1)


@pytest.mark.slow
@pytest.mark.parametrize("name", [s for s in F_SETS if s not in CI_CASES])
def test_equal_to_slhdsa_20_cases(name):
    _check_against_slhdsa(name, 20, seed=1)


@pytest.mark.parametrize("name", F_SETS)
def test_pqcrypto_cross_verification(name):
    import importlib

    mod = importlib.import_module("pqcrypto.sign.slh_dsa_" + name.replace("-", "_"))
    p = get_params(name)
    # ours -> pqcrypto
    sk, pk = ours.keygen(p)
    msg, ctx = b"HERO-Sign cross-check", b"paper-repro"
    sig = ours.sign(p, sk, msg, ctx)
    mod.verify(pk, msg, sig, context=ctx)  # raises on failure
    with pytest.raises(pqcrypto.InvalidSignatureError):
        mod.verify(pk, msg + b"!", sig, context=ctx)
    # pqcrypto -> ours
    pk2, sk2 = mod.keygen()
    sig2 = mod.sign(sk2, msg, context=ctx)
    assert ours.verify(p, pk2, msg, sig2, ctx)
    assert not ours.verify(p, pk2, msg, sig2, b"other")


def test_prehash_matches_slhdsa():
    name = "sha2-128f"
    p = get_params(name)
    sk, pk = ours.keygen_internal(p, bytes(16), bytes(range(16)), bytes(range(16, 32)))
    sig = ours.hash_sign(p, sk, b"msg", b"c", "SHA2-256", deterministic=True)
    assert sig == _ref_sk(name, sk).sign_hash(b"msg", False, b"c")  # slh-dsa's default pre-hash here: SHA-256
    assert ours.hash_verify(p, pk, b"msg", sig, b"c", "SHA2-256")
    assert not ours.verify(p, pk, b"msg", sig, b"c")


@pytest.fixture(scope="module")
def signed_128f():
    p = get_params("sha2-128f")
    sk, pk = ours.keygen_internal(p, bytes(range(16)), bytes(range(1, 17)), bytes(range(2, 18)))
    msg = b"bit flips"
    return p, pk, msg, ours.sign_internal(p, sk, msg)


def _flip(sig, byte, bit=0):
    b = bytearray(sig)
    b[byte] ^= 1 << bit
    return bytes(b)


def test_single_bit_flips_fail(signed_128f):
    p, pk, msg, sig = signed_128f
    assert ours.verify_internal(p, pk, msg, sig)
    n = p.n
    fors_auth = n + n  # tree 0: sk at n, first auth node right after
    last_wots = n + p.fors_sig_bytes + (p.d - 1) * (p.len + p.hp) * n + (p.len - 1) * n
    positions = [0, n - 1, fors_auth, fors_auth + 5, n + p.fors_sig_bytes - 1, last_wots, last_wots + n - 1,
                 p.sig_bytes - 1]
    rng = np.random.default_rng(3)
    positions += list(rng.integers(0, p.sig_bytes, 8))
    flipped = [_flip(sig, int(pos), int(rng.integers(0, 8))) for pos in positions]
    ok = ours.verify_internal_batch(p, [pk] * len(flipped), [msg] * len(flipped), flipped)
    assert not any(ok)


def test_a_signature_with_extra_trailing_bytes_is_rejected_not_raised(signed_128f):
    """FIPS 205 Alg. 20 line 1: a signature whose length is not n(1 + k(1 + a) + h + d len) is invalid, longer ones
    included; the valid signature beside it in the same batch still verifies."""
    p, pk, msg, sig = signed_128f
    longer = sig + b"\x00"
    assert ours.verify_internal(p, pk, msg, longer) is False
    assert ours.verify_internal_batch(p, [pk] * 3, [msg] * 3, [sig, longer, sig[:-1]]) == [True, False, False]


def test_batch_signing_is_order_independent(signed_128f):
    p, _pk, msg, sig = signed_128f
    sk, _ = ours.keygen_internal(p, bytes(range(16)), bytes(range(1, 17)), bytes(range(2, 18)))
    other, _ = ours.keygen(p)
    out = ours.sign_internal_batch(p, [other, sk, other], [b"x", msg, b"y"], chunk=2)
    assert out[1] == sig


def test_hash_call_counts_match_formula():
    from collections import Counter

    p = get_params("sha2-128f")
    sk, _ = ours.keygen(p)
    calls = Counter()
    ours.sign_internal_batch(p, [sk, sk], [b"a", b"b"], calls=calls)
    expect = p.hash_calls()
    assert {k: v // 2 for k, v in calls.items()} == expect
    assert sum(expect.values()) == 105_196  # 105,194 tweakable-hash calls + PRF_msg + H_msg


def test_engines_agree():
    from support.herosign import address
    from support.herosign.hashes import Tweakable

    for name in ("sha2-192f", "shake-128f"):
        p = get_params(name)
        rng = np.random.default_rng(0)
        seeds = rng.integers(0, 256, (3, p.n), dtype=np.uint8)
        kid = rng.integers(0, 3, 40)
        ad = address.make(rng.integers(0, 22, 40), rng.integers(0, 2**62, 40, dtype=np.uint64), 2, 1, 2, 3)
        m = rng.integers(0, 256, (40, 2 * p.n), dtype=np.uint8)
        a = Tweakable(p, seeds, seeds, engine="lanes").H(kid, ad, m)
        b = Tweakable(p, seeds, seeds, engine="hashlib").H(kid, ad, m)
        assert (a == b).all()


def _acvp_cases():
    from support.data import fetch

    prompt = json.loads(fetch("acvp/SLH-DSA-keyGen-FIPS205/prompt.json").read_text())
    expected = json.loads(fetch("acvp/SLH-DSA-keyGen-FIPS205/expectedResults.json").read_text())
    want = {t["tcId"]: t for g in expected["testGroups"] for t in g["tests"]}
    return {g["parameterSet"]: [(t, want[t["tcId"]]) for t in g["tests"]] for g in prompt["testGroups"]}


def _check_acvp(pset):
    cases = _acvp_cases()[pset]
    p = get_params(pset)
    got = ours.keygen_internal_batch(p, [(bytes.fromhex(t["skSeed"]), bytes.fromhex(t["skPrf"]),
                                          bytes.fromhex(t["pkSeed"])) for t, _ in cases])
    for (t, w), (sk, pk) in zip(cases, got):
        assert pk.hex().upper() == w["pk"].upper() and sk.hex().upper() == w["sk"].upper(), t["tcId"]


@pytest.mark.parametrize("pset", [p for p in PARAMS if p.endswith("f")])
def test_acvp_keygen_f_sets(pset):
    _check_acvp(pset)


@pytest.mark.slow
@pytest.mark.parametrize("pset", [p for p in PARAMS if p.endswith("s")])
def test_acvp_keygen_s_sets(pset):
    _check_acvp(pset)


def test_bad_inputs():
    p = get_params("sha2-128f")
    sk, pk = ours.keygen(p)
    with pytest.raises(UnknownParameterSet, match="unknown SLH-DSA parameter set"):
        get_params("sha2-129f")
    with pytest.raises(ValueError, match="secret key must be 64 bytes"):
        ours.sign(p, sk[:-1], b"m")
    with pytest.raises(ValueError, match="public key must be 32 bytes"):
        ours.verify(p, pk + b"\0", b"m", b"")
    with pytest.raises(TypeError, match="message must be bytes"):
        ours.sign(p, sk, "text")
    with pytest.raises(TypeError, match="message must be bytes"):
        ours.sign_internal_batch(p, [sk], [None])
    with pytest.raises(ValueError, match="context must be at most 255"):
        ours.sign(p, sk, b"m", bytes(256))
    with pytest.raises(ValueError, match="addrnd must be 16 bytes"):
        ours.sign_internal(p, sk, b"m", bytes(3))
    with pytest.raises(ValueError, match="unknown FORS index order"):
        ours.sign_internal(p, sk, b"m", fors_order="3.0")
    with pytest.raises(ValueError, match="unknown pre-hash"):
        ours.hash_sign(p, sk, b"m", ph="MD5")
    with pytest.raises(ValueError, match="2 secret keys for 1 messages"):
        ours.sign_internal_batch(p, [sk, sk], [b"m"])
    assert ours.verify(p, pk, b"m", b"short") is False


@pytest.mark.parametrize("chunk", [0, -1])
def test_batch_signer_refuses_a_chunk_below_one_instead_of_dropping_signatures(chunk):
    p = get_params("sha2-128f")
    sk = ours.keygen_internal(p, bytes(16), bytes(16), bytes(16))[0]
    with pytest.raises(ValueError, match=rf"chunk \(signatures per batched pass\) must be an integer >= 1, got {chunk}"):
        ours.sign_internal_batch(p, [sk, sk], [b"a", b"b"], chunk=chunk)
    with pytest.raises(ValueError, match=rf"chunk .* must be an integer >= 1, got {chunk}"):
        ours.sign_batch(p, [sk, sk], [b"a", b"b"], chunk=chunk)


@pytest.mark.parametrize(("seeds", "got"), [((bytes(16),) * 2, "2 items"), ((bytes(16),) * 4, "4 items"),
                                            (bytes(48), "bytes")])
def test_keygen_refuses_a_seed_entry_that_is_not_three_seeds(seeds, got):
    p = get_params("sha2-128f")
    with pytest.raises(ValueError, match=rf"seeds\[1\] must be \(SK.seed, SK.prf, PK.seed\), three seeds; got {got}"):
        ours.keygen_internal_batch(p, [(bytes(16),) * 3, seeds])


def test_param_table():
    sizes = {"128f": 17088, "192f": 35664, "256f": 49856, "128s": 7856, "192s": 16224, "256s": 29792}
    for p in PARAMS.values():
        assert p.sig_bytes == sizes[p.short.split("-")[1]]
        assert p.md_bytes + p.tree_bytes + p.leaf_bytes == p.m
    assert os.path.basename(__file__).startswith("test_")
