"""Refusals of the PackKV quantizers, bit packer and fused operators no other test reached: each bad input raises
the documented error naming what is wrong, and a corrupted min field in a packed buffer is caught on load."""

from __future__ import annotations

import math

import numpy as np
import pytest

from support.packkv import accuracy, bitpack, fused, kivi
from support.packkv.bitpack import PackedFormatError
from support.packkv.blocks import block_order, compress_layer, n_compressed
from support.packkv.quantize import check_rel, quantize_tokens


@pytest.mark.parametrize(("call", "match"), [
    (lambda: bitpack.encode(np.zeros((64, 4), np.int64), 1, block=64, pack=24), "pack size must be one of"),
    (lambda: bitpack.encode(np.zeros((64, 4), np.int64), 1, block=40, pack=16), "block 40 is not a multiple of pack"),
    (lambda: bitpack.encode(np.zeros((64, 4), np.float32), 1), "codes must be a 2-D integer array"),
    (lambda: bitpack.encode(np.zeros((64, 6), np.int64), 4), "6 channels do not split into 4 heads"),
    (lambda: bitpack.encode(-np.ones((64, 4), np.int64), 1), "codes must be non-negative"),
    (lambda: bitpack.encode(np.full((64, 4), 8, np.int64), 1, raw_bits=3), "raw_bits=3 cannot hold code 8"),
    (lambda: bitpack.pack_rows(np.zeros(4, np.int64), 2), "pack_rows needs a 2-D array"),
    (lambda: bitpack.unpack_rows(np.zeros((1, 2), np.uint8), 0, 4), "unpack_rows needs a 2-D byte array and bits"),
])
def test_the_bit_packer_refuses_inputs_it_cannot_encode(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_zero_width_fields_pack_to_nothing_and_unpack_to_zeros():
    assert bitpack.pack_fields(np.array([0, 0, 0]), 0).size == 0
    assert bitpack.unpack_fields(np.zeros(0, np.uint8), 0, 3).tolist() == [0, 0, 0]


def test_a_packed_buffer_too_short_for_its_header_or_with_a_min_beyond_the_code_range_is_refused():
    """One head, one channel, one 16-token pack of codes 0..4: raw 3 bits, width 3, min 0 in a one-byte field right
    after the header and the two offsets. Min 7 plus the pack's largest residual 2^(3-1) = 4 exceeds 2^3 - 1."""
    codes = (np.arange(16) % 5).reshape(16, 1)
    buf = bytearray(bitpack.encode(codes, 1, block=16, pack=16).to_bytes())
    with pytest.raises(PackedFormatError, match="too short for a PackKV header"):
        bitpack.PackedTiles.from_bytes(bytes(buf[:5]))
    pos = bitpack.PackedTiles.HEADER.size + 4 * 2
    assert buf[pos] == 0
    buf[pos] = 7
    with pytest.raises(PackedFormatError, match="a min plus its pack's residual exceeds 3 bits"):
        bitpack.PackedTiles.from_bytes(bytes(buf))


@pytest.mark.parametrize(("call", "match"), [
    (lambda: check_rel(1e-5), "too fine: codes would not fit 16 bits"),
    (lambda: quantize_tokens(np.zeros(4), 0.1), r"expected a \(tokens, channels\) array"),
    (lambda: quantize_tokens(np.array([[0.0, np.nan]]), 0.1), "NaN or infinity"),
    (lambda: quantize_tokens(np.zeros((2, 6)), 0.1, per_head=True, n_heads=4), "6 channels do not split into 4"),
    # a constant token beyond the float16 range: its step falls back to 1, so its zero point would be 1e5
    (lambda: quantize_tokens(np.full((1, 4), 1e5, np.float32), 0.1), "int16 zero point"),
    (lambda: kivi.quantize_kivi_k(np.zeros(4), 2), r"expected \(tokens, channels\)"),
    (lambda: kivi.quantize_kivi_k(np.zeros((48, 2)), 2, 32), "does not split into groups of 32 tokens"),
    (lambda: kivi.quantize_kivi_v(np.full((1, 64), np.inf), 2), "NaN or infinity"),
    (lambda: kivi.quantize_kivi_v(np.zeros((1, 64)), 9), "bits must be 1..8"),
    (lambda: kivi.quantize_channel_rel(np.full((64, 1), 1e5), 0.1), "int16 zero point"),
    (lambda: n_compressed(100, -1, 64), "recent must be >= 0 and block > 0"),
])
def test_the_quantizers_refuse_inputs_they_cannot_represent(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_compress_layer_and_block_order_refuse_mismatched_tensors_and_unknown_reorders():
    k = np.zeros((1, 64, 4), np.float32)
    with pytest.raises(ValueError, match=r"K and V must both be \(heads, tokens, head_dim\)"):
        compress_layer(k, np.zeros((1, 64, 8), np.float32), 0.1, 0.2)
    pl = compress_layer(k, k, 0.1, 0.2)
    with pytest.raises(ValueError, match="reorder must be one of"):
        block_order(pl.kq, pl.vq, "random")


def test_fused_operators_refuse_queries_and_weights_that_do_not_fit_the_cache():
    """2 KV heads of 4 channels over 64 tokens: 3 query heads (not a multiple of 2) or weights over 63 tokens."""
    rng = np.random.default_rng(0)
    pl = compress_layer(rng.normal(size=(2, 64, 4)), rng.normal(size=(2, 64, 4)), 0.1, 0.2)
    with pytest.raises(ValueError, match=r"queries \(3, 4\) do not fit 2 KV heads of dim 4"):
        fused.qk_packed(np.ones((3, 4)), pl)
    with pytest.raises(ValueError, match=r"weights \(2, 63\) do not fit 64 tokens and 2 KV heads"):
        fused.wv_packed(np.ones((2, 63)), pl)


def test_a_perplexity_interval_from_fewer_than_two_tokens_is_undefined():
    lo, hi = accuracy.paired_ci95(0.3, 0.09, 1)
    assert math.isnan(lo) and math.isnan(hi)


def test_the_growing_cache_refuses_k_and_v_of_different_shapes_and_keeps_nothing():
    from support.packkv.blocks import PackKVCache

    c = PackKVCache(1, 0.1, 0.2, recent=4, block=64)
    with pytest.raises(ValueError, match=r"K and V must both be \(heads, tokens, head_dim\)"):
        c.append(0, np.zeros((1, 2, 4)), np.zeros((1, 3, 4)))
    assert c.length(0) == 0
