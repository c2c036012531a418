"""The byte counts behind the memory figures and tables, checked against sizes counted by hand from the format.

The data are chosen so every number is known without running the encoder: token ``t``, channel ``c`` holds
``(c + t) % 11`` for K (each token spans 0..10, so at rel 0.1 the step is exactly 1, the zero point 0 and the codes
are the values) and ``2 * ((c + t) % 6)`` for V (range 10, step 2 at rel 0.2, codes 0..5). Any 16 consecutive tokens
of a channel cover every residue, so every pack has minimum 0 and residual width 4 (K) or 3 (V).
"""

import numpy as np

from support.packkv.blocks import PackKVCache, compress_layer

HEADER = 18  # "PKV1", tokens (u32), heads, head_dim, block, pack (u16 each), raw_bits, width_bits (u8 each)
META = 4  # float16 scale + int16 zero point per token


def kv(n_heads: int, n_tokens: int, head_dim: int, first_token: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """K and V ``(H, T, D)`` with the codes described above (channel ``c = h * head_dim + d``)."""
    t = np.arange(first_token, first_token + n_tokens)[None, :, None]
    c = (np.arange(n_heads)[:, None, None] * head_dim + np.arange(head_dim)[None, None, :])
    return ((c + t) % 11).astype(np.float32), (2 * ((c + t) % 6)).astype(np.float32)


def tiles_bytes(n_tiles: int, fields: int, raw_bits: int, width_bits: int, width: int) -> int:
    """Serialized PackedTiles: header, offsets, min and width fields (bytes rounded up per tile), 16-bit planes."""
    per_tile = -(-fields * raw_bits // 8) + -(-fields * width_bits // 8) + fields * width * 2
    return HEADER + 4 * (n_tiles + 1) + n_tiles * per_tile


def test_the_hand_counting_data_quantize_to_the_stated_codes():
    k, v = kv(2, 64, 32)
    pl = compress_layer(k, v, 0.1, 0.2, block=64)
    assert (pl.k.raw_bits, pl.k.width_bits, pl.v.raw_bits, pl.v.width_bits) == (4, 3, 3, 2)
    np.testing.assert_array_equal(pl.kq.scale, 1.0), np.testing.assert_array_equal(pl.vq.scale, 2.0)
    assert set(np.unique(pl.k.fields()[1])) == {4} and set(np.unique(pl.v.fields()[1])) == {3}


def test_packkv_cache_nbytes_counts_packed_blocks_window_and_fp16_equivalent_by_hand():
    H, D, recent, block = 2, 16, 16, 32
    cache = PackKVCache(2, 0.1, 0.2, recent=recent, block=block)
    cache.append(0, *kv(H, 80, D))  # (80 - 16) // 32 = 2 blocks packed, 16 tokens left in the window
    cache.append(1, *kv(H, 40, D))  # (40 - 16) // 32 = 0 blocks: all 40 tokens in the window
    n_tiles, fields = 2 * H, (block // 16) * D  # 2 blocks x 2 heads; 2 packs per block x 16 channels per tile
    k_bytes = tiles_bytes(n_tiles, fields, 4, 3, 4) + META * 64
    v_bytes = tiles_bytes(n_tiles, fields, 3, 2, 3) + META * 64
    assert (k_bytes, v_bytes) == (18 + 20 + 4 * (16 + 12 + 256) + 256, 18 + 20 + 4 * (12 + 8 + 192) + 256)
    assert cache.nbytes() == {"packed_k": k_bytes, "packed_v": v_bytes,
                              "fp_window": 2 * 2 * H * D * (16 + 40),  # fp16 K and V of the window tokens
                              "fp16_equivalent": 2 * 2 * H * D * (80 + 40)}


def test_an_empty_cache_holds_no_bytes():
    assert PackKVCache(3, 0.1, 0.2).nbytes() == {"packed_k": 0, "packed_v": 0, "fp_window": 0, "fp16_equivalent": 0}


def test_device_packed_nbytes_is_each_sequence_serialized_once_per_repeat():
    from support.packkv import gpu

    H, D = 2, 32
    seqs = [compress_layer(*kv(H, 64, D, first_token=s), 0.1, 0.2) for s in range(2)]
    one_k = tiles_bytes(H, 4 * D, 4, 3, 4) + META * 64  # 1 block x 2 heads; 4 packs per block x 32 channels
    one_v = tiles_bytes(H, 4 * D, 3, 2, 3) + META * 64
    assert one_k == 18 + 12 + 2 * (64 + 48 + 1024) + 256
    assert gpu.to_device(seqs, "k", repeat=3, emulate=True).nbytes == 2 * 3 * one_k
    assert gpu.to_device(seqs[:1], "v", emulate=True).nbytes == one_v
