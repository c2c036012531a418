"""GPU path: kernels compile with nvcc here; on a CUDA device they reproduce the CPU signer and the KATs."""

import functools
import inspect
import json
from typing import ClassVar

import pytest

from support.cuda_emu import compiler, thread_order
from support.cuda_tools import find_nvcc
from support.herosign import kat
from support.herosign import slhdsa as ours
from support.herosign.params import get_params
from support.xp import gpu_available

needs_gpu = pytest.mark.skipif(not gpu_available(), reason="no CUDA device")
needs_nvcc = pytest.mark.skipif(find_nvcc() is None, reason="nvcc not installed")


@needs_nvcc
def test_kernels_compile_cubin(tmp_path):
    from support.herosign.gpu import nvcc_build

    out = nvcc_build(get_params("sha2-128f"), "90", "cubin", tmp_path)
    assert out.stat().st_size > 10_000


@needs_nvcc
def test_kernels_compile_ptx_shake(tmp_path):
    from support.herosign.gpu import nvcc_build

    out = nvcc_build(get_params("shake-128f"), "90", "ptx", tmp_path)
    assert ".entry fors_sign_fused" in out.read_text()


@needs_nvcc
@pytest.mark.slow
@pytest.mark.parametrize("name", ["sha2-192f", "sha2-256f", "shake-192f", "shake-256f"])
def test_kernels_compile_other_sets(tmp_path, name):
    from support.herosign.gpu import nvcc_build

    assert nvcc_build(get_params(name), "90", "cubin", tmp_path).exists()


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("name", ["sha2-128f", "shake-128f", "sha2-192f", "sha2-256f", "shake-256f"])
@pytest.mark.parametrize("mode", ["fused", "naive"])
def test_gpu_equals_cpu(name, mode):
    from support.herosign.gpu import GpuSigner

    p = get_params(name)
    keys = [ours.keygen(p) for _ in range(3)]
    sks = [k[0] for k in keys]
    msgs = [b"a", b"bb" * 40, b""]
    rnd = [None, bytes(p.n), None]
    g = GpuSigner(p, fors_mode=mode)
    assert g.sign_internal_batch(sks, msgs, rnd) == ours.sign_internal_batch(p, sks, msgs, rnd)


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("name", ["sha2-128f", "shake-128f"])
def test_gpu_kat(name):
    from support.herosign.gpu import GpuSigner

    g = GpuSigner(name)
    digest = kat.rsp_digest(name, sign_batch=lambda p, sks, msgs, rnd: g.sign_internal_batch(sks, msgs, rnd))
    assert digest == kat.PUBLISHED_DIGESTS[name]


needs_cxx = pytest.mark.skipif(compiler() is None, reason="no host C++ compiler for the CUDA emulator")


BIG_SETS = [pytest.param(n, marks=pytest.mark.slow) for n in ("sha2-192f", "sha2-256f", "shake-192f", "shake-256f")]


@functools.cache
def _cpu_signed(name: str, count: int, msgs: tuple, rnd: tuple | None) -> tuple:
    """Keys (seeded by their index) and the CPU signer's signatures, computed once for the tests that share them."""
    p = get_params(name)
    keys = [ours.keygen_internal(p, bytes([i]) * p.n, bytes([i + 1]) * p.n, bytes([i + 2]) * p.n) for i in range(count)]
    sks = [k[0] for k in keys]
    return sks, ours.sign_internal_batch(p, sks, list(msgs), list(rnd or [None] * count))


@needs_cxx
@pytest.mark.parametrize("name", ["sha2-128f", "shake-128f", *BIG_SETS])
@pytest.mark.parametrize("mode", ["fused", "naive"])
@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_emulated_kernels_equal_the_cpu_signer_byte_for_byte(name, mode, order):
    # the CUDA kernels themselves, run on the CPU by support.cuda_emu (blocks in turn, one fiber per CUDA thread);
    # a block's threads in index order and in reverse: a missing barrier shows in one of the two
    from support.herosign.gpu import GpuSigner

    p = get_params(name)
    msgs, rnd = [b"a", b"bb" * 40], [None, bytes(range(p.n))]
    sks, want = _cpu_signed(name, 2, tuple(msgs), tuple(rnd))  # the CPU signer, shared by both FORS modes
    g = GpuSigner(p, fors_mode=mode, emulate=True)
    with thread_order(order):
        assert g.sign_internal_batch(sks, msgs, rnd) == want


