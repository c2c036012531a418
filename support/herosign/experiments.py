"""What the notebook calls: correctness oracles, CPU throughput beside slh-dsa and pqcrypto, the GPU study.

Each function returns plain data (dicts / DataFrames); figures are built by the ``plot_*`` helpers.
Published GPU numbers of prior work are cited constants (not re-run), from the notes §4.
"""

from __future__ import annotations

import importlib
import json
import textwrap
import time
from collections import Counter
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pqcrypto

from support.herosign import kat
from support.herosign import slhdsa as ours
from support.herosign.gpu import TUNING_CACHE
from support.herosign.params import F_SETS, PARAMS, get_params
from support.progress import progress
from support.validate import ParameterError, check_choice, check_int

# Published GPU signing throughput (sig/s), SHA-256 simple, as quoted by GRASP and CUSPX (notes §4).
PUBLISHED_GPU = pd.DataFrame([
    ("Kim et al. (TCAS-I'24)", "RTX 3090", 44391, 24997, 11401),
    ("Kim et al., re-run by GRASP", "RTX 4090", 106631, 46127, 25578),
    ("GRASP", "RTX 4090", 146363, 82621, 40489),
    ("CUSPX (IEEE TC'24)", "RTX 3090", 49532, 24262, 9427),
], columns=["implementation", "gpu", "128f", "192f", "256f"])


def parse_batches(gpu_batches: str) -> list[int]:
    """The notebook's ``gpu_batches`` text ("1024,8192") as batch sizes, ascending and without repeats (the order
    given does not matter); each an integer >= 1, else a ValueError naming the text and the bad part."""
    out = []
    for part in str(gpu_batches).split(","):
        try:
            b = int(part)
        except ValueError:
            b = part.strip()
        out.append(check_int(b, f"gpu_batches ({gpu_batches!r})", minimum=1, what="comma-separated integers >= 1", error=ParameterError))
    return sorted(set(out))


def check_parameters(cpu_set: str, cpu_batch: int, gpu_batches: str) -> None:
    """The notebook's enumerated and ranged parameters, checked right after ``start`` so a bad value fails before
    any work, naming the parameter, its value and the options (``gpu_batches``: :func:`parse_batches`)."""
    check_choice(cpu_set, "cpu_set", [p.short for p in PARAMS.values()], error=ParameterError)
    check_int(cpu_batch, "cpu_batch", minimum=1, error=ParameterError)
    parse_batches(gpu_batches)


def kat_digests(names, fors_order: str = "fips205") -> pd.DataFrame:
    """Reproduce the 100-entry PQCsignKAT .rsp per set; compare SHA-256 with the published digest.

    A set without a published digest for ``fors_order`` is refused before any KAT is computed (minutes each)."""
    published = kat.PUBLISHED_DIGESTS if fors_order == "fips205" else kat.PUBLISHED_DIGESTS_31_PREFIX
    names = list(names)
    missing = [n for n in names if n not in published]
    if missing or not names:
        raise ValueError(f"kat_digests needs sets with a published {fors_order} digest ({', '.join(published)}); "
                         f"got {missing or 'none'}")
    rows = []
    for name in progress(names, desc="KAT"):
        t = time.process_time()
        d = kat.rsp_digest(name, fors_order=fors_order)
        want = published[name]
        rows.append({"set": name, "order": fors_order, "digest": d[:16] + "...", "match": d.startswith(want),
                     "cpu_s": round(time.process_time() - t, 2)})
    return pd.DataFrame(rows)


KAT_128F = ("sha2-128f", "shake-128f")  # the sets of claim kat_128f; every other set's KAT counts for kat_192f_256f


def kat_claims(kats: pd.DataFrame, old: pd.DataFrame | None) -> tuple[dict[str, tuple[bool | None, str]], dict]:
    """KAT claims from :func:`kat_digests` tables (``old``: the 3.1 order or None): claim -> (holds, note),
    or (None, reason) where none of its sets ran (kat_128f: not both 128f sets); and partial-run metrics.

    An empty table is refused, and no 128f row gives no 128f metric: "all of no digests match" checks nothing."""
    if kats.empty:
        raise ValueError("kat_claims: the KAT table has no rows (no KAT was run)")
    small = kats[kats["set"].isin(KAT_128F)]
    big = kats[~kats["set"].isin(KAT_128F)]
    out: dict[str, tuple[bool | None, str]] = {}
    metrics: dict = {}
    if len(small) == len(KAT_128F):
        out["kat_128f"] = (bool(small["match"].all()), ", ".join(small["set"]))
    elif small.empty:
        out["kat_128f"] = (None, "no 128f KAT was run")
    else:  # smoke: sha2-128f only (shake-128f's KAT adds about 7 s of CPU)
        metrics["kat_sha2_128f_match"] = bool(small["match"].all())
        why = f"smoke runs only the sha2-128f KAT (digest {'matches' if small['match'].all() else 'differs'}); " \
              "both sets run at default/paper scale"
        out["kat_128f"] = (None, why)
    if len(big):
        out["kat_192f_256f"] = (bool(big["match"].all()), ", ".join(big["set"]))
    else:
        out["kat_192f_256f"] = (None, "the 192f/256f KATs run at default/paper scale (smoke runs sha2-128f only)")
    if old is not None:
        out["kat_31_order"] = (bool(old["match"].all()), "")
    else:
        out["kat_31_order"] = (None, "the SPHINCS+ 3.1-order KAT runs at default/paper scale")
    return out, metrics


