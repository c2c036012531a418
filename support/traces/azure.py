"""Azure LLM inference traces 2023 (Azure/AzurePublicDataset, CC BY 4.0): requests and per-epoch rates.

The two traces (code and conversation, about 1 hour, 28k requests) are split by context length (below /
above the trace's median) into four request classes. :func:`epoch_rates` counts requests per class and
epoch and returns req/s. Used by papers 05, 06 and 11.
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
