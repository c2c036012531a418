"""CSRA benchmark (paper 07): CSRA against random selection with equal bandwidth (the conventional scheme)
and the other selectors on FedAvg over MNIST-5k with Dirichlet(0.1) label skew. One run; prints the per-method
table and CSRA's savings as ratios. Not a timed test.

    python benchmarks/fl_selection.py [--scale smoke|default|paper]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("PAPER_REPRO_QUIET", "1")

import pandas as pd

from support.fl_selection import experiments as X

SCALES = {  # clients, participation, rounds, seeds, methods
    "smoke": (10, 0.3, 8, 1, ("csra", "csra_no_het", "random")),
    "default": (50, 0.2, 30, 2, ("csra", "csra_no_het", "random", "best_channel", "power_of_choice", "oort")),
    "paper": (50, 0.2, 50, 5, ("csra", "csra_no_het", "random", "best_channel", "all_clients", "power_of_choice",
                               "oort")),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", choices=list(SCALES), default="default")
    ap.add_argument("--alpha", type=float, default=0.1)
    ap.add_argument("--target", type=float, default=0.75)
    ap.add_argument("--seeds", type=int, default=0, help="override the scale's number of seeds")
    ap.add_argument("--methods", default="", help="comma-separated subset of methods")
    ap.add_argument("--c1", type=float, default=0.731, help="heterogeneity constant (default: the notebook's fit)")
    ap.add_argument("--c2", type=float, default=1.686, help="sample-size constant (default: the notebook's fit)")
    a = ap.parse_args()
    K, part, rounds, n_seeds, methods = SCALES[a.scale]
    n_seeds = a.seeds or n_seeds
    methods = tuple(a.methods.split(",")) if a.methods else methods
    setup = X.Setup(n_clients=K, participation=part, rounds=rounds, alpha=a.alpha, target_accuracy=a.target,
                    c1=a.c1, c2=a.c2)
    _, summ = X.headline(setup, range(n_seeds), methods)
    pd.set_option("display.width", 200)
    print(f"FedAvg on MNIST-5k, K = {K}, m = {setup.m}, alpha = {a.alpha}, {rounds} rounds, {n_seeds} seed(s), "
          f"target {a.target:.0%}; generalization constants c1 = {setup.c1}, c2 = {setup.c2}")
    print(X.method_table(summ).to_string(float_format=lambda v: f"{v:.4f}"))
    rows = {ref: X.savings(summ, "csra", ref) for ref in ("random", "random_opt", "csra_no_het") if ref in
            set(summ.method)}
    print("\nCSRA relative to each reference (saving = 1 - CSRA / reference; acc gap in percentage points)")
    print(pd.DataFrame(rows).T.to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
