"""The wireless FL system of one round (Yang et al., TWC 2021, reconstructed for arXiv 2512.24286 Sec. II).

K clients hold D_k samples, need c_k CPU cycles per sample per epoch, run at most f_max, transmit with power
p_k over FDMA with channel gain g_k (path loss + Rayleigh block fading redrawn every round); the server has
B Hz of uplink bandwidth and noise PSD N0; the model upload is s bits.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from support.wireless.channel import channel_gain, dbm_to_watt, noise_psd_watt_per_hz, uniform_disk_distances


@dataclass(frozen=True)
class SystemConfig:
    """Physical constants of the cell (defaults from Yang et al. TWC 2021)."""

    bandwidth_hz: float = 20e6
    n0_dbm_per_hz: float = -174.0
    p_dbm: float = 10.0
    r_max_km: float = 0.5
    r_min_km: float = 0.05
    cycles_per_sample: tuple[float, float] = (1e4, 3e4)
    f_max_hz: tuple[float, float] = (1e9, 2e9)
    kappa: float = 1e-28
    local_epochs: int = 1
    model_bits: float = 7850 * 32.0

    def __post_init__(self):
        if not self.bandwidth_hz > 0:
            raise ValueError(f"bandwidth must be positive; got {self.bandwidth_hz} Hz")
        if self.model_bits <= 0 or self.kappa <= 0 or self.local_epochs < 1:
            raise ValueError("model_bits, kappa must be > 0 and local_epochs >= 1")
        if not 0 < self.cycles_per_sample[0] <= self.cycles_per_sample[1]:
            raise ValueError(f"cycles_per_sample range invalid: {self.cycles_per_sample}")
        if not 0 < self.f_max_hz[0] <= self.f_max_hz[1]:
            raise ValueError(f"f_max range invalid: {self.f_max_hz}")


@dataclass(frozen=True)
class WirelessSystem:
    """Per-client arrays of one round plus the cell constants (SI units: Hz, W, s, J, bits)."""

    D: np.ndarray
    c: np.ndarray
    f_max: np.ndarray
    p: np.ndarray
    gain: np.ndarray
    distance_km: np.ndarray
    B: float
    n0: float
    s: float
    kappa: float
    L: int
    config: SystemConfig = field(default_factory=SystemConfig)

    @property
    def K(self) -> int:
        return int(self.D.size)

    @property
    def cycles(self) -> np.ndarray:
        """Total CPU cycles of local training, A_k = L c_k D_k."""
        return self.L * self.c * self.D

    @property
    def snr_hz(self) -> np.ndarray:
        """g_k p_k / N0 in Hz (the SNR over 1 Hz)."""
        return self.gain * self.p / self.n0

    @property
    def t_cmp_min(self) -> np.ndarray:
        """Fastest local training time A_k / f_max_k."""
        return self.cycles / self.f_max

    def with_fading(self, rng: np.random.Generator) -> WirelessSystem:
        """The same cell with a fresh Rayleigh block-fading draw (one per round)."""
        return replace(self, gain=channel_gain(self.distance_km, rng, fading=True))

    def with_bandwidth(self, B: float) -> WirelessSystem:
        if not B > 0:
            raise ValueError(f"bandwidth must be positive; got {B} Hz")
        return replace(self, B=float(B))


def make_system(sizes: np.ndarray, rng: np.random.Generator, config: SystemConfig = SystemConfig()) -> WirelessSystem:
    """Drop K clients uniformly in the cell, draw c_k, f_max_k, and a first fading realisation."""
    D = np.asarray(sizes, float)
    if D.ndim != 1 or D.size == 0 or np.any(D <= 0):
        raise ValueError("sizes must be a non-empty vector of positive sample counts")
    K = D.size
    d = uniform_disk_distances(K, rng, config.r_max_km, config.r_min_km)
    c = rng.uniform(*config.cycles_per_sample, K)
    f = rng.uniform(*config.f_max_hz, K)
    p = np.full(K, float(dbm_to_watt(config.p_dbm)))
    return WirelessSystem(D, c, f, p, channel_gain(d, rng, fading=True), d, config.bandwidth_hz,
                          noise_psd_watt_per_hz(config.n0_dbm_per_hz), config.model_bits, config.kappa,
                          config.local_epochs, config)