def slhdsa_oracle(names, count: int, rng: np.random.Generator) -> pd.DataFrame:
    """``count`` (>= 1) random (seeds, message, context, opt_rand) per set: our signatures vs slh-dsa's, byte for
    byte."""
    import slhdsa as ref
    from slhdsa.lowlevel import slhdsa as ref_ll
    from slhdsa.lowlevel.addresses import Address
    from slhdsa.lowlevel.xmss import XMSS

    names = _some_sets(names, "slhdsa_oracle")
    check_int(count, "slhdsa_oracle count", minimum=1)
    rows = []
    for name in progress(names, desc="slh-dsa oracle"):
        p = get_params(name)
        par = getattr(ref, name.replace("-", "_"))
        cases = [(tuple(rng.bytes(p.n) for _ in range(3)), rng.bytes(int(rng.integers(0, 300))),
                  rng.bytes(int(rng.integers(0, 64))), rng.bytes(p.n)) for _ in range(count)]
        keys = ours.keygen_internal_batch(p, [c[0] for c in cases])
        wrapped = [ours.pure_message(c[1], c[2]) for c in cases]
        det = ours.sign_internal_batch(p, [k[0] for k in keys], wrapped)
        hed = ours.sign_internal_batch(p, [k[0] for k in keys], wrapped, [c[3] for c in cases])
        eq_pk = eq_det = eq_hed = 0
        orig = ref_ll.token_bytes
        try:
            for (seeds, msg, ctx, rnd), (sk, pk), sd, sh in zip(cases, keys, det, hed):
                root = XMSS(par).node(seeds[0], 0, par.h_m, seeds[2], Address(par.d - 1, 0))
                rsk = ref.SecretKey((seeds[0], seeds[1], seeds[2], root), par)
                eq_pk += rsk.pubkey.digest() == pk
                eq_det += rsk.sign_pure(msg, False, ctx) == sd
                ref_ll.token_bytes = lambda n, _r=rnd: _r
                eq_hed += rsk.sign_pure(msg, True, ctx) == sh
                ref_ll.token_bytes = orig
        finally:
            ref_ll.token_bytes = orig
        rows.append({"set": name, "cases": count, "pk_equal": eq_pk, "deterministic_equal": eq_det,
                     "hedged_equal": eq_hed})
    return pd.DataFrame(rows)


def pqcrypto_cross(names, rounds: int = 2) -> pd.DataFrame:
    """pqcrypto verifies ours, ours verifies pqcrypto's (and both reject a wrong context); ``rounds`` >= 1 per set."""
    names = _some_sets(names, "pqcrypto_cross")
    check_int(rounds, "pqcrypto_cross rounds", minimum=1)
    rows = []
    for name in progress(names, desc="pqcrypto"):
        mod = importlib.import_module("pqcrypto.sign.slh_dsa_" + name.replace("-", "_"))
        p = get_params(name)
        a = b = rej = 0
        for i in range(rounds):
            msg, ctx = f"message {i}".encode(), b"hero"
            sk, pk = ours.keygen(p)
            sig = ours.sign(p, sk, msg, ctx)
            try:
                mod.verify(pk, msg, sig, context=ctx)
                a += 1
            except pqcrypto.InvalidSignatureError:
                pass
            pk2, sk2 = mod.keygen()
            sig2 = mod.sign(sk2, msg, context=ctx)
            b += ours.verify(p, pk2, msg, sig2, ctx)
            rej += not ours.verify(p, pk2, msg, sig2, b"other")
        rows.append({"set": name, "rounds": rounds, "pqcrypto_accepts_ours": a, "ours_accepts_pqcrypto": b,
                     "wrong_ctx_rejected": rej})
    return pd.DataFrame(rows)


