"""GPU path: CuPy RawKernels (``kernels/packkv.cu``) computing q·K^T and attn·V straight from packed tiles, the
cuBLAS fp16 baseline (``cupy.matmul`` on the decompressed cache), and the throughput benchmark.

CuPy is imported lazily; nothing here is needed on a machine without a CUDA device. Encoding stays on the CPU
(as in the paper); only decompression runs on the GPU. Long contexts are built by repeating the packed tiles of a
captured cache (the paper's rebuttal runs tile a 4K cache the same way), so the bytes per token are those of
real SmolLM2 KV data.
"""

from __future__ import annotations

import functools
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from support import cuda_tools
from support.packkv.blocks import PackedLayer
from support.xp import get_xp

KERNEL_DIR = Path(__file__).resolve().parent / "kernels"
KERNEL_FILE = KERNEL_DIR / "packkv.cu"
BLOCK, PACK, MAX_GQ = 64, 16, 8
HEAD_DIM_STEP = 32  # head_dim must be a multiple: NPACK = (BLOCK / PACK) * head_dim packs over 128 threads
# Peak HBM bandwidth (bytes/s) of cards we may meet, for "fraction of peak" figures.
PEAK_BW = {"H200": 4.8e12, "H100 SXM": 3.35e12, "H100 PCIe": 2.0e12, "H100": 3.35e12, "A100-SXM4-80GB": 2.04e12,
           "A100": 1.56e12, "L40S": 0.864e12, "RTX PRO 6000": 1.79e12}


def _cupy():
    import cupy

    return cupy


def peak_bandwidth(device_name: str) -> float | None:
    for key, bw in PEAK_BW.items():
        if key.lower() in device_name.lower():
            return bw
    return None


def nvcc_compile(head_dim: int = 64, arch: str = "sm_90", out_dir: Path | None = None) -> Path:
    """Compile ``packkv.cu`` to a cubin with nvcc (a build check; CuPy itself compiles with NVRTC)."""
    nvcc = cuda_tools.find_nvcc()
    if nvcc is None:
        raise FileNotFoundError("nvcc not found (PATH, $CUDA_HOME/bin, /usr/local/cuda/bin, /usr/local/bin)")
    out = Path(out_dir or tempfile.mkdtemp(prefix="packkv_")) / f"packkv_d{head_dim}_{arch}.cubin"
    res = subprocess.run([nvcc, "-cubin", f"-arch={arch}", "-O3", f"-DHEAD_DIM={head_dim}", "-o", str(out),
                          str(KERNEL_FILE)], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"nvcc failed:\n{res.stderr[-4000:]}")
    return out


def array_module(emulate: bool):
    """The array module of the kernels' memory: CuPy on a GPU, NumPy under the CPU emulator."""
    return get_xp("numpy" if emulate else "cupy")


@functools.lru_cache(maxsize=8)
def _module(head_dim: int, emulate: bool = False):
    """The kernels compiled by NVRTC, or with ``emulate`` by the host compiler under :mod:`support.cuda_emu`
    (correctness checks without a GPU)."""
    if emulate:
        from support.cuda_emu import EmuModule

        return EmuModule(path=KERNEL_FILE, options=(f"-DHEAD_DIM={head_dim}",))
    cp = _cupy()
    return cp.RawModule(code=KERNEL_FILE.read_text(), options=("--std=c++14", f"-DHEAD_DIM={head_dim}"),
                        name_expressions=None)


@dataclass
class DevicePacked:
    """One packed tensor (K or V) of ``n_seq`` sequences on the GPU."""

    planes: object
    tile_off: object
    mins: object
    widths: object
    min_bytes: int
    width_bytes: int
    raw_bits: int
    width_bits: int
    scale: object  # (n_seq, T) float16
    zero: object  # (n_seq, T) int16
    n_seq: int
    n_blocks: int
    n_kv: int
    head_dim: int
    nbytes: int  # serialized bytes (packed tiles + scale/zero) of all sequences
    emulate: bool = False  # NumPy arrays for the CPU emulator instead of device arrays

    @property
    def n_tokens(self) -> int:
        return self.n_blocks * BLOCK


def check_head_dim(head_dim: int) -> int:
    """``head_dim`` if the kernels can take it: a positive multiple of :data:`HEAD_DIM_STEP` (the tile scan gives
    each of the 128 threads a whole number of the ``4 * head_dim`` packs), else ValueError naming it."""
    if head_dim < HEAD_DIM_STEP or head_dim % HEAD_DIM_STEP:
        raise ValueError(f"GPU kernels need head_dim a positive multiple of {HEAD_DIM_STEP}, got {head_dim}")
    return head_dim


