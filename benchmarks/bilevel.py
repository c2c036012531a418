"""RABO/RAFBO benchmark (paper 10): pruned clients vs the named peers on hyper-cleaning (MNIST-5k, 50% noise)
and hyper-representation (digits), as ratios to the full-model run from one run each. Not a test.

    python benchmarks/bilevel.py [--scale smoke|default] [--seed 0]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("PAPER_REPRO_QUIET", "1")

import pandas as pd

from support.bilevel import experiments as X


def ratios(tab: pd.DataFrame) -> pd.DataFrame:
    full = tab.loc["full model (upper bound)"]
    out = pd.DataFrame({
        "final_objective": tab.final_objective,
        "objective / full": tab.final_objective / full.final_objective,
        "test_acc": tab.test_acc,
        "acc / full": tab.test_acc / full.test_acc,
        "work / full": tab.work_total / full.work_total,
        "C_x*": tab["C_x*"],
    })
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", choices=("smoke", "default"), default="default")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    smoke = a.scale == "smoke"
    pd.set_option("display.width", 200)
    fmt = lambda v: f"{v:.4f}"
    s = X.cleaning_setup(a.seed, dataset="digits" if smoke else "mnist5k", n_pool=600 if smoke else 2000,
                         n_val=400 if smoke else 1000, batch=100 if smoke else 200, val_batch=100 if smoke else 200)
    runs = X.cleaning_study(s, list(X.CLEANING_METHODS), 15 if smoke else 100, a.seed, eval_every=10)
    base = X.uncleaned(s)
    print(f"Hyper-cleaning ({'digits' if smoke else 'MNIST-5k'}, 50% noise), budgets {X.BUDGETS}; "
          f"uncleaned test accuracy {base['test_acc']:.4f}")
    print(ratios(X.summary_table(runs)).to_string(float_format=fmt))
    task, Xte, yte = X.rep_setup(a.seed)
    reps = {m: X.rep_run(task, Xte, yte, m, 30 if smoke else 150, a.seed, eval_every=10) for m in X.REP_METHODS}
    print("\nHyper-representation (digits, Dirichlet(0.5) clients)")
    print(ratios(X.summary_table(reps)).to_string(float_format=fmt))


if __name__ == "__main__":
    main()
