"""Tensor mixes generated from architectures, checked against the models' published parameter counts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from support.ckpt_io import mixes


def _params(mix, tp, replicated):
    return sum(math.prod(s.shape) * (1 if replicated(s.key) else tp) for s in mix.specs)


def test_llama2_7b_tp8_rank_matches_the_published_model():
    m = mixes.llama2_7b_tp8()
    assert m.count == 195
    assert abs(m.nbytes / 2**30 - 1.569) < 0.001
    # all 8 ranks together (norms replicated) = Llama-2-7B's 6,738,415,616 parameters
    assert _params(m, 8, lambda k: "layernorm" in k) == 6_738_415_616
    sizes = {s.key.split(".", 2)[-1]: s.nbytes for s in m.specs if s.key.startswith("layers.0.")}
    assert sizes["self_attention.query_key_value.weight"] == 12 << 20
    assert sizes["mlp.dense_h_to_4h.weight"] == 22544384  # 21.5 MiB


def test_gpt_neox_20b_rank_matches_the_published_model_and_is_mostly_tiny():
    m = mixes.gpt_neox_biased()
    rep = ("layernorm", "layer_norm", "attention.dense.bias", "dense_4h_to_h.bias")
    assert _params(m, 8, lambda k: any(r in k for r in rep)) == 20_554_567_680
    s = m.sizes()
    assert (s < 16 << 10).sum() >= 300 and np.median(s) < 16 << 10


def test_optimizer_state_is_4x_tensors_7x_bytes():
    w, o = mixes.llama2_7b_tp8(layers=2), mixes.llama2_7b_tp8(layers=2, optimizer=True)
    assert o.count == 4 * w.count and o.nbytes == 7 * w.nbytes


def test_many_small_is_log_uniform_and_uniform_control_has_the_same_bytes():
    m = mixes.many_small(4096, seed=0)
    s = m.sizes()
    assert s.min() >= 1024 - 2 and s.max() <= 1 << 20
    q = np.log(s)
    assert abs(np.median(q) - (math.log(1024) + math.log(1 << 20)) / 2) < 0.2
    u = mixes.uniform(m.nbytes)
    assert u.nbytes == m.nbytes and set(u.sizes()[:-1]) == {64 << 20}


def test_materialize_is_deterministic_and_finite():
    torch = pytest.importorskip("torch")
    m = mixes.llama2_7b_tp8(layers=1, hidden=256, ffn=688, vocab=512, optimizer=True)
    a, b = mixes.materialize(m, 11), mixes.materialize(m, 11)
    for k in a:
        assert torch.equal(a[k], b[k]) and bool(torch.isfinite(a[k].float()).all())
        assert tuple(a[k].shape) == next(s.shape for s in m.specs if s.key == k)


@pytest.mark.parametrize("call", [lambda: mixes.llama2_7b_tp8(layers=0), lambda: mixes.llama2_7b_tp8(tp=3),
                                  lambda: mixes.many_small(10, lo=100, hi=50), lambda: mixes.by_name("bert")])
def test_bad_mix_parameters_raise(call):
    with pytest.raises(ValueError):
        call()