def to_device(layers: list[PackedLayer], which: str, repeat: int = 1, emulate: bool = False) -> DevicePacked:
    """Upload the packed K (``which="k"``) or V of ``layers`` (one per sequence, same shape), each sequence's
    tiles repeated ``repeat`` times along the context (``emulate``: keep them in host memory for the CPU
    emulator)."""
    cp = array_module(emulate)
    ps = [pl.k if which == "k" else pl.v for pl in layers]
    tqs = [pl.kq if which == "k" else pl.vq for pl in layers]
    p0 = ps[0]
    if p0.pack != PACK or p0.block != BLOCK or p0.raw_bits > 8:
        raise ValueError(f"GPU kernels need pack {PACK}, block {BLOCK} and raw_bits <= 8 "
                         f"(got {p0.pack}, {p0.block}, {p0.raw_bits})")
    check_head_dim(p0.head_dim)
    if any(tq.per_head for tq in tqs):
        raise ValueError("GPU kernels take one scale per token (per_head=False)")
    if any((p.raw_bits, p.width_bits, p.n_tokens, p.n_heads, p.head_dim) !=
           (p0.raw_bits, p0.width_bits, p0.n_tokens, p0.n_heads, p0.head_dim) for p in ps):
        raise ValueError("all sequences must share shape and field widths")
    planes, offs, mins, wids, scales, zeros, base = [], [], [], [], [], [], 0
    for p, tq in zip(ps, tqs):
        for _ in range(repeat):
            planes.append(p.planes)
            offs.append(p.offsets[:-1].astype(np.int64) + base)
            base += int(p.offsets[-1])
            mins.append(p.mins), wids.append(p.widths)
        scales.append(np.tile(tq.scale, repeat)), zeros.append(np.tile(tq.zero, repeat))
    offs.append(np.array([base]))
    pad = np.zeros(1, np.uint8)  # read_field may touch one byte past the last field
    nbytes = sum(p.nbytes + tq.meta_nbytes() for p, tq in zip(ps, tqs)) * repeat
    return DevicePacked(cp.asarray(np.concatenate(planes).astype(np.uint16)),
                        cp.asarray(np.concatenate(offs).astype(np.uint32)),
                        cp.asarray(np.concatenate([np.concatenate(mins).reshape(-1), pad])),
                        cp.asarray(np.concatenate([np.concatenate(wids).reshape(-1), pad])),
                        p0.mins.shape[1], p0.widths.shape[1], p0.raw_bits, p0.width_bits,
                        cp.asarray(np.stack(scales).astype(np.float16)), cp.asarray(np.stack(zeros).astype(np.int16)),
                        len(ps), p0.n_blocks * repeat, p0.n_heads, p0.head_dim, nbytes, emulate)


def _query_heads(x) -> int:
    """Query heads per KV head of ``x`` ``(n_seq, n_kv, gq, ...)``; the kernels keep at most MAX_GQ in shared memory."""
    gq = x.shape[2]
    if not 1 <= gq <= MAX_GQ:
        raise ValueError(f"1 to {MAX_GQ} query heads per KV head, got {gq}")
    return gq


def _launch(name: str, d: DevicePacked, x, out) -> None:
    gq = _query_heads(x)
    k = _module(d.head_dim, d.emulate).get_function(name)
    k((d.n_blocks, d.n_kv, d.n_seq), (128,),
      (d.planes, d.tile_off, d.mins, d.widths, np.int32(d.min_bytes), np.int32(d.width_bytes),
       np.int32(d.raw_bits), np.int32(d.width_bits), d.scale, d.zero, x, out, np.int32(d.n_blocks),
       np.int32(d.n_kv), np.int32(gq), np.int32(d.n_tokens)))


def _check_operand(x, shape: tuple[int, ...], what: str) -> None:
    """Refuse an operand whose shape differs from ``shape`` (``-1``: any query-head count): the kernels index it
    from the cache's own sizes, so a wrong shape would read or write past its end."""
    if len(x.shape) != len(shape) or any(want not in (-1, got) for want, got in zip(shape, x.shape)):
        want = "(" + ", ".join("gq" if v == -1 else str(v) for v in shape) + ")"
        raise ValueError(f"{what} must have shape {want}, got {tuple(x.shape)}")


def qk(d: DevicePacked, q):
    """Scores ``(n_seq, n_kv, gq, T)`` float32 from queries ``(n_seq, n_kv, gq, D)``."""
    cp = array_module(d.emulate)
    _check_operand(q, (d.n_seq, d.n_kv, -1, d.head_dim), "q")
    q = cp.ascontiguousarray(q, dtype=cp.float32)
    out = cp.empty((d.n_seq, d.n_kv, q.shape[2], d.n_tokens), dtype=cp.float32)
    _launch("packkv_qk", d, q, out)
    return out


