"""The faster exact paths give what the plain ones give: a growing cache attends over many stored blocks per layer
exactly, every tile's fields unpacked in one call, bit lengths through frexp, MEDIAN orders of all blocks at once."""

import numpy as np
import pytest

from support.lm.model import attention
from support.packkv import bitpack
from support.packkv.blocks import PackKVCache, block_order, median_order
from support.packkv.quantize import quantize_tokens


def test_cache_attention_reads_each_layers_own_blocks_when_blocks_arrive_one_at_a_time():
    rng = np.random.default_rng(11)
    T = 420
    kv = [(rng.normal(size=(3, T, 64)).astype(np.float32), rng.normal(size=(3, T, 64)).astype(np.float32) + li)
          for li in range(2)]
    cache = PackKVCache(2, 0.1, 0.2, recent=32, block=64, reorder="median")
    for t0 in range(0, T - 1, 60):  # several compressions per layer: one stored entry each
        t1 = min(t0 + 60, T - 1)
        for li, (k, v) in enumerate(kv):
            cache.attend(li, rng.normal(size=(9, t1 - t0, 64)).astype(np.float32), k[:, t0:t1], v[:, t0:t1])
    assert all(len(s) >= 5 for s in cache.store)
    q = rng.normal(size=(9, 1, 64)).astype(np.float32)
    for li, (k, v) in enumerate(kv):
        got = cache.attend(li, q, k[:, T - 1:], v[:, T - 1:])
        K, V, pos = cache.materialize(li)
        order = np.argsort(pos)
        np.testing.assert_allclose(got, attention(q, K[:, order], V[:, order], n_past=T - 1), atol=1e-5)


def test_bit_length_is_pythons_int_bit_length_also_beyond_float64_precision():
    vals = np.array([0, 1, 2, 3, 255, 256, 2**31, 2**53 - 1, 2**53, 2**53 + 1, 2**60 - 1, 2**62, 2**63 - 1])
    np.testing.assert_array_equal(bitpack.bit_length(vals), [int(x).bit_length() for x in vals])
    grid = np.arange(12).reshape(3, 4)
    assert bitpack.bit_length(grid).shape == (3, 4) and bitpack.bit_length(grid).dtype == np.int64
    assert bitpack.bit_length(np.zeros((0, 2), np.int64)).shape == (0, 2)


@pytest.mark.parametrize(("rows", "n", "bits"), [(4, 5, 3), (3, 64, 6), (1, 7, 1), (2, 9, 17)])
def test_unpack_rows_is_unpack_fields_row_by_row(rows, n, bits):
    v = np.random.default_rng(n).integers(0, 1 << bits, size=(rows, n))
    packed = bitpack.pack_rows(v, bits)
    got = bitpack.unpack_rows(packed, bits, n)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, v)
    for row, buf in zip(got, packed):
        np.testing.assert_array_equal(row, bitpack.unpack_fields(buf, bits, n))


@pytest.mark.parametrize("pack", [8, 16, 32])
def test_packs_of_every_width_round_trip_zero_width_packs_included(pack):
    rng = np.random.default_rng(pack)
    codes = rng.integers(0, 1 << rng.integers(0, 12, size=(1, 24)), size=(4 * pack, 24))  # 0..11 bits by channel
    codes[:pack, :5] = 7  # constant packs: width 0, no planes
    p = bitpack.encode(codes, 3, block=2 * pack, pack=pack)
    _, widths = p.fields()
    assert widths.min() == 0 and widths.max() >= 10
    np.testing.assert_array_equal(bitpack.decode(bitpack.PackedTiles.from_bytes(p.to_bytes())), codes)


@pytest.mark.parametrize("hi", [3, 40, 3000])  # few levels: many tied medians, the stable sort decides
def test_median_order_of_a_layer_is_each_blocks_own_median_order(hi):
    x = np.random.default_rng(hi).integers(0, hi, size=(256, 10)).astype(np.float32)
    tq = quantize_tokens(x, 1 / hi)
    assert tq.codes.dtype == (np.uint8 if hi < 250 else np.uint16)
    per_block = np.concatenate([b0 + median_order(tq.codes[b0:b0 + 64]) for b0 in range(0, 256, 64)])
    np.testing.assert_array_equal(block_order(tq, tq, "median", block=64), per_block)
    part = quantize_tokens(x[:250], 1 / hi)  # a partial last block of 58 tokens sorts on its own
    per_block = np.concatenate([b0 + median_order(part.codes[b0:b0 + 64]) for b0 in range(0, 250, 64)])
    np.testing.assert_array_equal(block_order(part, part, "median", block=64), per_block)


def test_corrupt_width_or_min_fields_are_refused_not_decoded():
    """from_bytes promised a PackedFormatError for anything but what to_bytes wrote, yet checked only the header,
    the offsets' shape and the length: a flipped bit in the width fields decoded to 15,047 wrong codes, and a width
    above the code range raised a bare IndexError."""
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 16, size=(64, 24))
    p = bitpack.encode(codes, 3, block=32, pack=8)
    buf = bytearray(p.to_bytes())
    wstart = bitpack.PackedTiles.HEADER.size + p.offsets.nbytes + p.mins.nbytes
    for pos, mask in ((wstart, 0x01), (wstart + p.widths.nbytes - 1, 0xFF)):
        bad = bytearray(buf)
        bad[pos] ^= mask
        with pytest.raises(bitpack.PackedFormatError, match="corrupt PackKV width fields"):
            bitpack.PackedTiles.from_bytes(bytes(bad))
    np.testing.assert_array_equal(bitpack.decode(bitpack.PackedTiles.from_bytes(bytes(buf))), codes)
