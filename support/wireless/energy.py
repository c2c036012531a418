"""On-device computation and upload time/energy (Yang et al., TWC 2021, eqs. for tau^cmp, E^cmp, E^com).

Local training of L epochs over D samples at c CPU cycles/sample and frequency f takes L c D / f seconds
and kappa L c D f^2 joules (kappa = effective switched capacitance). Uploading s bits at rate r with
power p takes s / r seconds and p s / r joules.
"""

from __future__ import annotations

import numpy as np


def compute_time(epochs, cycles_per_sample, n_samples, freq_hz):
    """``L c D / f`` seconds."""
    f = np.asarray(freq_hz, float)
    if np.any(f <= 0):
        raise ValueError("CPU frequency must be positive")
    return np.asarray(epochs, float) * np.asarray(cycles_per_sample, float) * np.asarray(n_samples, float) / f


def compute_energy(kappa, epochs, cycles_per_sample, n_samples, freq_hz):
    """``kappa L c D f^2`` joules."""
    f = np.asarray(freq_hz, float)
    if np.any(f < 0):
        raise ValueError("CPU frequency must be non-negative")
    return kappa * np.asarray(epochs, float) * np.asarray(cycles_per_sample, float) * np.asarray(n_samples, float) * f**2


def upload_time(bits, rate_bps):
    """``s / r`` seconds (inf at rate 0)."""
    r = np.asarray(rate_bps, float)
    with np.errstate(divide="ignore"):
        return np.where(r > 0, np.asarray(bits, float) / r, np.inf)


def upload_energy(p_watt, bits, rate_bps):
    """``p s / r`` joules."""
    return np.asarray(p_watt, float) * upload_time(bits, rate_bps)