@needs_cxx
def test_gpu_signer_refuses_mismatched_addrnds_and_signs_an_empty_batch_as_the_cpu_does():
    # a short addrnd list used to be zipped away: 2 messages launched over arrays sized for 1
    from support.herosign.gpu import GpuSigner

    p = get_params("sha2-128f")
    sk = ours.keygen_internal(p, b"\x01" * p.n, b"\x02" * p.n, b"\x03" * p.n)[0]
    g = GpuSigner(p, emulate=True)
    with pytest.raises(ValueError, match="addrnd"):
        g.sign_internal_batch([sk, sk], [b"a", b"b"], [None])
    assert g.sign_internal_batch([], []) == ours.sign_internal_batch(p, [], [], []) == []


@needs_cxx
@pytest.mark.parametrize("name", ["sha2-128f", pytest.param("sha2-192f", marks=pytest.mark.slow)])
@pytest.mark.parametrize(("tree_threads", "block"), [(1, 64), (8, 64), (64, 128)])
@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_emulated_fused_fors_equals_the_cpu_signer_for_every_layout(name, tree_threads, block, order):
    # one thread per tree (whole tree by treehash), subtrees joined in shared memory, one thread per leaf
    from support.herosign.gpu import Config, GpuSigner

    p = get_params(name)
    tree_threads = min(tree_threads, 1 << p.a)
    msgs = [b"x", b"", b"yz" * 30]
    sks, want = _cpu_signed(name, 3, tuple(msgs), None)  # the CPU signer, shared by the three layouts
    g = GpuSigner(p, Config(tree_threads=tree_threads, fors_threads=block), emulate=True)
    with thread_order(order):
        assert g.sign_internal_batch(sks, msgs) == want


def test_fused_layout_rejects_bad_threads_per_tree():
    from support.herosign.gpu import fused_layout

    p = get_params("sha2-128f")
    assert fused_layout(p, 4, 128) == (2, 128 * 5 * 16)
    for tt, block in ((3, 96), (128, 128), (8, 100)):
        with pytest.raises(ValueError, match="power of two|multiple"):
            fused_layout(p, tt, block)


@needs_cxx
def test_emulated_signer_refuses_timing():
    from support.herosign.gpu import GpuSigner

    with pytest.raises(RuntimeError, match="need a CUDA device"):
        GpuSigner("sha2-128f", emulate=True).throughput(4)


@needs_cxx
@pytest.mark.slow
@pytest.mark.parametrize("name", ["sha2-128f", "shake-128f"])
def test_emulated_kernels_reproduce_the_kat_digest(name):
    from support.herosign.gpu import GpuSigner

    g = GpuSigner(name, emulate=True)
    digest = kat.rsp_digest(name, sign_batch=lambda p, sks, msgs, rnd: g.sign_internal_batch(sks, msgs, rnd))
    assert digest == kat.PUBLISHED_DIGESTS[name]


def test_recorded_gpu_study_merges_extra_batch_runs_and_keeps_its_provenance():
    from support.herosign import experiments as ex

    study, source = ex.recorded_gpu_study()
    assert "recorded on NVIDIA H200" in source
    assert [r["batch"] for r in study["sets"]["sha2-192f"]["throughput"]] == [1024, 8192, 32768]
    assert study["tests"]["all_passed"] and len(study["tests"]["gpu_kat"]) == 2
    t = ex.gpu_table(study)
    assert ((t.fors_share > 0) & (t.fors_share < 1)).all()
    row = t[(t.set == "sha2-128f") & (t.batch == 32768)].iloc[0]
    assert row.fused_sig_s == round(study["sets"]["sha2-128f"]["throughput"][-1]["fused_sig_s"])
    assert row.end_to_end_sig_s == 50668  # 32768 / (32768 / 106486.3 sig/s + 0.339 s of host phase)


