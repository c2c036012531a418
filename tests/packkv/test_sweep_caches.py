"""What the sweep reuses or skips to run faster gives the numbers the full computation gives: the exact attention
output kept per window and layer, the swept tensor packed alone, the per-tile fields packed in one call."""

from types import SimpleNamespace

import numpy as np
import pytest

from support.lm.model import attention
from support.lm.perplexity import kl_divergence, log_softmax, top1_agreement
from support.packkv import accuracy, bitpack
from support.packkv.blocks import REORDERS, compress_layer


def captured(seed: int, layers: int = 2):
    """(q, K, V) of 3 evaluated queries over 67 cached tokens per layer, different in every layer and seed."""
    rng = np.random.default_rng(seed)
    return [tuple(rng.normal(size=s).astype(np.float32) for s in ((2, 3, 8), (2, 67, 8), (2, 67, 8)))
            for _ in range(layers)]


def uncached_errors(cap, transform, n_compressed=64):
    """Per-layer attention errors computed from scratch, every reference output recomputed."""
    errs = []
    for li, (q, k, v) in enumerate(cap):
        o = attention(q, k, v, 64)
        kh, vh = transform(li, k, v, n_compressed)
        errs.append(float(np.linalg.norm(attention(q, kh, vh, 64) - o) / np.linalg.norm(o)))
    return errs


def scale_layer(layer, factor):
    """Scale the V of one layer only, so each layer's error depends on its own reference output."""
    return lambda li, k, v, n: (k, v * np.float32(factor if li == layer else 1.0))


def test_reference_attention_is_computed_once_per_window_and_layer():
    a, b = SimpleNamespace(captured=captured(1), n_compressed=64), SimpleNamespace(captured=captured(2),
                                                                                  n_compressed=64)
    ref = accuracy.reference_attention(a)
    assert accuracy.reference_attention(a) is ref  # kept on the window: the next setting reuses it
    for li, (q, k, v) in enumerate(a.captured):
        np.testing.assert_array_equal(ref[li], attention(q, k, v, 64))  # its own layer, exactly
    for t in (scale_layer(0, 1.3), scale_layer(1, 0.7)):
        got = accuracy.attention_error([a, b], t)  # a's outputs are cached now, b's are not yet
        assert got == float(np.mean(uncached_errors(a.captured, t) + uncached_errors(b.captured, t)))
        assert accuracy.attention_error([b], t) == float(np.mean(uncached_errors(b.captured, t)))  # b's own


def test_reference_attention_is_recomputed_when_a_captured_layer_is_replaced():
    win = SimpleNamespace(captured=captured(1), n_compressed=64)
    t = scale_layer(1, 1.5)
    accuracy.attention_error([win], t)
    win.captured = [win.captured[0], captured(3)[1]]  # layer 1 replaced, layer 0 kept
    assert accuracy.attention_error([win], t) == float(np.mean(uncached_errors(win.captured, t)))


def test_a_window_from_prepare_window_keeps_its_reference_on_itself():
    win = accuracy.Window(np.zeros(64, np.int64), np.zeros(3, np.int64), [], [], np.zeros((3, 2), np.float32),
                          captured(4), 64)
    ref = accuracy.reference_attention(win)
    assert accuracy.reference_attention(win) is ref and win._reference_attention[1] is ref
    assert "_reference_attention" not in repr(win)


@pytest.mark.parametrize("reorder", REORDERS)
@pytest.mark.parametrize("only", ["k", "v"])
def test_packing_one_tensor_alone_gives_what_the_full_layer_stores(only, reorder):
    rng = np.random.default_rng(5)
    k, v = (rng.standard_t(4, size=(3, 128, 64)).astype(np.float32) for _ in range(2))
    full = compress_layer(k, v, 0.07, 0.2, reorder=reorder)
    alone = compress_layer(k, v, 0.07, 0.2, reorder=reorder, only=only)
    np.testing.assert_array_equal(alone.order, full.order)  # the order still reads the other tensor's codes
    assert getattr(alone, only).to_bytes() == getattr(full, only).to_bytes()
    np.testing.assert_array_equal(getattr(alone, only + "q").codes, getattr(full, only + "q").codes)
    assert sizes(alone, only) == sizes(full, only)
    other = "v" if only == "k" else "k"
    assert getattr(alone, other) is None and getattr(alone, other + "q") is None


