"""The shared LM core: a correct GGUF load gives a low perplexity on plain English, attention matches an
independent loop implementation, incremental decoding equals a full pass."""

import numpy as np
import pytest

from support.lm import gguf_loader, text
from support.lm.model import Llama, apply_rope, attention, rope_tables
from support.lm.perplexity import perplexity
from tests.lm.tiny_llama import tiny_llama_weights


def llama_cpp_permute(w, n_head):
    """llama.cpp convert script's permutation (HF rotate-half rows -> GGUF interleaved rows)."""
    out, d_in = w.shape
    return w.reshape(n_head, 2, out // n_head // 2, d_in).swapaxes(1, 2).reshape(out, d_in)


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """Small products: one BLAS thread avoids spin-waiting on a shared 2-core machine."""
    from support.xp import blas_threads

    with blas_threads(1):
        yield


@pytest.fixture(scope="module")
def weights():
    return gguf_loader.load_smollm2()


@pytest.fixture(scope="module")
def model(weights):
    return Llama(weights)


@pytest.fixture(scope="module")
def license_ids():
    from support.lm.tokenizer import smollm2_tokenizer

    return smollm2_tokenizer().encode(text.python_license())


def test_unpermute_inverts_llama_cpp_permutation():
    w = np.random.default_rng(0).normal(size=(3 * 64, 10))
    np.testing.assert_array_equal(gguf_loader.unpermute_qk(llama_cpp_permute(w, 3), 3), w)


def test_config_is_smollm2_135m(weights):
    """Every hyperparameter against the published HF config of SmolLM2-135M-Instruct (config.json: rope_theta
    100000, rms_norm_eps 1e-05, intermediate_size 1536, max_position_embeddings 8192, bos 1, eos 2); the file
    stores epsilon as float32, hence the relative tolerance."""
    c = weights.config
    assert (c.n_layers, c.d_model, c.n_heads, c.n_kv_heads, c.head_dim, c.vocab_size) == (30, 576, 9, 3, 64, 49152)
    assert (c.d_ff, c.context_length, c.bos_id, c.eos_id) == (1536, 8192, 1, 2)
    assert c.rope_base == 100000.0
    assert c.norm_eps == pytest.approx(1e-5, rel=1e-6)


def _smollm2_metadata() -> dict:
    """The config keys of SmolLM2-135M's GGUF file, written out by hand (no file read)."""
    return {"llama.block_count": 30, "llama.embedding_length": 576, "llama.attention.head_count": 9,
            "llama.attention.head_count_kv": 3, "llama.feed_forward_length": 1536, "llama.rope.freq_base": 1e5,
            "llama.attention.layer_norm_rms_epsilon": 1e-5, "llama.context_length": 8192,
            "llama.rope.dimension_count": 64, "llama.vocab_size": 49152}


def test_config_from_metadata_reads_every_key_and_derives_the_optional_ones():
    c = gguf_loader.config_from_metadata(_smollm2_metadata())
    assert (c.n_layers, c.d_model, c.n_heads, c.n_kv_heads, c.head_dim, c.d_ff) == (30, 576, 9, 3, 64, 1536)
    assert (c.rope_base, c.norm_eps, c.context_length, c.vocab_size) == (1e5, 1e-5, 8192, 49152)
    meta = {k: v for k, v in _smollm2_metadata().items()
            if k not in ("llama.attention.head_count_kv", "llama.rope.dimension_count", "llama.vocab_size")}
    c = gguf_loader.config_from_metadata(meta, n_tokens=100)
    assert (c.n_kv_heads, c.head_dim, c.vocab_size) == (9, 64, 100)  # llama.cpp's defaults: MHA, d/heads, tokens


@pytest.mark.parametrize("key", ["llama.rope.freq_base", "llama.attention.layer_norm_rms_epsilon",
                                 "llama.block_count", "llama.feed_forward_length"])
def test_a_missing_required_hyperparameter_is_a_model_file_error_naming_the_key(key):
    """No silent fallback: a RoPE base of 1e4 instead of 1e5 still gives readable text, only a worse model."""
    meta = {k: v for k, v in _smollm2_metadata().items() if k != key}
    with pytest.raises(gguf_loader.ModelFileError, match=rf"^x\.gguf: metadata key\(s\) {key} missing"):
        gguf_loader.config_from_metadata(meta, source="x.gguf")


def test_perplexity_near_12_on_plain_english_and_hundreds_without_unpermute(weights, model, license_ids):
    ids = license_ids[:256]
    assert perplexity(model, ids) < 20  # measured 12.8
    import copy

    bad = copy.copy(weights)
    bad.layers = [copy.copy(lw) for lw in weights.layers]
    for lw in bad.layers:  # put the GGUF row order back: the un-permutation skipped
        lw.wq = llama_cpp_permute(lw.wq, 9)
        lw.wk = llama_cpp_permute(lw.wk, 3)
    assert perplexity(Llama(bad), ids) > 100


def reference_attention(q, k, v, n_past):
    H, n, D = q.shape
    g = H // k.shape[0]
    out = np.zeros_like(q, dtype=np.float64)
    for h in range(H):
        for i in range(n):
            s = [float(q[h, i] @ k[h // g, j]) / np.sqrt(D) for j in range(n_past + i + 1)]
            w = np.exp(np.array(s) - max(s))
            w /= w.sum()
            out[h, i] = sum(w[j] * v[h // g, j] for j in range(len(w)))
    return out


@pytest.mark.parametrize("n_past", [0, 5])
def test_attention_matches_loop_reference(n_past):
    rng = np.random.default_rng(1)
    q = rng.normal(size=(6, 4, 8)).astype(np.float32)
    k = rng.normal(size=(2, n_past + 4, 8)).astype(np.float32)
    v = rng.normal(size=(2, n_past + 4, 8)).astype(np.float32)
    np.testing.assert_allclose(attention(q, k, v, n_past), reference_attention(q, k, v, n_past), atol=1e-5)


def test_attention_reuses_one_read_only_causal_mask_per_shape_and_stays_exact_across_shapes():
    from support.lm.model import _causal_bias

    rng = np.random.default_rng(4)
    for n_past, n in [(0, 4), (3, 4), (0, 4), (2, 3)]:  # a shape seen before reuses its mask; others get their own
        q = rng.normal(size=(6, n, 8)).astype(np.float32)
        k, v = (rng.normal(size=(2, n_past + n, 8)).astype(np.float32) for _ in range(2))
        np.testing.assert_allclose(attention(q, k, v, n_past), reference_attention(q, k, v, n_past), atol=1e-5)
    bias = _causal_bias(4, 3)
    assert bias is _causal_bias(4, 3) and bias.shape == (4, 7)
    assert np.array_equal(np.isinf(bias), np.arange(7)[None, :] > 3 + np.arange(4)[:, None])
    with pytest.raises(ValueError):
        bias += 1  # read-only: a caller writing into it would corrupt every later attention of that shape


def test_rope_scores_depend_only_on_relative_position():
    rng = np.random.default_rng(2)
    q, k = rng.normal(size=(1, 1, 64)), rng.normal(size=(1, 1, 64))

    def score(m, n):
        cm, sm = rope_tables([m], 64, 1e5)
        cn, sn = rope_tables([n], 64, 1e5)
        return float((apply_rope(q, cm, sm) * apply_rope(k, cn, sn)).sum())

    assert score(10, 3) == pytest.approx(score(107, 100), rel=1e-4)


def test_incremental_decoding_equals_full_pass(model, license_ids):
    ids = license_ids[:20]
    full = model.forward(ids)
    cache = model.new_cache()
    a = model.forward(ids[:12], cache=cache)
    steps = [model.forward([t], cache=cache) for t in ids[12:]]
    np.testing.assert_allclose(np.concatenate([a, *steps]), full, atol=2e-3, rtol=1e-3)
    assert cache.length(0) == 20 and cache.k[0].shape == (3, 20, 64)


def test_truncate_then_reforward_equals_fresh_cache(model, license_ids):
    """Backtracking: cut the cache back, feed different tokens, get what a fresh cache gives."""
    ids, alt = license_ids[:14], license_ids[20:24]
    cache = model.new_cache()
    model.forward(ids, cache=cache, logits="none")
    cache.truncate(100)  # beyond the end: nothing changes
    assert cache.length() == 14
    cache.truncate(9)
    assert cache.length(0) == cache.length(29) == 9 and cache.v[5].shape == (3, 9, 64)
    got = model.forward(alt, cache=cache)
    step = model.forward(alt[:1], cache=cache, logits="last")
    fresh = model.new_cache()
    ref = model.forward(np.concatenate([ids[:9], alt]), cache=fresh)
    np.testing.assert_allclose(got, ref[9:], atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(step, model.forward(alt[:1], cache=fresh, logits="last"), atol=1e-4, rtol=1e-4)
    cache.truncate(0)
    assert cache.length() == 0
    np.testing.assert_allclose(model.forward(ids[:3], cache=cache), ref[:3], atol=1e-4, rtol=1e-4)


def test_chat_special_tokens_are_single_ids():
    from support.lm.tokenizer import smollm2_tokenizer

    tok = smollm2_tokenizer()
    ids = tok.encode("<|im_start|>user\nhi<|im_end|>\n").tolist()
    im_start, im_end = tok.hf.token_to_id("<|im_start|>"), tok.hf.token_to_id("<|im_end|>")
    assert ids[0] == im_start and im_end in ids and len(ids) <= 6
    assert tok.decode(tok.encode("plain text")) == "plain text"


def test_tokenizer_round_trip():
    from support.lm.tokenizer import smollm2_tokenizer

    tok = smollm2_tokenizer()
    s = "When shall we three meet again\nIn thunder, lightning, or in rain? 1603"
    assert tok.decode(tok.encode(s)) == s


def test_texts_are_real_and_windows_checked():
    assert "Macbeth" in text.shakespeare("macbeth")[:200]
    assert len(text.plays()) >= 37 and "hamlet" in text.plays()
    with pytest.raises(text.TextUnavailable, match="unknown play"):
        text.shakespeare("no-such-play")
    with pytest.raises(ValueError, match="need"):
        text.windows(np.arange(10), 8, 2)


@pytest.mark.parametrize(("kw", "message"), [
    ({"start": -5}, r"^start must be an integer >= 0, got -5$"),  # used to return [[], [0..4]]
    ({"start": 1.0}, r"^start must be an integer >= 0, got 1\.0$"),
    ({"length": 0}, r"^length must be an integer >= 1, got 0$"),
    ({"count": -1}, r"^count must be an integer >= 0, got -1$"),
])
def test_windows_refuse_a_negative_or_non_integer_start_length_or_count(kw, message):
    args = {"length": 5, "count": 2, "start": 0, **kw}
    with pytest.raises(ValueError, match=message):
        text.windows(range(20), **args)


def test_text_names_are_what_get_text_takes_and_the_alias_resolves_to_its_text():
    names = text.text_names()
    assert {"python-docs", "python-license", "license"} <= set(names) and set(text.plays()) <= set(names)
    assert text.canonical_text_name("license") == "python-license" == text.canonical_text_name("python-license")
    assert text.canonical_text_name("macbeth") == "macbeth"
    assert text.get_text("license") == text.python_license()


def test_an_unknown_text_name_is_a_value_error_naming_the_parameter_and_the_choices():
    with pytest.raises(ValueError, match=r"^calib_text must be 'python-docs', 'python-license' or a Shakespeare play "
                                         r"\(.*hamlet.*\); got 'nope'$"):
        text.canonical_text_name("nope", "calib_text")

def test_python_docs_joins_the_reference_topics_in_sorted_key_order(monkeypatch):
    """The held-back text is deterministic: topic texts in sorted-key order, whatever the dict's order."""
    import pydoc_data.topics

    real = text.python_docs()
    assert real == text.get_text("python-docs") and real.startswith('The "assert" statement')
    monkeypatch.setattr(pydoc_data.topics, "topics", {"yield": "Y\n", "assert": "A\n", "if": "I\n"})
    assert text.python_docs() == "A\nI\nY\n"


def test_a_texts_fingerprint_is_the_start_of_its_utf8_sha256_and_follows_the_text(monkeypatch):
    """08 records the held-back text's fingerprint: runs on two Python releases must be told apart by it."""
    import pydoc_data.topics

    monkeypatch.setattr(pydoc_data.topics, "topics", {"assert": "Grüße\n"})
    # sha256 of b"Gr\xc3\xbc\xc3\x9fe\n", computed once with coreutils' sha256sum
    assert text.text_fingerprint("python-docs") == "b1de61b8108f15d9"
    monkeypatch.setattr(pydoc_data.topics, "topics", {"assert": "Grüsse\n"})
    assert text.text_fingerprint("python-docs") != "b1de61b8108f15d9"


def test_python_docs_holds_eight_disjoint_windows_of_the_paper_context():
    """Paper scale cuts 8 held-back windows of context 2048 + 256 evaluated tokens from it."""
    from support.lm.tokenizer import smollm2_tokenizer

    ids = smollm2_tokenizer().encode(text.python_docs())
    assert len(ids) >= 8 * (2048 + 256)  # 112,877 tokens under Python 3.11.7
    assert len(text.windows(ids, 2048 + 256, 8)) == 8


def test_python_docs_missing_module_names_it_and_how_to_get_it(monkeypatch):
    """Some distributions strip ``pydoc_data``: the error says which module and which package restores it."""
    import sys

    monkeypatch.setitem(sys.modules, "pydoc_data.topics", None)  # makes the import fail
    with pytest.raises(text.TextUnavailable, match=r"'pydoc_data\.topics'.*full standard library"):
        text.python_docs()


def test_windows_are_disjoint_consecutive_slices_in_text_order():
    """Token positions never repeat across windows (ids 0..n-1 stand for positions)."""
    ws = text.windows(list(range(1000)), 100, 8, start=50)
    assert [w[0] for w in ws] == [50 + 100 * i for i in range(8)] and all(len(w) == 100 for w in ws)
    assert len(set().union(*map(set, ws))) == 800


@pytest.mark.parametrize("n,ok", [(24, False), (25, True)])
def test_windows_need_exactly_start_plus_length_times_count_tokens(n, ok):
    """2 windows of 10 from token 5 end at token 24: 25 tokens suffice, 24 would leave the last window one short."""
    if ok:
        assert [len(w) for w in text.windows(list(range(n)), 10, 2, start=5)] == [10, 10]
    else:
        with pytest.raises(ValueError, match=r"text has 24 tokens; 2 windows of 10 from 5 need 25"):
            text.windows(list(range(n)), 10, 2, start=5)


def test_bad_inputs_give_one_clear_error(model, tmp_path):
    with pytest.raises(ValueError, match="token ids"):
        model.forward([60000])
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"not a gguf file at all")
    with pytest.raises(gguf_loader.ModelFileError):
        gguf_loader.load_gguf(bad)
    with pytest.raises(gguf_loader.ModelFileError, match="not found"):
        gguf_loader.load_gguf(tmp_path / "missing.gguf")


@pytest.mark.gpu
def test_llama_forward_on_cupy_matches_numpy_in_a_full_pass_and_in_cached_decoding():
    # the token track of 01 runs this model on CuPy when backend resolves to a GPU
    from support.xp import gpu_available

    if not gpu_available():
        pytest.skip("needs a CUDA device")
    import cupy

    w = tiny_llama_weights()
    cpu, gpu = Llama(w), Llama(w, xp=cupy)
    ids = np.random.default_rng(1).integers(0, 97, 24)
    np.testing.assert_allclose(cupy.asnumpy(gpu.forward(ids)), cpu.forward(ids), rtol=1e-4, atol=1e-4)
    cc, gc = cpu.new_cache(), gpu.new_cache()
    cpu.forward(ids[:20], cache=cc), gpu.forward(ids[:20], cache=gc)
    for t in ids[20:]:
        np.testing.assert_allclose(cupy.asnumpy(gpu.forward([t], cache=gc, logits="last")),
                                   cpu.forward([t], cache=cc, logits="last"), rtol=1e-4, atol=1e-4)
    assert gpu.generate(ids[:8], 6).tolist() == cpu.generate(ids[:8], 6).tolist()
