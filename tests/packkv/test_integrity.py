"""``integrity`` (the three exactness claims) on small synthetic layers: all hold, the error bound is checked
against rel/2 of each token's range computed here from the input, and planted faults are reported."""

import numpy as np
import pytest

from support.packkv import bitpack, fused
from support.packkv import experiments as E
from support.packkv.blocks import compress_layer
from support.packkv.quantize import token_major

REL_K, REL_V = 0.1, 0.2


def layers(n_layers: int = 2, seed: int = 0):
    """(q, K, V) per layer: 4 query heads over 2 KV heads of 16 channels, 128 tokens; K has an outlier channel."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_layers):
        k = rng.standard_t(4, size=(2, 128, 16)).astype(np.float32)
        k[:, :, 3] += 4
        v = rng.normal(size=(2, 128, 16)).astype(np.float32)
        out.append((rng.normal(size=(4, 3, 16)).astype(np.float32), k, v))
    return out


def test_integrity_holds_on_clean_layers():
    chk = E.integrity(layers(), REL_K, REL_V)
    assert chk["lossless"] is True and chk["error_bound"] is True
    assert 0.5 < chk["worst_err_over_bound"] <= 1.0  # errors reach most of the bound, never past it
    assert chk["fused_qk_rel_err"] <= 1e-6 and chk["fused_wv_rel_err"] <= 1e-6


@pytest.mark.parametrize("reorder", ["none", "median"])
def test_every_decoded_element_is_within_half_rel_of_its_token_range(reorder):
    # the paper's bound |x - x_hat| <= rel/2 x (max - min of the token), float16 rounding of the step allowed
    for _, k, v in layers():
        kh, vh = compress_layer(k, v, REL_K, REL_V, reorder=reorder).dequantize()
        for x, xh, rel in ((k, kh, REL_K), (v, vh, REL_V)):
            xt = token_major(x).astype(np.float64)
            bound = 0.5 * rel * (xt.max(axis=1) - xt.min(axis=1))[:, None] * (1 + 2 ** -10)
            assert np.all(np.abs(xt - token_major(xh)) <= bound + 1e-6 * np.abs(xt))


def test_the_bound_from_rel_and_the_token_range_agrees_with_half_the_stored_step():
    # two derivations of one bound: rel/2 x range from the input, s/2 from the float16 step (rounding 2**-11)
    _, k, _ = layers(1)[0]
    pl = compress_layer(k, k, REL_K, REL_K)
    np.testing.assert_allclose(E.rel_error_bound(k, REL_K), pl.kq.error_bound(), rtol=2e-3)


def flip_last_plane_bit(encode):
    def bad(*a, **kw):
        p = encode(*a, **kw)
        p.planes[-1] ^= 1  # one residual bit of the last non-empty pack
        return p
    return bad


def flip_last_byte(to_bytes):
    def bad(self):
        b = bytearray(to_bytes(self))
        b[-1] ^= 1  # one bit of the last bit plane in the serialized store
        return bytes(b)
    return bad


def test_integrity_reports_packing_that_does_not_decode_to_the_codes(monkeypatch):
    monkeypatch.setattr(bitpack, "encode", flip_last_plane_bit(bitpack.encode))
    assert E.integrity(layers(), REL_K, REL_V)["lossless"] is False


def test_integrity_reports_a_serialized_store_that_does_not_read_back(monkeypatch):
    monkeypatch.setattr(bitpack.PackedTiles, "to_bytes", flip_last_byte(bitpack.PackedTiles.to_bytes))
    assert E.integrity(layers(), REL_K, REL_V)["lossless"] is False


def test_integrity_checks_the_median_reordered_store_too(monkeypatch):
    """A planted fault only in MEDIAN-reordered layers (one flipped bit of the last bit plane, the unreordered layers
    left exact) must still be reported: integrity covers both stores the notebook compresses with."""
    exact = E.compress_layer

    def median_faulty(*a, **kw):
        pl = exact(*a, **kw)
        reorder = kw.get("reorder", a[6] if len(a) > 6 else "none")
        if reorder == "median":
            pl.v.planes[-1] ^= 1
        return pl

    monkeypatch.setattr(E, "compress_layer", median_faulty)
    assert E.integrity(layers(), REL_K, REL_V)["lossless"] is False


@pytest.mark.parametrize(("name", "key"), [("qk_packed", "fused_qk_rel_err"), ("wv_packed", "fused_wv_rel_err")])
def test_integrity_measures_the_fused_operator_against_decompress_then_multiply(monkeypatch, name, key):
    exact = getattr(fused, name)
    monkeypatch.setattr(fused, name, lambda x, pl: exact(x, pl) * (1 + 1e-3))  # a fused path 0.1 % off
    assert E.integrity(layers(), REL_K, REL_V)[key] == pytest.approx(1e-3, rel=1e-2)


@pytest.mark.parametrize(("name", "key"), [("qk_packed", "fused_qk_rel_err"), ("wv_packed", "fused_wv_rel_err")])
def test_integrity_reports_a_nan_from_the_fused_operator_instead_of_dropping_it(monkeypatch, name, key):
    exact = getattr(fused, name)
    calls = []

    def nan_on_the_second_call(x, pl):  # the first layer is fine: a max() over layers would keep its error
        calls.append(1)
        return exact(x, pl) * (np.nan if len(calls) == 2 else 1.0)

    monkeypatch.setattr(fused, name, nan_on_the_second_call)
    assert np.isnan(E.integrity(layers(), REL_K, REL_V)[key])