def oracle_claims(oracle: pd.DataFrame, cross: pd.DataFrame) -> tuple[dict[str, tuple[bool | None, str]], dict]:
    """slhdsa_byte_exact and pqcrypto_cross from the :func:`slhdsa_oracle` and :func:`pqcrypto_cross` tables: (holds,
    note) when all six f sets ran (the statements say "per f set"), else (None, reason) and a metric of the sets run.
    An empty table is refused ("0 cases, all pass" would check nothing)."""
    for what, df in (("slh-dsa oracle", oracle), ("pqcrypto cross-check", cross)):
        if df.empty:
            raise ValueError(f"oracle_claims: the {what} table has no rows (no set was run)")
    exact = bool((oracle[["pk_equal", "deterministic_equal", "hedged_equal"]].min(axis=1) == oracle["cases"]).all())
    crossed = bool(((cross["pqcrypto_accepts_ours"] == cross["rounds"]) &
                    (cross["ours_accepts_pqcrypto"] == cross["rounds"])).all())
    out: dict[str, tuple[bool | None, str]] = {}
    metrics: dict = {}
    for claim, holds, df, cases in (("slhdsa_byte_exact", exact, oracle, f"{int(oracle['cases'].sum())} cases"),
                                    ("pqcrypto_cross", crossed, cross, f"{int(cross['rounds'].sum())} rounds")):
        run = ", ".join(df["set"])
        if set(df["set"]) == set(F_SETS):
            out[claim] = (holds, f"{cases}; sets: {run}")
        else:  # smoke: 2 of the 6 f sets, like the KAT claim
            metrics[f"{claim}_sets_run"] = {"sets": list(df["set"]), "holds": holds}
            why = (f"smoke runs {run} only ({cases}, {'all pass' if holds else 'NOT all pass'}); "
                   f"all six f sets run at default/paper scale")
            out[claim] = (None, why)
    return out, metrics


def acvp_keygen(sets) -> pd.DataFrame:
    """NIST ACVP keyGen vectors (support.data mirror): expected sk/pk from the three seeds."""
    from support.data import fetch

    prompt = json.loads(fetch("acvp/SLH-DSA-keyGen-FIPS205/prompt.json").read_text())
    expected = json.loads(fetch("acvp/SLH-DSA-keyGen-FIPS205/expectedResults.json").read_text())
    want = {t["tcId"]: t for g in expected["testGroups"] for t in g["tests"]}
    rows = []
    for g in progress([g for g in prompt["testGroups"] if get_params(g["parameterSet"]).short in sets],
                      desc="ACVP keyGen"):
        p = get_params(g["parameterSet"])
        got = ours.keygen_internal_batch(p, [(bytes.fromhex(t["skSeed"]), bytes.fromhex(t["skPrf"]),
                                              bytes.fromhex(t["pkSeed"])) for t in g["tests"]])
        ok = sum(pk.hex().upper() == want[t["tcId"]]["pk"].upper() and sk.hex().upper() == want[t["tcId"]]["sk"].upper()
                 for t, (sk, pk) in zip(g["tests"], got))
        rows.append({"set": p.short, "cases": len(g["tests"]), "match": ok})
    if not rows:
        raise ValueError(f"acvp_keygen: no ACVP keyGen vectors for the sets {sorted(sets)}")
    return pd.DataFrame(rows)


def acvp_claim(acvp: pd.DataFrame) -> tuple[bool, str]:
    """acvp_keygen from an :func:`acvp_keygen` table: (holds, note), holding when every set matched all its cases.

    An empty table is refused: "all of no cases match" would hold without a single vector checked."""
    if acvp.empty:
        raise ValueError("acvp_claim: the ACVP table has no rows (no keyGen vectors were run)")
    return bool((acvp["match"] == acvp["cases"]).all()), f"{int(acvp['cases'].sum())} cases"


def bitflip_claim(flips: dict) -> tuple[bool, str]:
    """bitflip_rejected from a :func:`bitflips` result: (holds, note), holding when the unflipped signature verifies
    (else a verifier that rejects everything would pass) and none of the flipped ones does."""
    return bool(flips["original_valid"] and flips["accepted"] == 0), f"{flips['flips']} flips"


def signature_parts(p) -> dict[str, tuple[int, int]]:
    """Byte ranges [lo, hi) of the three parts of an SLH-DSA signature (FIPS 205 Alg. 19: R, SIG_FORS, SIG_HT), so
    that the bit-flip check can flip anywhere in each."""
    return {"R": (0, p.n), "FORS": (p.n, p.n + p.fors_sig_bytes), "hypertree": (p.n + p.fors_sig_bytes, p.sig_bytes)}


def bitflips(name: str, rng: np.random.Generator, random_flips: int = 16) -> dict:
    """Flip ``random_flips`` (>= 1) single bits in each part of the signature (FIPS 205 Alg. 19: R, the FORS signature
    of secret leaves and auth paths, the hypertree signature of WOTS+ chains and XMSS auth paths); count how many
    verify (should be 0)."""
    check_int(random_flips, "bitflips random_flips", minimum=1)
    p = get_params(name)
    sk, pk = ours.keygen(p, rng.bytes)
    msg = b"flip me"
    sig = ours.sign_internal(p, sk, msg)
    regions = signature_parts(p)
    sigs, labels = [], []
    for label, (lo, hi) in regions.items():
        for pos in rng.integers(lo, hi, random_flips):
            b = bytearray(sig)
            b[int(pos)] ^= 1 << int(rng.integers(0, 8))
            sigs.append(bytes(b))
            labels.append(label)
    ok = ours.verify_internal_batch(p, [pk] * len(sigs), [msg] * len(sigs), sigs)
    return {"original_valid": ours.verify_internal(p, pk, msg, sig), "flips": len(sigs), "accepted": int(sum(ok)),
            "by_region": {r: int(sum(o for o, l in zip(ok, labels) if l == r)) for r in regions}}


