"""Kubernetes HPA algorithm against the worked examples of the Kubernetes documentation (known answers)."""

import pytest

from support.control.hpa import (
    HPA,
    HPAConfig,
    HPAConfigError,
    ScalingPolicy,
    ScalingRules,
    replica_recommendation,
    utilization_percent,
)


def test_ratio_rule_doubles_and_halves_as_documented():
    # docs: current 200m vs desired 100m -> replicas doubled; 50m -> halved
    assert replica_recommendation(5, 200, 100) == 10
    assert replica_recommendation(10, 50, 100) == 5


def test_hpa_matches_documented_scale_up_example_50_replicas_90_vs_75_percent():
    assert replica_recommendation(50, 0.90, 0.75) == 60


def test_ratio_within_tolerance_skips_scaling_and_just_outside_scales():
    assert replica_recommendation(10, 1.09, 1.0) == 10
    assert replica_recommendation(10, 0.91, 1.0) == 10
    assert replica_recommendation(10, 1.11, 1.0) == 12  # ceil(11.1)


def test_documented_scale_down_policies_80_replicas_remove_8_then_8():
    # docs: Pods 4/60 s and Percent 10/60 s, Max selected: 80 -> 72; at 72, 10 % = 7.2 -> 8 removed
    rules = ScalingRules(0, (ScalingPolicy("Pods", 4, 60), ScalingPolicy("Percent", 10, 60)), "Max")
    h = HPA(HPAConfig(0.5, 1, 100, scale_down=rules))
    first = h.step(0, 80, 0.0625)  # wants 10
    assert first == 72
    assert h.step(30, first, 0.0625 * 80 / first) == 72  # still inside the 60 s period: no further removal
    assert h.step(61, first, 0.0625 * 80 / first) == 64


def test_select_policy_min_takes_the_smaller_change():
    rules = ScalingRules(0, (ScalingPolicy("Percent", 10, 60), ScalingPolicy("Pods", 5, 60)), "Min")
    assert HPA(HPAConfig(0.5, 1, 100, scale_down=rules)).step(0, 80, 0.05) == 75


def test_default_scale_up_is_max_of_100_percent_and_4_pods_per_15s():
    h = HPA(HPAConfig(0.5, 1, 100))
    assert h.step(0, 1, 10.0) == 5            # 4 pods beats 100 % of 1
    assert h.step(15, 5, 2.0) == 10           # 100 % of 5 beats 4 pods
    assert h.step(20, 10, 1.0) == 10          # same period: the 10 -> 10 is within the 100 % budget only
    h2 = HPA(HPAConfig(0.5, 1, 100))
    assert h2.step(0, 10, 5.0) == 20          # wants 100, limited to 100 % per 15 s


def test_scale_up_limit_counts_from_the_replicas_at_the_start_of_the_policy_period():
    """horizontal.go, calculateScaleUpLimitWithScalingRules: periodStartReplicas = current - added + deleted
    within periodSeconds; a scale-down 15 s ago is added back, so the 4-pods-per-60 s budget starts from 10."""
    cfg = HPAConfig(0.5, 1, 100, scale_up=ScalingRules(0, (ScalingPolicy("Pods", 4, 60),)),
                    scale_down=ScalingRules(0, (ScalingPolicy("Percent", 100, 15),)))
    h = HPA(cfg)
    assert h.step(0, 10, 0.25) == 5           # scale down 10 -> 5 (no window)
    assert h.step(15, 5, 5.0) == 14           # wants 50; limit = (5 - 0 + 5) + 4, not 5 + 4
    h2 = HPA(cfg)
    assert h2.step(0, 10, 0.25) == 5
    assert h2.step(61, 5, 5.0) == 9           # the scale-down is older than the 60 s period: 5 + 4


def test_scale_down_stabilisation_window_keeps_max_recommendation_for_300s():
    h = HPA(HPAConfig(0.5, 1, 100))
    assert h.step(0, 10, 0.5) == 10
    assert h.step(15, 10, 0.25) == 10
    assert h.step(299, 10, 0.25) == 10
    assert h.step(300, 10, 0.25) == 5  # the t=0 recommendation (10) is no longer after the cutoff


def test_min_and_max_replicas_bound_the_result():
    h = HPA(HPAConfig(0.5, 3, 12))
    assert h.step(0, 10, 5.0) == 12
    h = HPA(HPAConfig(0.5, 3, 12, scale_down=ScalingRules(0, (ScalingPolicy("Percent", 100, 15),))))
    assert h.step(0, 10, 0.01) == 3
    assert HPA(HPAConfig(0.5, 3, 12)).step(0, 20, 0.5) == 12  # above max: clamp first


def test_bad_specs_raise_one_clear_error():
    with pytest.raises(HPAConfigError, match="minReplicas"):
        HPAConfig(0.5, 5, 2)
    with pytest.raises(HPAConfigError, match="policy type"):
        ScalingPolicy("Replicas", 1, 15)
    with pytest.raises(ValueError, match="target"):
        replica_recommendation(3, 1.0, 0.0)


