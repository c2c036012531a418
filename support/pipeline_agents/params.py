"""Every constant of the pipeline simulation, as one published parameter table (nothing is hidden in code).

Values marked *data* are calibrated by :mod:`support.pipeline_agents.calibration` from Alibaba and loghub
traces; *doc* come from tool documentation (Airflow ``retry_delay`` = 300 s); *assumed* have no public
source and are stated as assumptions in the notebook.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np
import pandas as pd

from support.sim import FaultSpec, scale_rates
from support.validate import check_int, check_range

# float fields that must be > 0: divisors (a 0 skew_factor divides the stream capacity by zero) and prices and
# price factors (a 0 price bills nothing, so the cost claim would read "no billed worker-hour"); every other
# number must be >= 0, and every number finite except these, where inf means "for the rest of the run"
POSITIVE = frozenset({"skew_factor", "memory_factor", "spot_price", "on_demand_price", "spike_mult"})
UNBOUNDED = frozenset({"stream_memory_raise_h"})


@dataclass(frozen=True)
class Params:
    horizon_h: float = 24.0  # simulated hours per seed
    # batch pipeline (TPC-H stages timed in DuckDB, scaled)
    batch_period_s: float = 3600.0  # hourly schedule, max one active run (Airflow max_active_runs=1)
    batch_workers: int = 8  # workers per stage (static and initial agentic)
    batch_run_s: float = 1500.0  # nominal run time with batch_workers: scales the measured DuckDB seconds
    batch_fresh_slo_s: float = 3600.0  # a run is fresh when done within this long after its scheduled start
    checkpoint_s: float = 60.0  # stage checkpoint interval (agentic restarts resume from the last one)
    fail_fast_s: float = 30.0  # a doomed attempt (schema mismatch, OOM at start) runs this long before failing
    # streaming pipeline (Azure LLM trace replayed)
    window_s: float = 60.0  # streaming step and lag-measurement window
    events_per_request: float = 100.0  # events per trace request (volume scale)
    worker_rate: float = 100.0  # events/s one worker processes
    target_util: float = 0.7  # utilization both controllers size for
    lag_slo_s: float = 120.0  # a window meets the lag SLO when backlog drains within this long
    autoscale_every_s: float = 600.0  # agentic resource agent's scaling cadence (bounded by the change-rate rule)
    headroom: float = 1.1  # agentic sizing: max 1-min rate of the last cadence window x headroom
    max_stream_workers: int = 24
    change_reserve: int = 2  # optional autoscaling leaves this many changes of the hourly budget to remediation
    # prices (USD per worker-hour)
    spot_price: float = 1.5
    on_demand_price: float = 3.0
    spike_mult: float = 2.5  # spot price multiplier during a cost spike
    spike_s: float = 3600.0  # spike duration
    # static baseline (Airflow-like)
    retries: int = 3  # Airflow task retries (default_task_retries defaults to 0; set to 3)
    retry_delay_s: float = 300.0  # Airflow retry_delay default timedelta(seconds=300)
    exponential_backoff: bool = False
    max_retry_delay_s: float = 3600.0
    # humans
    oncall_median_s: float = 1800.0  # on-call response, lognormal
    oncall_sigma: float = 0.5
    fix_median_s: float = 1200.0  # diagnosis + fix, lognormal
    fix_sigma: float = 0.5
    # agentic controller
    detect_s: float = 30.0  # telemetry scrape + alert
    actuate_s: float = 15.0  # policy check + actuation
    agent_backoff_s: float = 10.0  # retry backoff for transient errors
    repartition_s: float = 60.0  # salting/repartition overhead
    memory_factor: float = 2.0  # raise-memory step (also multiplies the worker price)
    stream_memory_raise_h: float = math.inf  # a stream OOM fix keeps the raise this long (inf: to the end)
    # delta_workers a stream worker replacement is checked with: 1 = one more than the live count, so the cost
    # ceiling sees a spend increase (as shipped, every claim); 0 = the configured size (the notebook's sensitivity)
    stream_replacement_delta: int = 1
    # fault effects
    skew_factor: float = 4.0  # a hot partition slows the stage/stream this many times
    skew_s: float = 1800.0  # streaming hot-key burst length when nobody repartitions
    upstream_median_s: float = 900.0  # upstream delay, lognormal
    upstream_sigma: float = 0.5
    sink_pii_certified: bool = False
    region: str = "eu-west"

    def __post_init__(self):
        for f in fields(self):
            k, v = f.name, getattr(self, f.name)
            if f.type in ("int", int):  # annotations are strings under `from __future__ import annotations`
                check_int(v, f"parameter {k}", minimum=0)
            elif f.type in ("float", float) and not (k in UNBOUNDED and v == math.inf):
                check_range(v, f"parameter {k}", low=0.0, low_open=k in POSITIVE)
            elif f.type in ("bool", bool) and not isinstance(v, (bool, np.bool_)):
                # "False" or "no" are truthy strings: they turned backoff on and let PII flow to the sink
                raise ValueError(f"parameter {k} must be True or False, got {v!r}")
        if self.horizon_h <= 0 or self.batch_workers < 1 or self.worker_rate <= 0 or not 0 < self.target_util <= 1:
            raise ValueError("horizon_h > 0, batch_workers >= 1, worker_rate > 0 and 0 < target_util <= 1 required")
        if self.stream_replacement_delta not in (0, 1):
            raise ValueError(f"parameter stream_replacement_delta must be 0 or 1, got {self.stream_replacement_delta}")
        for k in ("batch_period_s", "window_s", "autoscale_every_s", "checkpoint_s"):
            if not getattr(self, k) > 0:  # 0 would schedule endless runs/loops at t = 0 or divide by zero
                raise ValueError(f"parameter {k} must be > 0, got {getattr(self, k)}")

    def retry_delay(self, k: int) -> float:
        """Delay before retry ``k`` (1-based): fixed, or doubled each time (Airflow exponential backoff)."""
        d = self.retry_delay_s * (2 ** (k - 1) if self.exponential_backoff else 1)
        return min(d, self.max_retry_delay_s)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"parameter": list(asdict(self)), "value": list(asdict(self).values())})


FAILURE_KINDS = ("worker_loss", "transient", "oom", "schema_drift", "skew", "upstream_delay")
ALL_KINDS = FAILURE_KINDS + ("cost_spike",)


@dataclass(frozen=True)
class FaultTable:
    """Fault rates per pipeline and hour, with the source of each number. ``workers``: the pipeline size the
    ``worker_loss`` rate was calibrated for (a rate per worker-hour times it); :meth:`for_workers` rescales it to
    another pipeline's workers (None: the rate is used as it is, for every pipeline)."""

    rates: dict[str, float]
    sources: dict[str, str] = field(default_factory=dict)
    workers: int | None = None

    def __post_init__(self):
        missing = set(ALL_KINDS) - set(self.rates)
        if missing:
            raise ValueError(f"fault table lacks rates for {sorted(missing)}")

    def specs(self, kinds=FAILURE_KINDS) -> list[FaultSpec]:
        return [FaultSpec(k, self.rates[k]) for k in kinds]

    def for_workers(self, workers: int) -> FaultTable:
        """The table of a pipeline of ``workers`` workers: ``worker_loss`` scales with the worker count (each worker
        fails at the calibrated per-worker-hour rate), every other rate is per pipeline-hour and stays."""
        if self.workers is None:
            return self
        check_int(workers, "workers", minimum=1)
        return replace(self, rates={**self.rates, "worker_loss": self.rates["worker_loss"] * workers / self.workers},
                       workers=workers)

    def scaled(self, factor: float) -> FaultTable:
        """The same table with every rate times ``factor`` (the shared :func:`support.sim.scale_rates`: finite, >= 0)."""
        return replace(self, rates={s.kind: s.rate_per_hour for s in scale_rates(self.specs(tuple(self.rates)), factor)})

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"fault": list(self.rates), "per_pipeline_hour": list(self.rates.values()),
                             "per_day": [24 * v for v in self.rates.values()],
                             "source": [self.sources.get(k, "") for k in self.rates]})
