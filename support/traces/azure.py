"""Azure LLM inference traces 2023 (Azure/AzurePublicDataset, CC BY 4.0): requests and per-epoch rates.

The two traces (code and conversation, about 1 hour, 28k requests) are split by context length (below /
above the trace's median) into four request classes. :func:`epoch_rates` counts requests per class and
epoch and returns req/s; :func:`request_rates` gives one trace's request rate in fixed bins (e.g. 15 s).
Both keep complete bins only, as :func:`support.sim.rate_profile` (which they call) does.
Used by papers 05, 06 and 11.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from support.data import fetch
from support.sim.replay import rate_profile

FILES = {"conv": "azure/AzureLLMInferenceTrace_conv.csv", "code": "azure/AzureLLMInferenceTrace_code.csv"}


def load_azure() -> pd.DataFrame:
    """Both Azure LLM traces with columns t (s since the first request), kind, ctx, gen, cls."""
    frames = []
    for kind, key in FILES.items():
        df = pd.read_csv(fetch(key))
        need = {"TIMESTAMP", "ContextTokens", "GeneratedTokens"}
        if not need <= set(df.columns):
            raise ValueError(f"{key}: expected columns {sorted(need)}, got {list(df.columns)}")
        df = pd.DataFrame({"ts": pd.to_datetime(df.TIMESTAMP), "kind": kind, "ctx": df.ContextTokens,
                           "gen": df.GeneratedTokens})
        med = df.ctx.median()
        df["cls"] = kind + np.where(df.ctx > med, "-long", "-short")
        frames.append(df)
    df = pd.concat(frames, ignore_index=True).sort_values("ts", ignore_index=True)
    df["t"] = (df.ts - df.ts.iloc[0]).dt.total_seconds()
    return df


def epoch_rates(df: pd.DataFrame, epoch_s: float = 300.0, classes=None) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Requests per second per class and epoch: ``(rates [epochs x classes], classes, epoch start times)``, complete
    epochs from t = 0 to the last request only (the binning rule of :func:`support.sim.rate_profile`)."""
    if not epoch_s > 0:
        raise ValueError(f"epoch_s must be > 0, got {epoch_s}")
    classes = sorted(df.cls.unique()) if classes is None else list(classes)
    t, cls = df.t.to_numpy(float), df.cls.to_numpy()
    edges, _ = rate_profile(t, epoch_s, 0.0)
    zero = np.zeros(edges.size - 1)  # a class absent from df
    rates = [rate_profile(t[cls == c], epoch_s, 0.0, t.max())[1] if (cls == c).any() else zero for c in classes]
    return np.stack(rates, axis=1), classes, edges[:-1]


def request_rates(kind: str, bin_s: float = 15.0, df: pd.DataFrame | None = None) -> tuple[np.ndarray, pd.Timestamp]:
    """Request rate (req/s) of one trace (``kind`` = "code" or "conv") in consecutive ``bin_s`` bins from its
    first request, complete bins only (:func:`support.sim.rate_profile`): ``(rates, first timestamp)``. Paper 11.

    ``df`` may hold the raw CSV (column TIMESTAMP); by default it is read through :func:`support.data.fetch`.
    """
    if kind not in FILES:
        raise ValueError(f"unknown Azure LLM trace {kind!r}; choose one of {sorted(FILES)}")
    if not bin_s > 0:
        raise ValueError(f"bin_s must be > 0, got {bin_s}")
    df = pd.read_csv(fetch(FILES[kind])) if df is None else df
    if "TIMESTAMP" not in df.columns:
        raise ValueError(f"{FILES[kind]}: expected a column 'TIMESTAMP', got {list(df.columns)}")
    ts = pd.to_datetime(df.TIMESTAMP)
    t = (ts - ts.min()).dt.total_seconds().to_numpy()
    if t.max() < bin_s:
        raise ValueError(f"{kind}: the trace spans {t.max():.1f} s, less than one bin of {bin_s} s")
    return rate_profile(t, bin_s, 0.0)[1], ts.min()
