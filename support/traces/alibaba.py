"""Alibaba cluster traces (alibaba/clusterdata; research/study use, see MANIFEST): failure statistics.

* :func:`load_openb_pods` — ``cluster-trace-gpu-v2023/openb_pod_list_default.csv`` (8,152 pods, ~149 days):
  phase (Running/Failed/Pending/Succeeded), creation/deletion/scheduled times (s).
* :func:`pod_failure_rate` — failed pods per pod-hour of observed lifetime (a worker-loss rate).
* :func:`load_lora_requests` — ``cluster-trace-v2026-GenAI/lora_request_trace.csv`` (26,823 requests, status
  and execution time): the per-request failure probability of a serving task.
* :func:`gateway_qps_series` — ``cluster-trace-v2026-GenAI/qps.tar.gz`` (gateway QPS per container, sampled
  about every 57 s over 22 h): total QPS per bin, a fine-grained demand series (paper 11's bursty runs).
"""

from __future__ import annotations

import tarfile

import numpy as np
import pandas as pd

from support.data import fetch

OPENB = "alibaba/cluster-trace-gpu-v2023/openb_pod_list_default.csv"
LORA = "alibaba/cluster-trace-v2026-GenAI/lora_request_trace.csv"


def _need(df: pd.DataFrame, cols: set[str], key: str) -> pd.DataFrame:
    if not cols <= set(df.columns):
        raise ValueError(f"{key}: expected columns {sorted(cols)}, got {list(df.columns)}")
    return df


def load_openb_pods() -> pd.DataFrame:
    """The openb pod list with a ``life_s`` column (deletion - creation, s; NaN if never deleted)."""
    df = _need(pd.read_csv(fetch(OPENB)), {"pod_phase", "creation_time", "deletion_time", "scheduled_time"}, OPENB)
    return df.assign(life_s=(df.deletion_time - df.creation_time).clip(lower=0))


def pod_failure_rate(df: pd.DataFrame | None = None) -> dict[str, float]:
    """``failed``, ``pod_hours`` and ``per_pod_hour`` = failed pods / total observed pod-hours."""
    df = load_openb_pods() if df is None else df
    failed = int((df.pod_phase == "Failed").sum())
    hours = float(df.life_s.fillna(0).sum() / 3600.0)
    if hours <= 0:
        raise ValueError("openb pod list has no observed lifetime")
    return {"failed": failed, "pods": len(df), "pod_hours": hours, "per_pod_hour": failed / hours}


def load_lora_requests() -> pd.DataFrame:
    """LoRA serving requests: ``gmt_create`` (datetime), ``predict_status``, ``exec_time_seconds``."""
    df = _need(pd.read_csv(fetch(LORA)), {"gmt_create", "predict_status", "exec_time_seconds"}, LORA)
    return df.assign(gmt_create=pd.to_datetime(df.gmt_create))


def request_failure_probability(df: pd.DataFrame | None = None) -> dict[str, float]:
    """Fraction of finished requests (SUCCEED or FAILED) that failed, and the median time to fail (s)."""
    df = load_lora_requests() if df is None else df
    fin = df[df.predict_status.isin(["SUCCEED", "FAILED"])]
    bad = fin[fin.predict_status == "FAILED"]
    return {"requests": len(fin), "failed": len(bad), "p_fail": len(bad) / len(fin),
            "median_fail_s": float(bad.exec_time_seconds.median())}


QPS = "alibaba/cluster-trace-v2026-GenAI/qps.tar.gz"


def load_gateway_qps() -> pd.DataFrame:
    """GenAI gateway QPS samples (``qps.csv`` inside ``qps.tar.gz``): ``timestamp_anon`` (s, anonymised
    epoch), ``value`` (QPS of one container), ``container_ip``, ``request_type``."""
    with tarfile.open(fetch(QPS)) as tf:
        names = [m for m in tf.getnames() if m.endswith("qps.csv")]
        if len(names) != 1:
            raise ValueError(f"{QPS}: expected one member qps.csv, got {tf.getnames()}")
        df = pd.read_csv(tf.extractfile(names[0]))
    return _need(df, {"timestamp_anon", "value"}, QPS)


def gateway_qps_series(bin_s: float = 60.0, df: pd.DataFrame | None = None) -> np.ndarray:
    """Total gateway QPS per ``bin_s`` bin from the first sample: the containers' values are summed per
    sampling time, then averaged over the sampling times in the bin; a bin without samples is 0 (the trace
    records only containers with traffic). Returns a NumPy array (req/s). Demand of paper 11's bursty runs.

    ``bin_s`` must be at least the median gap between sampling times (57 s), else empty bins would read as
    idle. A partial last bin is kept: it averages QPS samples (rates), so it is not biased low as a count would be.
    """
    if not bin_s > 0:
        raise ValueError(f"bin_s must be > 0, got {bin_s}")
    df = load_gateway_qps() if df is None else _need(df, {"timestamp_anon", "value"}, QPS)
    if not np.isfinite(df.value).all() or (df.value < 0).any():
        raise ValueError(f"{QPS}: QPS values must be finite and >= 0")
    tot = df.groupby("timestamp_anon").value.sum()
    gap = float(np.median(np.diff(tot.index.to_numpy(float)))) if tot.size > 1 else 0.0
    if bin_s < gap:
        raise ValueError(f"bin_s = {bin_s} s is below the median sampling gap of the QPS trace ({gap:g} s): "
                         f"bins without a sample would read as 0 QPS")
    idx = ((tot.index.to_numpy(float) - tot.index.min()) // bin_s).astype(int)
    n = idx.max() + 1
    s, c = np.bincount(idx, weights=tot.to_numpy(), minlength=n), np.bincount(idx, minlength=n)
    return np.where(c > 0, s / np.maximum(c, 1), 0.0)
