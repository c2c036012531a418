"""Lane hashes are bit-exact with hashlib (SHA-256, SHA-512, SHAKE256) and the CUDA tables match."""

import hashlib
import re

import numpy as np
import pytest

from support.herosign import keccak_lanes, sha2_lanes
from support.herosign.gpu import KERNEL_DIR


@pytest.mark.parametrize("spec,ref", [(sha2_lanes.SHA256, hashlib.sha256), (sha2_lanes.SHA512, hashlib.sha512)])
@pytest.mark.parametrize("m", [0, 1, 55, 56, 64, 111, 112, 119, 300])
def test_sha2_lanes_match_hashlib(spec, ref, m):
    x = np.random.default_rng(m).integers(0, 256, (7, m), dtype=np.uint8)
    got = sha2_lanes.hash_lanes(spec, x)
    assert [bytes(r) for r in got] == [ref(bytes(r)).digest() for r in x]


def test_sha256_chunked_matches_unchunked(monkeypatch):
    x = np.random.default_rng(1).integers(0, 256, (50, 40), dtype=np.uint8)
    full = sha2_lanes.hash_lanes(sha2_lanes.SHA256, x)
    monkeypatch.setattr(sha2_lanes, "CHUNK", 8)
    assert (sha2_lanes.hash_lanes(sha2_lanes.SHA256, x) == full).all()


@pytest.mark.parametrize("m", [0, 1, 64, 96, 135, 136, 137, 300])
@pytest.mark.parametrize("out", [16, 32, 200])
def test_shake256_lanes_match_hashlib(m, out):
    x = np.random.default_rng(m + out).integers(0, 256, (5, m), dtype=np.uint8)
    got = keccak_lanes.shake256_lanes(x, out)
    assert [bytes(r) for r in got] == [hashlib.shake_256(bytes(r)).digest(out) for r in x]


def test_bad_lane_shapes():
    with pytest.raises(ValueError, match="state"):
        sha2_lanes.compress(sha2_lanes.SHA256, np.zeros((7, 3), np.uint32), np.zeros((16, 3), np.uint32))
    with pytest.raises(ValueError, match="Keccak"):
        keccak_lanes.permute(np.zeros((24, 3), np.uint64))


def _cu_table(name: str) -> list[int]:
    text = (KERNEL_DIR / "hash.cuh").read_text()
    body = re.search(name + r"\[\d+\]\s*=\s*\{(.*?)\};", text, re.DOTALL).group(1)
    return [int(v.strip().removesuffix("ULL"), 0) for v in body.split(",") if v.strip()]


def test_cuda_constant_tables_match_python():
    assert _cu_table("K256") == [int(v) for v in sha2_lanes.SHA256.K]
    assert _cu_table("K512") == [int(v) for v in sha2_lanes.SHA512.K]
    assert _cu_table("KECCAK_RC") == [int(v) for v in keccak_lanes.RC]


def test_cuda_keccak_rho_pi_written_out_match_fips202():
    # the kernel writes theta + rho + pi out as "Bj = ROTL64(A[i] ^ D(i mod 5), rho[i])" with j = pi(i)
    text = (KERNEL_DIR / "hash.cuh").read_text()
    steps = re.findall(r"B(\d+) = (?:ROTL64\(A\[(\d+)\] \^ D(\d), (\d+)\)|\(A\[(\d+)\] \^ D(\d)\))", text)
    assert len(steps) == 25
    got = {}
    for j, i, d, r, i0, d0 in steps:
        i, d, r = (int(i), int(d), int(r)) if i else (int(i0), int(d0), 0)
        assert d == i % 5
        got[i] = (int(j), r)
    for x in range(5):
        for y in range(5):
            i = x + 5 * y
            assert got[i] == (y + 5 * ((2 * x + 3 * y) % 5), int(keccak_lanes.RHO[i])), f"lane {i}"


@pytest.mark.parametrize("name", ["sha2-128f", "sha2-256f"])
def test_tweakable_lane_hashes_equal_hashlib_when_a_call_spans_several_chunks(monkeypatch, name):
    # the lane engine hashes CHUNK lanes at a time (padding written in place); 40 lanes in chunks of 7 leave a
    # remainder, and PRF/F (SHA-256), H and T (SHA-512 at 256f) must all match one hashlib call per lane
    from support.herosign import address
    from support.herosign.hashes import Tweakable
    from support.herosign.params import get_params

    p = get_params(name)
    rng = np.random.default_rng(7)
    seeds = rng.integers(0, 256, (3, p.n), dtype=np.uint8)
    kid = rng.integers(0, 3, 40)
    ad = address.make(rng.integers(0, 22, 40), rng.integers(0, 2**62, 40, dtype=np.uint64), 2,
                      rng.integers(0, 64, 40), rng.integers(0, 35, 40), rng.integers(0, 16, 40))
    lanes, ref = Tweakable(p, seeds, seeds[::-1], engine="lanes"), Tweakable(p, seeds, seeds[::-1], engine="hashlib")
    monkeypatch.setattr(sha2_lanes, "CHUNK", 7)
    for fn, width in (("F", p.n), ("H", 2 * p.n), ("T", p.len * p.n)):
        m = rng.integers(0, 256, (40, width), dtype=np.uint8)
        assert (getattr(lanes, fn)(kid, ad, m) == getattr(ref, fn)(kid, ad, m)).all(), fn
    assert (lanes.PRF(kid, ad) == ref.PRF(kid, ad)).all()


def test_compressed_address_is_the_fips205_adrsc_byte_selection():
    # FIPS 205 §11.2: ADRSc = ADRS[3] || ADRS[8:16] || ADRS[19] || ADRS[20:32], also when written into a block
    from support.herosign import address

    rng = np.random.default_rng(3)
    ad = rng.integers(0, 2**32, (9, 8), dtype=np.uint64).astype(np.uint32)
    want = address.to_bytes(ad)[:, [3, *range(8, 16), 19, *range(20, 32)]]
    assert (address.compressed(ad) == want).all()
    block = np.full((9, 30), 0xAA, np.uint8)
    address.compressed(ad, block[:, 4:26])
    assert (block[:, 4:26] == want).all() and (block[:, :4] == 0xAA).all() and (block[:, 26:] == 0xAA).all()


@pytest.mark.parametrize("spec", [sha2_lanes.SHA256, sha2_lanes.SHA512])
def test_compress_leaves_its_state_and_block_unchanged(spec):
    # the rounds run in place on copies: a caller's gathered state (column-major) and words stay as given
    rng = np.random.default_rng(5)
    state = np.asfortranarray(rng.integers(0, 2**32, (8, 11), dtype=np.uint64).astype(spec.dtype))
    block = rng.integers(0, 2**32, (16, 11), dtype=np.uint64).astype(spec.dtype)
    s0, b0 = state.copy(), block.copy()
    sha2_lanes.compress(spec, state, block)
    assert (state == s0).all() and (block == b0).all()
