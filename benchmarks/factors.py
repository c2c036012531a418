"""Benchmark for paper 02 (factors): our runtime / funsor runtime on SLDS sizes, and ours vs pgmpy VE on the
discrete networks shipped in the pgmpy wheel. One run, ratios printed as tables (not a test).

    python benchmarks/factors.py [--quick]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("PAPER_REPRO_QUIET", "1")

import pandas as pd

from support.factors import experiments as X
from support.factors import models as M


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    cases = [(2, 4), (2, 8)] if args.quick else [(2, 4), (2, 6), (2, 8), (2, 10), (2, 12), (2, 14), (3, 5), (3, 7)]
    sweep = X.slds_sweep(cases, [("exact", 0), ("gpb1", 0), ("gpb2", 0)], seed=args.seed, funsor=True, repeats=3)
    agree = X.funsor_agreement(sweep)
    agree["ours/funsor"] = agree.ours_s / agree.funsor_s
    pd.set_option("display.width", 160)
    print("SLDS: ours vs funsor (numpy backend), best of 3")
    print(agree[["K", "T", "method", "ours_s", "funsor_s", "ours/funsor", "abs_diff_log_z"]].to_string(index=False))
    nets = ["asia", "alarm"] if args.quick else list(M.DISCRETE_NETWORKS)
    bn = X.discrete_bn_table(nets, n_queries=3, n_evidence=5, seed=args.seed)
    print("\nDiscrete BNs: our VE vs pgmpy VE (3 queries x 5 evidence, totals)")
    print(bn.to_string(index=False))


if __name__ == "__main__":
    main()
