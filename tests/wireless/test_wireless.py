"""support.wireless against hand-computed values and reference distributions."""

import math

import numpy as np
import pytest
from scipy import stats

from support.wireless.channel import (
    channel_gain,
    dbm_to_watt,
    noise_psd_watt_per_hz,
    path_loss_db,
    rayleigh_power,
    uniform_disk_distances,
)
from support.wireless.energy import compute_energy, compute_time, upload_energy, upload_time
from support.wireless.rate import bandwidth_for_rate, fdma_rates, shannon_rate, tdma_rates

N0 = 4e-21


def test_one_megahertz_at_zero_db_snr_carries_one_megabit_per_second():
    # SNR = g p / (N0 b) = 1  ->  r = b log2(2) = b
    assert shannon_rate(1e6, 1.0, N0 * 1e6, N0) == pytest.approx(1e6, rel=1e-12)
    # 15 dB-ish: SNR = 15 -> log2(16) = 4 bit/s/Hz
    assert shannon_rate(2e6, 1.0, 15 * N0 * 2e6, N0) == pytest.approx(8e6, rel=1e-12)


def test_path_loss_matches_the_3gpp_formula_at_known_distances():
    assert path_loss_db(1.0) == pytest.approx(128.1)
    assert path_loss_db(0.1) == pytest.approx(128.1 - 37.6)
    assert channel_gain(1.0, fading=False) == pytest.approx(10 ** -12.81)


def test_unit_conversions():
    assert dbm_to_watt(30) == pytest.approx(1.0)
    assert dbm_to_watt(10) == pytest.approx(0.01)
    assert noise_psd_watt_per_hz(-174) == pytest.approx(3.981e-21, rel=1e-3)


def test_rayleigh_power_is_unit_mean_exponential():
    x = rayleigh_power(np.random.default_rng(0), 20000)
    assert stats.kstest(x, "expon").pvalue > 0.01
    assert x.mean() == pytest.approx(1.0, abs=0.03)


def test_bandwidth_for_rate_inverts_the_shannon_rate():
    b = np.array([1e4, 3e5, 1e6, 2e7])
    a = 5e6 * N0  # g p with g p / N0 = 5 MHz
    r = shannon_rate(b, 1.0, a, N0)
    assert np.allclose(bandwidth_for_rate(r, 1.0, a, N0), b, rtol=1e-9)
    # the rate can never exceed a / ln 2 even with infinite bandwidth
    assert bandwidth_for_rate(5e6 / np.log(2) * 1.01, 1.0, a, N0) == np.inf
    assert bandwidth_for_rate(0.0, 1.0, a, N0) == 0.0


def test_fdma_and_tdma_shares():
    r = fdma_rates([0.25, 0.75], 4e6, [1.0, 1.0], [N0 * 1e6, N0 * 3e6], N0)
    assert np.allclose(r, [1e6, 3e6])
    assert tdma_rates([0.5], 1e6, [1.0], [N0 * 1e6], N0)[0] == pytest.approx(5e5)
    with pytest.raises(ValueError, match="sum"):
        fdma_rates([0.6, 0.6], 1e6, [1, 1], [1, 1], N0)
    with pytest.raises(ValueError, match="bandwidth"):
        tdma_rates([0.5], 0.0, [1], [1], N0)


def test_compute_and_upload_energy_by_hand():
    # kappa = 1e-28, one epoch, 2e4 cycles/sample, 500 samples at 1 GHz: 1e7 cycles -> 10 ms, 1 mJ
    assert compute_time(1, 2e4, 500, 1e9) == pytest.approx(0.01)
    assert compute_energy(1e-28, 1, 2e4, 500, 1e9) == pytest.approx(1e-3)
    # 1 Mbit at 2 Mbit/s with 0.1 W: 0.5 s, 0.05 J
    assert upload_time(1e6, 2e6) == pytest.approx(0.5)
    assert upload_energy(0.1, 1e6, 2e6) == pytest.approx(0.05)
    assert upload_time(1e6, 0.0) == np.inf
    with pytest.raises(ValueError):
        compute_time(1, 1, 1, 0.0)


def test_users_are_uniform_by_area_in_the_annulus():
    d = uniform_disk_distances(50000, np.random.default_rng(1), 0.5, 0.05)
    assert d.min() >= 0.05 and d.max() <= 0.5
    assert np.mean(d**2) == pytest.approx((0.05**2 + 0.5**2) / 2, rel=0.01)
    with pytest.raises(ValueError):
        uniform_disk_distances(3, np.random.default_rng(0), 0.1, 0.2)


@pytest.mark.parametrize("k", [4, 5, 6, 8, 9, 10])
def test_bandwidth_for_rate_meets_its_rate_even_next_to_the_infinite_bandwidth_limit(k):
    """A rate 1e-k below the limit a / ln 2: the Lambert W k = -1 branch returned about -1 there, so the bandwidth
    came out twice the answer (k = 5, 9) or inf (k = 8, where the answer is 2.5e14 Hz). The forward formula
    b log2(1 + a / b), evaluated with log1p, is the oracle."""
    n0, a = 4e-21, 5e6
    R = a / math.log(2) * (1 - 10.0 ** -k)
    b = bandwidth_for_rate(R, 1.0, a * n0, n0)
    assert math.isfinite(b)
    assert b * math.log1p(a / b) / math.log(2) == pytest.approx(R, rel=1e-9)
    assert b == pytest.approx(a / (2 * 10.0 ** -k), rel=1e-3)  # b ~ a / (2 (1 - c)) near the limit
