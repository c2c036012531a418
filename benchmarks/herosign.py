"""HERO-Sign benchmark: CPU signing throughput of ours vs slh-dsa vs pqcrypto (one run, ratios), and on a CUDA
GPU the fused-vs-naive FORS and graph-vs-per-kernel launch comparisons.

    python benchmarks/herosign.py [--sets sha2-128f,shake-128f] [--batch 64] [--gpu-batches 1024,8192,32768]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from support.herosign import experiments as ex
from support.herosign.params import F_SETS
from support.paths import write_text_atomic
from support.plotting import save_figure


def _f_sets(ap: argparse.ArgumentParser, flag: str, text: str) -> list[str]:
    """The comma-separated f parameter sets of ``flag``; an unknown or empty list ends with ``ap.error``."""
    sets = [s for s in text.split(",") if s]
    bad = [s for s in sets if s not in F_SETS]
    if bad or not sets:
        ap.error(f"{flag}: unknown f parameter sets {bad or text!r}; choose from {', '.join(F_SETS)}")
    return sets


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="sha2-128f,shake-128f,sha2-192f,sha2-256f")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--peer-sigs", type=int, default=5)
    ap.add_argument("--gpu-batches", default="1024,8192,32768")
    ap.add_argument("--gpu-sets", default="sha2-128f,sha2-192f,sha2-256f")
    ap.add_argument("--no-cpu", action="store_true")
    args = ap.parse_args(argv)
    sets, gpu_sets = _f_sets(ap, "--sets", args.sets), _f_sets(ap, "--gpu-sets", args.gpu_sets)
    try:
        gpu_batches = [int(b) for b in args.gpu_batches.split(",") if b]
    except ValueError:
        gpu_batches = []
    if not gpu_batches or min(gpu_batches) < 1:
        ap.error(f"--gpu-batches must be comma-separated integers >= 1, got {args.gpu_batches!r}")
    out = os.environ.get("OUT")
    report = {}
    if not args.no_cpu:
        import pandas as pd

        df = ex.cpu_throughput(sets, args.batch, args.peer_sigs, np.random.default_rng(0))
        with pd.option_context("display.width", 140, "display.precision", 3):
            print("CPU signatures per CPU-second (one core), same run:")
            print(df.to_string(index=False))
        report["cpu"] = df.to_dict(orient="records")
    study = ex.gpu_study(gpu_sets, gpu_batches)
    if study:
        for name, res in study["sets"].items():
            print(f"\nGPU {res['device']} {name}: builds {res['builds']['chosen']}, tuning "
                  f"{ex.fors_layout(res['tuning'])}, block {res['tuning']['fors_threads']}")
            for r in res["throughput"]:
                print(f"  batch {r['batch']:>6}: fused {r['fused_sig_s']:>10.0f} sig/s  naive {r['naive_sig_s']:>10.0f}"
                      f"  ratio {r['fused_sig_s'] / r['naive_sig_s']:.2f}  FORS kernel "
                      f"{r['fors_naive_s'] / r['fors_fused_s']:.2f}x  host phase {r['host_s']:.3f} s "
                      f"(kernel time only above; end to end {ex.end_to_end_sig_s(r):.0f}"
                      " sig/s)")
            g = res["graph"]
            if "error" in g:
                print(f"  launch overhead not measured: {g['error']}")
            else:
                print(f"  launch: per-kernel {g['per_kernel_launch_s'] * 1e6:.0f} us, graph "
                      f"{g['graph_launch_s'] * 1e6:.0f} us (ratio {g['ratio']:.4f}, {g['kernels_per_replay']} kernels)")
        report["gpu"] = study
        if out:
            import matplotlib

            matplotlib.use("Agg")
            fig = ex.plot_gpu_anchors(study)
            for p in save_figure(fig, "herosign_gpu_anchors", Path(out), formats=("png",)):
                print(f"figure: {p}")
    else:
        print("\nno CUDA device: GPU comparisons skipped")
    if out:
        write_text_atomic(Path(out) / "herosign_benchmark.json", json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