def test_hpa_config_defaults_are_the_documented_kubernetes_default_behaviour():
    """Kubernetes docs, "Default Behavior": scaleDown window 300 s, Percent 100 per 15 s; scaleUp window 0,
    Percent 100 and Pods 4 per 15 s, selectPolicy Max; tolerance 0.1, sync 15 s, minReplicas 1 (paper 11's HPA)."""
    documented = HPAConfig(
        0.5, min_replicas=1, max_replicas=10, tolerance=0.1, sync_s=15,
        scale_up=ScalingRules(0, (ScalingPolicy("Percent", 100, 15), ScalingPolicy("Pods", 4, 15)), "Max"),
        scale_down=ScalingRules(300, (ScalingPolicy("Percent", 100, 15),), "Max"))
    assert HPAConfig(0.5) == documented


def test_first_reconcile_keeps_the_current_replicas_for_the_scale_down_window():
    """horizontal.go, maybeInitScaleDownStabilizationWindow: a new HPA records the current replicas as a
    recommendation, so a low metric at its first sync does not scale down until that entry leaves the window."""
    h = HPA(HPAConfig(0.5, 1, 100))
    assert h.step(0, 10, 0.25) == 10
    assert h.step(285, 10, 0.25) == 10
    assert h.step(300, 10, 0.25) == 5


def test_a_ratio_exactly_at_the_tolerance_is_within_it():
    # replica_calculator.go: no change while |1 - ratio| <= tolerance (1.25 and 0.25 are exact in binary)
    assert replica_recommendation(4, 5, 4, tolerance=0.25) == 4
    assert replica_recommendation(4, 5.01, 4, tolerance=0.25) == 6  # ceil(5.01)


def test_both_edges_of_the_default_band_keep_the_replicas_as_kubernetes_v1_33_does():
    # Tolerances.isWithin(r) = (1 - down) <= r && r <= (1 + up): 88/80 and 1 + 0.1 are the same double, so 88 % of
    # an 80 % target is inside the band like 72 %; abs(88/80 - 1) = 0.10000000000000009 put it outside
    assert replica_recommendation(10, 88, 80) == 10
    assert replica_recommendation(10, 72, 80) == 10
    assert replica_recommendation(10, 89, 80) == 12  # ceil(11.125)
    assert replica_recommendation(10, 71, 80) == 9  # ceil(8.875)
    assert HPA(HPAConfig(80, 1, 100)).step(0, 10, 88) == 10


def test_scale_downs_older_than_their_own_period_still_count_in_a_longer_scale_up_period():
    """Scale-up "1 pod per 120 s", scale-down "100 % per 15 s", no windows. Kubernetes keeps a scale event until its
    slot is reused (storeScaleEvent marks events outdated after the direction's longest period, 15 s here, and reuses
    one), and the scale-up limit counts every event of the last 120 s: after 20 -> 10 at t = 0 and 10 -> 5 at
    t = 15, at t = 30 the 120 s period started at 5 + 10 + 5 = 20 replicas, so the limit is 21 and the ratio's 20
    is allowed. Dropping the t = 0 event at t = 15 gave a period start of 10, a limit of 11, and 11."""
    cfg = HPAConfig(50, 1, 100, scale_up=ScalingRules(0, (ScalingPolicy("Pods", 1, 120),)),
                    scale_down=ScalingRules(0, (ScalingPolicy("Percent", 100, 15),)))
    h = HPA(cfg)
    assert h.step(0, 20, 25) == 10
    assert h.step(15, 10, 25) == 5
    assert h.step(30, 5, 200) == 20


def test_a_new_scale_event_reuses_the_last_outdated_slot_and_keeps_the_others():
    cfg = HPAConfig(50, 1, 100, scale_down=ScalingRules(0, (ScalingPolicy("Pods", 100, 15),)))
    h = HPA(cfg)
    h.down_events = [(0.0, 1), (5.0, 2), (40.0, 3)]
    h._store_event(50.0, 10, 6)  # cutoff 35: events at 0 and 5 are outdated, the one at 5 is replaced
    assert h.down_events == [(0.0, 1), (50.0, 4), (40.0, 3)]


def test_scale_up_stabilisation_window_takes_the_min_recommendation_in_the_window():
    """horizontal.go, stabilizeRecommendationWithBehaviors: with a scale-up window the recommendation is the minimum
    of those in the window. Window 60 s, no scale-down window: at t = 0 the ratio is 1 (recommendation 4); at t = 30
    the metric doubles (proposal 8) but min(4, 8) = 4 holds the count; at t = 61 the t = 0 entry has left the window,
    min(8, 8) = 8, and the default policy allows 4 -> 8."""
    cfg = HPAConfig(0.5, 1, 100, scale_up=ScalingRules(60, (ScalingPolicy("Percent", 100, 15),
                                                            ScalingPolicy("Pods", 4, 15))),
                    scale_down=ScalingRules(0, (ScalingPolicy("Percent", 100, 15),)))
    h = HPA(cfg)
    assert h.step(0, 4, 0.5) == 4
    assert h.step(30, 4, 1.0) == 4
    assert h.step(61, 4, 1.0) == 8


def test_utilization_percent_truncates_like_the_go_integer_conversion():
    """metrics/utilization.go: int32(usage * 100 / requests) on milli-units truncates: 999m of 1000m is 99 %,
    1999m of 2000m is 99 %, 2000m of 3000m is 66 % (not rounded to 100 / 67)."""
    assert utilization_percent(999, 1000) == 99
    assert utilization_percent(1999, 2000) == 99
    assert utilization_percent(2000, 3000) == 66
    assert utilization_percent(1500, 1000) == 150