def _study_file(builds: dict, tuning: dict, batches) -> dict:
    rows = [{"batch": b, "fused_sig_s": 2000.0, "naive_sig_s": 1000.0, "fors_fused_s": 0.1, "fors_naive_s": 0.2}
            for b in batches]
    return {"gpu": {"sets": {"sha2-128f": {"builds": {"chosen": builds}, "tuning": tuning, "throughput": rows,
                                           "device": "GPU X"}}}}


def test_gpu_table_labels_each_row_with_the_builds_and_layout_of_the_run_that_measured_it(tmp_path, monkeypatch):
    # an extra batch run (a separate process) may pick other builds and layouts than the run it is merged into
    from support import gpu_runs
    from support.herosign import experiments as ex

    first = {"fors": "nvrtc", "tree": "nvcc-cubin", "wots": "nvcc-ptx"}
    extra = {"fors": "nvcc-cubin", "tree": "nvcc-cubin", "wots": "nvrtc"}
    (tmp_path / "herosign_sha2-128f.json").write_text(json.dumps(_study_file(
        first, {"trees_per_block": 8, "fors_threads": 256}, [1024, 8192])))
    (tmp_path / "herosign_sha2-128f-32768.json").write_text(json.dumps(_study_file(
        extra, {"trees_per_block": 4, "fors_threads": 128}, [32768])))
    (tmp_path / "tests.log").write_text("1 passed\n")
    (tmp_path / "selected.txt").write_text("tests/herosign/test_gpu.py::test_gpu_kat[sha2-128f]\n")
    meta = {"device": "GPU X", "date": "2026-01-01", "script": "gpu_check.sh", "tests": {"log": "tests.log",
            "selected": "selected.txt"}, "runs": []}
    monkeypatch.setattr(gpu_runs, "find", lambda name: gpu_runs.RecordedRun(tmp_path, meta))
    t = ex.gpu_table(ex.recorded_gpu_study()[0]).set_index("batch")
    assert t.loc[8192, "builds"] == "fors=nvrtc, tree=nvcc-cubin, wots=nvcc-ptx"
    assert t.loc[32768, "builds"] == "fors=nvcc-cubin, tree=nvcc-cubin, wots=nvrtc"
    assert (t.loc[8192, "fors_layout"], t.loc[8192, "fors_threads"]) == ("8 trees/block", 256)
    assert (t.loc[32768, "fors_layout"], t.loc[32768, "fors_threads"]) == ("4 trees/block", 128)


def test_recorded_sha2_192f_extra_batch_row_shows_its_own_runs_fors_build():
    # herosign_sha2-192f-32768.json (a second run, tuned afresh) chose nvcc cubin for FORS; the batch-1024/8192 run
    # chose NVRTC
    from support.herosign import experiments as ex

    t = ex.gpu_table(ex.recorded_gpu_study()[0])
    builds = dict(zip(t[t.set == "sha2-192f"].batch, t[t.set == "sha2-192f"].builds))
    rtc = "fors=nvrtc, tree=nvcc-cubin-r96, wots=nvcc-cubin-r96"
    cubin = "fors=nvcc-cubin, tree=nvcc-cubin-r96, wots=nvcc-cubin-r96"
    assert builds == {1024: rtc, 8192: rtc, 32768: cubin}


