"""Paper 11 benchmark: proactive multi-cluster controller vs the Kubernetes HPA baseline on the held-back
30 % of the three real traces (Alibaba 2018, Google 2019, Azure v2), then on the bursty fine-grained federation
(Azure LLM code / conversation, Alibaba GenAI gateway; 60 s intervals). One run; prints ratios, not a timed test.

    python benchmarks/multicluster.py [--scale smoke|default|paper]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("PAPER_REPRO_QUIET", "1")

import pandas as pd

from support.multicluster import experiments as X
from support.multicluster.federation import BURSTY_NAMES, NAMES, FederationConfig
from support.multicluster.oracles import oracle_bound_lines


def print_headline(h: dict) -> None:
    """One line per claim value of ``experiments.headline``; the perfect-foresight bound's parts as readable lines
    (oracle_bound_lines), not the dataclass's repr."""
    for k, v in h.items():
        if k != "oracle_bound_parts":
            print(f"  {k:24s} {v}")
        elif v is None:
            print("  perfect-foresight bound: not run (no perfect-foresight forecaster at this scale)")
        else:
            print("\n".join(f"  {line}" for line in oracle_bound_lines(v)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="smoke", choices=("smoke", "default", "paper"))
    a = ap.parse_args()
    plan = X.SCALES[a.scale]
    cfg = FederationConfig()
    rows = []
    for off in plan["windows"]:
        r, _ = X.run_window(cfg, off, plan["forecasters"], plan["test_intervals"], label=str(off))
        rows += r
    pd.set_option("display.width", 200)
    print(f"scale {a.scale}: windows {plan['windows']}, test intervals {plan['test_intervals'] or 'all'}")
    print(X.summary_table(rows).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print("\nproactive (ridge) relative to HPA:")
    print_headline(X.headline(rows, NAMES))
    w0 = plan["windows"][0]
    sweep = X.hpa_target_sweep(cfg, w0, plan["sweep"], plan["test_intervals"])
    print("\nHPA target sweep (first window):")
    print(sweep.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    r = next(r for r in rows if r["key"] == X.HEADLINE and r["window"] == str(w0))
    hpa_eff = X.matched_slo_efficiency(sweep, r["slo_violation"])
    print(f"\nefficiency ratio proactive / HPA at the same SLO-violation share: {r['efficiency'] / hpa_eff:.3f}")

    b = plan["bursty"]
    bcfg = X.bursty_config(cfg)
    brows, info = X.run_bursty(bcfg, b["forecasters"], b["test_intervals"], period=X.BURSTY_PERIOD)
    print("\nbursty fine-grained federation (held-back 30 %, 60 s intervals):")
    for f, why in info["failed"].items():
        print(f"  {f}: run stopped ({why[:100]})")
    print(X.summary_table(brows).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print("\nproactive (ridge) relative to HPA, bursty:")
    print_headline(X.headline(brows, BURSTY_NAMES))


if __name__ == "__main__":
    main()
