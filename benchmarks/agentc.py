"""Per-check latency of the SMT monitor vs the brute-force (reference) evaluator, one run, with ratios.

Every call of the 200 recorded GPT-4o airline runs is checked by both (same prefix, same candidate),
plus partial calls (the tool name known, arguments open), which only the SMT monitor can answer.
Usage: python benchmarks/agentc.py [--runs N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from support.agentc.dsl import builtin_policy
from support.agentc.experiments import airline_trajectories, latency_comparison
from support.agentc.smt import Candidate, SmtMonitor


def partial_checks(n_runs: int | None) -> pd.Series:
    pol = builtin_policy("airline")
    ms = []
    for r in airline_trajectories(n_runs):  # None: all runs
        mon = SmtMonitor(pol)
        for j, e in enumerate(r.events):
            if e.is_call and e.name in pol.writes:
                mon.reset(r.events[:j])
                t0 = time.perf_counter()
                mon.check(Candidate(e.name, {}, complete=False))
                ms.append(1e3 * (time.perf_counter() - t0))
    return pd.Series(ms, dtype=float)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=None, help="number of recorded runs (default: all 200)")
    a = ap.parse_args()
    if a.runs is not None and a.runs < 1:
        ap.error(f"--runs must be >= 1, got {a.runs}")
    lat = latency_comparison(a.runs)
    part = partial_checks(a.runs)
    rows = []
    for label, col in (("SMT monitor (z3), complete calls", lat.smt_ms), ("brute-force evaluator", lat.ref_ms),
                       ("SMT monitor, partial write calls (args open)", part)):
        rows.append({"checker": label, "checks": len(col), "median ms": col.median(), "p90 ms": col.quantile(0.9),
                     "p99 ms": col.quantile(0.99), "max ms": col.max()})
    df = pd.DataFrame(rows)
    print(df.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    r_med = lat.smt_ms.median() / lat.ref_ms.median()
    r_p99 = lat.smt_ms.quantile(0.99) / lat.ref_ms.quantile(0.99)
    print(f"\nratio SMT / brute force: median {r_med:.1f}x, p99 {r_p99:.1f}x; verdicts agree on "
          f"{int(lat.agree.sum())}/{len(lat)} checks")
    trig = lat[lat.tool.isin(builtin_policy('airline').writes)]
    print(f"write calls only ({len(trig)}): SMT median {trig.smt_ms.median():.2f} ms vs brute force "
          f"{trig.ref_ms.median():.3f} ms ({trig.smt_ms.median() / trig.ref_ms.median():.0f}x)")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