class _TuneRecorder:
    """Stands in for GpuSigner in gpu_study: records the cache each tune() call gets; its "timings" say which
    signer gave them (fused: 2 sig/s, FORS 0.1 s; naive: 1 sig/s, FORS 0.4 s; host phase 0.25 s)."""

    caches: ClassVar[list] = []
    graph_error: ClassVar[Exception | None] = None

    def __init__(self, name, config=None, fors_mode="fused"):
        from support.herosign.gpu import Config

        self.cfg, self.modules, self.kern, self.device_name = config or Config(), {}, {}, "GPU X"
        self.fors_mode = fors_mode

    def select_builds(self, batch, groups=("fors", "tree", "wots")):
        return {"chosen": dict.fromkeys(groups, "nvrtc")}

    def tune(self, batch, cache):
        _TuneRecorder.caches.append(cache)
        return {"tree_threads": 4, "fors_threads": 128, "chain_threads": 256}

    def throughput(self, batch):
        return 2.0 if self.fors_mode == "fused" else 1.0

    def kernel_times(self, batch, reps, groups):
        return dict.fromkeys(groups, 0.1 if self.fors_mode == "fused" else 0.4)

    def host_phase_s(self, batch):
        return 0.25

    def launch_overhead(self, batch, sub_batches, reps):
        if self.graph_error is not None:
            raise self.graph_error
        return {}


def test_gpu_study_tuning_cache_none_means_no_cache_as_in_tune(monkeypatch, tmp_path):
    from support.herosign import experiments as ex
    from support.herosign import gpu

    tune_default = inspect.signature(gpu.GpuSigner.tune).parameters["cache"].default
    monkeypatch.setattr("support.xp.gpu_available", lambda: True)
    monkeypatch.setattr(gpu, "GpuSigner", _TuneRecorder)
    monkeypatch.setattr(_TuneRecorder, "caches", [])
    ex.gpu_study(["sha2-128f"], [8], tuning_cache=None)
    assert _TuneRecorder.caches == [None, None]
    ex.gpu_study(["sha2-128f"], [8], tuning_cache=tmp_path / "t.json")
    ex.gpu_study(["sha2-128f"], [8])
    assert _TuneRecorder.caches[2:] == [tmp_path / "t.json"] * 2 + [gpu.TUNING_CACHE] * 2
    assert tune_default == gpu.TUNING_CACHE  # both default to the signer's cache; None is no cache in both


def _bare_signer(device_name: str = "GPU X"):
    """A GpuSigner as built on a device, without the device: enough for tune() up to its first launch."""
    from support.herosign.gpu import Config, GpuSigner

    g = object.__new__(GpuSigner)
    g.emulate, g.p, g.cfg, g.device_name, g.fors_mode = False, get_params("sha2-128f"), Config(), device_name, "fused"
    return g


@pytest.mark.parametrize(("text", "problem"), [('{"GPU X|sha2-128f|8": {"tree_thr', "is not valid JSON"),
                                               ("[1, 2]", "holds a JSON list"), (b"\xff\xfe", "is not valid JSON")])
def test_a_corrupt_tuning_cache_is_refused_naming_the_file(tmp_path, text, problem):
    cache = tmp_path / "tuning.json"
    cache.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ValueError, match=f"tuning cache {cache} {problem}.*delete it or pass cache=None"):
        _bare_signer().tune(8, cache=cache)


def test_a_tuning_cache_entry_sets_the_layout_without_timing_anything(tmp_path):
    cache = tmp_path / "tuning.json"
    entry = {"tree_threads": 8, "fors_threads": 256, "chain_threads": 64}
    cache.write_text(json.dumps({"GPU X|sha2-128f|8": entry}))
    g = _bare_signer()  # it has no device: any launch or timing would fail
    assert g.tune(8, cache=cache) == {"cached": True, **entry}
    assert (g.cfg.tree_threads, g.cfg.fors_threads, g.cfg.chain_threads) == (8, 256, 64)


def test_gpu_study_fills_the_naive_columns_from_the_naive_signer(monkeypatch):
    # fused vs fused would make every speed-up 1.00 by construction
    from support.herosign import experiments as ex
    from support.herosign import gpu

    monkeypatch.setattr("support.xp.gpu_available", lambda: True)
    monkeypatch.setattr(gpu, "GpuSigner", _TuneRecorder)
    row = ex.gpu_study(["sha2-128f"], [8], tuning_cache=None)["sets"]["sha2-128f"]["throughput"][0]
    assert (row["fused_sig_s"], row["naive_sig_s"]) == (2.0, 1.0)
    assert (row["fors_fused_s"], row["fors_naive_s"], row["host_s"]) == (0.1, 0.4, 0.25)


