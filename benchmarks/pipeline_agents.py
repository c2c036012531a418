"""Paper 05 benchmark: policy-bounded agents vs Airflow-like static orchestration on the default scenario
(batch TPC-H DAG + Azure-trace streaming, calibrated faults), with the notebook's inputs and seeds at each scale.
One run; prints what the notebook's claims measure (MTTR, cost, manual interventions, freshness, violations) for
both controllers, agentic as a ratio of static in the same run, then each claim's value beside the paper's.

    python benchmarks/pipeline_agents.py [--scale smoke|default] [--seeds N] [--horizon-h H]
"""

from __future__ import annotations

import argparse
import math
import os

os.environ.setdefault("PAPER_REPRO_QUIET", "1")

import pandas as pd

from support.claims import Verdict
from support.pipeline_agents import experiments as X
from support.pipeline_agents.claims import CLAIMS
from support.pipeline_agents.params import Params
from support.wording import count, number

# (column of experiments.headline's rows, label, reduction over the seeds); manual pages are summed, as the manual
# claim's reduction is taken from the exact page totals (experiments.reductions)
MEASURES = (("mttr_s", "mean time to recover (s), mean", "mean"),
            ("cost", "cost (USD), mean", "mean"),
            ("manual", "manual interventions (pages), total", "sum"),
            ("batch_fresh", "batch runs within freshness SLO, mean", "mean"),
            ("stream_fresh", "stream windows within lag SLO, mean", "mean"))


def peer_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per measure: static, agentic and agentic / static over the same seeds (NaN where static is 0 or
    nothing was measured)."""
    by = df.groupby("controller")
    rows = []
    for col, label, how in MEASURES:
        v = getattr(by[col], how)()
        s, a = float(v["static"]), float(v["agentic"])
        rows.append({"measure": label, "static": s, "agentic": a, "agentic / static": a / s if s else math.nan})
    return pd.DataFrame(rows)


def claim_values(df: pd.DataFrame, chk: dict) -> dict:
    """The values the notebook records for its comparison claims, from the same experiments functions."""
    red = X.reductions(df)
    return {"mttr_reduction": red["mttr"], "cost_reduction": red["cost"], "manual_reduction": red["manual"],
            "freshness_kept": X.freshness_kept(red), "zero_violations": chk["executed_violations"]}


def claim_verdicts(df: pd.DataFrame, chk: dict, values: dict | None = None) -> dict[str, str]:
    """Each claim's verdict by the notebook's rule: not applicable, with the reason, where experiments.unmeasured
    finds nothing measured for it (no executed action for zero_violations), else the claim's rule on its value
    (``values``: :func:`claim_values` of the same run, computed here when not given)."""
    values = claim_values(df, chk) if values is None else values
    gaps = X.unmeasured(df, chk)
    return {name: f"{Verdict.NOT_APPLICABLE.value}: {gaps[name]}" if name in gaps
            else CLAIMS[name].judge(v).value if math.isfinite(v) else "nothing measured"
            for name, v in values.items()}


def _fmt(name: str, v) -> str:
    if name == "freshness_kept":
        return number(v, "+.1f", " pp")
    if name == "zero_violations":
        return number(v, "d", " actions")
    return number(v, ".1%")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", choices=("smoke", "default"), default="smoke")
    ap.add_argument("--seeds", type=int, default=0, help="0 picks by scale (2 smoke, 20 default)")
    ap.add_argument("--horizon-h", type=float, default=24.0)
    a = ap.parse_args()
    if a.seeds < 0:
        ap.error(f"--seeds must be >= 0 (0 picks by scale), got {a.seeds}")
    if not a.horizon_h > 0:
        ap.error(f"--horizon-h must be > 0, got {a.horizon_h}")
    seeds = a.seeds or (2 if a.scale == "smoke" else 20)
    sf = 0.01 if a.scale == "smoke" else 0.05
    inp = X.load_inputs(sf, reps=1 if a.scale == "smoke" else 3)
    df, chk, _ = X.headline(inp, Params(horizon_h=a.horizon_h), inp.faults, range(seeds))
    pd.set_option("display.width", 160)
    print(f"agentic vs static orchestration, {count(seeds, 'seed')} x {a.horizon_h:g} h, TPC-H SF {sf:g} ({a.scale})")
    print(peer_table(df).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\npages by cause (total over the seeds):\n{X.page_causes(df).to_string()}")
    print("\nclaims (the notebook's values for this run; the verdict is the claim's rule on them, or not applicable "
          "where the run measured nothing for it, as in the notebook):")
    values = claim_values(df, chk)
    verdicts = claim_verdicts(df, chk, values)
    for name, v in values.items():
        print(f"  {name:18s} {_fmt(name, v):>14s}  paper {_fmt(name, CLAIMS[name].paper_value):>12s}  {verdicts[name]}")
    print(f"  ({chk['executed_actions']} executed agent actions re-validated with Rego)")


if __name__ == "__main__":
    main()
