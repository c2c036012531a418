"""Linear utilization power model (Fan et al. style): P = P_idle + (P_max - P_idle) * u + beta_mem * mem."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LinearPowerModel:
    """Server power in watts as a linear function of CPU utilization and allocated memory.

    ``u = cpu / cpu_total`` (allocated or used CPUs over the server's CPUs, in [0, 1]),
    ``P = p_idle + (p_max - p_idle) * u + beta_mem * mem_gb``.
    """

    p_idle: float = 30.0  # W, idle edge box
    p_max: float = 90.0  # W, all CPUs busy
    cpu_total: float = 8.0  # CPUs
    beta_mem: float = 0.0  # W per GB allocated

    def __post_init__(self):
        if not (0 <= self.p_idle <= self.p_max):
            raise ValueError(f"need 0 <= p_idle <= p_max, got p_idle={self.p_idle}, p_max={self.p_max}")
        if self.cpu_total <= 0:
            raise ValueError(f"cpu_total must be > 0, got {self.cpu_total}")
        if self.beta_mem < 0:
            raise ValueError(f"beta_mem must be >= 0, got {self.beta_mem}")

    @property
    def watts_per_cpu(self) -> float:
        return (self.p_max - self.p_idle) / self.cpu_total

    def power(self, cpu, mem_gb=0.0):
        """Power (W) at ``cpu`` CPUs in use and ``mem_gb`` GB allocated."""
        cpu = np.asarray(cpu, float)
        if np.any(cpu < -1e-9) or np.any(cpu > self.cpu_total * (1 + 1e-6)):
            raise ValueError(f"cpu must be within [0, {self.cpu_total}], got {cpu}")
        p = self.p_idle + self.watts_per_cpu * cpu + self.beta_mem * np.asarray(mem_gb, float)
        return float(p) if p.ndim == 0 else p

    def energy_per_request(self, power_w, throughput):
        """Joules per request at ``throughput`` requests/s."""
        return np.asarray(power_w, float) / np.asarray(throughput, float)
