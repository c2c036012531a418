"""Is HERO-Sign's FORS kernel bound by hashing? One batch of fused and of naive FORS, to run under Nsight Compute.

Tree fusion (arXiv 2512.23969, abstract: "FORS tree fusion") saves launches and global-memory round trips; if the FORS kernels keep the
integer pipes busy anyway, fusion cannot speed them up. This launches ``launch_fors`` once per mode on a synthetic
batch and prints the hash calls it makes, so that ``ncu`` (pipe utilisation, memory throughput, duration) gives the
rate and the bound. On a CUDA machine:

    ncu -k 'regex:^fors_(sign|leaves|level)' --section SpeedOfLight --section ComputeWorkloadAnalysis \\
        --section Occupancy python benchmarks/herosign_fors_profile.py --batch 8192

(the run of 2026-11-29 is in ``data/gpu_runs/2026-11-29_h200/ncu_fors_*.log``; T_k's ``fors_pk`` is left out).

``--emulate`` runs the same launches under :mod:`support.cuda_emu` (a dry run of this script, no timing).
"""

from __future__ import annotations

import argparse
import time

from support.herosign.gpu import Config, GpuSigner
from support.herosign.params import get_params


def fors_hash_calls(params, batch: int) -> int:
    """Hash calls of FORS_Sign's trees for ``batch`` signatures (:meth:`Params.fors_tree_calls`; T_k left out)."""
    return batch * get_params(params).fors_tree_calls()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="sha2-128f")
    ap.add_argument("--batch", type=int, default=8192)
    ap.add_argument("--tree-threads", type=int, default=2, help="fused layout: threads per tree (H200 tuning: 2)")
    ap.add_argument("--fors-threads", type=int, default=512, help="fused layout: block size (H200 tuning: 512)")
    ap.add_argument("--emulate", action="store_true", help="run the kernels on the CPU emulator (dry run)")
    a = ap.parse_args(argv)
    cfg = Config(tree_threads=a.tree_threads, fors_threads=a.fors_threads)
    print(f"{a.set}: {fors_hash_calls(a.set, a.batch):,} FORS tree hash calls per batch of {a.batch}")
    for mode in ("fused", "naive"):
        g = GpuSigner(a.set, cfg, fors_mode=mode, emulate=a.emulate)
        d, buf = g.synthetic(a.batch)
        t0 = time.perf_counter()
        g.launch_fors(d, buf)
        if not a.emulate:
            g.cp.cuda.Device().synchronize()
        print(f"  {mode}: launch_fors done in {time.perf_counter() - t0:.4f} s wall (profiled: see ncu)")


if __name__ == "__main__":
    main()
