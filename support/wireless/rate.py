"""Shannon uplink rates for FDMA (bandwidth shares) and TDMA (time shares), and the inverse of the FDMA rate.

r = b log2(1 + g p / (N0 b)) bit/s for bandwidth b Hz, channel gain g, transmit power p W, noise PSD N0.
"""

from __future__ import annotations

import numpy as np
from scipy.special import lambertw


def shannon_rate(b_hz, gain, p_watt, n0_w_per_hz):
    """FDMA uplink rate ``b log2(1 + g p / (N0 b))`` in bit/s (0 when b = 0)."""
    b = np.asarray(b_hz, float)
    if np.any(b < 0):
        raise ValueError("bandwidth must be non-negative")
    snr_hz = np.asarray(gain, float) * np.asarray(p_watt, float) / n0_w_per_hz
    with np.errstate(divide="ignore", invalid="ignore"):
        r = b * np.log2(1.0 + snr_hz / b)
    return np.where(b > 0, r, 0.0)


def fdma_rates(shares, total_bw_hz: float, gain, p_watt, n0_w_per_hz):
    """Rates of users given bandwidth shares (sum <= 1) of a band of ``total_bw_hz``.

    Part of the FDMA/TDMA pair issue 11 asks the wireless core for; paper 07 allocates bandwidth in Hz and calls
    :func:`shannon_rate` directly, so no paper calls this at present."""
    shares = np.asarray(shares, float)
    if total_bw_hz <= 0:
        raise ValueError(f"total bandwidth must be positive; got {total_bw_hz}")
    if np.any(shares < 0) or shares.sum() > 1 + 1e-9:
        raise ValueError("FDMA bandwidth shares must be non-negative and sum to at most 1")
    return shannon_rate(shares * total_bw_hz, gain, p_watt, n0_w_per_hz)


def tdma_rates(time_shares, total_bw_hz: float, gain, p_watt, n0_w_per_hz):
    """Average rates when each user transmits alone over the whole band a fraction of the time (sum <= 1).

    The TDMA half of the pair issue 11 asks the wireless core for; no paper calls it at present."""
    ts = np.asarray(time_shares, float)
    if total_bw_hz <= 0:
        raise ValueError(f"total bandwidth must be positive; got {total_bw_hz}")
    if np.any(ts < 0) or ts.sum() > 1 + 1e-9:
        raise ValueError("TDMA time shares must be non-negative and sum to at most 1")
    return ts * shannon_rate(np.full(ts.shape, total_bw_hz), gain, p_watt, n0_w_per_hz)


def bandwidth_for_rate(rate_bps, gain, p_watt, n0_w_per_hz):
    """Smallest bandwidth b with ``b log2(1 + a/b) >= rate`` (a = g p / N0), via the Lambert W function.

    The rate is bounded above by a / ln 2 (infinite bandwidth); larger rates give ``inf``.
    """
    R = np.asarray(rate_bps, float)
    a = np.asarray(gain, float) * np.asarray(p_watt, float) / n0_w_per_hz
    c = R * np.log(2.0) / a  # = ln(y)/(y-1) with y = 1 + a/b; solvable iff 0 < c < 1
    R, a, c = np.broadcast_arrays(R, a, c)
    out = np.full(R.shape, np.inf)
    ok = (c > 0) & (c < 1)
    cc = c[ok]
    z = -cc - np.real(lambertw(-cc * np.exp(-cc), k=-1))  # z = ln y > 0
    # near the limit (c -> 1) the k = -1 branch returns about -1 and z comes out half its value or 0: start from
    # the series z = 2 d (1 + d / 3), d = 1 - c, there, and polish every root with Newton on z - c expm1(z) = 0
    d = 1.0 - cc
    z = np.where(d < 1e-3, 2.0 * d * (1.0 + d / 3.0), z)
    for _ in range(4):
        with np.errstate(invalid="ignore", over="ignore"):
            fp = 1.0 - cc * np.exp(z)
            step = (z - cc * np.expm1(z)) / fp
        z = np.where(np.isfinite(step) & (fp != 0), z - step, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        val = a[ok] / np.expm1(z)
    out[ok] = np.where(np.isfinite(val) & (z > 0), val, np.inf)  # c -> 1 (branch point): no finite bandwidth
    out[R <= 0] = 0.0
    return out if out.ndim else float(out)