def test_gpu_study_graph_capture_error_gives_a_not_applicable_claim_not_a_crash(monkeypatch):
    # the failure of the device's first run (meta.json run 1): the study keeps the error, the claim says it
    from support.herosign import experiments as ex
    from support.herosign import gpu

    monkeypatch.setattr("support.xp.gpu_available", lambda: True)
    monkeypatch.setattr(gpu, "GpuSigner", _TuneRecorder)
    monkeypatch.setattr(_TuneRecorder, "graph_error", RuntimeError("capture failed"))
    study = ex.gpu_study(["sha2-128f"], [8192], tuning_cache=None)
    claims, _ = ex.gpu_claims(study, "this run")
    assert claims["graph_launch_ratio"] == (None, "graph measurement failed: RuntimeError: capture failed; this run")
    assert claims["fors_fusion_gain"][0] == pytest.approx(4.0)


def _row(batch: int, fused: float, naive: float, fors_fused: float = 0.1, fors_naive: float = 0.2, **extra) -> dict:
    return {"batch": batch, "fused_sig_s": fused, "naive_sig_s": naive, "fors_fused_s": fors_fused,
            "fors_naive_s": fors_naive, **extra}


_GRAPH = {"ratio": 0.004, "kernels_per_replay": 80, "graph_wall_s": 0.03, "per_kernel_wall_s": 0.024}


def _study(rows, graph=_GRAPH, **sets) -> dict:
    return {"sets": {"sha2-128f": {"device": "GPU X", "throughput": rows, "graph": graph}, **sets}}


def test_gpu_claims_reproduce_the_recorded_h200_figures():
    # the 2026-11-29 H200 run of the current kernels (data/gpu_runs/2026-11-29_h200)
    from support.herosign import experiments as ex

    study, source = ex.recorded_gpu_study()
    claims, metrics = ex.gpu_claims(study, source)
    measured = {k: value for k, (value, _) in claims.items()}
    assert measured == pytest.approx({"speedup_128f": 0.999881, "speedup_192f": 0.995501, "speedup_256f": 0.992036,
                                      "fors_fusion_gain": 0.998410, "graph_launch_ratio": 0.00328802,
                                      "gpu_throughput_128f": 106486.31}, rel=1e-4)
    assert "batch 8192" in claims["fors_fusion_gain"][1] and "batch 32768" in claims["speedup_128f"][1]
    assert "host phase 0.34 s" in claims["gpu_throughput_128f"][1] and "changed since" not in source
    assert "end to end 50,668 sig/s" in claims["gpu_throughput_128f"][1]
    sets = {"sha2-128f", "sha2-192f", "sha2-256f", "shake-128f"}
    assert set(metrics) == {f"gpu_{s}" for s in sets} | {f"gpu_host_phase_s_{s}" for s in sets}


def test_gpu_claims_judge_each_claim_at_its_own_batch_whatever_the_batch_order():
    from support.herosign import experiments as ex

    rows = [_row(32768, 40000, 20000), _row(1024, 5000, 4000), _row(8192, 30000, 10000, 0.1, 0.3)]
    claims, _ = ex.gpu_claims(_study(rows), "this run")
    assert claims["gpu_throughput_128f"][0] == 40000
    assert claims["fors_fusion_gain"][0] == pytest.approx(3.0)
    assert claims["speedup_128f"][0] == 2.0 and "batch 32768" in claims["speedup_128f"][1]
    assert claims["speedup_192f"] == (None, "sha2-192f not in this study (sets run: sha2-128f); this run")


def test_gpu_claims_are_not_applicable_naming_a_batch_size_that_was_not_run():
    # smoke on a GPU runs one batch (1024): neither the 32k nor the 8k claim may be judged on it
    from support.herosign import experiments as ex

    claims, _ = ex.gpu_claims(_study([_row(1024, 5000, 4000)]), "this run")
    assert claims["gpu_throughput_128f"] == (None, "batch 32768 not run (batches run: 1024); this run")
    assert claims["fors_fusion_gain"] == (None, "batch 8192 not run (batches run: 1024); this run")
    assert claims["speedup_128f"][0] == 1.25 and "batch 1024" in claims["speedup_128f"][1]


