"""The compressed cache inside a model whose arrays live on a device (CuPy on a GPU): host/device conversions are
explicit, checked with a stand-in array module that refuses implicit conversion as CuPy does (no GPU needed)."""

from types import SimpleNamespace

import numpy as np
import pytest

from support.lm.model import Llama
from support.packkv import experiments as E
from support.packkv.blocks import PackKVCache
from tests.lm.tiny_llama import tiny_llama_weights
from tests.packkv import fake_device
from tests.packkv.fake_device import DeviceArray


def test_the_stand_in_device_arrays_refuse_implicit_conversion_as_cupy_does():
    d = fake_device.xp.asarray(np.arange(6, dtype=np.float32))
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(d)
    with pytest.raises(TypeError, match="NumPy array mixed"):
        d * np.ones(6, np.float32)
    with pytest.raises(TypeError, match="NumPy array mixed"):
        np.ones(6, np.float32) @ d
    np.testing.assert_array_equal((d * 2 + np.float32(1)).get(), np.arange(6) * 2 + 1)  # scalars are fine


@pytest.mark.parametrize(("xp", "kind"), [(np, np.ndarray), (fake_device.xp, DeviceArray)])
def test_attend_takes_either_backend_and_answers_in_the_cache_backend(xp, kind):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((h, 80, 16)).astype(np.float32) for h in (4, 2, 2))
    cache = PackKVCache(1, 0.1, 0.2, recent=16, block=32, xp=xp)
    out = cache.attend(0, xp.asarray(q), xp.asarray(k), xp.asarray(v))
    assert isinstance(out, kind) and out.shape == (4, 80, 16) and out.dtype == np.float32
    host = PackKVCache(1, 0.1, 0.2, recent=16, block=32).attend(0, q, k, v)  # the same tokens, all on the host
    np.testing.assert_array_equal(out.get() if kind is DeviceArray else out, host)
    assert cache.buffer_length(0) == 16 and [pl.n_tokens for pl, _ in cache.store[0]] == [64]  # (80-16)//32 blocks


def test_growing_cache_decodes_a_device_model_exactly_as_the_host_model():
    """Notebook 08's growing-cache step with the model on a device: it ran only on NumPy before, and CuPy refused
    the cache's host arrays; the stand-in does the same arithmetic as NumPy, so every figure must agree exactly."""
    w = tiny_llama_weights(context_length=256)
    prompt = np.random.default_rng(1).integers(0, 97, 56)

    def run(xp):
        st = E.Setup(Llama(w, xp), [SimpleNamespace(ctx=prompt)], [], recent=16, block=32, pack=16)
        return E.growing_cache(st, prompt_len=56, n_new=30, rel_k=0.05, rel_v=0.2)

    host, dev = run(np), run(fake_device.xp)
    assert isinstance(dev["packkv_tokens"], np.ndarray) and isinstance(dev["dense_tokens"], np.ndarray)
    np.testing.assert_array_equal(dev["dense_tokens"], host["dense_tokens"])
    np.testing.assert_array_equal(dev["packkv_tokens"], host["packkv_tokens"])
    assert dev["agreement"] == host["agreement"] and dev["window_in_range"] and host["window_in_range"]
    assert dev["bytes"].equals(host["bytes"])
    b = dev["bytes"]
    assert list(b["tokens"]) == list(range(56, 87))  # the prefill, then one row per new token
    # window recent..recent+block-1 = 16..47: one block packed at the prefill, a second when the 80th token arrives
    assert list(b["window_tokens"]) == list(range(24, 48)) + list(range(16, 23))


def test_accuracy_windows_and_a_compressed_evaluation_run_on_a_device_model_as_on_the_host():
    """The notebook's other model-driven steps (prefill and capture of a window, evaluation of a compressed cache)
    on device arrays: same numbers as on the host."""
    from support.packkv import accuracy

    w = tiny_llama_weights(2, context_length=256)
    ids = np.random.default_rng(3).integers(0, 97, 72)
    setting = E.Setting("packkv", "K", rel=0.1)

    def run(xp):
        model = Llama(w, xp)
        win = accuracy.prepare_window(model, ids[:56], ids[56:], recent=16, block=32)
        return win, accuracy.evaluate(model, [win], setting.transform)

    (hw, host), (dw, dev) = run(np), run(fake_device.xp)
    assert dev == host and dw.n_compressed == hw.n_compressed == 32
    np.testing.assert_array_equal(dw.logp, hw.logp)
    for a, b in zip(dw.captured, hw.captured):
        assert all(isinstance(x, np.ndarray) and np.array_equal(x, y) for x, y in zip(a, b))


def test_growing_cache_reports_a_window_that_reaches_recent_plus_block_tokens_as_out_of_range(monkeypatch):
    """The rule keeps recent..recent+block-1 fp tokens; a cache that waits one token too long before packing (its
    window then holds recent + block = 48 tokens before each pack) must be reported as out of range."""
    from support.packkv import blocks

    monkeypatch.setattr(blocks, "n_compressed", lambda n, recent=128, block=64: max(0, (n - recent - 1) // block * block))
    w = tiny_llama_weights(context_length=256)
    prompt = np.random.default_rng(1).integers(0, 97, 56)
    st = E.Setup(Llama(w, np), [SimpleNamespace(ctx=prompt)], [], recent=16, block=32, pack=16)
    res = E.growing_cache(st, prompt_len=56, n_new=30, rel_k=0.05, rel_v=0.2)
    assert res["bytes"]["window_tokens"].max() == 48  # the planted fault shows in the figures
    assert res["window_in_range"] is False
