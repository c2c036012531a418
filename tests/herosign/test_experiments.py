"""The functions that produce 13's claims, run on tiny inputs: each gives the right answer, and a planted fault
(a wrong signature, a flip that verifies, a wrong digest, a known clock) must change what it reports."""

import itertools
import types

import numpy as np
import pandas as pd
import pytest

from support.herosign import experiments as ex
from support.herosign import kat
from support.herosign import slhdsa as ours
from support.herosign.params import F_SETS, get_params


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


def test_signature_parts_are_fips_205_sizes_and_cover_the_whole_signature():
    """FIPS 205 Table 2, sha2-128f: n = 16, k = 33, a = 6, h = 66, d = 22, len = 35, signature 17,088 bytes;
    SIG_FORS is k(a + 1)n = 3,696 bytes and SIG_HT (h + d len)n = 13,376 bytes."""
    assert ex.signature_parts(get_params("sha2-128f")) == {"R": (0, 16), "FORS": (16, 16 + 3696),
                                                           "hypertree": (16 + 3696, 17088)}


def test_bitflips_counts_a_flipped_signature_that_verifies_as_accepted(monkeypatch):
    # planted fault: the flip is lost before verification, so each "flipped" signature is the valid one
    signed = []
    sign, verify = ours.sign_internal, ours.verify_internal_batch
    monkeypatch.setattr(ours, "sign_internal", lambda *a, **k: signed.append(sign(*a, **k)) or signed[-1])
    monkeypatch.setattr(ours, "verify_internal_batch",
                        lambda p, pks, msgs, sigs: verify(p, pks, msgs, [signed[0]] * len(sigs)))
    r = ex.bitflips("sha2-128f", np.random.default_rng(0), random_flips=2)
    assert r["accepted"] == r["flips"] == 6
    assert r["by_region"] == {"R": 2, "FORS": 2, "hypertree": 2}


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
    made = []
    each = ex._each
    monkeypatch.setattr(ex, "_each", lambda fn, items: made.append(each(fn, items)) or made[-1])
    row = ex.cpu_throughput(["sha2-128f"], 2, 1, np.random.default_rng(0)).iloc[0]
    assert batches == [2]  # ours signs the whole batch in one call
    assert made == [1, 4]  # the peers really sign 1 and 4 messages (pqcrypto signed 2 of 4 when batch was 2)
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


# ------------------------------------------------------------------------------------------ record / not applicable
def _kats(matches: dict[str, bool]) -> pd.DataFrame:
    """A kat_digests table: one row per set, ``match`` as given."""
    return pd.DataFrame([{"set": s, "order": "fips205", "match": m} for s, m in matches.items()])


def test_kat_claims_record_every_kat_claim_when_all_its_sets_ran():
    kats = _kats({"sha2-128f": True, "shake-128f": True, "sha2-192f": True, "shake-256f": True})
    claims, metrics = ex.kat_claims(kats, _kats({"sha2-128f": True}))
    assert claims == {"kat_128f": (True, "sha2-128f, shake-128f"), "kat_192f_256f": (True, "sha2-192f, shake-256f"),
                      "kat_31_order": (True, "")}
    assert metrics == {}


def test_kat_claims_record_a_wrong_digest_as_false_not_as_not_applicable():
    kats = _kats({"sha2-128f": True, "shake-128f": False, "sha2-192f": True, "sha2-256f": False})
    claims, _ = ex.kat_claims(kats, _kats({"sha2-128f": False}))
    assert [claims[c][0] for c in ("kat_128f", "kat_192f_256f", "kat_31_order")] == [False, False, False]


@pytest.mark.parametrize(("match", "word"), [(True, "matches"), (False, "differs")])
def test_kat_claims_are_not_applicable_at_smoke_saying_what_the_sha2_128f_kat_gave(match, word):
    claims, metrics = ex.kat_claims(_kats({"sha2-128f": match}), None)
    why = f"smoke runs only the sha2-128f KAT (digest {word}); both sets run at default/paper scale"
    assert claims["kat_128f"] == (None, why)
    assert claims["kat_192f_256f"][0] is None and "192f/256f KATs run at default/paper" in claims["kat_192f_256f"][1]
    assert claims["kat_31_order"] == (None, "the SPHINCS+ 3.1-order KAT runs at default/paper scale")
    assert metrics == {"kat_sha2_128f_match": match}


