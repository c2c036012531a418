"""benchmarks/pipeline_agents.py: the peer table (agentic as a ratio of static over the same seeds), the claim values
it prints (the notebook's, from the same experiments functions) with the notebook's verdicts, not applicable where
nothing was measured, and the arguments it refuses."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys

import pandas as pd
import pytest

from support.paths import REPO_ROOT
from support.pipeline_agents import experiments as X
from support.pipeline_agents.claims import CLAIMS

SCRIPT = REPO_ROOT / "benchmarks" / "pipeline_agents.py"
_spec = importlib.util.spec_from_file_location("pipeline_agents_benchmark", SCRIPT)
B = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(B)

# two seeds per controller whose means differ from their totals: static pages 3 humans in all, agentic 1
COLS = {"static": {"mttr_s": [100.0, 500.0], "mttr_batch_s": [400.0, 400.0], "mttr_stream_s": [200.0, 200.0],
                   "cost": [10.0, 30.0], "cost_batch": [5.0, 5.0], "cost_stream": [5.0, 25.0], "manual": [3, 0],
                   "batch_fresh": [0.5, 0.5], "stream_fresh": [0.9, 0.9]},
        "agentic": {"mttr_s": [30.0, 90.0], "mttr_batch_s": [100.0, 100.0], "mttr_stream_s": [150.0, 150.0],
                    "cost": [15.0, 15.0], "cost_batch": [4.0, 4.0], "cost_stream": [11.0, 11.0], "manual": [1, 0],
                    "batch_fresh": [0.75, 0.75], "stream_fresh": [0.8, 0.8]}}


def _frame(cols=COLS) -> pd.DataFrame:
    return pd.DataFrame([{"controller": ctl, "seed": i, **{k: v[i] for k, v in c.items()}}
                         for ctl, c in cols.items() for i in range(2)])


def test_peer_table_gives_seed_means_page_totals_and_agentic_over_static():
    t = B.peer_table(_frame()).set_index("measure")
    rows = {label: t.loc[label] for _col, label, _how in B.MEASURES}
    mttr, cost, manual, batch, stream = rows.values()
    assert (mttr.static, mttr.agentic, mttr["agentic / static"]) == pytest.approx((300.0, 60.0, 0.2))
    assert (cost.static, cost.agentic, cost["agentic / static"]) == pytest.approx((20.0, 15.0, 0.75))
    assert (manual.static, manual.agentic, manual["agentic / static"]) == pytest.approx((3.0, 1.0, 1 / 3))
    assert batch["agentic / static"] == pytest.approx(1.5) and stream["agentic / static"] == pytest.approx(8 / 9)


def test_peer_ratio_is_nan_where_the_static_baseline_has_nothing():
    cols = {"static": {**COLS["static"], "manual": [0, 0]}, "agentic": COLS["agentic"]}
    manual = B.peer_table(_frame(cols)).set_index("measure").iloc[2]
    assert manual.static == 0 and manual.agentic == 1 and math.isnan(manual["agentic / static"])


def test_claim_values_are_the_notebooks_reductions_freshness_and_violations():
    df = _frame()
    red = X.reductions(df)
    v = B.claim_values(df, {"executed_actions": 12, "executed_violations": 2})
    assert v == {"mttr_reduction": red["mttr"], "cost_reduction": red["cost"], "manual_reduction": red["manual"],
                 "freshness_kept": X.freshness_kept(red), "zero_violations": 2}
    assert (v["mttr_reduction"], v["cost_reduction"], v["manual_reduction"], v["freshness_kept"]) == pytest.approx(
        (0.8, 0.25, 2 / 3, -10.0))


@pytest.mark.parametrize(("args", "message"), [(["--seeds", "-1"], "--seeds must be >= 0"),
                                               (["--horizon-h", "0"], "--horizon-h must be > 0")])
def test_benchmark_refuses_a_negative_seed_count_and_a_horizon_not_above_zero(args, message):
    r = subprocess.run([sys.executable, str(SCRIPT), *args], check=False, capture_output=True, text=True,
                       cwd=REPO_ROOT, timeout=120)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_zero_violations_is_not_applicable_when_no_agent_action_executed_as_in_the_notebook():
    # before: 0 violations among 0 executed actions printed "reproduced" while the notebook recorded not applicable
    v = B.claim_verdicts(_frame(), {"executed_actions": 0, "executed_violations": 0})
    assert v["zero_violations"] == "not applicable here: no agent action executed in 2 seeds: nothing to re-validate"


def test_claims_with_data_are_judged_by_their_rule_and_a_missing_baseline_is_not_applicable():
    v = B.claim_verdicts(_frame(), {"executed_actions": 12, "executed_violations": 0})
    assert v["zero_violations"] == "reproduced" and v["mttr_reduction"] == CLAIMS["mttr_reduction"].judge(0.8).value
    cols = {"static": {**COLS["static"], "manual": [0, 0]}, "agentic": COLS["agentic"]}
    v = B.claim_verdicts(_frame(cols), {"executed_actions": 12, "executed_violations": 0})
    assert v["manual_reduction"] == ("not applicable here: the static baseline paged no human in 2 seeds: "
                                     "nothing to reduce")
