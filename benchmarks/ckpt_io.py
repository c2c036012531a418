"""Benchmark for paper 09 (checkpoint I/O): every engine saves and restores the same Llama-2-7B TP=8 rank,
interleaved, median of the measured rounds after one warm-up, fsync inside each timed write (pages dropped
after the clock stops), cold reads; prints write / read GB/s and our ratio over each peer (one run, not a test).

    python benchmarks/ckpt_io.py [--layers 32] [--repeats 5] [--target DIR] [--quick]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("PAPER_REPRO_QUIET", "1")

import pandas as pd

from support.ckpt_io import experiments as X
from support.ckpt_io import mixes, posix


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=32, help="transformer layers of the rank (32 = the full rank)")
    ap.add_argument("--optimizer", action="store_true", help="add fp32 master weights and Adam moments")
    ap.add_argument("--repeats", type=int, default=5, help="measured rounds (one warm-up round more)")
    ap.add_argument("--target", default=None, help="directory to write under (default: the system temp dir)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="2 layers, 2 rounds")
    args = ap.parse_args()
    if args.quick:
        args.layers, args.repeats = 2, 2
    mix = mixes.llama2_7b_tp8(layers=args.layers, optimizer=args.optimizer)
    d = X.scratch(args.target)
    try:
        env = posix.detect(d)
        print(f"target {d} ({env.fs_type}); O_DIRECT: {env.o_direct_reason}; io_uring: {env.io_uring_reason}")
        print(f"mix: {mix.description}: {mix.count} tensors, {mix.nbytes / 2**30:.3f} GiB; "
              f"{args.repeats} measured rounds after 1 warm-up\n")
        df = X.end_to_end(d, mix, seed=args.seed, repeats=args.repeats)
    finally:
        X.cleanup(d)
    tab = X.t1_table(df)
    pd.set_option("display.width", 160)
    print(tab.round(3).to_string())
    if df.attrs.get("unavailable"):
        print("\nnot measured:", df.attrs["unavailable"])


if __name__ == "__main__":
    main()