def test_gpu_claims_kept_errors_make_the_affected_claims_not_applicable_with_the_error_text():
    from support.herosign import experiments as ex

    rows = [_row(8192, 30000, 10000), {"batch": 32768, "error": "OutOfMemoryError: 2 GiB"}]
    claims, _ = ex.gpu_claims(_study(rows, graph={"error": "CUDARuntimeError: capture failed"}), "this run")
    failed = "graph measurement failed: CUDARuntimeError: capture failed; this run"
    assert claims["graph_launch_ratio"] == (None, failed)
    assert claims["gpu_throughput_128f"] == (None, "batch 32768 failed: OutOfMemoryError: 2 GiB; this run")
    assert claims["speedup_128f"] == claims["gpu_throughput_128f"]  # its batch is the largest run
    assert claims["fors_fusion_gain"][0] == 2.0


def test_gpu_claims_record_the_host_phase_per_batch_where_measured():
    from support.herosign import experiments as ex

    rows = [_row(8192, 30000, 10000, host_s=0.2), _row(32768, 40000, 20000, host_s=0.85)]
    claims, metrics = ex.gpu_claims(_study(rows), "this run")
    assert metrics["gpu_host_phase_s_sha2-128f"] == {"8192": 0.2, "32768": 0.85}
    assert "kernel time only; host phase 0.85 s per batch" in claims["gpu_throughput_128f"][1]


def test_gpu_claims_without_a_study_are_not_applicable_with_the_reason():
    from support.herosign import experiments as ex

    claims, metrics = ex.gpu_claims({}, "no CUDA GPU and no recorded run")
    assert len(claims) == 6 and metrics == {}
    assert all(c == (None, "no CUDA GPU and no recorded run") for c in claims.values())


def test_recorded_run_is_flagged_when_the_kernels_changed_since(tmp_path):
    from support.gpu_runs import RecordedRun
    from support.herosign import experiments as ex
    from support.herosign.gpu import kernel_digest

    rec = RecordedRun(tmp_path, {})
    assert "did not record" in ex.kernels_note(rec)
    (tmp_path / "herosign_kernels.sha256").write_text(kernel_digest() + "\n")
    assert ex.kernels_note(rec) == ""
    (tmp_path / "herosign_kernels.sha256").write_text("0" * 64)
    assert "changed since" in ex.kernels_note(rec)


