"""The simulated federation: three real cluster traces as per-cluster origin demand, and its parameters.

Cluster k serves requests that originate at k with rate ``D_k(t) = busy_k * mu * cpu_k(t) / mean_train(cpu_k)``
(the real trace's shape, scaled so that cluster k keeps ``busy_k`` replicas busy on average in training).
Capacities, HA minimum, residency, budget and max change are the federation's policies.

The *bursty* federation (:func:`load_bursty_federation`) replays fine-grained request traces instead: the
Azure LLM code and conversation traces (requests per 15 s) and the Alibaba GenAI gateway QPS (about one
sample a minute, held constant within the minute), with 60 s control intervals. Reconstruction
of the setting of paper 11 (arXiv 2512.24914, section "system model"; only the abstract was available).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from support.control.hpa import HPAConfig, whole_percent
from support.multicluster.decision import FederationPolicy, Weights
from support.traces.alibaba import gateway_qps_series
from support.traces.azure import request_rates
from support.traces.datacenter import aligned_window, load_clusters
from support.validate import ParameterError, check_int, check_range

NAMES = ("alibaba2018", "google2019", "azure_v2")
BURSTY_NAMES = ("azure_llm_code", "azure_llm_conv", "alibaba_genai_qps")


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
    hpa_target: float = 0.8          # HPA CPU utilisation target (Kubernetes default: DefaultCPUUtilization = 80)
    horizon: int = 2                 # forecast steps (interval t+1 for the decision, t+2 for pre-warming)
    margin_quantile: float = 0.9     # feedback: safety margin = this quantile of recent relative residuals
    margin_window: int = 288         # residuals kept (intervals)
    guard_margin: float = 0.05       # feedback guard sizes for the observed load x (1 + this)
    # anti-flapping of the proactive controller, mirroring the HPA's defaults (simulate.AntiFlap): a change
    # within tolerance x current replicas is not made (either way); a scale-down
    # goes no lower than the highest recommendation of the last downscale_stabilisation_s; 0 and 0 = none
    tolerance: float = 0.1
    downscale_stabilisation_s: int = 300
    weights: Weights = field(default_factory=Weights)

    def __post_init__(self):
        check_range(self.mu, "mu", low=0, low_open=True, error=ParameterError)
        try:  # at or above latency_cap_s (charged to an overloaded cluster) no latency breaks the SLO: 0 % violations
            check_range(self.slo_s, "slo_s", low=1 / self.mu, high=self.latency_cap_s, low_open=True, high_open=True,
                        error=ParameterError)
        except ParameterError:
            raise ParameterError(f"slo_s must be above the mean service time 1/mu = {1 / self.mu:g} s (an SLO the "
                                 f"service can meet) and below latency_cap_s = {self.latency_cap_s:g} s (the response "
                                 f"time charged to an overloaded cluster, else no latency breaks the SLO), got "
                                 f"{self.slo_s!r}") from None
        check_int(self.sync_s, "sync_s", minimum=1, error=ParameterError)
        check_int(self.interval_s, "interval_s", minimum=1, error=ParameterError)
        if self.interval_s % self.sync_s:
            raise ParameterError(f"interval_s must be a multiple of sync_s = {self.sync_s}, got {self.interval_s}")
        check_int(self.startup_s, "startup_s", minimum=0, error=ParameterError)
        if self.startup_s % self.sync_s or self.startup_s >= self.interval_s:
            raise ParameterError(f"startup_s must be a multiple of sync_s = {self.sync_s} below interval_s = "
                             f"{self.interval_s}, got {self.startup_s}")
        check_range(self.train_frac, "train_frac", low=0, high=1, low_open=True, high_open=True, error=ParameterError)
        check_range(self.hpa_target, "hpa_target", low=0, high=1, low_open=True, error=ParameterError)
        if whole_percent(self.hpa_target) is None:  # averageUtilization is an integer
            raise ParameterError(f"hpa_target must be a whole percent (the HPA spec's averageUtilization is an "
                                 f"integer), got {self.hpa_target!r}")
        if not hpa_can_scale_up(self.hpa_target):
            raise ParameterError(f"hpa_target must be below 1 / (1 + the HPA's tolerance {HPAConfig.tolerance}) = "
                                 f"{1 / (1 + HPAConfig.tolerance):.3f}: utilisation cannot exceed 100 %, so at "
                                 f"{self.hpa_target!r} the HPA's ratio never leaves its tolerance and it never scales "
                                 "up")
        check_range(self.margin_quantile, "margin_quantile", low=0, high=1, low_open=True, high_open=True, error=ParameterError)
        check_range(self.tolerance, "tolerance", low=0, high=1, high_open=True, error=ParameterError)
        check_int(self.downscale_stabilisation_s, "downscale_stabilisation_s", minimum=0, error=ParameterError)
        check_int(self.horizon, "horizon", minimum=2, what="an integer >= 2 (decision + pre-warm)", error=ParameterError)


def hpa_can_scale_up(target: float, tolerance: float = HPAConfig.tolerance) -> bool:
    """Whether an HPA at utilisation ``target`` can ever scale up: the usage ratio is at most 1 / target (pods are
    at most 100 % busy), and it acts only beyond 1 + ``tolerance``."""
    return 1 / target > 1 + tolerance


@dataclass
class Federation:
    """Origin demand ``rates[T, K]`` (req/s per interval boundary), the policy, and the train/test split."""

    names: tuple[str, ...]
    rates: np.ndarray
    policy: FederationPolicy
    cfg: FederationConfig
    t0: int  # first held-back interval
    period: int = 288  # season of the forecasters (intervals): a day of 5-minute intervals
    #: demand per sync step ``[(T - 1) * steps, K]`` replayed during interval t (rows t*steps ...); None:
    #: demand moves linearly between the interval boundaries ``rates[t]`` and ``rates[t + 1]``
    fine: np.ndarray | None = None
    #: floor applied to ``rates`` for burst detection only (traces with empty intervals); None: none needed
    burst_floor: np.ndarray | None = None

    @property
    def burst_rates(self) -> np.ndarray:
        return self.rates if self.burst_floor is None else np.maximum(self.rates, self.burst_floor)

    @property
    def k(self) -> int:
        return self.rates.shape[1]


def build_federation(cpu: np.ndarray, cfg: FederationConfig, names=NAMES, period: int = 288) -> Federation:
    """Scale the ``[T, K]`` cluster CPU series into origin demand and derive the policies from training data
    (``period``: the forecasters' season in intervals; training must hold two seasons and two points, what
    Holt-Winters needs, so that no forecaster fails after the others have run). A series with empty intervals
    needs a :attr:`Federation.burst_floor` (burst detection works on log-changes), as the bursty builder sets."""
    cpu = np.asarray(cpu, float)
    T, K = cpu.shape
    if len(cfg.busy) != K or len(cfg.residency) != K or len(cfg.cost) != K:
        raise ValueError(f"busy, residency and cost need {K} entries (one per cluster)")
    if not np.all(np.isfinite(cpu)) or np.any(cpu < 0):
        raise ValueError(f"the cluster series must be finite and non-negative; {int(np.sum(~(cpu >= 0)))} values "
                         "are not")
    t0 = round(cfg.train_frac * T)
    if t0 < 2 * period + 2 or T - t0 < 10:
        raise ValueError(f"window of {T} intervals too short for a {cfg.train_frac:.0%} training split with a "
                         f"season of {period}: training needs at least {2 * period + 2} intervals (Holt-Winters) "
                         "and the held-back part 10")
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
    return Federation(tuple(names), rates, pol, cfg, t0, period)


def load_federation(cfg: FederationConfig, length: int | None = None, offsets=(0, 0, 0)) -> Federation:
    """The three real traces (Alibaba 2018, Google 2019, Azure v2 at 300 s) aligned on one clock; ``cfg.interval_s``
    must be their 300 s (another interval would replay 5-minute rows at that stride)."""
    if cfg.interval_s != 300:
        raise ValueError(f"the cluster traces are 300 s series: load_federation needs interval_s = 300, got "
                         f"{cfg.interval_s} (the bursty federation is built by build_bursty_federation)")
    traces = load_clusters(NAMES, 300)
    return build_federation(aligned_window(traces, length, offsets), cfg)


def build_bursty_federation(fine: np.ndarray, cfg: FederationConfig, names=BURSTY_NAMES,
                            period: int = 10) -> Federation:
    """Federation from fine-grained demand ``fine[N, K]`` (req/s per ``cfg.sync_s`` bin).

    ``rates[t]`` is the mean rate of trace interval t, and simulated interval t (from boundary t to t + 1)
    replays the bins of trace interval t + 1, whose mean is ``rates[t + 1]``: as in the 5-minute runs the
    controller at boundary t knows ``rates[:t + 1]`` and forecasts ``rates[t + 1]``. Demand is scaled exactly
    as in :func:`build_federation` (mean busy replicas per cluster in training).
    """
    fine = np.asarray(fine, float)
    steps = cfg.interval_s // cfg.sync_s
    if fine.ndim != 2 or fine.shape[0] < 2 * steps or not np.all(np.isfinite(fine)) or np.any(fine < 0):
        raise ValueError(f"fine demand must be a finite, non-negative [bins, clusters] array of at least "
                         f"{2 * steps} bins, got shape {fine.shape}")
    T = fine.shape[0] // steps
    fine = fine[: T * steps]
    mean = fine.reshape(T, steps, -1).mean(1)
    fed = build_federation(mean, cfg, names, period=period)
    scale = np.asarray(cfg.busy, float) * cfg.mu / mean[:fed.t0].mean(0)
    fed.fine = fine[steps:] * scale
    fed.burst_floor = scale / cfg.interval_s  # one request per interval: log-changes stay finite
    return fed


def bursty_demand(sync_s: int = 15, interval_s: int = 60) -> tuple[np.ndarray, dict]:
    """The three fine-grained traces on one clock, ``[bins, 3]`` req/s per ``sync_s`` bin, and where they
    come from: Azure LLM code and conversation (from their first request, complete bins), and the hour of
    the Alibaba GenAI gateway QPS with the highest mean (the trace is mostly idle at night), each minute's
    QPS held for its ``interval_s // sync_s`` bins. The length is the shortest trace's whole intervals."""
    if interval_s % sync_s:
        raise ValueError("sync_s must divide interval_s")
    steps = interval_s // sync_s
    code, _ = request_rates("code", sync_s)
    conv, _ = request_rates("conv", sync_s)
    qps = gateway_qps_series(interval_s)
    n = min(code.size, conv.size) // steps
    if qps.size < n:
        raise ValueError(f"the Alibaba QPS series has {qps.size} intervals, need {n}")
    roll = np.convolve(qps, np.ones(n) / n, mode="valid")
    off = int(np.argmax(roll))
    ali = np.repeat(qps[off:off + n], steps)
    fine = np.stack([code[:n * steps], conv[:n * steps], ali], axis=1)
    return fine, {"intervals": n, "alibaba_offset_min": off * interval_s / 60}


def load_bursty_federation(cfg: FederationConfig, period: int = 10) -> Federation:
    """The bursty federation (Azure LLM code, Azure LLM conversation, Alibaba GenAI gateway) at ``cfg``'s
    control interval (60 s recommended) and sync period."""
    fine, _ = bursty_demand(cfg.sync_s, cfg.interval_s)
    return build_bursty_federation(fine, cfg, BURSTY_NAMES, period)
