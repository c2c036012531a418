"""metrics.summarize on a hand-built two-cluster trajectory: every field against values computed by hand.

Metric definitions of paper 11's reconstruction (notes section 1.2): efficiency, stabilisation after a burst,
latency CV, balance (Jain, 1 - CV, cluster fill), scaling events per hour, SLO violations.
"""

import math

import numpy as np
import pytest

from support.multicluster.metrics import LARGE_BURST, burst_times, recovery_time, summarize
from support.multicluster.simulate import Trajectory

MU, SLO, INTERVAL, DT = 10.0, 0.15, 60, 15  # 4 steps of 15 s per 60 s interval; 6 intervals = 24 steps


@pytest.fixture
def traj():
    S = 24
    spec = np.zeros((S, 2), int)
    spec[:, 0] = [2] * 6 + [6] + [8] * 17            # two changes (steps 6 and 7) after the burst at interval 1
    spec[:, 1] = [2] + [4] * 23                      # one change (step 1) after the burst at interval 0
    load = np.zeros((S, 2))
    load[:, 0] = [10.0] * 6 + [60.0] * 18            # busy 1 replica, then 6
    load[:, 1] = 30.0                                # busy 3 replicas (2 while only 2 are ready)
    lat = np.full((S, 2), 0.12)
    lat[:, 0] = 0.1
    lat[10, 0] = 0.2                                 # one SLO violation (> 0.15 s) on cluster 0
    t = DT * np.arange(S)  # from interval 0, the start summarize is given
    return Trajectory("hand", t, spec, spec.copy(), load, lat, audit=None)


@pytest.fixture
def rates():
    # origin demand per interval boundary: cluster 0 jumps x4 at boundary 1 -> 2, cluster 1 by +10 % at 0 -> 1;
    # with 3 changes per cluster, the 97.5 % quantile keeps each cluster's largest: bursts (1, 0) and (0, 1)
    r = np.zeros((7, 2))
    r[:, 0] = [10, 10, 40, 40, 40, 40, 40]
    r[:, 1] = [20, 22, 22, 22, 22, 22, 22]
    return r


def test_summarize_gives_every_metric_as_computed_by_hand(traj, rates):
    m = summarize(traj, rates, 0, MU, SLO, INTERVAL, capacity=(10, 5))
    assert m["controller"] == "hand"
    # used / allocated replica-seconds: busy = min(load / mu, ready)
    assert m["efficiency_per_cluster"] == pytest.approx([114 / 154, 71 / 94])
    assert m["efficiency"] == pytest.approx(185 / 248)
    # latency CV per cluster: 23 x 0.1 s and 1 x 0.2 s -> std 0.1 sqrt(23) / 24, mean 2.5 / 24 -> sqrt(23) / 25
    assert m["latency_cv_per_cluster"] == pytest.approx([math.sqrt(23) / 25, 0.0], abs=1e-12)
    assert m["latency_cv"] == pytest.approx(math.sqrt(23) / 50)
    assert m["mean_latency_ms"] == pytest.approx(1000 * (2.5 / 24 + 0.12) / 2)
    assert m["slo_violation_per_cluster"] == pytest.approx([1 / 24, 0.0])
    assert m["slo_violation"] == pytest.approx(1 / 48)
    # pod utilisation per step (cluster 0, cluster 1): (1/2, 1), 5 x (1/2, 3/4), (1, 3/4), 17 x (3/4, 3/4)
    assert m["jain"] == pytest.approx((2.25 / 2.5 + 5 * 1.5625 / 1.625 + 3.0625 / 3.125 + 17) / 24)
    assert m["one_minus_cv"] == pytest.approx((2 / 3 + 5 * 0.8 + 6 / 7 + 17) / 24)
    # cluster fill busy / capacity (10, 5): (0.1, 0.4), 5 x (0.1, 0.6), 18 x (0.6, 0.6)
    assert m["jain_fill"] == pytest.approx((0.25 / 0.34 + 5 * 0.49 / 0.74 + 18) / 24)
    # 3 changes in 24 x 15 s = 0.1 h over 2 clusters
    assert m["events_per_hour"] == pytest.approx(15.0)
    # cluster 0 from step 4: 2 2 6 8 ... settles (within max(5 % of 8, 1)) after 3 steps = 45 s;
    # cluster 1 from step 0: 2 4 4 ... after 1 step = 15 s
    assert m["bursts"] == 2
    assert m["stabilization_s"] == pytest.approx(30.0)
    # latency within the SLO for good: cluster 0's window (steps 4-15) breaks it at step 10 (the 7th of the window),
    # so 7 x 15 s; cluster 1 never breaks it: 0 s
    assert m["recovery_s"] == pytest.approx((105.0 + 0.0) / 2)
    assert m["replica_hours"] == pytest.approx(248 * 15 / 3600)


