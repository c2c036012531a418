"""Azure LLM inference traces 2023 (Azure/AzurePublicDataset, CC BY 4.0): requests and per-epoch rates.

The two traces (code and conversation, about 1 hour, 28k requests) are split by context length (below /
above the trace's median) into four request classes. :func:`epoch_rates` counts requests per class and
epoch and returns req/s; :func:`request_rates` gives one trace's request rate in fixed bins (e.g. 15 s).
Used by papers 05, 06 and 11.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from support.data import fetch

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
    """Requests per second per class and epoch: ``(rates [epochs x classes], classes, epoch start times)``."""
    if epoch_s <= 0:
        raise ValueError(f"epoch_s must be > 0, got {epoch_s}")
    classes = sorted(df.cls.unique()) if classes is None else list(classes)
    edges = np.arange(0.0, df.t.max() + epoch_s, epoch_s)
    counts = np.stack([np.histogram(df.t[df.cls == c], bins=edges)[0] for c in classes], axis=1)
    counts = counts[:-1] if counts.shape[0] > 1 and counts[-1].sum() < 0.5 * counts[:-1].mean(0).sum() else counts
    return counts / epoch_s, classes, edges[: counts.shape[0]]


def request_rates(kind: str, bin_s: float = 15.0, df: pd.DataFrame | None = None) -> tuple[np.ndarray, pd.Timestamp]:
    """Request rate (req/s) of one trace (``kind`` = "code" or "conv") in consecutive ``bin_s`` bins from its
    first request, complete bins only: ``(rates, first timestamp)``. Fine-grained demand for paper 11.

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
    n = int(t.max() // bin_s)  # bins [i b, (i+1) b) that end before the last request: complete
    if n < 1:
        raise ValueError(f"{kind}: the trace spans {t.max():.1f} s, less than one bin of {bin_s} s")
    counts = np.bincount((t // bin_s).astype(int), minlength=n + 1)[:n]
    return counts / bin_s, ts.min()
