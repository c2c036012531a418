"""The PackKV notebook helpers no other test ran: the KIVI-V and channel baselines as the sweep applies and sizes
them, the grids, the sweep and held-back drivers, the setup's perplexities, the pack/reorder table, the block view,
the joined throughput layer and the no-data branches of the claims. Oracles: brute-force loops over (head, token),
hand-counted bytes, hand-computed sums and documented error bounds."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from support.packkv import accuracy
from support.packkv import experiments as E
from support.packkv.quantize import quantize_tokens, token_major

HEADER = 14  # struct "<IIBHH?": 4 + 4 + 1 + 2 + 2 + 1 bytes


def _kv(seed=0, H=2, T=64, D=4):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(H, T, D)).astype(np.float32), rng.normal(size=(H, T, D)).astype(np.float32))


# ---------------------------------------------------------------------------------------------- Setting
@pytest.mark.parametrize(("kw", "match"), [({"method": "gptq", "tensor": "K", "rel": 0.1}, "method must be one of"),
                                           ({"method": "packkv", "tensor": "Q", "rel": 0.1}, "tensor must be 'K' or 'V'"),
                                           ({"method": "kivi", "tensor": "K", "bits": 2}, "needs bits and group"),
                                           ({"method": "channel-rel", "tensor": "K", "group": 64}, "needs rel")])
def test_an_incomplete_or_unknown_setting_is_refused_naming_what_is_wrong(kw, match):
    with pytest.raises(ValueError, match=match):
        E.Setting(**kw)


def test_a_setting_with_no_compressed_tokens_returns_k_and_v_unchanged():
    k, v = _kv()
    k2, v2 = E.Setting("kivi", "V", bits=2, group=4).transform(0, k, v, 0)
    assert np.array_equal(k2, k) and np.array_equal(v2, v)


def test_kivi_v_transform_matches_a_brute_force_per_head_per_token_quantizer():
    """KIVI V with a group of one head (D channels): each (head, token) row gets min m and step
    s = fp16((max - min) / (2^bits - 1)), x_hat = clip(rint((x - m) / s), 0, 2^bits - 1) * s + m. Only the first n
    tokens of V change; K is untouched."""
    k, v = _kv(1, H=2, T=96, D=4)
    n, bits = 64, 2
    k2, v2 = E.Setting("kivi", "V", bits=bits, group=4).transform(0, k, v, n)
    want = v.astype(np.float32).copy()
    for h in range(2):
        for t in range(n):
            row = v[h, t].astype(np.float32)
            m = np.float32(np.float16(row.min()))
            s = np.float32(np.float16((row.max() - row.min()) / 3))
            want[h, t] = np.clip(np.rint((row - m) / s), 0, 3) * s + m
    assert np.array_equal(k2, k)
    assert np.allclose(v2, want, atol=1e-6)
    assert np.array_equal(v2[:, n:], v[:, n:])


def test_channel_rel_transform_keeps_each_channel_within_half_its_step_over_each_token_group():
    """The repository's channel quantizer: per (channel, 64-token group) step rel * range, so every element lies
    within rel * range / 2 (float16 step rounding 2^-10 allowed) of its original; tokens past n are exact."""
    k, v = _kv(2, H=2, T=160, D=4)
    n, rel = 128, 0.1
    k2, v2 = E.Setting("channel-rel", "K", rel=rel, group=64).transform(0, k, v, n)
    assert np.array_equal(v2, v) and np.array_equal(k2[:, n:], k[:, n:])
    for h in range(2):
        for c in range(4):
            for t0 in (0, 64):
                x, y = k[h, t0:t0 + 64, c].astype(np.float64), k2[h, t0:t0 + 64, c]
                bound = rel * np.ptp(x) / 2 * (1 + 2.0 ** -10) + 1e-6
                assert np.max(np.abs(y - x)) <= bound
    assert not np.array_equal(k2[:, :n], k[:, :n])


def _win(k, v, n):
    return SimpleNamespace(n_compressed=n, k=[k], v=[v])


def test_kivi_v_size_counts_codes_scales_minima_and_header_by_hand():
    """One head of 16 channels, 64 compressed tokens, 2 bits, group 16: codes 64*16*2/8 = 256 B, one group per
    token: 64 float16 scales + 64 float16 minima = 256 B, header 14 B -> 526 B for 2*64*16 = 2048 fp16 bytes;
    two windows add both sides. A head of 96 channels (group 96, not a divisor of the 64 tokens, so only a per-token
    quantizer accepts it): 64*96*2/8 = 1536 B + 64 * 4 B + 14 B = 1806 B for 2*64*96 = 12288 fp16 bytes."""
    k, v = _kv(3, H=1, T=80, D=16)
    s = E.Setting("kivi", "V", bits=2, group=16)
    assert s.sizes([_win(k, v, 64)]) == {"cr": pytest.approx(2048 / 526)}
    assert s.sizes([_win(k, v, 64), _win(k, v, 64)])["cr"] == pytest.approx(2048 / 526)
    k, v = _kv(3, H=1, T=64, D=96)
    assert E.Setting("kivi", "V", bits=2, group=96).sizes([_win(k, v, 64)]) == {"cr": pytest.approx(12288 / 1806)}


def test_channel_rel_size_counts_the_bits_of_its_largest_code_by_hand():
    """Each K channel holds only 0 and 1 over the 64 tokens: rel 0.5 gives step 0.5, zero point 0, codes {0, 2},
    so 2 bits: 64*16*2/8 = 256 B of codes, 16 groups x (float16 step + int16 zero) = 64 B, header 14 B -> 334 B."""
    rng = np.random.default_rng(4)
    k = rng.integers(0, 2, size=(1, 64, 16)).astype(np.float32)
    k[0, 0], k[0, 1] = 0, 1  # every channel spans [0, 1]
    s = E.Setting("channel-rel", "K", rel=0.5, group=64)
    assert s.sizes([_win(k, k.copy(), 64)]) == {"cr": pytest.approx(2048 / 334)}


@pytest.mark.parametrize("grid", ["smoke", "default"])
def test_each_sweep_grid_can_judge_every_accuracy_claim(grid):
    """At least 3 V error bounds (the growth trend needs 3), PackKV K and nominal 2/3/4-bit KIVI K settings whose
    token groups are the ones check_parameters makes every block hold; (tensor, label) pairs distinct."""
    s = E.default_settings(grid)
    v_rels = [x.rel for x in s if x.method == "packkv" and x.tensor == "V"]
    kivi = [x for x in s if x.method == "kivi"]
    assert len(set(v_rels)) >= 3 and any(x.method == "packkv" and x.tensor == "K" for x in s)
    assert {x.bits for x in kivi} == {2, 3, 4} and {x.group for x in kivi} <= set(E.KIVI_GROUPS)
    assert all(x.tensor == "K" for x in kivi)
    assert len({(x.tensor, x.label) for x in s}) == len(s)


# ---------------------------------------------------------------------------------------------- drivers
def test_sweep_with_forward_adds_the_model_metrics_and_sizes_at_the_setups_block_and_pack(monkeypatch):
    sized = []
    monkeypatch.setattr(accuracy, "attention_error", lambda wins, tr: 0.25)
    monkeypatch.setattr(accuracy, "evaluate", lambda m, wins, tr: {"kl": 0.01, "dppl": 0.02})
    monkeypatch.setattr(E.Setting, "sizes", lambda self, wins, block, pack: sized.append((block, pack)) or {"cr": 3.0})
    st = E.Setup(model=None, calib=["w"], heldback=[], block=128, pack=32)
    df = E.sweep(st, [E.Setting("packkv", "K", rel=0.1), E.Setting("kivi", "K", bits=2, group=64)], forward=True)
    assert sized == [(128, 32), (128, 32)]
    assert df[["attn_err", "kl", "dppl", "cr"]].values.tolist() == [[0.25, 0.01, 0.02, 3.0]] * 2
    assert df["setting"].tolist() == ["PackKV rel 0.1", "KIVI 2-bit G64"]


def test_heldback_check_skips_a_method_with_no_turning_point(monkeypatch):
    monkeypatch.setattr(accuracy, "evaluate", lambda m, wins, tr: {"dppl": 0.0})
    tps = pd.DataFrame([{"method": "packkv", "tensor": "K", "setting": "PackKV rel 0.1", "rel": 0.1,
                         "bits": np.nan, "group": np.nan},
                        {"method": "kivi", "tensor": "K", "setting": None, "rel": np.nan, "bits": np.nan,
                         "group": np.nan}])
    hb = E.heldback_check(E.Setup(model=None, calib=[], heldback=["h"]), tps)
    assert hb["setting"].tolist() == ["PackKV rel 0.1"]


def test_setup_refuses_a_context_without_a_compressed_block_and_too_few_evaluated_tokens():
    with pytest.raises(ValueError, match="need >= recent \\+ block = 192"):
        E.setup(191, 8, 1, 1)
    with pytest.raises(ValueError, match="n_eval must be at least 2"):
        E.setup(192, 1, 1, 1)


def test_setup_cuts_context_and_evaluated_tokens_and_reports_perplexity_as_exp_of_the_mean_nll(monkeypatch):
    """Windows of context + n_eval = 5 + 3 tokens; calibration NLLs [1, 1] and [0, 0] -> ppl e^0.5, held-back
    [2, 2] -> e^2; with no held-back window the held-back perplexity is None."""
    cut = []
    nlls = {0: np.array([1.0, 1.0]), 100: np.array([0.0, 0.0]), 200: np.array([2.0, 2.0])}

    def windows(name, length, count, role):
        base = 200 if role == "held-back" else 0
        return [list(range(base + 100 * i, base + 100 * i + length)) for i in range(count)]

    def prepare(model, ctx, ev, recent, block):
        cut.append((list(ctx), list(ev), recent, block))
        return SimpleNamespace(nll=nlls[ctx[0]], n_compressed=64)

    monkeypatch.setattr(E, "_text_windows", windows)
    monkeypatch.setattr(E, "smollm2", lambda xp: "model")
    monkeypatch.setattr(accuracy, "prepare_window", prepare)
    monkeypatch.setattr(E, "text_fingerprint", lambda name: "sha")
    st = E.setup(5, 3, 2, 1, "a", "b", recent=2, block=3, pack=16)
    assert cut[0] == ([0, 1, 2, 3, 4], [5, 6, 7], 2, 3) and len(cut) == 3
    assert st.info["ppl_calib"] == pytest.approx(np.exp(0.5))
    assert st.info["ppl_heldback"] == pytest.approx(np.exp(2.0))
    assert st.info["n_compressed"] == 64 and st.model == "model"
    assert E._setup(5, 3, 1, 0, "a", "b", 2, 3, 16, np, 1).info["ppl_heldback"] is None


# ---------------------------------------------------------------------------------------------- inspection tables
def test_layer_kv_takes_the_last_query_rows_and_the_compressed_context_of_every_layer():
    q = [np.full((4, 2, 8), i, np.float32) for i in range(2)]
    k = [np.arange(2 * 10 * 8, dtype=np.float32).reshape(2, 10, 8) + i for i in range(2)]
    win = SimpleNamespace(n_compressed=6, captured=[(qi, None, None) for qi in q], k=k, v=[-x for x in k])
    out = E.layer_kv(E.Setup(model=None, calib=[win], heldback=[]))
    assert len(out) == 2
    for i, (qq, kk, vv) in enumerate(out):
        assert qq is q[i] and np.array_equal(kk, k[i][:, :6]) and np.array_equal(vv, -k[i][:, :6])


def test_pack_reorder_table_sums_bytes_over_layers_before_dividing(monkeypatch):
    """Fake compressor: K bytes = 10 * pack, V bytes = 7 (+1 with a reorder); two layers of 2*3*4 = 24 elements,
    fp16 2*24 each -> 96 B. pack 8, none: 96 / 160 = 0.6 and 96 / 14; pack 16, median: 96 / 320 and 96 / 16."""
    def fake(k, v, rk, rv, block, pack, ro):
        assert (rk, rv, block) == (0.1, 0.2, 64)
        return SimpleNamespace(nbytes_k=10 * pack, nbytes_v=7 + (ro != "none"))

    monkeypatch.setattr(E, "compress_layer", fake)
    cap = [(None, np.zeros((2, 3, 4)), np.zeros((2, 3, 4)))] * 2
    t = E.pack_reorder_table(cap, packs=(8, 16), reorders=("none", "median"))
    assert t[["pack", "reorder"]].values.tolist() == [[8, "none"], [8, "median"], [16, "none"], [16, "median"]]
    assert t["cr_k"].tolist() == pytest.approx([96 / 160, 96 / 160, 96 / 320, 96 / 320])
    assert t["cr_v"].tolist() == pytest.approx([96 / 14, 96 / 16, 96 / 14, 96 / 16])
    assert E.pack_reorder_table(cap, packs=(8,), reorders=("none",), layers=[0])["cr_k"].item() == pytest.approx(0.6)


def test_block_view_shows_the_chosen_blocks_v_codes_and_their_median_reordering():
    """Block 1 = tokens 64..127: the plain view is the per-token quantizer's codes of those tokens; the MEDIAN view
    holds the same token rows within that block, sorted by the median of each token's codes, largest first."""
    rng = np.random.default_rng(5)
    k, v = (rng.normal(size=(2, 128, 8)).astype(np.float32) for _ in range(2))
    view = E.block_view([(None, k, v)], 0, block_index=1)
    ref = quantize_tokens(token_major(v), 0.2, False, 2).codes[64:128]
    assert np.array_equal(view["v_codes"], ref)
    med = view["v_codes_median"]
    assert med.shape == ref.shape
    assert sorted(map(bytes, med)) == sorted(map(bytes, ref))
    assert np.all(np.diff(np.median(med.astype(float), axis=1)) <= 0) and not np.array_equal(med, ref)


