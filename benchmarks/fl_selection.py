"""CSRA benchmark (paper 07): CSRA against random selection with equal bandwidth (the conventional scheme)
and the other selectors on FedAvg over MNIST-5k with Dirichlet(0.1) label skew. One run; prints the per-method
table and CSRA's savings as ratios. Not a timed test.

    python benchmarks/fl_selection.py [--scale smoke|default|paper]
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace

os.environ.setdefault("PAPER_REPRO_QUIET", "1")

import pandas as pd

from support.fl_selection import experiments as X

SCALES = {  # clients, participation, rounds, seeds, methods
    "smoke": (10, 0.3, 8, 1, ("csra", "csra_no_het", "random")),
    "default": (50, 0.2, 30, 2, ("csra", "csra_no_het", "random", "best_channel", "power_of_choice", "oort")),
    "paper": (50, 0.2, 50, 5, ("csra", "csra_no_het", "random", "best_channel", "all_clients", "power_of_choice",
                               "oort")),
}
def parse_methods(ap: argparse.ArgumentParser, text: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """The ``--methods`` list, every name checked before any run (an unknown one ends with ``ap.error``)."""
    if not text:
        return default
    methods = tuple(m.strip() for m in text.split(",") if m.strip())
    bad = [m for m in methods if m not in X.RUNNABLE]
    if bad or not methods:
        ap.error(f"--methods: unknown {bad or text!r}; choose from {', '.join(X.RUNNABLE)} ("
                 + ", ".join(f"{k} comes with {v}" for k, v in X.BY_PRODUCTS.items()) + ")")
    return methods


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", choices=list(SCALES), default="default")
    ap.add_argument("--alpha", type=float, default=0.1)
    ap.add_argument("--target", type=float, default=0.75)
    ap.add_argument("--seeds", type=int, default=0, help="override the scale's number of seeds (0: the scale's)")
    ap.add_argument("--methods", default="", help="comma-separated subset of methods")
    ap.add_argument("--c1", type=float, default=None,
                    help="heterogeneity constant (default: calibrated in this run, as notebook 07 does)")
    ap.add_argument("--c2", type=float, default=None, help="sample-size constant (default: calibrated, as --c1)")
    a = ap.parse_args()
    if a.seeds < 0:
        ap.error(f"--seeds must be >= 1 (or 0 for the scale's number), got {a.seeds}")
    if (a.c1 is None) != (a.c2 is None):
        ap.error("give both --c1 and --c2, or neither (then both are calibrated in this run)")
    K, part, rounds, n_seeds, methods = SCALES[a.scale]
    n_seeds = a.seeds or n_seeds
    methods = parse_methods(ap, a.methods, methods)
    try:
        setup = X.Setup(n_clients=K, participation=part, rounds=rounds, alpha=a.alpha, target_accuracy=a.target,
                        **({} if a.c1 is None else {"c1": a.c1, "c2": a.c2}))
    except ValueError as e:  # ParameterError: one line naming the parameter
        ap.error(str(e))
    source = "given"
    if a.c1 is None:
        _, fit = X.calibrate(setup.dataset, seed=0, **X.CALIBRATION[a.scale])
        setup = replace(setup, c1=fit.c1, c2=fit.c2)
        source = f"calibrated in this run: notebook 07's {a.scale} calibration, R^2 = {fit.r2:.3f}"
    _, summ = X.headline(setup, range(n_seeds), methods)
    pd.set_option("display.width", 200)
    print(f"FedAvg on MNIST-5k, K = {K}, m = {setup.m}, alpha = {a.alpha}, {rounds} rounds, {n_seeds} seed(s), "
          f"target {a.target:.0%}; generalization constants c1 = {setup.c1:.3f}, c2 = {setup.c2:.3f} ({source})")
    print(X.method_table(summ).to_string(float_format=lambda v: f"{v:.4f}"))
    rows = {ref: X.savings(summ, "csra", ref) for ref in ("random", "random_opt", "csra_no_het") if ref in
            set(summ.method)}
    print("\nCSRA relative to each reference (saving = 1 - CSRA / reference; acc gap in percentage points)")
    print(pd.DataFrame(rows).T.to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