def wv(d: DevicePacked, w):
    """``(n_seq, n_kv, gq, D)`` float32 from weights ``(n_seq, n_kv, gq, T)``."""
    cp = array_module(d.emulate)
    _check_operand(w, (d.n_seq, d.n_kv, -1, d.n_tokens), "w")
    w = cp.ascontiguousarray(w, dtype=cp.float32)
    out = cp.zeros((d.n_seq, d.n_kv, w.shape[2], d.head_dim), dtype=cp.float32)
    _launch("packkv_wv", d, w, out)
    return out


def dense_fp16(layers: list[PackedLayer], which: str, repeat: int = 1, emulate: bool = False):
    """The decompressed cache in fp16 ``(n_seq * n_kv, T, D)`` (stored token order): the cuBLAS baseline's input
    (``emulate``: in host memory, for the dense kernels under the CPU emulator)."""
    cp = array_module(emulate)
    parts = []
    for pl in layers:
        k, v = pl.dequantize(original_order=False)
        x = k if which == "k" else v
        parts.append(np.tile(x, (1, repeat, 1)))
    return cp.asarray(np.concatenate(parts).astype(np.float16))


def baseline_qk(K16, q16):
    """cuBLAS (``cupy.matmul``, fp16) scores ``(B, gq, T)``: computed as ``(B, T, D) @ (B, D, gq)`` so the large
    operand is read in place (C-contiguous, no copy); the result is returned as a transposed view."""
    cp = _cupy()
    return cp.matmul(K16, q16.transpose(0, 2, 1)).transpose(0, 2, 1)


def baseline_wv(V16, w16):
    cp = _cupy()
    return cp.matmul(w16, V16)


def _dense(name: str, x16, y, n_kv: int, emulate: bool = False):
    """Launch ``dense_qk``/``dense_wv`` on a dense fp16 cache ``x16`` ``(n_seq * n_kv, T, D)``."""
    cp = array_module(emulate)
    if len(x16.shape) != 3 or x16.dtype != np.float16:
        raise ValueError(f"the dense cache must be float16 (n_seq * n_kv, T, D), got {x16.dtype} {tuple(x16.shape)}")
    S, T, D = x16.shape
    if n_kv < 1 or S % n_kv or T % BLOCK:
        raise ValueError(f"cache shape {x16.shape} does not split into {n_kv} KV heads and {BLOCK}-token blocks")
    check_head_dim(D)
    _check_operand(y, (S // n_kv, n_kv, -1, D if name == "dense_qk" else T), "q" if name == "dense_qk" else "w")
    y = cp.ascontiguousarray(y, dtype=cp.float32)
    gq = _query_heads(y)
    shape = (S // n_kv, n_kv, gq, T if name == "dense_qk" else D)
    out = cp.zeros(shape, dtype=cp.float32)
    k = _module(D, emulate).get_function(name)
    k((T // BLOCK, n_kv, S // n_kv), (128,), (cp.ascontiguousarray(x16), y, out, np.int32(T // BLOCK),
                                              np.int32(n_kv), np.int32(gq), np.int32(T)))
    return out


def dense_qk(K16, q, n_kv: int, emulate: bool = False):
    """Scores ``(n_seq, n_kv, gq, T)`` from the dense fp16 cache by the fused kernels' skeleton without decoding
    (the same-design baseline)."""
    return _dense("dense_qk", K16, q, n_kv, emulate)


def dense_wv(V16, w, n_kv: int, emulate: bool = False):
    """``(n_seq, n_kv, gq, D)`` from the dense fp16 cache by the fused kernels' skeleton without decoding."""
    return _dense("dense_wv", V16, w, n_kv, emulate)


def time_ms(fn, reps: int = 20, warmup: int = 3) -> float:
    """Median milliseconds of ``fn()`` over ``reps`` runs, timed with CUDA events after ``warmup`` runs."""
    cp = _cupy()
    for _ in range(warmup):
        fn()
    cp.cuda.Device().synchronize()
    ts = []
    for _ in range(reps):
        a, b = cp.cuda.Event(), cp.cuda.Event()
        a.record()
        fn()
        b.record()
        b.synchronize()
        ts.append(cp.cuda.get_elapsed_time(a, b))
    return float(np.median(ts))


def device_name() -> str:
    """The current CUDA device's model name (see :func:`support.cuda_tools.device_name`)."""
    return cuda_tools.device_name(_cupy())
