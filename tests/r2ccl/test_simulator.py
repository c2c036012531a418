"""The simulator against closed-form alpha-beta costs."""

from __future__ import annotations

import numpy as np
import pytest

from support.r2ccl import simulator as sim
from support.r2ccl.balance import resilient_split


def t0(size, n, k, bw):
    return 2 * (n - 1) / n * size / (k * bw)


@pytest.mark.parametrize("k", [3, 4, 8])
def test_bandwidth_terms_match_closed_forms(k):
    cl = sim.Cluster(servers=1024, nics=k, bw=50e9, alpha=0.0, chunk=1)
    s = 8e9
    base = t0(s, 1024, k, 50e9)
    assert sim.collective_time(s, cl, "healthy") == pytest.approx(base, rel=1e-6)
    assert sim.collective_time(s, cl, "hot_repair") == pytest.approx(2 * base, rel=1e-6)
    assert sim.collective_time(s, cl, "balance") == pytest.approx(k / (k - 1) * base, rel=1e-6)
    assert sim.collective_time(s, cl, "resilient") == pytest.approx(2 * k / (2 * k - 1) * base, rel=0.01)


@pytest.mark.parametrize("k", [3, 4, 8])
def test_split_ratio_tends_to_2k_minus_3_over_2k_minus_1(k):
    f, _ = resilient_split(4096, k, grid=4001)
    assert f == pytest.approx((2 * k - 3) / (2 * k - 1), abs=2e-3)


@pytest.mark.parametrize("k,m", [(4, 2), (8, 2), (8, 3), (8, 4)])
def test_resilient_time_with_m_failed_nics_tends_to_2k_over_2k_minus_m(k, m):
    # notes 12 Sec. 1.7 / 2: equalising the good rails (1 + f)/(k - m) with the sub-ring (3 - f)/k gives
    # f* = (2k - 3m)/(2k - m) and T = 2k/(2k - m) T0 for large N (m <= 2k/3)
    cl = sim.Cluster(servers=4096, nics=k, bw=50e9, alpha=0.0, chunk=1)
    s = 8e9
    base = t0(s, 4096, k, 50e9)
    assert sim.collective_time(s, cl, "resilient", failed=m) == pytest.approx(2 * k / (2 * k - m) * base, rel=2e-3)
    assert sim.collective_time(s, cl, "balance", failed=m) == pytest.approx(k / (k - m) * base, rel=1e-6)
    f, _ = resilient_split(4096, k, grid=4001, failed=m)
    assert f == pytest.approx((2 * k - 3 * m) / (2 * k - m), abs=2e-3)


@pytest.mark.parametrize("hosts,k,m", [(3, 3, 1), (4, 4, 2), (5, 8, 3), (16, 8, 6), (6, 4, 3)])
def test_resilient_split_is_the_brute_force_minimum_over_f_and_w(hosts, k, m):
    # oracle: a dense grid over both the split ratio f and the sub-ring weight w, no balancing formula
    from support.r2ccl.balance import resilient_loads

    grid = np.linspace(0, 1, 601)
    brute = min(max(resilient_loads(f, w, hosts, k, m)) for f in grid for w in grid)
    f, w = resilient_split(hosts, k, grid=601, failed=m)
    assert max(resilient_loads(f, w, hosts, k, m)) == pytest.approx(brute, rel=2e-3)
    assert max(resilient_loads(f, w, hosts, k, m)) <= sim.nic_load("balance", hosts, k, m) + 1e-12


def test_two_failures_balance_and_alpha_term():
    cl = sim.Cluster(servers=8, nics=8, bw=1e9, alpha=1e-5, chunk=1)
    s = 1e9
    assert sim.collective_time(s, cl, "balance", failed=2) == pytest.approx(
        14 * 1e-5 + 2 * 7 / 8 * s / (6 * 1e9) + 1 / 1e9, rel=1e-9)
    assert sim.collective_time(0, cl, "healthy") == pytest.approx(14 * 1e-5)


@pytest.mark.parametrize("sizes", [(2e5, 1e6, 4e6), (5e5, 2e6)])  # 2nd: the notebook's sizes (fill = 1 chunk)
def test_calibration_recovers_alpha_and_bandwidth(sizes):
    # samples written out by hand from the alpha-beta formula: 2 (N-1) alpha + (busiest-NIC bytes + one
    # pipeline chunk, or the per-lane piece when smaller) / B; the fit must give back the truth, so the
    # calibrated model reproduces the times it was fitted on (it used to count the fill twice)
    alpha, bw, chunk = 4e-3, 2.5e6, 32768
    samples = [(s, "healthy", 4 * alpha + (4 / 3 * s / 3 + min(chunk, s / 9)) / bw) for s in sizes]
    cl = sim.calibrate(samples, 3, 3, chunk)
    assert cl.bw == pytest.approx(bw, rel=1e-6) and cl.alpha == pytest.approx(alpha, rel=1e-6)
    for s, _, t in samples:
        assert sim.collective_time(s, cl, "healthy") == pytest.approx(t, rel=1e-9)


def test_calibration_with_a_negative_intercept_is_the_constrained_least_squares_fit():
    # times that imply a negative per-step latency: alpha is held at 0, and B must then be the best fit
    # under that constraint (scipy's non-negative least squares), not the unconstrained one kept as is
    from scipy.optimize import nnls

    chunk, sizes = 32768, (2e5, 1e6, 4e6)
    x = [4 / 3 * s / 3 + min(chunk, s / 9) for s in sizes]
    y = [xi / 2.5e6 - 0.01 for xi in x]
    cl = sim.calibrate([(s, "healthy", t) for s, t in zip(sizes, y)], 3, 3, chunk)
    (alpha, inv_bw), _ = nnls(np.array([[4.0, xi] for xi in x]), np.array(y))
    assert alpha == 0 and cl.alpha == 0
    assert 1 / cl.bw == pytest.approx(inv_bw, rel=1e-9)


def test_failure_during_a_collective_costs_detection_and_hot_repair_rate():
    cl = sim.Cluster(servers=2, nics=2, bw=1e9, alpha=0.0, chunk=1)
    t = sim.failure_collective_time(1e9, cl, 0.5, t_det=0.5, window_bytes=0)
    h = sim.collective_time(1e9, cl, "healthy")
    assert t == pytest.approx(0.5 * h + 0.5 + 0.5 * 2 * h, rel=1e-6)


def test_training_calibration_reproduces_its_target():
    job = sim.calibrate_compute(sim.DP_2P7B, sim.PAPER, "balance", 1.3)
    assert sim.training_overhead(job, sim.PAPER, "balance") == pytest.approx(1.3, rel=1e-9)
    with pytest.raises(ValueError):
        sim.nic_load("balance", 4, 4, failed=4)
