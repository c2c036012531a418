"""Blocks, reordering and the growing cache; fused operators equal decompress-then-matmul."""

import numpy as np
import pytest

from support.lm.model import attention
from support.packkv import fused
from support.packkv.blocks import (
    PackKVCache,
    compress_layer,
    greedy_order,
    median_order,
    n_compressed,
    raw_bits_for,
)


def kv(rng, H=3, T=256, D=64):
    k = rng.normal(size=(H, T, D)).astype(np.float32)
    k[:, :, 3] += 6.0  # an outlier channel
    return k, rng.normal(size=(H, T, D)).astype(np.float32)


def test_window_rule_keeps_128_to_191_tokens():
    for T in range(1000):
        n = n_compressed(T)
        assert n % 64 == 0 and (T - n < 192) and (T - n >= 128 or n == 0)


def test_reorderings_are_permutations():
    rng = np.random.default_rng(0)
    c = rng.integers(0, 8, size=(64, 384))
    for p in (median_order(c[:, 192:]), greedy_order(c[:, :192], c[:, 192:], 16)):
        assert sorted(p.tolist()) == list(range(64))
    med = np.median(c[:, 192:][median_order(c[:, 192:])], axis=1)
    assert np.all(np.diff(med) <= 0)


def _summed_widths(k, v, order, pack):
    """Bits of every pack's per-channel range, summed over packs and K and V channels (Python int.bit_length)."""
    x = np.concatenate([k, v], axis=1)[np.asarray(order)]
    return sum(int(c.max() - c.min()).bit_length() for g in range(0, len(x), pack) for c in x[g:g + pack].T)


def test_greedy_packs_two_clusters_of_tokens_as_tightly_as_the_best_pairing():
    """Brute force over all 6! orders (packs of 2): tokens from two code clusters (around 0 and around 50) pair inside
    their cluster at best; GREEDY, which adds the token that least widens the pack, reaches that minimum."""
    import itertools

    k = np.array([[0], [50], [1], [51], [3], [48]])
    v = np.array([[0], [50], [2], [49], [1], [52]])
    best = min(_summed_widths(k, v, o, 2) for o in itertools.permutations(range(6)))
    order = greedy_order(k, v, 2)
    assert sorted(order.tolist()) == list(range(6))
    assert _summed_widths(k, v, order, 2) == best < _summed_widths(k, v, range(6), 2)


def test_greedy_seeds_each_pack_with_the_remaining_token_closest_in_cosine_to_their_mean():
    """The seed rule, checked with scipy's cosine distance: every pack starts with the remaining token whose codes
    point most nearly along the mean of the remaining tokens (here never the first one left)."""
    from scipy.spatial.distance import cosine

    rng = np.random.default_rng(4)
    k, v = rng.integers(0, 16, (8, 3)), rng.integers(0, 16, (8, 2))
    x = np.concatenate([k, v], axis=1).astype(float)
    order = greedy_order(k, v, 2).tolist()
    for g in range(0, 8, 2):
        left = order[g:]
        mean = x[left].mean(axis=0)
        assert order[g] == min(left, key=lambda i: cosine(x[i], mean))
    assert any(order[g] != min(order[g:]) for g in range(0, 8, 2))  # the rule is not "first token left"


@pytest.mark.parametrize("reorder", ["none", "median", "greedy"])
@pytest.mark.parametrize("per_head", [False, True])
def test_fused_equals_decompress_then_matmul(reorder, per_head):
    rng = np.random.default_rng(1)
    k, v = kv(rng, T=128)
    pl = compress_layer(k, v, 0.1, 0.2, reorder=reorder, per_head=per_head)
    q = rng.normal(size=(9, 64))
    w = rng.random((9, 128))
    ref_qk, ref_wv = fused.qk_dense(q, pl), fused.wv_dense(w, pl)
    assert np.max(np.abs(fused.qk_packed(q, pl) - ref_qk)) <= 1e-6 * np.max(np.abs(ref_qk))
    assert np.max(np.abs(fused.wv_packed(w, pl) - ref_wv)) <= 1e-6 * np.max(np.abs(ref_wv))
    kh, _ = pl.dequantize()  # original order: within the bound of the input
    assert np.max(np.abs(kh - k)) <= 0.5 * 0.1 * np.ptp(k.transpose(1, 0, 2).reshape(128, -1), axis=1).max() * 1.01


