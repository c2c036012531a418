"""VGC benchmark (paper 03): ZONE (VGC-like) against GEN / GEN-2T (CPython-like) and INCR (PyPy-like) on
the same synthetic multithreaded traces at one heap budget. One run; prints the p99-pause and
peak-memory ratios with 95% bootstrap CIs and the per-collector means. Not a test.

    python benchmarks/vgc.py [--scale smoke|default] [--budget 2.0] [--threads 2]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("PAPER_REPRO_QUIET", "1")

import pandas as pd

from support import scratch
from support.vgc import experiments as X
from support.vgc.workloads import WORKLOADS

# recorded allocations, trace allocations, seeds, timing runs per recorded program
SIZES = {"smoke": (15000, 6000, 2, 1), "default": (150000, 50000, 5, 3)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", choices=list(SIZES), default="smoke")
    ap.add_argument("--budget", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    n_rec, n_alloc, n_seeds, n_timing = SIZES[a.scale]
    try:  # the notebook's checks: --budget 0 would silently mean "no budget", below 1 cannot hold the peak live bytes
        X.check_parameters(a.budget, a.threads, list(WORKLOADS), 2000)
    except ValueError as e:
        ap.error(str(e))
    with scratch.folder("vgc_bench_") as work:  # recorded traces (up to tens of MB), removed once decoded
        recs = X.record_programs(n_rec, work, repeats=n_timing)
    fid, calib, _ = X.fidelity(recs)
    shared = {"mark_rate": calib["ns_per_event"] / calib["ns_per_work"]}
    grid = X.claim_grid(list(WORKLOADS), range(n_seeds), n_alloc, a.threads, a.budget, calib, **shared)
    pd.set_option("display.width", 200)
    print(f"calibration from {len(recs)} recorded CPython programs: {calib['ns_per_work']:.1f} ns/work unit, "
          f"{calib['ns_per_event']:.0f} ns/event; GEN count error max "
          f"{fid[[f'relerr_gen{g}' for g in range(3)]].to_numpy().max():.3f}; Spearman(GEN work, real pause) "
          f"{calib['spearman_pooled']:.2f}")
    print(f"\nper collector, mean over {grid.workload.nunique()} workloads x {n_seeds} seeds "
          f"({a.threads} threads, budget {a.budget}x peak live)")
    cols = ["p50_work", "p99_work", "max_work", "p99_ms", "mmu_10ms", "peak_committed", "fragmentation"]
    print(grid.groupby("collector")[cols].mean().to_string(float_format=lambda v: f"{v:.3f}"))
    print("\nratio vs best of GEN, GEN-2T (ratio of means, 95% bootstrap CI)")
    r = pd.DataFrame(X.claim_ratios(grid)).T[["ratio", "lo", "hi", "n"]]
    print(r.to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
