"""PackKV benchmark (paper 08): compression ratio, accuracy and mat-vec throughput ratios, one run.

    python benchmarks/packkv.py                       # CPU: CR + accuracy table, NumPy fused vs dense timing
    python benchmarks/packkv.py --no-cpu --gpu        # GPU: kernels vs NumPy, fused vs cuBLAS fp16 throughput
    python benchmarks/packkv.py --no-cpu --save-captured kv.npz   # real layers for a GPU box without the model
    python benchmarks/packkv.py --gpu --captured kv.npz           # GPU part from those layers (no model needed)

Accuracy: SmolLM2-135M, contexts of Macbeth prefilled exactly, then evaluated tokens run against the compressed
cache (KL vs the uncompressed model). CR: fp16 bytes / serialized bytes (metadata included). Throughput ratio:
t_baseline / t_fused (> 1: fused is faster). Results are also written to $OUT/packkv_benchmark.json when OUT is set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from support.packkv import experiments as E
from support.paths import write_text_atomic
from support.xp import gpu_available


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--context", type=int, default=384, help="context tokens per window (default 384)")
    ap.add_argument("--n-eval", type=int, default=64, help="evaluated tokens per window (default 64)")
    ap.add_argument("--windows", type=int, default=2, help="calibration windows (default 2)")
    ap.add_argument("--no-cpu", action="store_true", help="skip the accuracy sweep and the CPU timing")
    ap.add_argument("--gpu", action="store_true", help="run the GPU checks and throughput (needs CuPy + CUDA)")
    ap.add_argument("--gpu-contexts", default="1024,4096,16384,32768", help="contexts for the GPU throughput")
    ap.add_argument("--batches", default="1,8", help="batch sizes for the GPU throughput")
    ap.add_argument("--save-captured", metavar="NPZ", help="write the first 8 captured layers (q, K, V) to NPZ")
    ap.add_argument("--captured", metavar="NPZ", help="read the layers from NPZ instead of running the model "
                    "(implies --no-cpu)")
    a = ap.parse_args(argv)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 30)
    out: dict = {}
    t0 = time.perf_counter()
    if a.captured:
        kv, a.no_cpu = E.load_layer_kv(a.captured), True
        print(f"# {len(kv)} captured layers read from {a.captured}")
    else:
        st = E.setup(a.context, a.n_eval, a.windows, 0, recent=128)
        print(f"# model + windows ready in {time.perf_counter() - t0:.1f} s: {st.info}")
        kv = E.layer_kv(st)
    if a.save_captured:
        print(f"# layers written to {E.save_layer_kv(kv, a.save_captured)}")
    if not a.no_cpu:
        settings = [E.Setting("packkv", "K", rel=r) for r in (0.04, 0.06, 0.1)]
        settings += [E.Setting("kivi", "K", bits=b, group=32) for b in (4, 3, 2)]
        settings += [E.Setting("packkv", "V", rel=r) for r in (0.1, 0.2, 0.3)]
        settings += [E.Setting("kivi", "V", bits=b, group=64) for b in (4, 3, 2)]
        df = E.sweep(st, settings)
        cols = ["setting", "tensor", "kl", "top1", "dppl", "attn_err", "cr", "cr_quant_only", "cr_median"]
        print("\n## Compression ratio and accuracy (SmolLM2-135M)\n")
        print(df[cols].round(4).to_string(index=False))
        cpu = E.cpu_matvec(kv, 0.1, 0.2)
        print("\n## CPU mat-vec (NumPy fused reference vs NumPy matmul on the decompressed float32 cache)\n")
        print(f"tokens {cpu['tokens']}: throughput ratio fused/dense qK {cpu['ratio_qk']:.3f}, "
              f"wV {cpu['ratio_wv']:.3f} (the NumPy path is a correctness reference, not a fast path)")
        out["sweep"] = df.to_dict(orient="records")
        out["cpu"] = cpu
    if a.gpu:
        if not gpu_available():
            print("no CUDA GPU: GPU part skipped")
        else:
            chk = E.gpu_check(kv, 0.1, 0.2)
            print(f"\n## GPU kernels vs NumPy: {chk}")
            tp = E.gpu_throughput(kv, contexts=[int(x) for x in a.gpu_contexts.split(",")],
                                  batches=[int(x) for x in a.batches.split(",")])
            print("\n## GPU mat-vec: fused PackKV vs cuBLAS fp16 (cupy.matmul), median of 20 CUDA-event timings\n")
            print(tp.round(4).to_string(index=False))
            gk, gv = (1 + E.best_baseline_gain_pct(tp, t) / 100 for t in "kv")
            print(f"\nmean speedup vs the faster fp16 baseline of each row (the claims): K {gk:.3f}x, V {gv:.3f}x "
                  "(paper: 1.757x K, 2.717x V on A100 / RTX Pro 6000)")
            print(f"vs cuBLAS alone: K {tp.speedup_k.mean():.3f}x, V {tp.speedup_v.mean():.3f}x; vs the same kernels "
                  f"on the dense fp16 cache: K {tp.speedup_k_vs_dense.mean():.3f}x, V {tp.speedup_v_vs_dense.mean():.3f}x")
            out["gpu_check"] = chk
            out["gpu_throughput"] = tp.to_dict(orient="records")
    if os.environ.get("OUT"):
        p = Path(os.environ["OUT"]) / "packkv_benchmark.json"
        write_text_atomic(p, json.dumps(out, indent=2, default=str))
        print(f"written {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
