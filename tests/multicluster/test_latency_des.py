"""Latency model against support.queueing (closed form) and a simpy discrete-event simulation."""

import numpy as np
import pytest

from support.multicluster.latency import mean_latency, min_replicas_for, secant_at, slo_load
from support.multicluster.oracles import des_mean_response
from support.queueing import erlang_c, erlang_c_array, mmc_sojourn


def test_vectorised_erlang_c_matches_the_scalar_formula():
    cs, lams = [1, 3, 8, 25, 60], [5.0, 21.0, 70.0, 240.0, 590.0]
    got = erlang_c_array(cs, lams, 10.0)
    np.testing.assert_allclose(got, [erlang_c(c, l, 10.0) for c, l in zip(cs, lams)], rtol=1e-12)
    np.testing.assert_allclose(mean_latency(cs, lams, 10.0, np.inf),
                               [mmc_sojourn(c, l, 10.0) for c, l in zip(cs, lams)], rtol=1e-12)


def test_overloaded_or_empty_cluster_is_charged_the_timeout():
    assert mean_latency(4, 40.0, 10.0, 2.0) == 2.0
    assert mean_latency(0, 1.0, 10.0, 2.0) == 2.0
    assert mean_latency(3, 0.0, 10.0, 2.0) == pytest.approx(0.1)


@pytest.mark.parametrize("c,rho", [(2, 0.8), (10, 0.9)])
def test_erlang_c_mean_response_within_5_percent_of_the_des(c, rho):
    des = des_mean_response(c, rho * c * 10.0, 10.0, 30000, np.random.default_rng(7))
    assert abs(des / float(mean_latency(c, rho * c * 10.0, 10.0, np.inf)) - 1) < 0.05


def test_slo_curve_is_the_largest_load_meeting_the_slo_and_its_secants_stay_below():
    curve = slo_load(60, 10.0, 0.15)
    for n in (1, 5, 30, 60):
        assert mean_latency(n, curve[n], 10.0, np.inf) <= 0.15 + 1e-9
        assert mean_latency(n, curve[n] * 1.001 + 1e-6, 10.0, np.inf) > 0.15
    n = np.arange(61)
    for a in (1, 7, 40):
        s, b = secant_at(curve, a)
        assert np.all(s * n + b <= curve + 1e-9)          # safe at every integer (L* is convex)
        assert s * a + b == pytest.approx(curve[a]) and s * (a + 1) + b == pytest.approx(curve[a + 1])
    assert min_replicas_for(curve[12] + 1e-6, curve) == 13