MESSAGE_HASHES = ("PRF_msg", "H_msg")  # per-message hashes of slh_sign_internal, not tweakable hashes (FIPS 205 §11)


def hash_calls(names) -> pd.DataFrame:
    """Hash calls per signature by function, counted on an instrumented run (batch of one); ``tweakable`` is the
    total less the per-message hashes (:data:`MESSAGE_HASHES`), i.e. the FORS and hypertree calls only."""
    rows = []
    for name in names:
        p = get_params(name)
        sk, _ = ours.keygen(p)
        c = Counter()
        ours.sign_internal_batch(p, [sk], [b"count"], calls=c)
        rows.append({"set": name, **dict(c), "total": sum(c.values()),
                     "tweakable": sum(v for k, v in c.items() if k not in MESSAGE_HASHES),
                     "formula": sum(p.hash_calls().values())})
    return pd.DataFrame(rows)


def phase_shares(names) -> pd.DataFrame:
    """Share of hash calls in FORS_Sign, TREE_Sign (all chains, T_len, XMSS) and H_msg (the GPU kernel split)."""
    rows = []
    for name in names:
        p = get_params(name)
        calls = p.hash_calls()
        tot, msg = sum(calls.values()), calls["PRF_msg"] + calls["H_msg"]
        fors_c = p.fors_tree_calls() + 1  # + T_k; the rest of the tweakable calls are TREE_Sign's
        rows.append({"set": name, "FORS": fors_c / tot, "TREE+WOTS": (tot - fors_c - msg) / tot,
                     "message": msg / tot})
    return pd.DataFrame(rows)


def _some_sets(names, what: str) -> list:
    """``names`` as a list, refused when empty: a check over no set would pass over zero cases."""
    names = list(names)
    if not names:
        raise ValueError(f"{what} needs at least one parameter set; got none")
    return names


def _each(fn, items) -> int:
    """Call ``fn`` on every item; the number of calls (what a rate must divide by)."""
    n = 0
    for x in items:
        fn(x)
        n += 1
    return n


def _rate(fn, count: int | None = None) -> float:
    """``count`` (default: what ``fn`` returns, the signatures it made) per CPU-second of one call of ``fn``."""
    t = time.process_time()
    done = fn()
    n = done if count is None else count
    return n / max(time.process_time() - t, 1e-9)


def cpu_throughput(names, batch: int, peer_sigs: int, rng: np.random.Generator) -> pd.DataFrame:
    """Signatures per CPU-second (one core): ours (batched lanes, batch), slh-dsa and pqcrypto, same run."""
    import slhdsa as ref

    if batch < 1 or peer_sigs < 1:
        raise ValueError(f"batch and peer_sigs must be >= 1; got {batch} and {peer_sigs}")

    rows = []
    for name in progress(names, desc="CPU throughput"):
        p = get_params(name)
        sk, _ = ours.keygen(p, rng.bytes)
        # enough messages for every signer: the peers' slices were cut from the batch's list, so with a batch
        # smaller than 4 x peer_sigs pqcrypto signed fewer than the rate divided by (6x too fast at batch 4)
        msgs = [rng.bytes(32) for _ in range(max(batch, 4 * peer_sigs))]
        r_ours = _rate(partial(ours.sign_internal_batch, p, [sk] * batch, msgs[:batch]), batch)
        rsk = ref.SecretKey.from_digest(sk, getattr(ref, name.replace("-", "_")))
        r_ref = _rate(partial(_each, partial(rsk.sign, randomize=False), msgs[:peer_sigs]))
        mod = importlib.import_module("pqcrypto.sign.slh_dsa_" + name.replace("-", "_"))
        _, psk = mod.keygen()
        r_pq = _rate(partial(_each, partial(mod.sign, psk), msgs[: 4 * peer_sigs]))
        rows.append({"set": name, "batch": batch, "ours_sig_s": r_ours, "slh-dsa_sig_s": r_ref,
                     "pqcrypto_sig_s": r_pq, "ours/slh-dsa": r_ours / r_ref, "ours/pqcrypto": r_ours / r_pq})
    return pd.DataFrame(rows)


