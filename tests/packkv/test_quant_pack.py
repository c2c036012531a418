"""Quantization is error-bounded, packing is lossless and byte-honest, the KIVI baseline counts the same bytes."""

import numpy as np
import pytest

from support.packkv import bitpack, kivi
from support.packkv.quantize import head_major, quantize_tokens, token_major


def kv_like(rng, T=128, C=192):
    """Heavy-tailed values with per-channel offsets (outlier channels, as in post-RoPE K)."""
    return (rng.standard_t(3, size=(T, C)) + rng.normal(0, 4, size=C) * (rng.random(C) < 0.1)).astype(np.float32)


@pytest.mark.parametrize("rel", [0.01, 0.05, 0.1, 0.333, 0.5, 1.0])
@pytest.mark.parametrize("per_head", [False, True])
def test_every_element_within_the_bound(rel, per_head):
    x = kv_like(np.random.default_rng(0))
    q = quantize_tokens(x, rel, per_head=per_head, n_heads=3)
    err = np.abs(q.dequantize() - x)
    assert np.all(err <= q.error_bound() * (1 + 1e-6) + 1e-6 * np.abs(x))
    xv = x.reshape(x.shape[0], 3 if per_head else 1, -1)
    rng_ = (xv.max(-1) - xv.min(-1)).reshape(q.scale.shape)
    assert np.all(q.scale.astype(np.float64) <= rel * rng_ * (1 + 2 ** -10) + 1e-12)
    assert q.codes.min() >= 0 and int(q.codes.max()) <= np.floor(1 / rel * (1 + 2 ** -10)) + 1


def test_layout_helpers_invert():
    x = np.random.default_rng(1).normal(size=(3, 10, 4))
    np.testing.assert_array_equal(head_major(token_major(x), 3), x)


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, float("nan")])
def test_bad_rel_is_refused(bad):
    with pytest.raises(ValueError, match="rel"):
        quantize_tokens(np.ones((4, 8), np.float32), bad)


def brute_force_packed_payload_bytes(codes, n_heads, block, pack):
    """Payload bytes counted pack by pack: pack * bit_length(max - min) bits."""
    T, C = codes.shape
    total = 0
    for t0 in range(0, T, pack):
        for c in range(C):
            r = int(codes[t0:t0 + pack, c].max()) - int(codes[t0:t0 + pack, c].min())
            total += pack * r.bit_length() // 8
    return total


