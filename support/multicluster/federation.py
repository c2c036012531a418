"""The simulated federation: three real cluster traces as per-cluster origin demand, and its parameters.

Cluster k serves requests that originate at k with rate ``D_k(t) = busy_k * mu * cpu_k(t) / mean_train(cpu_k)``
(the real trace's shape, scaled so that cluster k keeps ``busy_k`` replicas busy on average in training).
Capacities, HA minimum, residency, budget and max change are the federation's policies. Reconstruction
of the setting of paper 11 (arXiv 2512.24914, section "system model"; only the abstract was available).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from support.multicluster.decision import FederationPolicy, Weights
from support.traces.datacenter import aligned_window, load_clusters

NAMES = ("alibaba2018", "google2019", "azure_v2")


@dataclass(frozen=True)
class FederationConfig:
    """All knobs of one federation run (times in s, rates in req/s)."""

    mu: float = 10.0                 # requests/s one replica serves (mean service time 100 ms)
    slo_s: float = 0.15              # SLO on the mean response time of a cluster (M/M/c)
    latency_cap_s: float = 1.0       # response time charged while a cluster is overloaded (timeout)
    busy: tuple[float, ...] = (40.0, 30.0, 50.0)   # mean busy replicas per cluster in training
    capacity_factor: float = 2.0     # capacity = factor x peak busy replicas in training
    ha_min: int = 2
    residency: tuple[float, ...] = (0.5, 0.7, 0.6)
    cost: tuple[float, ...] = (1.0, 1.1, 0.9)
    max_change_frac: float = 0.5     # max change per interval, as a fraction of the mean busy replicas
    budget_factor: float = 1.0       # budget = factor x cost of the capacity a 0.5-utilised federation needs at peak
    interval_s: int = 300            # control interval = trace stride
    sync_s: int = 15                 # HPA sync period and feedback-guard period
    startup_s: int = 30              # pod start-up until ready
    train_frac: float = 0.7
    hpa_target: float = 0.7          # HPA CPU utilisation target
    horizon: int = 2                 # forecast steps (interval t+1 for the decision, t+2 for pre-warming)
    margin_quantile: float = 0.9     # feedback: safety margin = this quantile of recent relative residuals
    margin_window: int = 288         # residuals kept (intervals)
    guard_margin: float = 0.05       # feedback guard sizes for the observed load x (1 + this)
    weights: Weights = field(default_factory=Weights)

    def __post_init__(self):
        if self.mu <= 0 or self.slo_s <= 1 / self.mu:
            raise ValueError(f"need mu > 0 and an SLO above the service time 1/mu (got mu={self.mu}, "
                             f"slo_s={self.slo_s})")
        if self.interval_s % self.sync_s or self.startup_s >= self.interval_s or self.startup_s % self.sync_s:
            raise ValueError("sync_s must divide interval_s and startup_s; startup_s must be < interval_s")
        if not 0 < self.train_frac < 1 or not 0 < self.hpa_target <= 1 or not 0 < self.margin_quantile < 1:
            raise ValueError("train_frac, margin_quantile must be in (0, 1) and hpa_target in (0, 1]")
        if self.horizon < 2:
            raise ValueError(f"horizon must be >= 2 (decision + pre-warm), got {self.horizon}")


@dataclass
class Federation:
    """Origin demand ``rates[T, K]`` (req/s per interval boundary), the policy, and the train/test split."""

    names: tuple[str, ...]
    rates: np.ndarray
    policy: FederationPolicy
    cfg: FederationConfig
    t0: int  # first held-back interval

    @property
    def k(self) -> int:
        return self.rates.shape[1]


def build_federation(cpu: np.ndarray, cfg: FederationConfig, names=NAMES) -> Federation:
    """Scale the ``[T, K]`` cluster CPU series into origin demand and derive the policies from training data."""
    cpu = np.asarray(cpu, float)
    T, K = cpu.shape
    if len(cfg.busy) != K or len(cfg.residency) != K or len(cfg.cost) != K:
        raise ValueError(f"busy, residency and cost need {K} entries (one per cluster)")
    t0 = round(cfg.train_frac * T)
    if t0 < 3 * 288 // 2 or T - t0 < 10:
        raise ValueError(f"window of {T} intervals too short for a 70/30 split with daily seasonality")
    rel = cpu / cpu[:t0].mean(0)
    busy = np.asarray(cfg.busy, float)
    rates = rel * busy * cfg.mu
    peak = rel[:t0].max(0) * busy
    cap = np.ceil(cfg.capacity_factor * peak).astype(int)
    cost = np.asarray(cfg.cost, float)
    budget = cfg.budget_factor * float(cost @ np.ceil(peak / 0.5))
    dmax = np.maximum(1, np.round(cfg.max_change_frac * busy)).astype(int)
    pol = FederationPolicy(tuple(int(c) for c in cap), (cfg.ha_min,) * K, tuple(cfg.residency), tuple(cost),
                           tuple(int(d) for d in dmax), budget)
    return Federation(tuple(names), rates, pol, cfg, t0)


def load_federation(cfg: FederationConfig, length: int | None = None, offsets=(0, 0, 0)) -> Federation:
    """The three real traces (Alibaba 2018, Google 2019, Azure v2 at 300 s) aligned on one clock."""
    traces = load_clusters(NAMES, 300)
    return build_federation(aligned_window(traces, length, offsets), cfg)
