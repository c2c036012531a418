"""The PackKV setting that feeds the K and V claims: its compression ratios match bytes counted by hand on a tiny
tensor, and the cache it hands to the model is exactly what the packed layer decodes (the same quantizer)."""

from types import SimpleNamespace

import numpy as np
import pytest

from support.packkv import experiments as E
from support.packkv.blocks import compress_layer

STEP = float(np.float16(0.1))  # rel 0.1 x token range 1, stored as float16: 0.0999755859375


def two_pattern_window():
    """One head, 64 tokens x 16 channels of 0 or 1: even tokens are 1 on channels 0-11, odd tokens on 0-3 only.
    At rel 0.1 every token has range 1: step 0.0999756, zero point 0, codes 10 (for 1.0) and 0."""
    x = np.zeros((1, 64, 16), np.float32)
    x[0, 0::2, :12] = 1.0
    x[0, 1::2, :4] = 1.0
    return SimpleNamespace(n_compressed=64, k=[x.copy()], v=[x.copy()])


@pytest.mark.parametrize("tensor", ["K", "V"])
def test_packkv_ratios_equal_bytes_counted_by_hand(tensor):
    # fp16: 64 x 16 x 2 = 2048 B. Packed tile store: header 18 + offsets 2 x 4 + min fields 4 packs x 16 channels
    # x 4 raw bits = 32 + width fields 64 x 3 bits = 24 = 82 B, plus bit planes. Unordered, channels 4-11 alternate
    # codes 10 / 0 in every 16-token pack: width 4, 8 channels x 4 packs x 4 planes x 2 B = 256 B; channels 0-3 and
    # 12-15 are constant (width 0). Per-token float16 scale + int16 zero: 64 x 4 = 256 B.
    #   cr        = 2048 / (82 + 256 + 256) = 2048 / 594
    #   MEDIAN    : even tokens (median code 10) before odd ones (0), every pack constant: 2048 / (82 + 256)
    #   quant-only: 1024 codes x 4 bits = 512 B + 256 + 16 = 784; plain: bit_length(round(1 / 0.1)) = 4 bits, 784
    out = E.Setting("packkv", tensor, rel=0.1).sizes([two_pattern_window()])
    assert out == {"cr": pytest.approx(2048 / 594), "cr_quant_only": pytest.approx(2048 / 784),
                   "cr_plain_quant": pytest.approx(2048 / 784), "cr_median": pytest.approx(2048 / 338)}


def test_packkv_ratios_sum_bytes_over_every_window():
    # two windows: the random one alone, the hand one alone, and both together (bytes summed, not ratios averaged)
    rng = np.random.default_rng(0)
    other = SimpleNamespace(n_compressed=64, k=[rng.normal(size=(1, 64, 16)).astype(np.float32)],
                            v=[rng.normal(size=(1, 64, 16)).astype(np.float32)])
    s = E.Setting("packkv", "V", rel=0.1)
    b_other = 2048 / s.sizes([other])["cr"]
    assert s.sizes([two_pattern_window(), other])["cr"] == pytest.approx(4096 / (594 + b_other))


@pytest.mark.parametrize("tensor", ["K", "V"])
def test_packkv_transform_is_what_the_packed_layer_decodes_and_leaves_the_rest_exact(tensor):
    rng = np.random.default_rng(1)
    k, v = (rng.standard_t(4, size=(3, 256, 64)).astype(np.float32) for _ in range(2))
    n = 128
    kh, vh = E.Setting("packkv", tensor, rel=0.1).transform(0, k, v, n)
    kd, vd = compress_layer(k[:, :n], v[:, :n], 0.1, 0.1).dequantize()
    got, decoded, x, other, other_in = (kh, kd, k, vh, v) if tensor == "K" else (vh, vd, v, kh, k)
    np.testing.assert_array_equal(got[:, :n], decoded)  # bit-exact: the same quantizer as the sized store
    assert not np.array_equal(got[:, :n], x[:, :n])
    np.testing.assert_array_equal(got[:, n:], x[:, n:])  # the recent tokens stay exact
    np.testing.assert_array_equal(other, other_in)  # the tensor not swept stays exact


def test_packkv_transform_reconstructs_with_the_float16_step_of_rel_times_range():
    w = two_pattern_window()
    kh, vh = E.Setting("packkv", "V", rel=0.1).transform(0, w.k[0], w.v[0], 64)
    assert STEP == 0.0999755859375
    assert sorted(np.unique(vh).tolist()) == [0.0, 10 * STEP]  # 1.0 -> code 10 x 0.0999756 = 0.99976
    np.testing.assert_array_equal(kh, w.k[0])


def with_queries(win, seed: int):
    """``win`` plus the captured (q, K, V) of 3 evaluated tokens after its 64 context tokens (for the sweep)."""
    rng = np.random.default_rng(seed)
    k, v = (np.concatenate([x[0], rng.normal(size=(1, 3, 16)).astype(np.float32)], 1) for x in (win.k, win.v))
    win.captured = [(rng.normal(size=(1, 3, 16)).astype(np.float32), k, v)]
    return win


def test_sweep_sizes_every_calibration_window_the_kl_is_pooled_over():
    rng = np.random.default_rng(0)
    other = SimpleNamespace(n_compressed=64, k=[rng.normal(size=(1, 64, 16)).astype(np.float32)],
                            v=[rng.normal(size=(1, 64, 16)).astype(np.float32)])
    b_other = 2048 / E.Setting("packkv", "V", rel=0.1).sizes([other])["cr"]
    st = E.Setup(model=None, calib=[with_queries(two_pattern_window(), 1), with_queries(other, 2)], heldback=[])
    row = E.sweep(st, [E.Setting("packkv", "V", rel=0.1)], forward=False).iloc[0]
    assert row["cr"] == pytest.approx(4096 / (594 + b_other))  # both windows, not the first one's 2048 / 594
