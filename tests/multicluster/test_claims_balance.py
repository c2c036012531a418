"""Claim helpers of paper 11: the balance-score rule (0.88 vs 0.71 is a comparison) and the HPA-sweep lookups."""

import math

import pandas as pd
import pytest

from support.multicluster.claims import CLAIMS, balance_score_holds
from support.multicluster.experiments import dominated_targets, hpa_at, matched_slo_efficiency


def test_balance_score_holds_only_near_0_88_and_above_the_hpa():
    assert balance_score_holds(0.90, 0.80)
    assert not balance_score_holds(0.935, 0.968)     # near 0.88 but the baseline balances better
    assert not balance_score_holds(0.70, 0.50)       # above the baseline but 20 % below 0.88
    assert balance_score_holds(0.88 * 1.1 - 1e-9, 0.5) and not balance_score_holds(0.88 * 1.1 + 1e-6, 0.5)
    assert CLAIMS["balance_score"].judge(balance_score_holds(0.935, 0.968)).value == "not reproduced"


@pytest.fixture
def sweep():
    return pd.DataFrame({"target": [0.9, 0.7, 0.8], "efficiency": [0.88, 0.69, 0.79],
                         "latency_cv": [0.31, 0.0006, 0.01], "slo_violation": [0.05, 0.0, 0.0]})


def test_hpa_at_interpolates_between_neighbouring_targets_and_is_nan_outside(sweep):
    # efficiency 0.835 lies halfway between 80 % (0.79, CV 0.01) and 90 % (0.88, CV 0.31): CV 0.16
    assert hpa_at(sweep, "efficiency", 0.835, "latency_cv") == pytest.approx(0.16)
    assert hpa_at(sweep, "efficiency", 0.69, "latency_cv") == pytest.approx(0.0006)
    assert math.isnan(hpa_at(sweep, "efficiency", 0.95, "latency_cv"))


def test_matched_slo_efficiency_takes_the_better_target_where_two_tie_on_violations(sweep):
    # 70 % and 80 % both have 0 violations: the HPA's efficiency at 0 is the better one (0.79), not the mean
    assert matched_slo_efficiency(sweep, 0.0) == pytest.approx(0.79)
    assert matched_slo_efficiency(sweep, 0.025) == pytest.approx(0.835)  # halfway from 80 % to 90 %
    assert math.isnan(matched_slo_efficiency(sweep, 0.1))


def test_dominated_targets_lists_the_targets_both_less_efficient_and_more_variable(sweep):
    assert dominated_targets(sweep, 0.85, 0.13) == []          # 70 %, 80 %: less variable; 90 %: more efficient
    assert dominated_targets(sweep, 0.85, 0.005) == [0.8]
    assert dominated_targets(sweep, 0.90, 0.0001) == [0.7, 0.8, 0.9]
