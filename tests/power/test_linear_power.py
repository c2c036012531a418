"""The linear utilisation power model against hand-computed watts and its documented argument checks."""

import numpy as np
import pytest

from support.power import LinearPowerModel


def test_power_is_idle_plus_the_busy_share_of_the_dynamic_range_plus_memory_by_hand():
    """p_idle 20 W, p_max 80 W, 4 CPUs: 15 W per CPU. 2.6 CPUs and 1 GB at 1 W/GB: 20 + 39 + 1 = 60 W."""
    m = LinearPowerModel(20.0, 80.0, 4.0, 1.0)
    assert m.watts_per_cpu == 15.0
    assert m.power(2.6, 1.0) == pytest.approx(60.0, rel=1e-12)
    assert m.power(0.0) == 20.0 and m.power(4.0) == 80.0  # idle and all CPUs busy: the two end points
    np.testing.assert_allclose(m.power([0.0, 1.0, 4.0], [0.0, 2.0, 3.0]), [20.0, 37.0, 83.0], rtol=1e-12)


def test_defaults_are_a_30_to_90_watt_eight_cpu_edge_box():
    m = LinearPowerModel()
    assert m.power(4.0) == pytest.approx(60.0) and m.power(8.0, 100.0) == pytest.approx(90.0)


def test_energy_per_request_is_watts_over_requests_per_second():
    np.testing.assert_allclose(LinearPowerModel().energy_per_request([60.0, 90.0], [3.0, 45.0]), [20.0, 2.0])


@pytest.mark.parametrize("kw,match", [({"p_idle": 100.0, "p_max": 90.0}, "p_idle <= p_max"),
                                      ({"p_idle": -1.0}, "p_idle <= p_max"),
                                      ({"cpu_total": 0.0}, "cpu_total must be > 0"),
                                      ({"beta_mem": -0.1}, "beta_mem must be >= 0")])
def test_an_inconsistent_model_is_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        LinearPowerModel(**kw)


@pytest.mark.parametrize("cpu", [-0.5, 8.5, [1.0, 9.0]])
def test_a_cpu_count_outside_zero_to_the_servers_cpus_is_refused(cpu):
    with pytest.raises(ValueError, match=r"cpu must be within \[0, 8.0\]"):
        LinearPowerModel().power(cpu)
