"""Claim and figure code that no other unit test ran (found by a coverage run): the pqcrypto cross-check and ACVP keyGen
tables behind pqcrypto_cross and acvp_keygen, the phase-share figure's numbers, and the emulated-kernel count."""

import sys
import types

import pytest

from support.herosign import experiments as ex
from support.herosign import slhdsa as ours


def test_pqcrypto_cross_counts_both_directions_and_the_wrong_context_rejection():
    df = ex.pqcrypto_cross(["sha2-128f"], rounds=1)
    assert df.iloc[0].tolist() == ["sha2-128f", 1, 1, 1, 1]


def test_pqcrypto_cross_counts_a_corrupted_signature_of_ours_as_not_accepted(monkeypatch):
    """Planted fault: our signature's first byte flipped, which pqcrypto must reject; the other columns unchanged."""
    sign = ours.sign
    monkeypatch.setattr(ours, "sign", lambda *a, **k: bytes([sign(*a, **k)[0] ^ 1]) + sign(*a, **k)[1:])
    row = ex.pqcrypto_cross(["sha2-128f"], rounds=1).iloc[0]
    assert (row["pqcrypto_accepts_ours"], row["ours_accepts_pqcrypto"], row["wrong_ctx_rejected"]) == (0, 1, 1)


def test_pqcrypto_cross_counts_a_verifier_that_ignores_the_context_as_not_rejecting(monkeypatch):
    """Planted fault: our verifier accepts anything, so the wrong context is not rejected (0 of 2 rounds)."""
    monkeypatch.setattr(ours, "verify", lambda *a, **k: True)
    row = ex.pqcrypto_cross(["sha2-128f"], rounds=2).iloc[0]
    assert (row["rounds"], row["ours_accepts_pqcrypto"], row["wrong_ctx_rejected"]) == (2, 2, 0)


def test_acvp_keygen_matches_every_nist_vector_of_the_sets_asked_for():
    """Oracle: NIST's ACVP SLH-DSA keyGen expected results (10 vectors per f set in the stored file)."""
    df = ex.acvp_keygen(["sha2-128f", "shake-128f"]).set_index("set")
    assert sorted(df.index) == ["sha2-128f", "shake-128f"]
    assert (df["cases"] == 10).all() and (df["match"] == df["cases"]).all()


def test_acvp_keygen_counts_a_wrong_public_key_as_a_mismatch(monkeypatch):
    """Planted fault: the last byte of the first key pair's public key flipped: one case of the set fails."""
    kg = ours.keygen_internal_batch

    def bad(p, seeds):
        out = kg(p, seeds)
        sk, pk = out[0]
        return [(sk, pk[:-1] + bytes([pk[-1] ^ 1]))] + out[1:]

    monkeypatch.setattr(ours, "keygen_internal_batch", bad)
    row = ex.acvp_keygen(["sha2-128f"]).iloc[0]
    assert (row["cases"], row["match"]) == (10, 9)


def test_phase_shares_are_the_fips205_hash_call_counts():
    """FIPS 205 counts, full trees, per signature. sha2-128f (k=33, a=6, d=22, h'=3, len=35, w=16):
    FORS = 2 k 2^a (PRF + F per leaf) + k (2^a - 1) (H) + 1 (T_k) = 4224 + 2079 + 1 = 6304;
    hypertree = d 2^h' len (PRF) + d 2^h' len (w-1) (F) + d (2^h' - 1) (H) + d 2^h' (T_len) = 6160 + 92400 + 154 + 176;
    message = PRF_msg + H_msg = 2; total 105196. sha2-256f (k=35, a=9, d=17, h'=4, len=67): FORS 35840 + 17885 + 1 =
    53726, hypertree 18224 + 273360 + 255 + 272, total 345839."""
    df = ex.phase_shares(["sha2-128f", "sha2-256f"]).set_index("set")
    for name, fors, tot in (("sha2-128f", 6304, 105196), ("sha2-256f", 53726, 345839)):
        assert df.loc[name, "FORS"] == pytest.approx(fors / tot, rel=1e-12)
        assert df.loc[name, "message"] == pytest.approx(2 / tot, rel=1e-12)
        assert df.loc[name, "TREE+WOTS"] == pytest.approx((tot - fors - 2) / tot, rel=1e-12)


