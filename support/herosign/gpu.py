"""GPU path (CuPy RawModule, CUDA C in ``kernels/``): HERO-Sign's FORS tree fusion, tree tuning,
per-kernel PTX-vs-native selection and CUDA-graph batching (arXiv 2512.23969, abstract; reconstructed).

CuPy is imported lazily: nothing here runs, or is needed, on a machine without a CUDA device.
Host work per batch: PRF_msg / H_msg (hashlib) and the index split; the rest is three kernels.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from support.cuda_tools import device_name, find_nvcc
from support.herosign import fors
from support.herosign.hashes import h_msg, prf_msg, seeded_state
from support.herosign.params import Params, get_params
from support.herosign.sha2_lanes import SHA256, SHA512
from support.herosign.slhdsa import SecretKey, _bytes, _rows, _sized, split_digest
from support.paths import write_text_atomic
from support.xp import to_numpy

KERNEL_DIR = Path(__file__).resolve().parent / "kernels"
KERNELS = ("fors_sign_fused", "fors_leaves_naive", "fors_level_naive", "fors_pk", "tree_chains", "tree_build",
           "wots_sign")
BUILDS = ("nvrtc", "nvcc-cubin", "nvcc-ptx", "nvcc-cubin-r64", "nvcc-cubin-r96")
TUNING_CACHE = Path(os.environ.get("HEROSIGN_TUNING_CACHE",
                                   Path.home() / ".cache" / "paper-repro" / "herosign_tuning.json"))


def _cupy():
    import cupy

    return cupy


def defines(p: Params) -> list[str]:
    """The ``-D`` options that specialise ``slhdsa.cu`` to parameter set ``p``."""
    return [f"-DSPX_N={p.n}", f"-DSPX_D={p.d}", f"-DSPX_HP={p.hp}", f"-DSPX_A={p.a}", f"-DSPX_K={p.k}",
            f"-DSPX_LEN={p.len}", f"-DSPX_LEN1={p.len1}", f"-DSPX_SHA2={int(p.family == 'sha2')}",
            f"-DSPX_BIG={int(p.big_sha2)}"]


def source() -> str:
    """``slhdsa.cu`` with ``hash.cuh`` inlined (NVRTC gets one self-contained string)."""
    body = (KERNEL_DIR / "slhdsa.cu").read_text()
    return body.replace('#include "hash.cuh"', (KERNEL_DIR / "hash.cuh").read_text().replace("#pragma once", ""))


def kernel_digest() -> str:
    """SHA-256 of :func:`source`: recorded with each GPU run, so that its figures can be matched to these kernels."""
    return hashlib.sha256(source().encode()).hexdigest()


def nvcc_build(p: Params, arch: str, kind: str = "cubin", out_dir: Path | None = None,
               maxrreg: int | None = None) -> Path:
    """Compile with nvcc: ``kind="cubin"`` (native SASS, ``-arch=sm_XX``) or ``"ptx"`` (``-arch=compute_XX``);
    ``maxrreg`` caps the registers per thread (more resident warps, possibly spills: a flag variant to time)."""
    nvcc = find_nvcc()
    if nvcc is None:
        raise FileNotFoundError("nvcc not found (PATH, $CUDA_HOME/bin, /usr/local/cuda/bin, /usr/local/bin)")
    if kind not in ("cubin", "ptx"):
        raise ValueError(f"kind must be 'cubin' or 'ptx', got {kind!r}")
    out_dir = Path(out_dir or tempfile.mkdtemp(prefix="herosign_"))
    out = out_dir / f"slhdsa_{p.short}_{arch}{f'_r{maxrreg}' if maxrreg else ''}.{kind}"
    flag = f"-arch=sm_{arch}" if kind == "cubin" else f"-arch=compute_{arch}"
    cmd = [nvcc, f"-{kind}", flag, "-O3", "-std=c++14", *defines(p),
           *([f"-maxrregcount={maxrreg}"] if maxrreg else []), "-o", str(out), str(KERNEL_DIR / "slhdsa.cu")]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"nvcc failed for {p.name}:\n{res.stderr[-4000:]}")
    return out


def fused_layout(p: Params, tree_threads: int, block: int) -> tuple[int, int]:
    """log2 of the threads per FORS tree and the fused kernel's shared memory in bytes: (a - tl + 1) nodes of n
    bytes per thread (pending left nodes of the thread's subtree, then one slot for the joins across threads)."""
    tl = int(tree_threads).bit_length() - 1
    if tree_threads < 1 or 1 << tl != tree_threads or tl > p.a:
        raise ValueError(f"threads per FORS tree must be a power of two <= 2^a = {1 << p.a}, got {tree_threads}")
    if block % tree_threads or not 1 <= block <= 1024:
        raise ValueError(f"block size {block} must be <= 1024 and a multiple of the threads per tree {tree_threads}")
    return tl, block * (p.a - tl + 1) * p.n


def read_tuning_cache(path: Path) -> dict:
    """The tuning results stored at ``path`` (``{"device|set|batch": layout}``); a file that is not such a JSON
    object (a corrupt or foreign cache) is one ValueError naming the file, not a bare JSON error mid-run."""
    path = Path(path)
    try:
        stored = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"tuning cache {path} is not valid JSON ({e}); delete it or pass cache=None") from None
    if isinstance(stored, dict):
        return stored
    raise ValueError(f"tuning cache {path} holds a JSON {type(stored).__name__}, not an object of tuned layouts; "
                     "delete it or pass cache=None")


