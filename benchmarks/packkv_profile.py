"""Where do PackKV's fused kernels spend their time? One launch of each GPU kernel, to run under Nsight Compute.

The fused decompress + mat-vec kernels (arXiv 2512.24449, abstract: "fused decompression with matrix-vector
multiplication") read 6.4-6.6x fewer bytes than the same kernels on the dense fp16 cache, yet on the H200 they are
no faster (notebook 08, GPU section). This launches ``packkv_qk``, ``packkv_wv``, ``dense_qk`` and ``dense_wv`` once
on real SmolLM2 K/V in Llama-3.1-8B geometry (:func:`support.packkv.experiments.llama_like`), so that ``ncu`` shows
what bounds each (memory, shared memory, the decode's integer work, occupancy). On a CUDA machine:

    ncu -k 'regex:^(packkv|dense)_' --section SpeedOfLight --section MemoryWorkloadAnalysis \\
        --section ComputeWorkloadAnalysis --section Occupancy --section WarpStateStats \\
        python benchmarks/packkv_profile.py --captured kv.npz --batch 8 --context 32768

``kv.npz`` from ``benchmarks/packkv.py --no-cpu --save-captured kv.npz``; ``--emulate`` runs the same launches
under :mod:`support.cuda_emu` (a dry run of this script; use a small ``--context``).
"""

from __future__ import annotations

import argparse

import numpy as np

from support.packkv import experiments as E
from support.packkv import gpu


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--captured", required=True, metavar="NPZ", help="layers written by packkv.py --save-captured")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--context", type=int, default=32768)
    ap.add_argument("--rel-k", type=float, default=0.1)
    ap.add_argument("--rel-v", type=float, default=0.2)
    ap.add_argument("--emulate", action="store_true", help="run the kernels on the CPU emulator (dry run)")
    a = ap.parse_args(argv)
    pl = E.throughput_layer(E.load_layer_kv(a.captured), a.rel_k, a.rel_v)  # the data gpu_throughput times
    dk, dv, K16, V16 = E.device_caches(pl, a.batch, a.context, a.emulate)
    cp = gpu.array_module(a.emulate)
    rng = np.random.default_rng(0)
    q = cp.asarray(rng.standard_normal((a.batch, 8, 4, 128)).astype(np.float32))
    w = rng.random((a.batch, 8, 4, dk.n_tokens)).astype(np.float32)
    w = cp.asarray(w / w.sum(axis=-1, keepdims=True))
    print(f"batch {a.batch}, context {dk.n_tokens}: packed K {dk.nbytes / 2**20:.1f} MiB, V {dv.nbytes / 2**20:.1f} MiB,"
          f" dense fp16 {2 * K16.size / 2**20:.1f} MiB each")
    out = {"packkv_qk": gpu.qk(dk, q), "packkv_wv": gpu.wv(dv, w),
           "dense_qk": gpu.dense_qk(K16, q, 8, a.emulate), "dense_wv": gpu.dense_wv(V16, w, 8, a.emulate)}
    host = {k: np.asarray(v.get() if hasattr(v, "get") else v) for k, v in out.items()}
    for which in ("qk", "wv"):  # the same decompressed values (fp16-rounded in the dense cache): agree to ~1e-3
        ref = host[f"dense_{which}"]
        err = float(np.abs(host[f"packkv_{which}"] - ref).max() / np.abs(ref).max())
        print(f"  {which}: packed vs dense kernel, max error / max|ref| {err:.1e}")


if __name__ == "__main__":
    main()