def test_emulated_check_counts_the_kernel_signatures_equal_to_the_cpu_signers(monkeypatch):
    """A stand-in for the emulated GPU signer (no compilation): the fused mode returns the CPU signer's signatures,
    the naive one flips the last byte of the second: 2 of 2 and 1 of 2 equal."""
    class FakeSigner:
        def __init__(self, p, fors_mode, emulate):
            assert emulate
            self.p, self.mode = p, fors_mode

        def sign_internal_batch(self, sks, msgs, rnd):
            sigs = ours.sign_internal_batch(self.p, sks, msgs, rnd)
            if self.mode == "naive":
                sigs[1] = sigs[1][:-1] + bytes([sigs[1][-1] ^ 1])
            return sigs

    from support.herosign import gpu

    monkeypatch.setattr(gpu, "GpuSigner", FakeSigner)
    monkeypatch.setitem(sys.modules, "support.cuda_emu", types.SimpleNamespace(compiler=lambda: "/usr/bin/g++"))
    df = ex.emulated_check(sets=("sha2-128f",), batch=2).set_index("fors")
    assert df.loc["fused", "signatures"] == 2 and df.loc["fused", "equal_to_cpu_signer"] == 2
    assert df.loc["naive", "equal_to_cpu_signer"] == 1


def test_emulated_check_is_empty_without_a_host_compiler(monkeypatch):
    monkeypatch.setitem(sys.modules, "support.cuda_emu", types.SimpleNamespace(compiler=lambda: None))
    assert ex.emulated_check(sets=("sha2-128f",)).empty


def test_cpu_throughput_refuses_an_empty_batch_or_no_peer_signatures():
    import numpy as np

    for batch, peer in ((0, 1), (1, 0)):
        with pytest.raises(ValueError, match=f"got {batch} and {peer}"):
            ex.cpu_throughput(["sha2-128f"], batch, peer, np.random.default_rng(0))


def _gpu_set(device="GPU X", **extra) -> dict:
    rows = [{"batch": b, "fused_sig_s": 4000.0, "naive_sig_s": 1000.0, "fors_fused_s": 0.1, "fors_naive_s": 0.3}
            for b in (ex.FUSION_BATCH, ex.THROUGHPUT_BATCH)]
    return {"device": device, "throughput": rows, **extra}


def test_gpu_claims_without_sha2_128f_keep_the_other_speedups_and_leave_its_claims_not_applicable():
    """A study of sha2-192f only: speedup_192f = fused / naive of its largest batch = 4; the three claims judged on
    sha2-128f say the set was not run; speedup_128f and _256f say they are not in the study."""
    claims, metrics = ex.gpu_claims({"sets": {"sha2-192f": _gpu_set()}}, "this run")
    assert claims["speedup_192f"][0] == pytest.approx(4.0)
    for c in ("fors_fusion_gain", "graph_launch_ratio", "gpu_throughput_128f"):
        assert claims[c] == (None, "sha2-128f not in this study (sets run: sha2-192f); this run")
    assert claims["speedup_128f"][0] is None and claims["speedup_256f"][0] is None
    assert "gpu_sha2-192f" in metrics


def test_gpu_claims_without_a_graph_measurement_leave_only_the_graph_claim_not_applicable():
    """fors_fusion_gain = FORS naive / fused kernel time at batch 8192 = 0.3 / 0.1 = 3; throughput = 4000 sig/s."""
    claims, _ = ex.gpu_claims({"sets": {"sha2-128f": _gpu_set()}}, "this run")
    assert claims["graph_launch_ratio"] == (None, "the study has no graph measurement; this run")
    assert claims["fors_fusion_gain"][0] == pytest.approx(3.0) and claims["gpu_throughput_128f"][0] == 4000.0


def test_recorded_gpu_study_without_a_recorded_run_says_so(monkeypatch):
    from support import gpu_runs

    monkeypatch.setattr(gpu_runs, "find", lambda name: None)
    assert ex.recorded_gpu_study() == ({}, "no CUDA GPU in this run and no recorded GPU run")


def test_gpu_study_is_empty_without_a_device(monkeypatch):
    monkeypatch.setattr("support.xp.gpu_available", lambda: False)
    assert ex.gpu_study(["sha2-128f"], [8]) == {}


def test_batch_scaling_rates_each_batch_by_its_own_signature_count(monkeypatch):
    """A clock where each timed call takes 2 CPU-seconds: the rate of batch b is b / 2, and the signer is called
    with b messages for each b."""
    import itertools

    import numpy as np

    clock = itertools.count(0, 2)
    monkeypatch.setattr(ex, "time", types.SimpleNamespace(process_time=lambda: float(next(clock))))
    sizes = []
    monkeypatch.setattr(ours, "sign_internal_batch", lambda p, sks, msgs, *a, **k: sizes.append(len(msgs)) or [])
    df = ex.batch_scaling("sha2-128f", [1, 4, 16], np.random.default_rng(0))
    assert sizes == [1, 4, 16] and df.to_dict("list") == {"batch": [1, 4, 16], "sig_s": [0.5, 2.0, 8.0]}
