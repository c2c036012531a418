"""The functions that produce 13's claims, run on tiny inputs: each gives the right answer, and a planted fault
(a wrong signature, a flip that verifies, a wrong digest, a known clock) must change what it reports."""

import itertools
import types

import numpy as np
import pytest

from support.herosign import experiments as ex
from support.herosign import kat
from support.herosign import slhdsa as ours
from support.herosign.params import get_params


def _first_byte_flipped(sign):
    def signed(*args, **kwargs):
        return [bytes([s[0] ^ 1]) + s[1:] for s in sign(*args, **kwargs)]
    return signed


def test_slhdsa_oracle_counts_every_case_equal_when_our_signer_matches_slhdsa():
    df = ex.slhdsa_oracle(["sha2-128f"], 1, np.random.default_rng(0))
    assert df[["cases", "pk_equal", "deterministic_equal", "hedged_equal"]].iloc[0].tolist() == [1, 1, 1, 1]


def test_slhdsa_oracle_counts_a_signature_that_differs_from_slhdsa_as_unequal(monkeypatch):
    monkeypatch.setattr(ours, "sign_internal_batch", _first_byte_flipped(ours.sign_internal_batch))
    df = ex.slhdsa_oracle(["sha2-128f"], 1, np.random.default_rng(0))
    assert df[["pk_equal", "deterministic_equal", "hedged_equal"]].iloc[0].tolist() == [1, 0, 0]


def test_bitflips_rejects_every_flipped_bit_of_a_valid_signature():
    r = ex.bitflips("sha2-128f", np.random.default_rng(0), random_flips=2)
    assert r["original_valid"] and r["flips"] == 6 and r["accepted"] == 0


def test_bitflips_counts_a_flipped_signature_that_verifies_as_accepted(monkeypatch):
    # planted fault: the flip is lost before verification, so each "flipped" signature is the valid one
    signed = []
    sign, verify = ours.sign_internal, ours.verify_internal_batch
    monkeypatch.setattr(ours, "sign_internal", lambda *a, **k: signed.append(sign(*a, **k)) or signed[-1])
    monkeypatch.setattr(ours, "verify_internal_batch",
                        lambda p, pks, msgs, sigs: verify(p, pks, msgs, [signed[0]] * len(sigs)))
    r = ex.bitflips("sha2-128f", np.random.default_rng(0), random_flips=2)
    assert r["accepted"] == r["flips"] == 6
    assert r["by_region"] == {"R": 2, "FORS auth": 2, "WOTS chains": 2}


@pytest.mark.parametrize(("order", "digest", "match"), [
    ("fips205", kat.PUBLISHED_DIGESTS["sha2-128f"], True),
    ("fips205", "0" * 64, False),
    ("sphincs3.1", kat.PUBLISHED_DIGESTS_31_PREFIX["sha2-128f"] + "0" * 56, True),
    ("sphincs3.1", "f" * 64, False),
])
def test_kat_digests_match_only_the_published_digest(monkeypatch, order, digest, match):
    monkeypatch.setattr(kat, "rsp_digest", lambda name, fors_order: digest)
    assert ex.kat_digests(["sha2-128f"], fors_order=order)["match"].tolist() == [match]


def test_kat_digests_refuses_a_set_without_a_published_digest_before_computing_any(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("a KAT was computed")

    monkeypatch.setattr(kat, "rsp_digest", never)
    with pytest.raises(ValueError, match=r"published fips205 digest .*got \['sha2-192s'\]"):
        ex.kat_digests(["sha2-128f", "sha2-192s"])
    with pytest.raises(ValueError, match=r"published sphincs3.1 digest .*got \['shake-128f'\]"):
        ex.kat_digests(["shake-128f"], fors_order="sphincs3.1")


def test_cpu_throughput_divides_each_signers_signature_count_by_its_cpu_time(monkeypatch):
    clock = itertools.count()  # each reading one CPU-second after the previous: every timed call takes 1 s
    monkeypatch.setattr(ex, "time", types.SimpleNamespace(process_time=lambda: float(next(clock))))
    batches = []
    sign = ours.sign_internal_batch
    monkeypatch.setattr(ours, "sign_internal_batch", lambda p, sks, msgs, *a, **k: batches.append(len(msgs))
                        or sign(p, sks, msgs, *a, **k))
    row = ex.cpu_throughput(["sha2-128f"], 2, 1, np.random.default_rng(0)).iloc[0]
    assert batches == [2]  # ours signs the whole batch in one call
    assert (row["ours_sig_s"], row["slh-dsa_sig_s"], row["pqcrypto_sig_s"]) == (2, 1, 4)  # pqcrypto signs 4x
    assert (row["ours/slh-dsa"], row["ours/pqcrypto"]) == (2, 0.5)


def test_hash_calls_tweakable_count_is_the_total_less_prf_msg_and_h_msg():
    row = ex.hash_calls(["sha2-128f"]).iloc[0]
    assert row["tweakable"] == row["total"] - row["PRF_msg"] - row["H_msg"] == 105_194
    formula = get_params("sha2-128f").hash_calls()
    assert row["tweakable"] == sum(v for k, v in formula.items() if k not in ex.MESSAGE_HASHES)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: ex.bitflips("sha2-128f", np.random.default_rng(0), random_flips=0),
     r"bitflips random_flips must be an integer >= 1, got 0"),
    (lambda: ex.slhdsa_oracle(["sha2-128f"], 0, np.random.default_rng(0)),
     r"slhdsa_oracle count must be an integer >= 1, got 0"),
    (lambda: ex.slhdsa_oracle([], 3, np.random.default_rng(0)), r"slhdsa_oracle needs at least one parameter set"),
    (lambda: ex.pqcrypto_cross(["sha2-128f"], rounds=0), r"pqcrypto_cross rounds must be an integer >= 1, got 0"),
    (lambda: ex.pqcrypto_cross([]), r"pqcrypto_cross needs at least one parameter set"),
    (lambda: ex.acvp_keygen(["sha2-129f"]), r"acvp_keygen: no ACVP keyGen vectors for the sets \['sha2-129f'\]"),
    (lambda: ex.emulated_check(batch=0), r"emulated_check batch must be an integer >= 1, got 0"),
    (lambda: ex.emulated_check(sets=()), r"emulated_check needs at least one parameter set"),
])
def test_checks_refuse_to_pass_over_zero_cases(call, message):
    with pytest.raises(ValueError, match=message):
        call()