def batch_scaling(name: str, batches, rng: np.random.Generator) -> pd.DataFrame:
    """Our CPU signer's signatures per CPU-second vs batch size (lanes amortise NumPy's per-call cost)."""
    p = get_params(name)
    sk, _ = ours.keygen(p, rng.bytes)
    rows = []
    for b in progress(batches, desc="batch scaling"):
        msgs = [rng.bytes(32) for _ in range(b)]
        rows.append({"batch": b, "sig_s": _rate(partial(ours.sign_internal_batch, p, [sk] * b, msgs), b)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------- GPU study

def emulated_check(sets=("sha2-128f", "shake-128f"), batch: int = 2, seed: int = 0,
                   modes=("fused", "naive")) -> pd.DataFrame:
    """Without a GPU: the CUDA kernels (fused and naive FORS, TREE, WOTS+) run on the CPU by
    :mod:`support.cuda_emu` and must give the CPU signer's signatures byte for byte (correctness only)."""
    from support.cuda_emu import compiler
    from support.herosign.gpu import GpuSigner

    check_int(batch, "emulated_check batch", minimum=1)
    sets = _some_sets(sets, "emulated_check")
    if compiler() is None:
        return pd.DataFrame()
    rng = np.random.default_rng(seed)
    rows = []
    for name in sets:
        p = get_params(name)
        sks = [ours.keygen_internal(p, *(rng.bytes(p.n) for _ in range(3)))[0] for _ in range(batch)]
        msgs = [rng.bytes(int(rng.integers(0, 100))) for _ in range(batch)]
        rnd = [None if i % 2 == 0 else rng.bytes(p.n) for i in range(batch)]
        want = ours.sign_internal_batch(p, sks, msgs, rnd)
        for mode in modes:
            t0 = time.perf_counter()
            got = GpuSigner(p, fors_mode=mode, emulate=True).sign_internal_batch(sks, msgs, rnd)
            rows.append({"set": name, "fors": mode, "signatures": batch,
                         "equal_to_cpu_signer": sum(a == b for a, b in zip(got, want)),
                         "seconds": round(time.perf_counter() - t0, 2)})
    return pd.DataFrame(rows)


def gpu_study(sets, batches, tune_batch: int = 1024, graph_batch: int = 64, graph_sub_batches: int = 16,
              graph_reps: int = 20, tuning_cache: Path | None = TUNING_CACHE) -> dict:
    """On a CUDA device: build selection, tree tuning, fused vs naive, graph vs per-kernel (``graph_sub_batches``
    batches of ``graph_batch``, ``graph_reps`` replays), throughput (kernel time) and the host phase per batch
    (``host_s``). Tunings are cached in ``tuning_cache``, as in :meth:`GpuSigner.tune`: by default the signer's
    cache (``$HEROSIGN_TUNING_CACHE``), ``None`` for no cache.

    Returns ``{}`` when no device is present (the notebook then marks the GPU claims not applicable).
    """
    from support.xp import gpu_available

    if not gpu_available():
        return {}
    from support.herosign.gpu import GpuSigner

    out: dict = {"sets": {}}
    for name in sets:
        g = GpuSigner(name)
        res = {"builds": g.select_builds(batch=min(256, tune_batch)),
               "tuning": g.tune(batch=tune_batch, cache=tuning_cache)}
        naive = GpuSigner(name, config=replace(g.cfg, builds=dict(g.cfg.builds or {})), fors_mode="naive")
        naive.modules.update(g.modules)  # the same builds, compiled once
        naive.kern.update({k: v for k, v in g.kern.items() if not k.startswith("fors")})
        # the baseline's FORS kernels get their own fastest build too (a fair fused-vs-naive comparison)
        res["builds_naive"] = naive.select_builds(batch=min(256, tune_batch), groups=("fors",))
        res["throughput"] = []
        for b in batches:
            tb = g.tune(batch=b, cache=tuning_cache)  # the fused layout tuned at this batch size; both signers share the chain block
            naive.cfg.chain_threads = g.cfg.chain_threads
            fused_t = g.throughput(b)
            naive_t = naive.throughput(b)
            kf = g.kernel_times(b, 3, ("fors",))["fors"]
            kn = naive.kernel_times(b, 3, ("fors",))["fors"]
            res["throughput"].append({"batch": b, "fused_sig_s": fused_t, "naive_sig_s": naive_t,
                                      "fors_fused_s": kf, "fors_naive_s": kn, "host_s": g.host_phase_s(b),
                                      "tree_threads": tb["tree_threads"],
                                      "fors_threads": tb["fors_threads"], "chain_threads": tb["chain_threads"]})
        for key, signer in (("graph", g), ("graph_naive", naive)):
            try:
                res[key] = signer.launch_overhead(graph_batch, graph_sub_batches, reps=graph_reps)
            except Exception as e:  # noqa: BLE001 - keep the throughput figures; the error is reported
                res[key] = {"error": f"{type(e).__name__}: {e}"[:300]}
        res["device"] = g.device_name
        out["sets"][name] = res
    return out


def recorded_gpu_study() -> tuple[dict, str]:
    """The newest recorded GPU study (:mod:`support.gpu_runs`, one ``herosign_<set>.json`` per set, extra batch
    runs ``herosign_<set>-<batch>.json`` merged in batch order) and where it comes from; ``({}, reason)`` if none."""
    from support import gpu_runs

    rec = gpu_runs.find("herosign_sha2-128f.json")
    if rec is None:
        return {}, "no CUDA GPU in this run and no recorded GPU run"
    sets: dict = {}
    files = sorted(rec.path.glob("herosign_*.json"), key=lambda f: (f.stem.count("-") > 1, f.name))
    for f in files:  # the per-set runs first, then the extra batch runs merged into them
        part = json.loads(f.read_text()).get("gpu", {}).get("sets", {})
        for name, res in part.items():
            res["throughput"] = [_with_run_choices(r, res) for r in res["throughput"]]
            if name not in sets:
                sets[name] = res
            else:
                sets[name]["throughput"] = sorted(sets[name]["throughput"] + res["throughput"],
                                                  key=lambda r: r["batch"])
    tests = rec.tests()
    note = kernels_note(rec)
    tests |= {"gpu_kat": [t for t in tests["selected"] if "test_gpu_kat" in t],
              "label": rec.label(rec.meta["tests"]["log"]) + note}
    return ({"sets": sets, "tests": tests},
            rec.label(*(f.name for f in files)) + note)


def _with_run_choices(row: dict, res: dict) -> dict:
    """A throughput row stamped with the builds and FORS layout its own run chose: rows merged from a separate run
    (an extra batch size) must not show the choices of the run they are merged into."""
    tuning = {k: v for k, v in res["tuning"].items() if not k.endswith("_trials")}
    return {"builds": dict(res["builds"]["chosen"]), "tuning": tuning, **row}


def kernels_note(rec) -> str:
    """"" if the recorded run measured the CUDA kernels of this checkout (same ``herosign_kernels.sha256``),
    else a warning to append to its label: its figures then describe older kernels."""
    from support.herosign.gpu import kernel_digest

    if not rec.has("herosign_kernels.sha256"):
        return "; the run did not record which kernels it measured"
    if (rec.path / "herosign_kernels.sha256").read_text().strip() == kernel_digest():
        return ""
    return "; the CUDA kernels have changed since that run, so these figures are of the older kernels"


def fors_layout(tuning: dict) -> str:
    """The tuned fused-FORS layout in words: threads per tree (this kernel) or trees per block (the kernel of the
    first recorded run, which built whole trees per block in shared memory)."""
    if "tree_threads" in tuning:
        return f"{tuning['tree_threads']} threads/tree"
    return f"{tuning['trees_per_block']} trees/block"


def gpu_table(study: dict) -> pd.DataFrame:
    """One row per (set, batch) of a GPU study: throughput fused vs naive (kernel time; end to end with the host phase
    where it was measured), FORS kernel times, and the FORS kernel's share of the signing time (the most fusion can
    change)."""
    rows = []
    for name, res in study.get("sets", {}).items():
        for r in res["throughput"]:
            tuning = r.get("tuning", res["tuning"])  # a row merged from another run carries that run's choices
            rows.append({"set": name, "device": res["device"], "batch": r["batch"],
                         "fused_sig_s": round(r["fused_sig_s"]), "naive_sig_s": round(r["naive_sig_s"]),
                         "end_to_end_sig_s": round(end_to_end_sig_s(r)) if r.get("host_s") is not None else None,
                         "pipeline_ratio": r["fused_sig_s"] / r["naive_sig_s"],
                         "fors_fused_ms": 1e3 * r["fors_fused_s"], "fors_naive_ms": 1e3 * r["fors_naive_s"],
                         "fors_fusion_gain": r["fors_naive_s"] / r["fors_fused_s"],
                         "fors_share": r["fors_fused_s"] * r["fused_sig_s"] / r["batch"],
                         "builds": ", ".join(f"{k}={v}" for k, v in r.get("builds", res["builds"]["chosen"]).items()),
                         "fors_layout": fors_layout(r if "tree_threads" in r else tuning),
                         "fors_threads": r.get("fors_threads", tuning["fors_threads"])})
    return pd.DataFrame(rows)


def graph_note(gr: dict) -> str:
    """Launch counts and device wall time per replay: per-kernel launches over streams vs the captured graph(s)."""
    walls = f"graph {gr['graph_wall_s'] * 1e3:.1f} ms (one stream)"
    if "graph_branches_wall_s" in gr:
        walls += f", {gr['graph_branches_wall_s'] * 1e3:.1f} ms ({gr['graph_branches']} branches)"
    return f"{gr['kernels_per_replay']} kernels; wall time per replay: {walls} vs per-kernel " \
           f"{gr['per_kernel_wall_s'] * 1e3:.1f} ms (4 streams)"


THROUGHPUT_BATCH = 32768  # gpu_throughput_128f is judged at this batch size ("batch 32k")
FUSION_BATCH = 8192  # fors_fusion_gain is judged at this batch size ("batch 8k")
SPEEDUP_SETS = ("sha2-128f", "sha2-192f", "sha2-256f")  # speedup_128f/192f/256f


def _row_at(res: dict, batch: int | None) -> tuple[dict | None, str]:
    """The throughput row of ``batch`` (``None``: the largest batch run) and "", or ``None`` and why not (the batch
    was not run, or its measurement failed with a kept error)."""
    rows = sorted(res["throughput"], key=lambda r: r["batch"])
    run = [r["batch"] for r in rows]
    row = rows[-1] if batch is None and rows else next((r for r in rows if r["batch"] == batch), None)
    if row is None:
        return None, f"batch {batch} not run (batches run: {', '.join(map(str, run)) or 'none'})"
    if "error" in row:
        return None, f"batch {row['batch']} failed: {row['error']}"
    return row, ""


def gpu_claims(study: dict, source: str) -> tuple[dict[str, tuple[float | None, str]], dict[str, dict]]:
    """The GPU claims of a study (this run's or a recorded one; ``source`` says which): claim -> (measured, note),
    or (None, reason) where not applicable (as ``record_all`` takes them), each judged at its own batch size whatever
    order the batches ran in; and the metrics (each set's study, the host phase per batch where measured)."""
    names = ("speedup_128f", "speedup_192f", "speedup_256f", "fors_fusion_gain", "graph_launch_ratio",
             "gpu_throughput_128f")
    if not study:
        return {c: (None, source) for c in names}, {}
    sets = study.get("sets", {})
    out: dict[str, tuple[float | None, str]] = {}
    metrics: dict[str, dict] = {}

    def na(claim: str, why: str) -> None:
        out[claim] = (None, f"{why}; {source}")

    for name in SPEEDUP_SETS:  # FORS fusion alone: same other kernels and builds, no graph on either side
        claim = "speedup_" + name.split("-")[1]
        if name not in sets:
            na(claim, f"{name} not in this study (sets run: {', '.join(sets) or 'none'})")
            continue
        res = sets[name]
        row, why = _row_at(res, None)
        if row is None:
            na(claim, why)
        else:
            out[claim] = (row["fused_sig_s"] / row["naive_sig_s"],
                          f"{res['device']}, batch {row['batch']} (the largest run), fused vs naive FORS only; {source}")
    for name, res in sets.items():
        metrics[f"gpu_{name}"] = res
        host = {str(r["batch"]): r["host_s"] for r in res["throughput"] if "host_s" in r}
        if host:
            metrics[f"gpu_host_phase_s_{name}"] = host
    if "sha2-128f" not in sets:
        for claim in ("fors_fusion_gain", "graph_launch_ratio", "gpu_throughput_128f"):
            na(claim, f"sha2-128f not in this study (sets run: {', '.join(sets) or 'none'})")
        return out, metrics
    r128 = sets["sha2-128f"]
    row, why = _row_at(r128, FUSION_BATCH)
    if row is None:
        na("fors_fusion_gain", why)
    else:
        share = row["fors_fused_s"] * row["fused_sig_s"] / row["batch"]
        out["fors_fusion_gain"] = (row["fors_naive_s"] / row["fors_fused_s"],
                                   f"batch {row['batch']}; the FORS kernel is {share:.0%} of the signing time; {source}")
    gr = r128.get("graph")
    if gr is None:
        na("graph_launch_ratio", "the study has no graph measurement")
    elif "error" in gr:
        na("graph_launch_ratio", f"graph measurement failed: {gr['error']}")
    else:
        out["graph_launch_ratio"] = (gr["ratio"], f"{graph_note(gr)}; {source}")
    row, why = _row_at(r128, THROUGHPUT_BATCH)
    if row is None:
        na("gpu_throughput_128f", why)
    else:
        host = (f"; host phase {row['host_s']:.2f} s per batch, measured apart (end to end "
                f"{end_to_end_sig_s(row):,.0f} sig/s)") if "host_s" in row else \
            "; host phase not measured"
        note = f"batch {row['batch']}, {r128['device']}, kernel time only{host}; {source}"
        out["gpu_throughput_128f"] = (row["fused_sig_s"], note)
    return out, metrics


def gpu_kat_claim(study: dict, source: str, kat_ok: dict[str, bool] | None = None) -> tuple[bool | None, str]:
    """gpu_kat_128f: this run's :func:`gpu_kat_digests` (``kat_ok``), else the KAT tests of a recorded study
    (both sets' tests present and every GPU test passed), else (None, ``source``: why there is no GPU figure)."""
    if kat_ok is not None:
        return all(kat_ok.values()), f"{kat_ok}; {source}"
    if not study:
        return None, source
    t = study["tests"]
    return (t["all_passed"] and len(t["gpu_kat"]) == len(KAT_128F),
            f"{len(t['gpu_kat'])} KAT tests among {t['passed']}/{len(t['selected'])} GPU tests passed; {t['label']}")


def gpu_kat_digests(names=KAT_128F) -> dict[str, bool]:
    """On a CUDA device: does the GPU signer reproduce the published KAT digest of each set?"""
    from support.herosign.gpu import GpuSigner

    out = {}
    for name in names:
        g = GpuSigner(name)
        digest = kat.rsp_digest(name, sign_batch=lambda p, sks, msgs, rnd, g=g: g.sign_internal_batch(sks, msgs, rnd))
        out[name] = digest == kat.PUBLISHED_DIGESTS[name]
    return out


def plot_cpu_throughput(df: pd.DataFrame):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(len(df))
    # the auto engine: SHA-2 on NumPy lanes (calls of >= 2048 lanes), SHAKE one hashlib call per lane (hashes.py)
    for i, (col, lab) in enumerate([("ours_sig_s", "ours (batched: NumPy SHA-2 lanes, hashlib SHAKE)"),
                                    ("slh-dsa_sig_s", "slh-dsa (mypyc)"), ("pqcrypto_sig_s", "pqcrypto (Rust)")]):
        ax.bar(x + (i - 1) * 0.27, df[col], 0.27, label=lab)
    ax.set_xticks(x, df["set"])
    ax.set_yscale("log")
    ax.set_ylabel("signatures / CPU-second (one core, log)")
    ax.set_xlabel("parameter set")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: inside it covered the tallest bars
    ax.set_title("CPU signing throughput, same run")
    return fig


def plot_phase_shares(df: pd.DataFrame):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.6))
    bottom = np.zeros(len(df))
    for col in ("FORS", "TREE+WOTS", "message"):
        lab = col if col != "message" else f"message (≤ {100 * df[col].max():.1g} %)"
        ax.bar(df["set"], df[col] * 100, bottom=bottom, label=lab)
        bottom += df[col].to_numpy() * 100
    ax.set_ylabel("share of hash calls (%)")
    ax.set_xlabel("parameter set")
    ax.tick_params(axis="x", labelsize=9)  # six set names side by side
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: inside it covered the 192f/256f bars
    ax.set_title("Work per kernel (FORS_Sign vs TREE_Sign + WOTS+_Sign)")
    return fig


