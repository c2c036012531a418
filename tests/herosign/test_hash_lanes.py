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
