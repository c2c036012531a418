"""``evaluate`` (KL, top-1, perplexity change and its paired 95 % interval) and ``attention_error`` against values
worked out by hand on a stub model whose next-token distribution is set by one cached key element."""

from types import SimpleNamespace

import numpy as np
import pytest

from support.lm.model import attention
from support.packkv import accuracy

LN2, LN3 = np.log(2.0), np.log(3.0)


class OneKeyModel:
    """Two-token vocabulary; every logit row is ``[k, 0]`` with ``k`` the first cached token's first key channel.
    All keys and values it caches are 0, so the exact run predicts [1/2, 1/2] at every position."""

    xp = np

    def new_cache(self):
        return SimpleNamespace(k=[np.zeros((1, 0, 2), np.float32)], v=[np.zeros((1, 0, 2), np.float32)])

    def forward(self, ids, cache, logits="all", capture=None):
        x = np.zeros((1, len(ids), 2), np.float32)
        cache.k[0], cache.v[0] = np.concatenate([cache.k[0], x], 1), np.concatenate([cache.v[0], x], 1)
        if capture is not None:
            capture(0, x, cache.k[0], cache.v[0])
        if logits == "none":
            return None
        out = np.zeros((len(ids), 2), np.float32)
        out[:, 0] = cache.k[0][0, 0, 0]
        return out


def window(eval_ids):
    # 192 context tokens: the oldest 64 are the compressed block (recent 128), token 0 among them
    return accuracy.prepare_window(OneKeyModel(), np.zeros(192, np.int64), np.asarray(eval_ids), 128, 64)


def set_first_key(value):
    def transform(layer, k, v, n):
        k = np.array(k)
        k[0, 0, 0] = value
        return k, v
    return transform


def ci95(d):
    """Normal 95 % interval of exp(mean d) - 1 from the differences themselves (sample s.d., not sums)."""
    d = np.asarray(d)
    half = 1.96 * d.std(ddof=1) / np.sqrt(d.size)
    return np.expm1(d.mean() - half), np.expm1(d.mean() + half)


def test_identity_transform_gives_zero_kl_and_zero_perplexity_change():
    m = accuracy.evaluate(OneKeyModel(), [window([0, 0, 1, 1, 1])], lambda li, k, v, n: (k, v))
    assert m["kl"] == pytest.approx(0, abs=1e-7) and m["top1"] == 1.0
    assert m["ppl"] == pytest.approx(2.0) and m["ppl_ref"] == pytest.approx(2.0)
    assert (m["dppl"], m["dppl_lo"], m["dppl_hi"]) == (pytest.approx(0, abs=1e-7),) * 3


@pytest.mark.parametrize(("key", "top1", "d"), [
    # key ln 3 -> p = [3/4, 1/4]; targets 0, 1, 1, 1: NLL ln(4/3), ln 4 vs ln 2 -> d = ln(2/3), ln 2, ln 2, ln 2
    (LN3, 1.0, [np.log(2 / 3), LN2, LN2, LN2]),
    # key -ln 3 -> p = [1/4, 3/4]: d = ln 2, ln(2/3), ln(2/3), ln(2/3); the most likely token flips (top-1 0)
    (-LN3, 0.0, [LN2, np.log(2 / 3), np.log(2 / 3), np.log(2 / 3)]),
])
def test_evaluate_gives_the_hand_worked_kl_perplexity_change_and_interval(key, top1, d):
    m = accuracy.evaluate(OneKeyModel(), [window([0, 0, 1, 1, 1])], set_first_key(key))
    # KL([1/2, 1/2] || [3/4, 1/4]) = .5 ln(2/3) + .5 ln 2 = .5 ln(4/3) at each of the 5 positions
    # (the reversed KL([3/4, 1/4] || [1/2, 1/2]) would be .75 ln 1.5 + .25 ln .5 = 0.1308)
    assert m["kl"] == pytest.approx(0.5 * np.log(4 / 3), rel=1e-6) and m["top1"] == top1
    # key ln 3: exp(mean d) = (2/3 * 8) ** (1/4) = (16/3) ** 0.25 -> +51.97 %; key -ln 3: (16/27) ** 0.25 -> -12.26 %
    expected = (16 / 3) ** 0.25 - 1 if key > 0 else (16 / 27) ** 0.25 - 1
    assert m["dppl"] == pytest.approx(expected, rel=1e-6) and m["ppl"] / m["ppl_ref"] - 1 == pytest.approx(expected)
    assert m["ppl_ref"] == pytest.approx(2.0) and m["n_tokens"] == 4
    lo, hi = ci95(d)
    assert (m["dppl_lo"], m["dppl_hi"]) == (pytest.approx(lo, rel=1e-6), pytest.approx(hi, rel=1e-6))
    assert m["dppl_lo"] < m["dppl"] < m["dppl_hi"]


def test_evaluate_pools_windows_token_by_token():
    # window A targets 0, 1, 1, 1 (d = ln(2/3), ln 2 x 3); window B targets 0, 0 (d = ln(2/3) x 2):
    # pooled mean d = (3 ln(2/3) + 3 ln 2) / 6 = ln(4/3) / 2 -> sqrt(4/3) - 1 = +15.47 %, not a mean of windows
    m = accuracy.evaluate(OneKeyModel(), [window([0, 0, 1, 1, 1]), window([0, 0, 0])], set_first_key(LN3))
    assert m["dppl"] == pytest.approx(np.sqrt(4 / 3) - 1, rel=1e-6) and m["n_tokens"] == 6
    assert m["kl"] == pytest.approx(0.5 * np.log(4 / 3), rel=1e-6)  # 8 positions, all the same KL
    lo, hi = ci95([np.log(2 / 3), LN2, LN2, LN2, np.log(2 / 3), np.log(2 / 3)])  # the 6 pooled differences
    assert (m["dppl_lo"], m["dppl_hi"]) == (pytest.approx(lo, rel=1e-6), pytest.approx(hi, rel=1e-6))


def test_attention_error_is_the_relative_error_of_the_attention_output():
    # scaling every stored V by 1.1 scales the attention output by 1.1: relative error 0.1 in every layer
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=s).astype(np.float32) for s in ((2, 3, 8), (2, 67, 8), (2, 67, 8)))
    win = SimpleNamespace(captured=[(q, k, v)] * 2, n_compressed=64)
    assert np.linalg.norm(attention(q, k, v, 64)) > 0
    scaled = accuracy.attention_error([win], lambda li, k, v, n: (k, v * np.float32(1.1)))
    assert scaled == pytest.approx(0.1, rel=1e-5)
    assert accuracy.attention_error([win], lambda li, k, v, n: (k, v)) == 0.0