def plot_batch_scaling(df: pd.DataFrame, name: str):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(df["batch"], df["sig_s"], "o-")
    ax.set_xscale("log", base=2)
    ax.set_xticks(df["batch"], [str(int(b)) for b in df["batch"]])  # the batch sizes run, not 2^k
    ax.set_xlabel("batch size (signatures per pass, log scale)")
    ax.set_ylabel("signatures / CPU-second")
    ax.set_title(f"{name}: lanes amortise per-call cost")
    return fig


def end_to_end_sig_s(row: dict) -> float:
    """Signatures per second of one throughput row with its host phase (PRF_msg, H_msg, index split, upload) added
    to the kernel time: ``batch / (batch / fused_sig_s + host_s)``."""
    return row["batch"] / (row["batch"] / row["fused_sig_s"] + row["host_s"])


def plot_gpu_anchors(study: dict, source: str = ""):
    """Published GPU throughput (cited) beside ours when a GPU study ran or was recorded (``source`` says which)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4))
    df = PUBLISHED_GPU.copy()
    labels = [f"{a}\n{g}" for a, g in zip(df["implementation"], df["gpu"])]
    vals = list(df["128f"])
    colors = ["0.6"] * len(vals)
    for name, res in study.get("sets", {}).items():
        if name == "sha2-128f":
            best = max(res["throughput"], key=lambda r: r["fused_sig_s"])
            labels.append(f"ours (fused, kernel time)\n{res['device']}")
            vals.append(best["fused_sig_s"])
            colors.append("C0")
            if best.get("host_s") is not None:  # the published figures do not all say what they time: show both
                labels.append(f"ours (end to end, host phase\nincluded), {res['device']}")
                vals.append(end_to_end_sig_s(best))
                colors.append("lightsteelblue")
    ax.barh(labels, vals, color=colors)
    ax.set_xlabel("SLH-DSA-128f signatures / s")
    ax.set_title("GPU signing throughput: published (grey, cited) and ours")
    if source and study:  # wrapped: one long line made the saved figure twice as wide as its axes
        note = textwrap.fill(f"ours: {source}", 120, break_on_hyphens=False)
        fig.text(0.5, -0.04, note, fontsize=8, ha="center", va="top")
    return fig
