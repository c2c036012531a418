"""Balance indices (closed forms), stabilisation time, the policy audit (direct check vs z3 / Rego)."""

import numpy as np
import pytest

from support.multicluster.decision import FederationPolicy
from support.multicluster.metrics import jain, one_minus_cv, settle_time
from support.multicluster.policies import PolicyAudit


def test_jain_index_closed_forms():
    assert jain([3.0, 3.0, 3.0]) == pytest.approx(1.0)
    assert jain([0.0, 5.0, 0.0, 0.0]) == pytest.approx(0.25)  # one loaded -> 1/K
    assert jain([1.0, 3.0]) == pytest.approx(16 / 20)
    assert one_minus_cv([2.0, 2.0]) == pytest.approx(1.0)
    assert one_minus_cv([1.0, 3.0]) == pytest.approx(0.5)


def test_settle_time_counts_until_the_series_stays_in_the_band():
    spec = np.array([10, 14, 18, 20, 20, 20, 20, 20, 20], float)
    assert settle_time(spec, 15.0) == 3 * 15.0
    assert settle_time(np.full(9, 7.0), 15.0) == 0.0


def test_settle_time_settles_on_the_mean_of_the_last_third_not_the_last_value():
    """Settled value = mean of the last third (19, 21 -> 20), band max(5 % of 20, 1) = 1: only the first step (30) is
    outside, so 60 s. Settling on the last value (21) would put 19 outside too and give 5 steps = 300 s."""
    assert settle_time(np.array([30, 20, 20, 20, 19, 21], float), 60.0) == 60.0


def test_policy_audit_direct_check_agrees_with_z3_and_rego_on_mixed_actions():
    pol = FederationPolicy((20, 20), (2, 2), (0.5, 0.6), (1.0, 1.0), (4, 4), 30.0)
    a = PolicyAudit(pol)
    assert a.check(0, 10, 12, 0.7, [12, 10])             # fine
    assert not a.check(0, 10, 22, 0.7, [22, 10])         # capacity + max change + budget
    assert not a.check(1, 3, 1, 0.9, [10, 1])            # HA minimum
    assert not a.check(1, 10, 10, 0.5, [10, 10])         # residency
    assert not a.check(0, 10, 14, 0.7, [14, 17])         # budget only
    s = a.summary(rego_sample=10)
    assert s["violating_actions"] == 4
    assert s["violations_by_rule"] == {"capacity": 1, "max_change": 1, "budget": 2, "ha_minimum": 1, "residency": 1}
    assert s["z3_disagreements"] == 0 and s["z3_denied"] == 4
    assert s.get("rego_disagreements") == 0, s
