"""03's grid_size claim ("at least 5 workloads x 5 seeds in the claim grid", issue 15) is a support function, not a
threshold typed into the notebook: each side of the 5 x 5 edge, and its verdict through the recorder."""

import pytest

from support.claims import ClaimRecorder, Verdict
from support.vgc import experiments as X
from support.vgc.claims import CLAIMS

FIVE = ["trees", "lru", "prodcons", "static_churn", "graph"]


@pytest.mark.parametrize(("workloads", "seeds", "meets"), [
    (FIVE, range(5), True),        # exactly the edge: 5 x 5
    (FIVE, range(12), True),
    (FIVE, range(4), False),       # one seed short
    (FIVE[:4], range(5), False),   # one workload short
    (FIVE[:1], range(50), False),  # many seeds do not make up for workloads
    ([], [], False),
])
def test_the_grid_meets_the_issue_at_five_workloads_and_five_seeds(workloads, seeds, meets):
    assert X.grid_meets_issue(workloads, seeds) is meets


def test_grid_size_counts_the_seeds_given_as_a_list_too():
    assert X.grid_meets_issue(FIVE, [0, 1, 2, 3, 4]) is True
    assert X.grid_meets_issue(FIVE, [0, 1, 2, 3]) is False


def test_grid_size_verdicts_at_default_scale_and_not_applicable_at_smoke(tmp_path):
    rec = ClaimRecorder(CLAIMS, "default", tmp_path)
    assert rec.record("grid_size", X.grid_meets_issue(FIVE, range(5)), "5 x 5") is Verdict.REPRODUCED
    assert rec.record("grid_size", X.grid_meets_issue(FIVE, range(4)), "5 x 4") is Verdict.NOT_REPRODUCED
    smoke = ClaimRecorder(CLAIMS, "smoke", tmp_path)
    assert smoke.record("grid_size", X.grid_meets_issue(FIVE, range(2)), "5 x 2") is Verdict.NOT_APPLICABLE