def test_throughput_layer_joins_heads_and_keeps_each_token_within_half_a_step_of_its_unit_range():
    """Four layers of 2 heads x 64 channels -> 4 heads of 128; after the per-token unit-range map the token range
    is 1, so the per-token error bound is rel / 2 (float16 step rounding allowed)."""
    rng = np.random.default_rng(6)
    cap = [(None, rng.normal(size=(2, 64, 64)) * (i + 1), rng.normal(size=(2, 64, 64)) - i) for i in range(4)]
    pl = E.throughput_layer(cap, rel_k=0.1, rel_v=0.2, n_kv=4, head_dim=128)
    K, V = pl.dequantize()
    assert K.shape == (4, 64, 128)
    for rel, x, xh in ((0.1, E.llama_like(cap, 4, 128, 1), K), (0.2, E.llama_like(cap, 4, 128, 2), V)):
        assert np.max(np.abs(xh - x)) <= rel / 2 * (1 + 2.0 ** -10) + 1e-6
    with pytest.raises(ValueError, match="need 10 captured heads, have 8"):
        E.llama_like(cap, n_kv=5, head_dim=128)


# ---------------------------------------------------------------------------------------------- no-data branches
def test_recorded_gpu_throughput_without_a_recorded_run_says_so(monkeypatch):
    from support import gpu_runs

    monkeypatch.setattr(gpu_runs, "find", lambda name: None)
    assert E.recorded_gpu_throughput() == (None, "not measured here: no CUDA GPU in this run and no recorded GPU run")


def test_k_claim_without_any_measured_kivi_setting_has_no_value():
    pk = pd.Series({"setting": "PackKV rel 0.1", "cr": 5.0, "kl": 0.01})
    df = pd.DataFrame([{"method": "kivi", "tensor": "K", "kl": np.inf, "cr": 4.0, "setting": "KIVI 2-bit G64"},
                       {"method": "packkv", "tensor": "K", "kl": 0.01, "cr": 5.0, "setting": "PackKV rel 0.1"}])
    value, note = E._k_gain_without_kivi_turning_point(df, pk)
    assert value is None and note.startswith("no KIVI K setting was measured")


def test_heldback_metrics_are_empty_without_a_packkv_row():
    assert E.heldback_metrics(pd.DataFrame()) == {}
    kivi_only = pd.DataFrame([{"method": "kivi", "dppl": 0.1, "dppl_lo": 0.0, "dppl_hi": 0.2, "n_tokens": 9}])
    assert E.heldback_metrics(kivi_only) == {}