def _oracle(sets, hedged_equal: int = 3) -> pd.DataFrame:
    """A slhdsa_oracle table, 3 cases per set, every count equal except the first set's ``hedged_equal``."""
    return pd.DataFrame([{"set": s, "cases": 3, "pk_equal": 3, "deterministic_equal": 3,
                          "hedged_equal": hedged_equal if i == 0 else 3} for i, s in enumerate(sets)])


def _cross(sets, ours_accepted: int = 2) -> pd.DataFrame:
    """A pqcrypto_cross table, 2 rounds per set, all accepted except ours by pqcrypto in the first set."""
    return pd.DataFrame([{"set": s, "rounds": 2, "pqcrypto_accepts_ours": ours_accepted if i == 0 else 2,
                          "ours_accepts_pqcrypto": 2, "wrong_ctx_rejected": 2} for i, s in enumerate(sets)])


def test_oracle_claims_are_recorded_when_all_six_f_sets_ran():
    claims, metrics = ex.oracle_claims(_oracle(F_SETS), _cross(F_SETS))
    run = ", ".join(F_SETS)
    assert claims == {"slhdsa_byte_exact": (True, f"18 cases; sets: {run}"),
                      "pqcrypto_cross": (True, f"12 rounds; sets: {run}")}
    assert metrics == {}


def test_oracle_claims_record_one_unequal_signature_or_one_rejected_signature_as_false():
    claims, _ = ex.oracle_claims(_oracle(F_SETS, hedged_equal=2), _cross(F_SETS, ours_accepted=1))
    assert (claims["slhdsa_byte_exact"][0], claims["pqcrypto_cross"][0]) == (False, False)


@pytest.mark.parametrize(("hedged", "accepted", "holds", "words"), [(3, 2, True, "all pass"),
                                                                  (2, 1, False, "NOT all pass")])
def test_oracle_claims_are_not_applicable_over_fewer_than_six_f_sets_saying_whether_they_passed(
        hedged, accepted, holds, words):
    sets = ["sha2-128f", "shake-128f"]
    claims, metrics = ex.oracle_claims(_oracle(sets, hedged), _cross(sets, accepted))
    why = f"smoke runs sha2-128f, shake-128f only (6 cases, {words}); all six f sets run at default/paper scale"
    assert claims["slhdsa_byte_exact"] == (None, why)
    assert claims["pqcrypto_cross"][0] is None and f"(4 rounds, {words})" in claims["pqcrypto_cross"][1]
    assert metrics == {f"{c}_sets_run": {"sets": sets, "holds": holds} for c in ("slhdsa_byte_exact", "pqcrypto_cross")}


def _recorded(kat_tests: int, all_passed: bool = True) -> dict:
    tests = {"all_passed": all_passed, "passed": 28, "selected": ["t"] * 28, "label": "recorded on H200",
             "gpu_kat": [f"test_gpu_kat[{s}]" for s in ex.KAT_128F[:kat_tests]]}
    return {"sets": {}, "tests": tests}


def test_gpu_kat_claim_takes_this_runs_gpu_kat_digests_when_measured():
    assert ex.gpu_kat_claim({"sets": {}}, "measured in this run", {"sha2-128f": True, "shake-128f": False}) == \
        (False, "{'sha2-128f': True, 'shake-128f': False}; measured in this run")
    assert ex.gpu_kat_claim({"sets": {}}, "measured in this run", {"sha2-128f": True, "shake-128f": True})[0] is True


@pytest.mark.parametrize(("kat_tests", "all_passed", "holds"), [(2, True, True), (1, True, False), (2, False, False)])
def test_gpu_kat_claim_of_a_recorded_run_holds_only_with_both_sets_kat_tests_and_every_test_passed(
        kat_tests, all_passed, holds):
    value, note = ex.gpu_kat_claim(_recorded(kat_tests, all_passed), "recorded")
    assert value is holds
    assert note == f"{kat_tests} KAT tests among 28/28 GPU tests passed; recorded on H200"


