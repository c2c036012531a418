"""Metrics recorder for simulations: samples per metric, summaries with a 95% confidence interval."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from support.validate import check_int


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    ci95: float  # half-width (batch means when n is large, else normal approximation)
    p50: float
    p95: float
    p99: float


def summarize(x, batches: int = 20) -> Summary:
    """Mean and a batch-means 95% CI half-width, t quantile with ``batches - 1`` degrees of freedom (robust to the
    autocorrelation of queueing samples); below ``10 * batches`` samples, the normal approximation."""
    x = np.asarray(x, float)
    n = x.size
    if n == 0:
        raise ValueError("summarize: no samples")
    batches = check_int(batches, "summarize: batches", minimum=2)
    if n >= 10 * batches:
        from scipy import stats

        m = x[: n - n % batches].reshape(batches, -1).mean(axis=1)
        half = float(stats.t.ppf(0.975, batches - 1)) * m.std(ddof=1) / np.sqrt(batches)
    else:
        half = 1.96 * x.std(ddof=1) / np.sqrt(n) if n > 1 else float("inf")
    q = np.quantile(x, [0.5, 0.95, 0.99])
    return Summary(n, float(x.mean()), float(half), float(q[0]), float(q[1]), float(q[2]))


class Recorder:
    """``rec.record("sojourn", t)`` during a run; ``rec.summary("sojourn")`` after it."""

    def __init__(self):
        self._data: dict[str, list[float]] = defaultdict(list)
        self.events: list[tuple[float, str, dict]] = []

    def record(self, metric: str, value: float) -> None:
        self._data[metric].append(float(value))

    def log(self, time: float, kind: str, **info) -> None:
        """Append an event (time, kind, info) to the event log."""
        self.events.append((float(time), kind, info))

    def values(self, metric: str) -> np.ndarray:
        if metric not in self._data:
            raise KeyError(f"no samples recorded for {metric!r}; have {sorted(self._data)}")
        return np.asarray(self._data[metric])

    def summary(self, metric: str, warmup: int = 0) -> Summary:
        return summarize(self.values(metric)[warmup:])

    def metrics(self) -> list[str]:
        return sorted(self._data)
