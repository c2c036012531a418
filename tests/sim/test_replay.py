"""support.sim.replay: rate profiles and NHPP resampling."""

import numpy as np
import pytest

from support.sim import rate_profile, resample_arrivals


def test_rate_profile_counts_each_arrival_of_the_complete_bins_once_and_drops_the_partial_bin():
    t = np.array([0.0, 0.5, 1.0, 2.5, 3.0, 3.9])  # span 3.9 s: bins [0,1) [1,2) [2,3) complete, [3,3.9] partial
    edges, rates = rate_profile(t, 1.0)
    assert edges.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert rates.tolist() == [2.0, 1.0, 1.0]  # 0, .5 | 1 | 2.5; 3.0 and 3.9 are in the dropped partial bin


def test_rate_profile_of_a_constant_rate_trace_has_no_dip_at_its_end():
    """1 arrival/s for 3601 s in 3000 s bins: the 601 s remainder is not divided by 3000 s (which read 0.2/s)."""
    edges, rates = rate_profile(np.arange(3601.0), 3000.0)
    assert edges.tolist() == [0.0, 3000.0] and rates.tolist() == [1.0]


def test_rate_profile_window_t0_t1_keeps_its_complete_bins():
    edges, rates = rate_profile(np.arange(0.0, 100.0, 0.5), 10.0, t0=20.0, t1=55.0)
    assert edges.tolist() == [0.0, 10.0, 20.0, 30.0] and rates.tolist() == [2.0, 2.0, 2.0]


def test_rate_profile_counts_an_arrival_on_the_last_edge_once():
    t = np.array([0.0, 1.5, 2.0])  # the span is a whole number of bins: 2.0 falls on the last edge
    edges, rates = rate_profile(t, 1.0)
    assert edges.tolist() == [0.0, 1.0, 2.0]
    assert rates.tolist() == [1.0, 2.0]  # [0,1): 0 | [1,2]: 1.5, 2.0
    assert rates.sum() * 1.0 == t.size


def _mean_segment_counts(seed: int, runs: int, period: float, cut: float, **kw) -> tuple[float, float]:
    """Mean arrivals per run of the [0, 100) 0.5/s, [100, 200) 2/s profile resampled with ``kw``, counted before
    and after ``cut`` within each tile of length ``period``."""
    edges, rates = np.array([0.0, 100.0, 200.0]), np.array([0.5, 2.0])
    rng = np.random.default_rng(seed)
    n1, n2 = [], []
    for _ in range(runs):
        a = resample_arrivals(edges, rates, rng, **kw)
        n1.append(np.sum((a % period) < cut))
        n2.append(np.sum((a % period) >= cut))
    return float(np.mean(n1)), float(np.mean(n2))


def test_resampled_arrivals_follow_the_profile_on_average():
    n1, n2 = _mean_segment_counts(0, 300, 200, 100, horizon_s=400.0, rate_scale=0.5)
    assert n1 == pytest.approx(2 * 0.5 * 0.5 * 100, rel=0.05)  # two tiles x 25 expected arrivals
    assert n2 == pytest.approx(2 * 2.0 * 0.5 * 100, rel=0.05)


def test_resampled_arrivals_at_speed_2_compress_time_and_double_the_rates():
    """speed 2: the 200 s profile plays in 100 s, so each segment lasts 50 s at twice its rate."""
    n1, n2 = _mean_segment_counts(1, 200, 100, 50, horizon_s=200.0, speed=2.0)
    assert n1 == pytest.approx(2 * (0.5 * 2) * 50, rel=0.05)  # two tiles x 50 expected arrivals
    assert n2 == pytest.approx(2 * (2.0 * 2) * 50, rel=0.05)


def test_degenerate_traces_and_horizons_raise_a_value_error_naming_the_problem():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="horizon_s must be"):
        resample_arrivals([0.0, 10.0], [1.0], rng, horizon_s=0.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        resample_arrivals([5.0, 5.0], [1.0], rng, horizon_s=10.0)
    with pytest.raises(ValueError, match="less than one bin"):
        rate_profile([5.0, 5.0, 5.0], 1.0)
    with pytest.raises(ValueError, match="less than one bin"):
        rate_profile([0.0, 2.5], 3.0)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="non-empty"):
        rate_profile([], 1.0)
    with pytest.raises(ValueError, match="speed must be > 0"):
        resample_arrivals([0.0, 10.0], [1.0], np.random.default_rng(0), speed=0)