@needs_cxx
@pytest.mark.slow  # ~35 s on 2 cores: every build, every tuning layout and both graphs, emulated
def test_gpu_study_runs_end_to_end_with_the_emulator_standing_in_for_cupy(tmp_path, monkeypatch):
    # the device-only driver code (build selection, tuning and its cache, event timing, graph capture with forked
    # branches) has no other check before a GPU session; here it runs against support.cuda_emu.cupy_stub
    from support.cuda_emu import cupy_stub
    from support.herosign import experiments as ex
    from support.herosign import gpu

    def nvcc_as_source(p, arch, kind="cubin", out_dir=None, maxrreg=None):  # a specialised .cu in place of a cubin
        out = tmp_path / f"{p.short}_{kind}_{maxrreg}.cu"
        out.write_text("".join(f"#define {d[2:].replace('=', ' ')}\n" for d in gpu.defines(p)) + gpu.source())
        return out

    monkeypatch.setattr(gpu, "_cupy", lambda: cupy_stub)
    monkeypatch.setattr(gpu, "nvcc_build", nvcc_as_source)
    monkeypatch.setattr("support.xp.gpu_available", lambda: True)
    study = ex.gpu_study(["sha2-128f"], [2], tune_batch=2, graph_batch=1, graph_sub_batches=3,
                         graph_reps=1, tuning_cache=tmp_path / "tuning.json")
    res = study["sets"]["sha2-128f"]
    assert set(res["builds"]["chosen"]) == {"fors", "tree", "wots"}
    assert set(res["builds_naive"]["chosen"]) == {"fors"}
    assert all(set(t) == {"fors", "tree", "wots"} for t in res["builds"]["timings_s"].values())
    tuned = res["tuning"]
    assert not tuned["cached"] and {t["tree_threads"] for t in tuned["fors_trials"]} == {1, 2, 4, 8, 16, 32, 64}
    row = res["throughput"][0]  # the same batch again: the layout comes from the cache
    assert (row["tree_threads"], row["fors_threads"]) == (tuned["tree_threads"], tuned["fors_threads"])
    assert row["fused_sig_s"] > 0 and row["naive_sig_s"] > 0 and row["host_s"] > 0
    for key, kernels in (("graph", 3 * 5), ("graph_naive", 3 * (6 + 5))):
        assert "error" not in res[key] and "graph_branches_error" not in res[key], res[key]
        assert res[key]["kernels_per_replay"] == kernels and res[key]["graph_branches"] == 4
    assert len(ex.gpu_table(study)) == 1 and "15 kernels" in ex.graph_note(res["graph"])

    # a captured graph (sub-batches on forked branches) records the launches, and its replay signs as the CPU does
    g = gpu.GpuSigner("sha2-128f", gpu.Config(tree_threads=tuned["tree_threads"], fors_threads=tuned["fors_threads"]))
    p = g.p
    sks = [ours.keygen_internal(p, bytes([i]) * p.n, bytes([i + 1]) * p.n, bytes([i + 2]) * p.n)[0] for i in range(2)]
    parts = [(d, g.alloc(1)) for d in (g.prepare([sk], [m]) for sk, m in zip(sks, [b"one", b"two"]))]
    graph = g._capture(parts, cupy_stub.Stream(), [cupy_stub.Stream(), cupy_stub.Stream()])
    assert not any(buf["sig"].any() for _, buf in parts)
    graph.launch()
    assert [g.finish(d, buf)[0] for d, buf in parts] == ours.sign_internal_batch(p, sks, [b"one", b"two"], [None] * 2)


def test_end_to_end_rate_adds_the_host_phase_to_the_kernel_time():
    from support.herosign import experiments as ex

    # 1000 signatures at 4000/s of kernel time (0.25 s) plus 0.25 s on the host: 2000/s end to end
    assert ex.end_to_end_sig_s({"batch": 1000, "fused_sig_s": 4000.0, "host_s": 0.25}) == pytest.approx(2000.0)


def test_figure_4_shows_our_end_to_end_bar_only_where_the_host_phase_was_measured():
    import matplotlib

    matplotlib.use("Agg")
    from support.herosign import experiments as ex

    rows = [_row(32768, 40000, 20000)]
    labels = lambda fig: [t.get_text() for t in fig.axes[0].get_yticklabels()]
    without = labels(ex.plot_gpu_anchors(_study(rows)))
    rows[0]["host_s"] = 0.8192  # as long as the kernels: half the rate end to end
    fig = ex.plot_gpu_anchors(_study(rows))
    assert len(labels(fig)) == len(without) + 1 and "end to end" in labels(fig)[-1]
    widths = [b.get_width() for b in fig.axes[0].patches]
    assert widths[-2:] == pytest.approx([40000, 20000])


def test_fors_profile_counts_the_fors_tree_calls_of_an_instrumented_signature():
    # the instrumented CPU signer's PRF + F + H calls, less the hypertree's (d XMSS trees of 2^h' WOTS+ leaves)
    from benchmarks.herosign_fors_profile import fors_hash_calls
    from support.herosign import experiments as ex
    from support.herosign.params import get_params

    for name in ("sha2-128f", "shake-192f"):
        p = get_params(name)
        row = ex.hash_calls([name]).iloc[0]
        leaves = p.d << p.hp
        hypertree = leaves * p.len + leaves * p.len * (p.w - 1) + p.d * ((1 << p.hp) - 1)
        assert fors_hash_calls(name, 3) == 3 * (row.PRF + row.F + row.H - hypertree)