@pytest.mark.parametrize("pack", [8, 16, 32])
def test_packing_round_trips_exactly_and_counts_real_bytes(pack):
    rng = np.random.default_rng(pack)
    T, C = 128, 192
    codes = rng.integers(0, 12, size=(T, C)).astype(np.uint8)
    codes[:16, :5] = 7  # constant channel packs: width 0
    codes[16:32, 5] = rng.integers(3, 5, 16)  # width 1
    p = bitpack.encode(codes, 3, block=64, pack=pack)
    np.testing.assert_array_equal(bitpack.decode(p), codes)
    buf = p.to_bytes()
    assert p.nbytes == len(buf)
    np.testing.assert_array_equal(bitpack.decode(bitpack.PackedTiles.from_bytes(buf)), codes)
    assert p.planes.nbytes == brute_force_packed_payload_bytes(codes, 3, 64, pack)
    G = 64 // pack
    meta = (T // 64) * 3 * ((G * 64 * p.raw_bits + 7) // 8 + (G * 64 * p.width_bits + 7) // 8)
    assert p.mins.nbytes + p.widths.nbytes == meta
    if pack <= 16:
        assert p.width_histogram()[0] >= 5  # the constant 16-token channel packs cost no payload


def test_fixed_fields_round_trip():
    v = np.random.default_rng(3).integers(0, 32, 1001)
    np.testing.assert_array_equal(bitpack.unpack_fields(bitpack.pack_fields(v, 5), 5, v.size), v)


@pytest.mark.parametrize(("values", "bits", "stream"), [
    ([1, 2, 3], 2, [0b00111001]),  # 01 | 10 | 11, lowest bits first
    ([5, 6], 3, [0b00110101]),
    ([7, 0, 7], 3, [0b11000111, 0b00000001]),  # the third field crosses into the second byte
])
def test_fixed_fields_put_bit_k_of_value_i_at_stream_bit_i_times_bits_plus_k(values, bits, stream):
    np.testing.assert_array_equal(bitpack.pack_fields(values, bits), stream)
    np.testing.assert_array_equal(bitpack.pack_rows(np.array([values, values]), bits), [stream, stream])
    np.testing.assert_array_equal(bitpack.unpack_fields(np.array(stream, np.uint8), bits, len(values)), values)
    np.testing.assert_array_equal(bitpack.unpack_rows(np.array([stream], np.uint8), bits, len(values)), [values])


def test_malformed_inputs():
    with pytest.raises(ValueError, match="blocks"):
        bitpack.encode(np.zeros((100, 192), np.uint8), 3)
    with pytest.raises(ValueError, match="pack size"):
        bitpack.encode(np.zeros((64, 192), np.uint8), 3, pack=12)
    p = bitpack.encode(np.ones((64, 192), np.uint8), 3)
    with pytest.raises(ValueError, match="PackKV"):
        bitpack.PackedTiles.from_bytes(b"XXXX" + p.to_bytes()[4:])
    with pytest.raises(ValueError, match="length"):
        bitpack.PackedTiles.from_bytes(p.to_bytes() + b"\0")


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_kivi_bound_bytes_and_nominal_ratio(bits):
    x = kv_like(np.random.default_rng(bits), T=256)
    for q in (kivi.quantize_kivi_k(x, bits, 32), kivi.quantize_kivi_v(x, bits, 64)):
        s = q._expand(q.scale)
        m = q._expand(q.offset)
        mn = x.reshape(q.scale.shape[0], q.g_tok, q.scale.shape[1], q.g_ch).min(axis=(1, 3))
        slack = np.abs(m - q._expand(mn.astype(np.float32)))  # float16 rounding of the stored minimum
        assert np.all(np.abs(q.dequantize() - x) <= s / 2 * (1 + 1e-3) + slack + 1e-6 * np.abs(x))
        assert q.nbytes == len(q.to_bytes())
        back = kivi.GroupQuantized.from_bytes(q.to_bytes())
        np.testing.assert_array_equal(back.codes, q.codes)
    k = kivi.quantize_kivi_k(x, bits, 32)
    cr = 2 * x.size / k.nbytes
    assert cr == pytest.approx(16 / (bits + 32 / 32), rel=1e-3)  # KIVI-2 with G=32: 5.33


def test_constant_token_and_channel_group_are_reproduced_to_float16_precision():
    # a constant group has range 0, so its error bound rel * range is 0; float16 metadata allows 2**-11 relative
    x = np.array([[0.7] * 8, [-1000.3] * 8, [0.0] * 8, [0.25, 1.0, 0.5, 0.75, 0.0, 1.0, 0.5, 0.25]], np.float32)
    q = quantize_tokens(x, 0.1)
    assert np.all(np.abs(q.dequantize() - x)[:3] <= 2.0 ** -11 * np.abs(x[:3]))
    assert np.all(np.abs(q.dequantize() - x)[3] <= 0.5 * 0.1 * 1.0 * (1 + 2 ** -10))  # a varying token as before
    assert np.all(q.codes[:3] == 0)
    xc = np.full((64, 3), 0.7, np.float32)
    g = kivi.quantize_channel_rel(xc, 0.1, 64)
    assert np.all(np.abs(g.dequantize() - xc) <= 2.0 ** -11 * 0.7)


def test_a_scale_beyond_float16_is_refused_not_turned_into_nan():
    x = np.array([[0.0, 1e5, 3.0, 4.0]], np.float32)  # step 0.9 * 1e5 > 65504, the float16 maximum
    with pytest.raises(ValueError, match="float16"):
        quantize_tokens(x, 0.9)
    with pytest.raises(ValueError, match="float16"):
        kivi.quantize_channel_rel(np.tile(np.array([[0.0], [1e5]], np.float32), (32, 2)), 0.9, 64)


@pytest.mark.parametrize(("x", "quantize"), [
    (np.tile(np.array([[-1e5], [0.0]], np.float32), (32, 4)), kivi.quantize_kivi_k),  # a channel minimum -1e5
    (np.tile(np.array([[-7e4, 7e4, 0.0, 1.0]], np.float32), (4, 16)), kivi.quantize_kivi_v),  # step 140000 / 3
])
def test_kivi_refuses_a_minimum_or_step_beyond_float16_rather_than_store_infinity(x, quantize):
    with pytest.raises(ValueError, match="beyond the float16 range"):
        quantize(x, 2)
    assert np.all(np.isfinite(quantize(x / 4, 2).dequantize()))  # the same data within range quantizes


def _with_header(obj, names: tuple[str, ...], **fields) -> bytes:
    """``obj.to_bytes()`` with some fields of its ``HEADER`` struct (named ``names``, in order) replaced."""
    raw, header = obj.to_bytes(), type(obj).HEADER
    h = dict(zip(names, header.unpack_from(raw, 0))) | fields
    return header.pack(*(h[n] for n in names)) + raw[header.size:]


def _header(p, **fields):
    """``p.to_bytes()`` with some header fields replaced (tokens, heads, head_dim, block, pack, raw_bits, width_bits)."""
    return _with_header(p, ("magic", "tokens", "heads", "head_dim", "block", "pack", "raw_bits", "width_bits"),
                        **fields)


@pytest.mark.parametrize(("fields", "message"), [
    ({"block": 0}, r"block=0 is not a positive multiple of pack=16"),
    ({"pack": 12}, r"pack=12, must be one of \[8, 16, 32\]"),
    ({"tokens": 100}, r"tokens=100 is not a whole number of 64-token blocks"),
    ({"heads": 0}, r"heads=0 and head_dim=64 must be at least 1"),
    ({"raw_bits": 0}, r"raw_bits=0 \(1..32\)"),
    ({"width_bits": 5}, r"raw_bits=3 \(1..32\) with width_bits=5 \(expected 2\)"),
    ({"tokens": 64 * 50}, r"shorter than the offsets and fields of its header's 150 tiles"),
])
def test_a_corrupt_packed_header_is_refused_naming_the_field(fields, message):
    p = bitpack.encode(np.random.default_rng(0).integers(0, 5, size=(128, 192)).astype(np.uint8), 3)
    assert bitpack.PackedTiles.from_bytes(_header(p)).n_tokens == 128  # unchanged header reads back
    with pytest.raises(bitpack.PackedFormatError, match=message):
        bitpack.PackedTiles.from_bytes(_header(p, **fields))


def test_corrupt_plane_offsets_are_refused():
    p = bitpack.encode(np.random.default_rng(0).integers(0, 5, size=(128, 192)).astype(np.uint8), 3)
    b = bytearray(p.to_bytes())
    b[bitpack.PackedTiles.HEADER.size:bitpack.PackedTiles.HEADER.size + 4] = (7).to_bytes(4, "little")
    with pytest.raises(bitpack.PackedFormatError, match="plane offsets"):
        bitpack.PackedTiles.from_bytes(bytes(b))


def _group_bytes(q, **fields):
    """``q.to_bytes()`` with some header fields replaced (tokens, channels, bits, g_tok, g_ch, integer_zero)."""
    return _with_header(q, ("tokens", "channels", "bits", "g_tok", "g_ch", "integer_zero"), **fields)


@pytest.mark.parametrize(("fields", "message"), [
    ({"channels": 0}, r"tokens=64 and channels=0 must be at least 1"),
    ({"tokens": 0}, r"tokens=0 and channels=8 must be at least 1"),
    ({"bits": 0}, r"bits=0, must be 1..16"),
    ({"bits": 17}, r"bits=17, must be 1..16"),
    ({"g_tok": 0}, r"64x8 codes do not split into groups of 0 tokens x 1 channels"),
    ({"g_tok": 5}, r"64x8 codes do not split into groups of 5 tokens x 1 channels"),
    ({"g_ch": 3}, r"64x8 codes do not split into groups of 32 tokens x 3 channels"),
    ({"tokens": 128}, r"length 206 does not match its header \(398 bytes for 128x8 codes of 2 bits and 32 groups"),
    ({"integer_zero": True}, None),  # same layout, offsets read as int16: a valid buffer
])
def test_a_corrupt_kivi_header_is_refused_naming_the_field(fields, message):
    q = kivi.quantize_kivi_k(kv_like(np.random.default_rng(0), T=64, C=8), 2, 32)
    # hand count: 14-byte header + 64*8 codes of 2 bits (128 bytes) + 2*8 groups x (scale + minimum) x 2 bytes
    assert len(q.to_bytes()) == 14 + 128 + 2 * 16 * 2 == q.nbytes
    assert kivi.GroupQuantized.from_bytes(_group_bytes(q)).codes.tolist() == q.codes.tolist()  # unchanged: reads
    if message is None:
        assert kivi.GroupQuantized.from_bytes(_group_bytes(q, **fields)).integer_zero
        return
    with pytest.raises(bitpack.PackedFormatError, match=message):
        kivi.GroupQuantized.from_bytes(_group_bytes(q, **fields))


def test_a_truncated_or_padded_kivi_buffer_is_refused():
    q = kivi.quantize_kivi_v(kv_like(np.random.default_rng(1), T=4, C=64), 3, 64)
    buf = q.to_bytes()
    with pytest.raises(bitpack.PackedFormatError, match="too short for a group-quantized header"):
        kivi.GroupQuantized.from_bytes(buf[:10])
    for bad in (buf[:-1], buf + b"\0", buf[:kivi.GroupQuantized.HEADER.size]):
        with pytest.raises(bitpack.PackedFormatError, match=f"buffer length {len(bad)} does not match its header"):
            kivi.GroupQuantized.from_bytes(bad)