def test_gpu_kat_claim_is_not_applicable_without_a_study_giving_the_reason():
    assert ex.gpu_kat_claim({}, "no CUDA GPU in this run and no recorded GPU run") == \
        (None, "no CUDA GPU in this run and no recorded GPU run")


def _acvp(matches: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """An acvp_keygen table: set -> (cases, match)."""
    return pd.DataFrame([{"set": s, "cases": c, "match": m} for s, (c, m) in matches.items()])


def test_acvp_claim_holds_only_when_every_set_matches_all_its_cases():
    assert ex.acvp_claim(_acvp({"sha2-128f": (10, 10), "shake-256f": (5, 5)})) == (True, "15 cases")
    assert ex.acvp_claim(_acvp({"sha2-128f": (10, 10), "shake-256f": (5, 4)})) == (False, "15 cases")


def test_acvp_claim_refuses_a_table_without_vectors():
    with pytest.raises(ValueError, match="acvp_claim: the ACVP table has no rows"):
        ex.acvp_claim(pd.DataFrame(columns=["set", "cases", "match"]))


@pytest.mark.parametrize(("original_valid", "accepted", "holds"), [
    (True, 0, True),
    (True, 1, False),  # one flipped signature verified
    (False, 0, False),  # the unflipped one does not verify: a verifier rejecting everything proves nothing
])
def test_bitflip_claim_needs_a_valid_original_and_no_accepted_flip(original_valid, accepted, holds):
    flips = {"original_valid": original_valid, "flips": 24, "accepted": accepted, "by_region": {}}
    assert ex.bitflip_claim(flips) == (holds, "24 flips")
    assert type(ex.bitflip_claim(flips)[0]) is bool  # IsTrue takes only a real bool


def test_gpu_table_derives_each_rows_ratios_and_fors_share_by_hand():
    """One throughput row worked by hand: batch 1000 signed at 2000 sig/s takes 0.5 s, of which the fused FORS kernel
    takes 0.1 s (share 0.2); naive FORS takes 0.3 s (fusion gain 3), the naive signer 1250 sig/s (ratio 1.6); with a
    0.25 s host phase the batch ends after 0.75 s: 1333 sig/s end to end."""
    row = {"batch": 1000, "fused_sig_s": 2000.0, "naive_sig_s": 1250.0, "fors_fused_s": 0.1, "fors_naive_s": 0.3,
           "host_s": 0.25}
    study = {"sets": {"sha2-128f": {"device": "GPU X", "throughput": [row], "builds": {"chosen": {"fors": "nvrtc"}},
                                    "tuning": {"tree_threads": 32, "fors_threads": 256}}}}
    r = ex.gpu_table(study).iloc[0]
    assert r["fors_share"] == pytest.approx(0.2)
    assert r["fors_fusion_gain"] == pytest.approx(3.0) and r["pipeline_ratio"] == pytest.approx(1.6)
    assert (r["fors_fused_ms"], r["fors_naive_ms"]) == (pytest.approx(100.0), pytest.approx(300.0))
    assert r["end_to_end_sig_s"] == 1333 and r["fors_layout"] == "32 threads/tree"


def test_kat_and_oracle_claims_refuse_empty_tables_and_claim_nothing_for_an_unrun_128f_kat():
    """"All of no digests match" checks nothing: empty tables are refused (as acvp_claim does), and a run with only
    192f/256f KATs records no sha2-128f match metric and says no 128f KAT was run."""
    cols = pd.DataFrame(columns=["set", "order", "match"])
    with pytest.raises(ValueError, match="kat_claims: the KAT table has no rows"):
        ex.kat_claims(cols, None)
    claims, metrics = ex.kat_claims(_kats({"sha2-192f": True}), None)
    assert claims["kat_128f"] == (None, "no 128f KAT was run") and metrics == {}
    assert claims["kat_192f_256f"] == (True, "sha2-192f")
    with pytest.raises(ValueError, match="the slh-dsa oracle table has no rows"):
        ex.oracle_claims(_oracle([]), _cross(F_SETS))
    with pytest.raises(ValueError, match="the pqcrypto cross-check table has no rows"):
        ex.oracle_claims(_oracle(F_SETS), _cross([]))