def test_a_latency_a_fraction_of_a_percent_above_the_slo_is_a_violation(traj, rates):
    """The SLO is a hard bound: 0.1505 s (0.33 % above 0.15 s) at one step of cluster 1 is a violation (1 / 24)."""
    traj.latency[12, 1] = 0.1505
    m = summarize(traj, rates, 0, MU, SLO, INTERVAL)
    assert m["slo_violation_per_cluster"] == pytest.approx([1 / 24, 1 / 24])


def test_summarize_without_capacity_leaves_the_fill_index_undefined_and_refuses_a_bad_capacity(traj, rates):
    assert math.isnan(summarize(traj, rates, 0, MU, SLO, INTERVAL)["jain_fill"])
    with pytest.raises(ValueError, match="capacity"):
        summarize(traj, rates, 0, MU, SLO, INTERVAL, capacity=(10,))


def test_large_bursts_are_the_top_changes_beyond_the_hpa_tolerance_on_the_demand_ratio():
    # each cluster's largest change is a burst; only x4 (cluster 0) and -15 % (cluster 2) exceed the 10 % tolerance
    # on |R[t+1] / R[t] - 1|, while +5 % (cluster 1) is inside it
    r = np.array([[10, 20, 40], [10, 21, 40], [40, 21, 34], [40, 21, 34]], float)
    assert burst_times(r, 0, 3) == [(0, 1), (1, 0), (1, 2)]
    assert burst_times(r, 0, 3, min_change=LARGE_BURST) == [(1, 0), (1, 2)]
    with pytest.raises(ValueError, match="min_change"):
        burst_times(r, 0, 3, min_change=-0.1)


def test_summarize_times_the_large_bursts_apart(traj):
    # as the hand-computed test, but cluster 1 moves by +5 %: still a burst (its largest change), not a large one
    r = np.zeros((7, 2))
    r[:, 0] = [10, 10, 40, 40, 40, 40, 40]
    r[:, 1] = [20, 21, 21, 21, 21, 21, 21]
    m = summarize(traj, r, 0, MU, SLO, INTERVAL)
    assert (m["bursts"], m["stabilization_s"]) == (2, pytest.approx(30.0))
    assert (m["bursts_large"], m["stabilization_large_s"]) == (1, pytest.approx(45.0))


def _one_cluster_jump(jump_at: int, start: int = 0):
    """6 simulated intervals of 4 sync steps from interval ``start``; demand doubles at boundary ``jump_at`` and the
    replicas follow within two steps."""
    S = 24
    spec = np.full((S, 1), 4)
    a = (jump_at - start) * 4
    spec[a:a + 2, 0] = [6, 7]
    spec[a + 2:, 0] = 8
    tr = Trajectory("hand", start * INTERVAL + DT * np.arange(S), spec, spec.copy(), np.full((S, 1), 30.0),
                    np.full((S, 1), 0.12), audit=None)
    r = np.array([[30.0]] * (jump_at + 1) + [[60.0]] * (start + 7 - jump_at - 1))
    return tr, r


@pytest.mark.parametrize("jump_at", [2, 3])
def test_a_burst_whose_whole_window_was_simulated_is_counted_up_to_the_last_boundary(jump_at):
    """With 6 intervals and a 3-interval window, a jump at boundary 3 (intervals 3-5 simulated) counts; the search
    used to stop one boundary early and found no burst at all there."""
    tr, r = _one_cluster_jump(jump_at)
    m = summarize(tr, r, 0, MU, SLO, INTERVAL)
    # 6 7 8 8 ...: 6 is 2 replicas off the settled 8 (band max(5 %, 1 replica)), 7 within it: one 15 s step
    assert m["bursts"] == 1 and m["stabilization_s"] == pytest.approx(15.0)


def test_summarize_refuses_a_trajectory_that_does_not_start_at_the_given_interval():
    tr, r = _one_cluster_jump(4, start=2)
    assert summarize(tr, r, 2, MU, SLO, INTERVAL)["bursts"] == 1
    with pytest.raises(ValueError, match=r"starts at 120 s, not at interval 0 \(0 s\)"):
        summarize(tr, r, 0, MU, SLO, INTERVAL)


def test_burst_detection_refuses_zero_demand_instead_of_finding_no_burst():
    r = np.array([[10.0], [0.0], [40.0], [40.0]])  # an empty interval: log 0 made every change nan, so no burst
    with pytest.raises(ValueError, match="burst detection needs positive demand.*1 held-back values are zero"):
        burst_times(r, 0, 3)


def test_recovery_time_is_when_latency_meets_the_slo_for_good():
    assert recovery_time(np.array([0.1, 0.1, 0.1]), 0.15, 15.0) == 0.0
    assert recovery_time(np.array([0.3, 0.1, 0.2, 0.1, 0.1]), 0.15, 15.0) == 45.0  # a relapse at step 2 counts
    assert recovery_time(np.array([0.1, 0.1, 0.3]), 0.15, 15.0) == 45.0  # broken at the end: the whole window
