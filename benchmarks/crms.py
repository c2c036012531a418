"""CRMS benchmark (paper 06): runtime vs number of apps (N up to 50, polynomial-time claim) and CRMS vs
baselines on the default trace-driven scenario. One run, prints tables; not a test.

    python benchmarks/crms.py [--seeds 5] [--max-n 50]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("PAPER_REPRO_QUIET", "1")

import pandas as pd

from support.crms import experiments as X


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--max-n", type=int, default=50)
    a = ap.parse_args()
    if a.max_n < 5 or a.seeds < 1:  # the log-log slope needs two sizes (2 and 5); the summary needs one seed
        ap.error(f"--max-n must be >= 5 and --seeds >= 1, got --max-n {a.max_n} and --seeds {a.seeds}")
    _, models, _ = X.fit_profiles(X.recorded_profile(), 1 / 3, X.derive(0, "holdout"))
    Ns = [n for n in (2, 5, 10, 20, 35, 50, 75, 100) if n <= a.max_n]
    rt = X.runtime_vs_n(models, Ns, seed=0)
    pd.set_option("display.width", 200)
    print("CRMS runtime vs number of apps (stage-1 compile included)")
    print(rt.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"log-log slope: {X.loglog_slope(rt):.2f}")
    rows, summ = X.headline(models, range(a.seeds), X.default_server(), w_pow=0.002)
    print("\nCRMS vs baselines, default scenario (latency averaged over the seeds where a method is stable)")
    print(X.method_summary(rows).to_string(float_format=lambda v: f"{v:.4f}"))
    print("\nper seed: reduction of mean latency vs the best heuristic / best search baseline")
    print(summ.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
