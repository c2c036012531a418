"""The notebook's metric helpers compute what their captions state (hand-computed cases)."""

from __future__ import annotations

import numpy as np
import pytest

from support.dpor_estimate.experiments import RunSet, cost_rows, estimate_runs


def test_predicted_exhaustive_time_uses_probe_timing_not_the_exhaustive_time():
    # 2 runs x 2 probes; node estimates average 50 in both runs; 2 s for 100 expanded graphs per run
    rs = RunSet("toy", "program", 1, classes=np.ones((2, 2)), nodes=np.array([[40.0, 60.0], [50.0, 50.0]]),
                seconds=np.array([2.0, 2.0]), work=np.array([100, 100]))
    row = cost_rows(rs, exact_nodes=50, exact_seconds=999.0)
    assert row["median estimate"] == 50.0
    assert row["rel. error"] == 0.0
    # 50 graphs x (4 s / 200 graphs) = 1 s; the actual exhaustive time is only reported beside it
    assert row["predicted exhaustive s"] == pytest.approx(1.0)
    assert row["actual exhaustive s"] == 999.0


def test_estimate_runs_counts_expanded_graphs():
    # CO-2+2W(2) has no reads, so no revisit ever deletes events: every Knuth probe adds the 4 writes
    # (4 expansions) and then looks at the leaf (1 more) -> 5 children() calls per probe.
    rs = estimate_runs("co_2_2w(2)", "program", 1, trials=10, runs=2, seed=0)
    assert rs.work.tolist() == [50, 50]


@pytest.mark.parametrize(("budget", "trials", "runs"), [(0, 10, 1), (2.0, 10, 1), (1, 0, 1), (1, 10, 0)])
def test_estimate_runs_refuses_budgets_and_counts_that_would_score_silently(budget, trials, runs):
    with pytest.raises(ValueError, match="budget|trials"):
        estimate_runs("co_2_2w(2)", "program", budget, trials=trials, runs=runs, seed=0)