def sizes(pl, which):
    """The byte counts the sweep reads from a packed layer for tensor ``which``."""
    return (pl.nbytes_k if which == "k" else pl.nbytes_v, pl.quant_only_nbytes(which),
            pl.plain_quant_nbytes(which))


def test_packing_one_tensor_refuses_an_unknown_tensor_name():
    x = np.zeros((1, 64, 4), np.float32)
    with pytest.raises(ValueError, match="only must be"):
        compress_layer(x, x, 0.1, 0.1, only="K")


@pytest.mark.parametrize(("rows", "n", "bits"), [(4, 5, 3), (3, 64, 6), (1, 7, 1), (0, 5, 4)])
def test_pack_rows_is_pack_fields_row_by_row_each_row_padded_to_whole_bytes(rows, n, bits):
    v = np.random.default_rng(n).integers(0, 1 << bits, size=(rows, n))
    got = bitpack.pack_rows(v, bits)
    assert got.shape == (rows, (n * bits + 7) // 8) and got.dtype == np.uint8
    for row, packed in zip(v, got):
        np.testing.assert_array_equal(packed, bitpack.pack_fields(row, bits))


def test_pack_rows_refuses_a_value_its_width_cannot_hold():
    with pytest.raises(ValueError, match="outside"):
        bitpack.pack_rows(np.array([[0, 8]]), 3)


def test_tiles_with_fields_not_filling_whole_bytes_round_trip():
    # 5 channels x 4 packs x 3 raw bits = 60 bits per tile: every tile's min fields end mid-byte
    codes = np.random.default_rng(6).integers(0, 8, size=(128, 10)).astype(np.uint8)
    p = bitpack.encode(codes, 2, block=64, pack=16, raw_bits=3)
    assert p.mins.shape == (4, 8) and p.widths.shape == (4, 5)
    np.testing.assert_array_equal(bitpack.decode(bitpack.PackedTiles.from_bytes(p.to_bytes())), codes)


def logp_window(rows):
    """A window over one key whose exact log-probabilities are ``rows`` (see the KL test below)."""
    from tests.packkv.test_accuracy_known_answers import window

    win = window([0, 0, 1, 1, 1])
    win.logp = log_softmax(np.asarray(rows, np.float32)).astype(np.float32)
    return win


def kl_from_scratch(win, key):
    """KL and top-1 sums of :func:`accuracy.evaluate_window` computed with the shared metric functions."""
    lp = log_softmax(np.tile(np.array([key, 0.0], np.float32), (win.eval.size, 1)))
    lr = win.logp.astype(np.float64)
    return float(np.sum(kl_divergence(lr, lp))), float(top1_agreement(lr, lp) * lr.shape[0])


def test_reference_probabilities_are_kept_per_window_and_give_the_shared_kl_exactly():
    from tests.packkv.test_accuracy_known_answers import OneKeyModel, set_first_key

    rows = [[0.3, -1.0], [2.0, 0.5], [-0.7, 0.1], [1.1, 1.0], [0.0, 0.2]]
    win = logp_window(rows)
    for key in (np.log(3.0), -0.4):
        m = accuracy.evaluate_window(OneKeyModel(), win, set_first_key(key))
        assert (m["kl_sum"], m["top1_sum"]) == kl_from_scratch(win, key)  # exactly, bit for bit
    p, top = accuracy.reference_probs(win)
    assert accuracy.reference_probs(win)[0] is p  # kept: the next setting reuses it
    np.testing.assert_array_equal(p, np.exp(win.logp.astype(np.float64)))
    np.testing.assert_array_equal(top, [0, 0, 1, 0, 1])


def test_reference_probabilities_are_recomputed_when_the_windows_logp_is_replaced():
    from tests.packkv.test_accuracy_known_answers import OneKeyModel, set_first_key

    win = logp_window([[0.3, -1.0]] * 5)
    accuracy.evaluate_window(OneKeyModel(), win, set_first_key(0.5))
    win.logp = logp_window([[-2.0, 1.0]] * 5).logp  # a new reference: other probabilities, other top-1 tokens
    m = accuracy.evaluate_window(OneKeyModel(), win, set_first_key(0.5))
    assert (m["kl_sum"], m["top1_sum"]) == kl_from_scratch(win, 0.5)