@dataclass
class Config:
    """Tunable launch configuration (the "tree tuning" search space) and chosen builds per kernel."""

    tree_threads: int = 4  # T: threads per FORS tree (a power of two <= 2^a); each builds 2^a / T leaves
    fors_threads: int = 128  # block size of the fused FORS kernel (a multiple of T)
    chain_threads: int = 256
    builds: dict[str, str] | None = None  # kernel -> "nvrtc" | "nvcc-cubin" | "nvcc-ptx"


class GpuSigner:
    """Batched SLH-DSA signing on one CUDA device; byte-identical to :func:`slhdsa.sign_internal_batch`.

    ``fors_mode``: ``"fused"`` (tree fusion) or ``"naive"`` (one launch per level, the baseline).
    ``emulate=True`` runs the same kernels on the CPU under :mod:`support.cuda_emu` (host arrays, no device):
    a correctness check of the kernels without a GPU; builds, tuning, timing and graphs need a device.
    """

    def __init__(self, params, config: Config | None = None, fors_mode: str = "fused", emulate: bool = False):
        if fors_mode not in ("fused", "naive"):
            raise ValueError(f"fors_mode must be 'fused' or 'naive', got {fors_mode!r}")
        self.emulate = emulate
        self.cp = np if emulate else _cupy()
        self.p = get_params(params)
        self.cfg = config or Config()
        self.fors_mode = fors_mode
        if emulate:
            self.arch, self.device_name = "host", "CPU emulator (support.cuda_emu)"
        else:
            dev = self.cp.cuda.Device()
            self.arch = str(dev.compute_capability)
            self.device_name = device_name(self.cp, dev.id)
        self.modules: dict[str, Any] = {}
        self.kern: dict[str, Any] = {}
        self.compile_times: dict[str, float] = {}
        self._load("emulated" if emulate else "nvrtc")
        for k in KERNELS:
            self.kern[k] = self.modules["emulated" if emulate else "nvrtc"].get_function(k)

    def _need_device(self) -> None:
        if self.emulate:
            raise RuntimeError("timing, tuning, builds and graphs need a CUDA device; the emulator (emulate=True) "
                               "checks the kernels' results only")

    # ------------------------------------------------------------------ builds
    def _load(self, build: str):
        if build in self.modules:
            return self.modules[build]
        cp = self.cp
        t = time.perf_counter()
        if build == "emulated":
            from support.cuda_emu import EmuModule

            mod = EmuModule(code=source(), options=defines(self.p))
        elif build == "nvrtc":
            mod = cp.RawModule(code=source(), options=("-std=c++14", *defines(self.p)), backend="nvrtc")
            mod.get_function("fors_pk")  # force compilation now
        elif build.startswith(("nvcc-cubin", "nvcc-ptx")):
            kind, _, cap = build.removeprefix("nvcc-").partition("-r")
            if kind not in ("cubin", "ptx") or (cap and not cap.isdigit()):
                raise ValueError(f"unknown build {build!r}")
            path = nvcc_build(self.p, self.arch, kind, maxrreg=int(cap) if cap else None)
            mod = cp.RawModule(path=str(path))
            mod.get_function("fors_pk")
        else:
            raise ValueError(f"unknown build {build!r}")
        self.compile_times[build] = time.perf_counter() - t
        self.modules[build] = mod
        return mod

    def select_builds(self, batch: int = 256, builds=BUILDS, reps: int = 3,
                      groups=("fors", "tree", "wots")) -> dict:
        """Adaptive compilation: time every kernel group from every build and keep the fastest per group.

        Builds: NVRTC (PTX), nvcc native cubin, nvcc PTX, and cubins with a register cap (``nvcc-cubin-r64``).
        """
        self._need_device()
        timings: dict[str, dict[str, float]] = {}
        for b in builds:
            try:
                mod = self._load(b)
            except (FileNotFoundError, RuntimeError) as e:
                timings[b] = {"error": str(e)[:200]}
                continue
            saved = dict(self.kern)
            self.kern = {k: mod.get_function(k) for k in KERNELS}
            timings[b] = self.kernel_times(batch, reps, groups)
            self.kern = saved
        chosen = {}
        for k in groups:
            ok = {b: t[k] for b, t in timings.items() if k in t}
            chosen[k] = min(ok, key=ok.get)
        names = {"fors": ("fors_sign_fused", "fors_leaves_naive", "fors_level_naive", "fors_pk"),
                 "tree": ("tree_chains", "tree_build"), "wots": ("wots_sign",)}
        for group, b in chosen.items():
            for k in names[group]:
                self.kern[k] = self.modules[b].get_function(k)
        self.cfg.builds = {**(self.cfg.builds or {}), **chosen}
        return {"timings_s": timings, "chosen": chosen, "compile_s": dict(self.compile_times)}

    # ------------------------------------------------------------------ host preparation
    def prepare(self, sks, msgs, addrnds=None, fors_order: str = "fips205") -> dict:
        """Host phase: parse keys, PRF_msg and H_msg per message, FORS indices; upload to the device."""
        p, cp = self.p, self.cp
        if len(sks) != len(msgs):
            raise ValueError(f"{len(sks)} secret keys for {len(msgs)} messages")
        if max(len(sks) * p.k << p.a, len(sks) * p.d * p.len << p.hp) >= 2**32:
            raise ValueError(f"batch of {len(sks)} is too large: the kernels index hash calls with 32-bit integers")
        keys = [SecretKey.parse(p, sk) for sk in sks]
        msgs = [_bytes(m, "message") for m in msgs]
        addrnds = [None] * len(msgs) if addrnds is None else list(addrnds)
        if len(addrnds) != len(msgs):  # zip would silently sign fewer than B and launch over short arrays
            raise ValueError(f"{len(addrnds)} addrnd values for {len(msgs)} messages")
        opt = [k.pk_seed if r is None else _sized(r, p.n, "addrnd", p) for k, r in zip(keys, addrnds)]
        R = [prf_msg(p, k.sk_prf, o, m) for k, o, m in zip(keys, opt, msgs)]
        dg = split_digest(p, [h_msg(p, r, k.pk_seed, k.pk_root, m) for r, k, m in zip(R, keys, msgs)])
        pk_seed = _rows([k.pk_seed for k in keys])
        B = len(keys)
        st256 = seeded_state(SHA256, pk_seed).T.copy() if p.family == "sha2" else np.zeros((B, 8), np.uint32)
        st512 = seeded_state(SHA512, pk_seed).T.copy() if p.big_sha2 else np.zeros((B, 8), np.uint64)
        return {"B": B, "R": R,
                "pk_seed": cp.asarray(pk_seed), "sk_seed": cp.asarray(_rows([k.sk_seed for k in keys])),
                "st256": cp.asarray(st256), "st512": cp.asarray(st512),
                "idx_tree": cp.asarray(dg.idx_tree), "idx_leaf": cp.asarray(dg.idx_leaf.astype(np.uint32)),
                "fors_idx": cp.asarray(fors.indices(p, dg.md, fors_order).astype(np.uint32))}

    def alloc(self, B: int) -> dict:
        cp, p = self.cp, self.p
        return {"sig": cp.zeros((B, p.sig_bytes), cp.uint8), "roots_f": cp.zeros((B, p.k, p.n), cp.uint8),
                "fpk": cp.zeros((B, p.n), cp.uint8), "ends": cp.zeros((B * p.d << p.hp, p.len, p.n), cp.uint8),
                "roots_t": cp.zeros((B, p.d, p.n), cp.uint8),
                "lvl": [cp.zeros((B * p.k << (p.a - z), p.n), cp.uint8) for z in range(p.a + 1)]
                if self.fors_mode == "naive" else None}

    # ------------------------------------------------------------------ the three kernels
    def _go(self, name: str, grid, block, args, stream, shared_mem: int = 0) -> None:
        """Launch ``name`` on ``stream`` (RawKernel launches on the current stream)."""
        k = self.kern[name]
        if stream is None:
            k(grid, block, args, shared_mem=shared_mem)
        else:
            with stream:
                k(grid, block, args, shared_mem=shared_mem)

    def launch_fors(self, d: dict, buf: dict, stream=None) -> None:
        """FORS_Sign: fused (one kernel, levels in shared memory) or naive (one launch per level), then T_k."""
        p, c = self.p, self.cfg
        B = np.int32(d["B"])
        key = (d["pk_seed"], d["sk_seed"], d["st256"], d["st512"], d["idx_tree"], d["idx_leaf"])
        if self.fors_mode == "fused":
            tl, smem = fused_layout(p, c.tree_threads, c.fors_threads)
            if smem > 48 * 1024:
                self.kern["fors_sign_fused"].max_dynamic_shared_size_bytes = smem
            n = int(B) * p.k * c.tree_threads
            self._go("fors_sign_fused", (-(-n // c.fors_threads),), (c.fors_threads,),
                     (B, np.int32(tl), *key, d["fors_idx"], buf["sig"], buf["roots_f"]), stream, smem)
            roots = buf["roots_f"]
        else:
            n0 = int(B) * p.k << p.a
            self._go("fors_leaves_naive", (-(-n0 // 256),), (256,), (B, *key, d["fors_idx"], buf["sig"],
                                                                     buf["lvl"][0]), stream)
            for z in range(1, p.a + 1):
                nz = int(B) * p.k << (p.a - z)
                self._go("fors_level_naive", (-(-nz // 256),), (256,),
                         (B, np.int32(z), d["pk_seed"], d["st256"], d["st512"], d["idx_tree"], d["idx_leaf"],
                          d["fors_idx"], buf["lvl"][z - 1], buf["lvl"][z], buf["sig"]), stream)
            roots = buf["lvl"][p.a]
        self._go("fors_pk", (-(-int(B) // 128),), (128,), (B, d["pk_seed"], d["st256"], d["st512"], d["idx_tree"],
                                                            d["idx_leaf"], roots, buf["fpk"]), stream)

    def launch_tree(self, d: dict, buf: dict, stream=None) -> None:
        """TREE_Sign: all chains of all layers, then T_len and the XMSS levels per (signature, layer)."""
        p, c = self.p, self.cfg
        B = np.int32(d["B"])
        n = int(B) * p.d * (1 << p.hp) * p.len
        self._go("tree_chains", (-(-n // c.chain_threads),), (c.chain_threads,),
                 (B, d["pk_seed"], d["sk_seed"], d["st256"], d["st512"], d["idx_tree"], d["idx_leaf"], buf["ends"]),
                 stream)
        self._go("tree_build", (int(B) * p.d,), (max(32, 1 << p.hp),),
                 (B, d["pk_seed"], d["st256"], d["st512"], d["idx_tree"], d["idx_leaf"], buf["ends"], buf["sig"],
                  buf["roots_t"]), stream)

    def launch_wots(self, d: dict, buf: dict, stream=None) -> None:
        """WOTS+_Sign: partial chains signing the FORS key (layer 0) and the roots of the layers below."""
        p = self.p
        B = np.int32(d["B"])
        n = int(B) * p.d * p.len
        self._go("wots_sign", (-(-n // 128),), (128,), (B, d["pk_seed"], d["sk_seed"], d["st256"], d["st512"],
                                                         d["idx_tree"], d["idx_leaf"], buf["fpk"], buf["roots_t"],
                                                         buf["sig"]), stream)

    def launch_all(self, d: dict, buf: dict, stream=None) -> None:
        self.launch_fors(d, buf, stream)
        self.launch_tree(d, buf, stream)
        self.launch_wots(d, buf, stream)

    def finish(self, d: dict, buf: dict) -> list[bytes]:
        sig = to_numpy(buf["sig"])
        n = self.p.n
        return [d["R"][i] + sig[i, n:].tobytes() for i in range(d["B"])]

    def sign_internal_batch(self, sks, msgs, addrnds=None, fors_order: str = "fips205") -> list[bytes]:
        """slh_sign_internal for a batch on the GPU (same contract as the CPU function)."""
        if len(sks) == len(msgs) == 0:
            return []
        d = self.prepare(sks, msgs, addrnds, fors_order)
        buf = self.alloc(d["B"])
        self.launch_all(d, buf)
        return self.finish(d, buf)

    # ------------------------------------------------------------------ timing, tuning, graphs
    def _time(self, fn, reps: int) -> float:
        self._need_device()
        cp = self.cp
        fn()
        cp.cuda.Device().synchronize()
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        end.synchronize()
        return cp.cuda.get_elapsed_time(start, end) / 1e3 / reps

    def _wall(self, fn, reps: int) -> float:
        """Host seconds per call of ``fn`` until the device is idle (covers work on any stream, unlike
        :meth:`_time`, whose events sit on the default stream)."""
        self._need_device()
        dev = self.cp.cuda.Device()
        fn()
        dev.synchronize()
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        dev.synchronize()
        return (time.perf_counter() - t) / reps

    def kernel_times(self, batch: int, reps: int = 3, groups=("fors", "tree", "wots")) -> dict[str, float]:
        """Seconds per launch of each of the three kernels on a synthetic batch (deterministic keys)."""
        d, buf = self.synthetic(batch)
        launch = {"fors": self.launch_fors, "tree": self.launch_tree, "wots": self.launch_wots}
        return {g: self._time(lambda f=launch[g]: f(d, buf), reps) for g in groups}

    def _synthetic_inputs(self, batch: int, seed: int) -> tuple[list[bytes], list[bytes]]:
        rng = np.random.default_rng(seed)
        sk = rng.integers(0, 256, (batch, self.p.sk_bytes), dtype=np.uint8)
        msgs = [rng.integers(0, 256, 32, dtype=np.uint8).tobytes() for _ in range(batch)]
        return [r.tobytes() for r in sk], msgs

    def synthetic(self, batch: int, seed: int = 0) -> tuple[dict, dict]:
        """A device-ready batch from seeded random keys and messages (for timing only)."""
        d = self.prepare(*self._synthetic_inputs(batch, seed))
        return d, self.alloc(batch)

    def host_phase_s(self, batch: int, seed: int = 0) -> float:
        """Host seconds of :meth:`prepare` (PRF_msg, H_msg, index split, seeded states, upload) for a synthetic
        batch, until the device is idle: the work :meth:`throughput`'s kernel time leaves out."""
        self._need_device()
        sks, msgs = self._synthetic_inputs(batch, seed)
        t = time.perf_counter()
        self.prepare(sks, msgs)
        self.cp.cuda.Device().synchronize()
        return time.perf_counter() - t

    def tune(self, batch: int = 1024, reps: int = 3, cache: Path | None = TUNING_CACHE) -> dict:
        """Tree tuning: time every feasible (threads per tree, block size) layout of the fused FORS kernel and the
        chain kernel's block size at this batch size; cached in JSON per device, parameter set and batch."""
        self._need_device()
        p = self.p
        key = f"{self.device_name}|{p.short}|{batch}"
        if cache is not None and Path(cache).exists():
            stored = read_tuning_cache(cache)
            if key in stored and "tree_threads" in stored[key]:
                self.cfg.tree_threads = stored[key]["tree_threads"]
                self.cfg.fors_threads = stored[key]["fors_threads"]
                self.cfg.chain_threads = stored[key]["chain_threads"]
                return {"cached": True, **stored[key]}
        limit = self.cp.cuda.Device().attributes.get("MaxSharedMemoryPerBlockOptin", 48 * 1024)
        d, buf = self.synthetic(batch)
        mode, self.fors_mode = self.fors_mode, "fused"
        trials = []
        for tt in (1 << i for i in range(p.a + 1)):
            for nt in (64, 128, 256, 512, 1024):
                if nt % tt or fused_layout(p, tt, nt)[1] > limit:
                    continue
                self.cfg.tree_threads, self.cfg.fors_threads = tt, nt
                try:
                    t = self._time(lambda: self.launch_fors(d, buf), reps)
                except Exception as e:  # noqa: BLE001 - an infeasible launch (registers, shared memory) is skipped
                    trials.append({"tree_threads": tt, "threads": nt, "error": type(e).__name__})
                    continue
                trials.append({"tree_threads": tt, "threads": nt, "s": t})
        best = min((t for t in trials if "s" in t), key=lambda t: t["s"])
        self.cfg.tree_threads, self.cfg.fors_threads = best["tree_threads"], best["threads"]
        chain = []
        for ct in (64, 128, 256, 512):
            self.cfg.chain_threads = ct
            chain.append({"threads": ct, "s": self._time(lambda: self.launch_tree(d, buf), reps)})
        self.cfg.chain_threads = min(chain, key=lambda t: t["s"])["threads"]
        self.fors_mode = mode
        result = {"tree_threads": self.cfg.tree_threads, "fors_threads": self.cfg.fors_threads,
                  "chain_threads": self.cfg.chain_threads, "fors_trials": trials, "chain_trials": chain}
        if cache is not None:
            Path(cache).parent.mkdir(parents=True, exist_ok=True)
            stored = read_tuning_cache(cache) if Path(cache).exists() else {}
            stored[key] = result
            write_text_atomic(Path(cache), json.dumps(stored, indent=1))
        return {"cached": False, **result}

    def throughput(self, batch: int, reps: int = 3) -> float:
        """Signatures per second of the three kernels (device time, inputs already on the device; the host phase,
        :meth:`host_phase_s`, is not included)."""
        d, buf = self.synthetic(batch)
        return batch / self._time(lambda: self.launch_all(d, buf), reps)

    def launch_overhead(self, batch: int = 64, sub_batches: int = 16, streams: int = 4, reps: int = 20) -> dict:
        """Host launch cost of ``sub_batches`` small batches: per-kernel launches over streams vs one CUDA graph."""
        self._need_device()
        cp = self.cp
        parts = [self.synthetic(batch, seed=i) for i in range(sub_batches)]
        ss = [cp.cuda.Stream(non_blocking=True) for _ in range(streams)]

        def per_kernel():
            for i, (d, buf) in enumerate(parts):
                self.launch_all(d, buf, ss[i % streams])

        per_kernel()
        cp.cuda.Device().synchronize()
        t = time.perf_counter()
        for _ in range(reps):
            per_kernel()
        launch_pk = (time.perf_counter() - t) / reps
        cp.cuda.Device().synchronize()
        cap = cp.cuda.Stream(non_blocking=True)
        graph = self._capture(parts, cap, [])
        graph.launch(cap)
        cap.synchronize()
        t = time.perf_counter()
        for _ in range(reps):
            graph.launch(cap)
        launch_g = (time.perf_counter() - t) / reps
        cap.synchronize()
        wall_pk = self._wall(per_kernel, 3)
        wall_g = self._wall(lambda: graph.launch(cap), 3)
        kernels = len(parts) * (5 if self.fors_mode == "fused" else self.p.a + 5)
        out = {"per_kernel_launch_s": launch_pk, "graph_launch_s": launch_g, "ratio": launch_g / launch_pk,
               "kernels_per_replay": kernels, "per_kernel_wall_s": wall_pk, "graph_wall_s": wall_g,
               "sub_batches": sub_batches, "batch": batch}
        try:  # the same DAG with the sub-batches on parallel branches (fork/join events inside the capture)
            graph_b = self._capture(parts, cap, ss)
            out["graph_branches_wall_s"] = self._wall(lambda: graph_b.launch(cap), 3)
            out["graph_branches"] = streams
        except Exception as e:  # noqa: BLE001 - the one-stream figures above stand; the failure is reported
            cp.cuda.Device().synchronize()
            out["graph_branches_error"] = f"{type(e).__name__}: {e}"[:300]
        return out

    def _capture(self, parts, cap, branches):
        """One CUDA graph of every launch of ``parts``: on ``cap`` alone (``branches=[]``) or spread over the
        ``branches`` streams, forked from and joined back into ``cap`` with events during the capture."""
        cp = self.cp
        with cap:
            cap.begin_capture()
            try:
                fork = cp.cuda.Event(disable_timing=True)
                fork.record(cap)
                for s in branches:
                    s.wait_event(fork)
                for i, (d, buf) in enumerate(parts):
                    self.launch_all(d, buf, branches[i % len(branches)] if branches else cap)
                for s in branches:
                    join = cp.cuda.Event(disable_timing=True)
                    join.record(s)
                    cap.wait_event(join)
            except Exception:
                cap.end_capture()  # leave the stream out of capture mode before reporting
                raise
            graph = cap.end_capture()
        if hasattr(graph, "upload"):
            graph.upload(cap)
        return graph


def config_dict(cfg: Config) -> dict:
    return asdict(cfg)
