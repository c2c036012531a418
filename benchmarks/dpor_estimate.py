"""Time to a +/-20 % estimate vs exhaustive exploration (paper 04, arXiv 2512.23996, §7).

Prints, per benchmark: exhaustive TruSt time and node count, then for Knuth (T) and stochastic
enumeration SE(B): median time of one estimation run, the fraction of runs within +/-20 % of the
published count, the trials (and seconds) after which >= 80 % of runs stay within +/-20 %, and the
ratios of that time and of a full run to the exhaustive time (the issue asks <= 2 % for big1).

    python benchmarks/dpor_estimate.py                 # big1 (about 2-3 minutes exhaustive)
    python benchmarks/dpor_estimate.py big0 lastzero(10) --runs 10
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("PAPER_REPRO_QUIET", "1")

import numpy as np

from support.dpor_estimate.benchmarks import make, spec_count
from support.dpor_estimate.experiments import band_row, estimate_runs, time_to_band
from support.dpor_estimate.order import POLICIES, with_order
from support.dpor_estimate.trust import explore


def check_args(ap: argparse.ArgumentParser, a: argparse.Namespace) -> None:
    """Refuse bad counts and specs before the first exhaustive exploration (minutes), with ``ap.error``."""
    low = [f"--{k.replace('_', '-')} {v}" for k, v in (("budget", a.budget), ("trials", a.trials),
                                                         ("knuth_trials", a.knuth_trials), ("runs", a.runs))
           if v < 1]
    if low:
        ap.error(f"{', '.join(low)}: must be >= 1")
    for spec in a.specs:
        try:
            make(spec)
        except ValueError as e:
            ap.error(str(e))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("specs", nargs="*", default=["big1"])
    ap.add_argument("--policy", default="writers_first", choices=POLICIES)
    ap.add_argument("--budget", type=int, default=8)
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--knuth-trials", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    check_args(ap, a)
    hdr = (f"{'benchmark':<14}{'estimator':<12}{'trials':>7}{'s/run':>8}{'within±20%':>11}{'to band':>8}"
           f"{'s to band':>10}{'exhaustive s':>13}{'nodes':>10}{'ratio(band)':>12}{'ratio(run)':>11}")
    print(hdr)
    print("-" * len(hdr))
    for spec in a.specs:
        exact = spec_count(spec)
        ex = explore(with_order(make(spec), a.policy))
        if exact is None:
            exact = ex.complete
        elif ex.complete != exact:
            print(f"{spec}: exhaustive count {ex.complete} != published {exact}")
        for budget, trials in ((1, a.knuth_trials), (a.budget, a.trials)):
            rs = estimate_runs(spec, a.policy, budget, trials, a.runs, a.seed)
            row = band_row(rs, exact)
            t = float(np.median(rs.seconds))
            tb = time_to_band(rs, exact)
            n, sb = tb["trials to band"], tb["seconds to band"]
            rb = "never" if sb is None else f"{sb / ex.seconds:.2%}"
            print(f"{spec:<14}{rs.label:<12}{trials:>7}{t:>8.2f}{row['within ±20%']:>11.0%}"
                  f"{('-' if n is None else n):>8}{('-' if sb is None else f'{sb:.2f}'):>10}"
                  f"{ex.seconds:>13.1f}{ex.nodes:>10}{rb:>12}{t / ex.seconds:>11.2%}")


if __name__ == "__main__":
    main()