def test_growing_cache_is_schedule_invariant_and_windowed():
    rng = np.random.default_rng(2)
    k, v = kv(rng, T=1000)
    cache = PackKVCache(1, 0.05, 0.2, reorder="median")
    cache.append(0, k[:, :700], v[:, :700])
    for t in range(700, 1000):
        cache.append(0, k[:, t:t + 1], v[:, t:t + 1])
        assert 128 <= cache.buffer_length(0) < 192
    K, V, pos = cache.materialize(0)
    n = n_compressed(1000)
    once = compress_layer(k[:, :n], v[:, :n], 0.05, 0.2, reorder="median")
    Kr, Vr = once.dequantize(original_order=False)
    np.testing.assert_array_equal(K[:, :n], Kr)
    np.testing.assert_array_equal(V[:, :n], Vr)
    np.testing.assert_array_equal(np.sort(pos), np.arange(1000))
    assert raw_bits_for(0.05) == 5


def test_cache_attention_equals_reference_on_the_decoded_cache():
    rng = np.random.default_rng(3)
    k, v = kv(rng, T=300)
    cache = PackKVCache(1, 0.1, 0.2)
    cache.attend(0, rng.normal(size=(9, 299, 64)).astype(np.float32), k[:, :299], v[:, :299])
    q = rng.normal(size=(9, 1, 64)).astype(np.float32)
    got = cache.attend(0, q, k[:, 299:], v[:, 299:])
    K, V, pos = cache.materialize(0)
    order = np.argsort(pos)
    ref = attention(q, K[:, order], V[:, order], n_past=299)
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="reorder"):
        PackKVCache(1, 0.1, 0.1, reorder="random")
    with pytest.raises(ValueError, match="blocks"):
        compress_layer(np.zeros((3, 100, 64)), np.zeros((3, 100, 64)), 0.1, 0.1)


@pytest.mark.parametrize(("kwargs", "names"), [({"pack": 12}, "pack"), ({"recent": -1}, "recent"),
                                               ({"block": 0}, "block"), ({"block": 40}, "block"),
                                               ({"n_layers": 0}, "n_layers")])
def test_cache_layout_is_refused_at_construction(kwargs, names):
    args = {"n_layers": 1, "rel_k": 0.1, "rel_v": 0.1} | kwargs
    with pytest.raises(ValueError, match=names):
        PackKVCache(**args)


def test_failed_append_leaves_the_cache_as_it_was(monkeypatch):
    rng = np.random.default_rng(4)
    k, v = kv(rng, T=300)
    cache = PackKVCache(1, 0.1, 0.1)
    cache.append(0, k[:, :100], v[:, :100])
    bad_k = k[:, 100:].copy()
    bad_k[:, 150, 0] = np.nan  # refused before anything is stored
    with pytest.raises(ValueError, match="NaN"):
        cache.append(0, bad_k, v[:, 100:])
    # a failure inside the first block's compression, after the tokens were concatenated (every finite token is
    # quantizable since the step keeps the int16 zero point; the failure is injected)
    import support.packkv.blocks as blocks_mod

    def failing(*a, **kw):
        raise ValueError("injected compression failure")

    monkeypatch.setattr(blocks_mod, "compress_layer", failing)
    with pytest.raises(ValueError, match="injected compression failure"):
        cache.append(0, k[:, 100:], v[:, 100:])
    monkeypatch.undo()
    assert (cache.length(0), cache.buffer_length(0), cache.store[0]) == (100, 100, [])
    cache.append(0, k[:, 100:], v[:, 100:])  # and still works: 300 tokens, 128 compressed, 172 in the window
    assert (cache.length(0), cache.buffer_length(0)) == (300, 172)


def test_a_nearly_constant_token_far_from_zero_is_quantized_within_float16_precision():
    """[3.0] * 7 + [3.0001] was refused: its step was floored at 2^-14, and 3 / 2^-14 overflows the int16 zero
    point. The step now also keeps the zero point in range (at least |min| / 32767)."""
    from support.packkv.quantize import quantize_tokens

    x = np.array([[3.0] * 7 + [3.0001], [10.0, 10.02, 10.01, 10.0, 10.0, 10.0, 10.0, 10.0]], np.float32)
    tq = quantize_tokens(x, 0.01)
    assert np.abs(tq.dequantize() - x).max() <= 2e-4  # float16 precision at 10 is about 4e-3; the step is finer
