"""Channel gains: dB/dBm conversions, the 128.1 + 37.6 log10(d[km]) path loss and Rayleigh block fading."""

from __future__ import annotations

import numpy as np


def db_to_linear(db):
    """10^(dB/10)."""
    return 10.0 ** (np.asarray(db, float) / 10.0)


def dbm_to_watt(dbm):
    """Power in dBm to watts: 10^(dBm/10) mW."""
    return db_to_linear(dbm) * 1e-3


def noise_psd_watt_per_hz(dbm_per_hz: float = -174.0) -> float:
    """Noise power spectral density N0 in W/Hz (thermal noise -174 dBm/Hz at 290 K)."""
    return float(dbm_to_watt(dbm_per_hz))


def path_loss_db(d_km, a: float = 128.1, b: float = 37.6):
    """Urban macro path loss ``a + b log10(d)`` in dB for distance ``d`` in km (3GPP TR 36.814)."""
    d = np.asarray(d_km, float)
    if np.any(d <= 0):
        raise ValueError("distances must be positive (km)")
    return a + b * np.log10(d)


def rayleigh_power(rng: np.random.Generator, size) -> np.ndarray:
    """Rayleigh fading power |h|^2 ~ Exp(1) (unit mean), independent per entry (block fading)."""
    return rng.exponential(1.0, size)


def channel_gain(d_km, rng: np.random.Generator | None = None, fading: bool = True):
    """Linear channel power gain ``10^(-PL(d)/10) |h|^2``; ``fading=False`` gives the large-scale mean."""
    g = db_to_linear(-path_loss_db(d_km))
    if fading:
        if rng is None:
            raise ValueError("fading=True needs an rng")
        g = g * rayleigh_power(rng, np.shape(g))
    return g


def uniform_disk_distances(n: int, rng: np.random.Generator, r_max_km: float = 0.5,
                           r_min_km: float = 0.01) -> np.ndarray:
    """Distances of ``n`` users dropped uniformly (by area) in an annulus around the base station."""
    if not 0 < r_min_km < r_max_km:
        raise ValueError(f"need 0 < r_min_km < r_max_km; got {r_min_km}, {r_max_km}")
    u = rng.uniform(0, 1, n)
    return np.sqrt(r_min_km ** 2 + u * (r_max_km ** 2 - r_min_km ** 2))
