"""NIST PQCgenKAT .rsp reproduction: SHA-256 equals the digests sphincsplus publishes."""

import pytest

from support.herosign import kat


def test_drbg_first_block():
    # NIST rng.c with entropy 0..47: the first 48-byte seed of every PQCgenKAT request file.
    assert kat.CtrDrbg(bytes(range(48))).random_bytes(48).hex().upper().startswith("061550234D158C5EC95595FE04EF7A25")


@pytest.mark.parametrize("name", ["sha2-128f", "shake-128f"])
def test_kat_digest(name):
    assert kat.rsp_digest(name) == kat.PUBLISHED_DIGESTS[name]


@pytest.mark.slow
def test_kat_digest_sphincs31_order():
    assert kat.rsp_digest("sha2-128f", fors_order="sphincs3.1").startswith(kat.PUBLISHED_DIGESTS_31_PREFIX["sha2-128f"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sha2-192f", "sha2-256f", "shake-256f"])
def test_kat_digest_big(name):
    assert kat.rsp_digest(name) == kat.PUBLISHED_DIGESTS[name]


def test_kat_text_format():
    e = kat.KatEntry(0, bytes(48), b"\x01", b"\xab", b"\xcd", b"\xef\x01")
    text = kat.rsp_text([e])
    assert text.startswith("# SPHINCS+\n\ncount = 0\nseed = " + "00" * 48 + "\nmlen = 1\nmsg = 01\n")
    assert text.endswith("smlen = 2\nsm = EF01\n\n")
