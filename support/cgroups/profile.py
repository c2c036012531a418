"""Recorded profiles: the CSV our profiler writes, read back when cgroups are not usable."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from support.paths import write_text_atomic

COLUMNS = ("workload", "cpus", "mem_mb", "rep", "latency_s", "cpu_s", "nr_throttled")


def save_profile(df: pd.DataFrame, path: Path) -> Path:
    """Write a profile table (columns :data:`COLUMNS`, extra columns kept) atomically, through the shared
    :func:`support.paths.write_text_atomic` (a unique temp file: two writers never share one)."""
    missing = set(COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"profile lacks columns {sorted(missing)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, df.to_csv(index=False))


def load_profile(path: Path) -> pd.DataFrame:
    """Read a recorded profile; a malformed file raises ``ValueError`` naming the file and the problem."""
    path = Path(path)
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise ValueError(f"{path}: not a readable profile CSV ({type(e).__name__}: {e})") from None
    missing = set(COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"{path}: profile lacks columns {sorted(missing)}")
    bad = ~((df.latency_s > 0) & (df.cpus > 0) & (df.mem_mb > 0))
    if bad.any():
        raise ValueError(f"{path}: {int(bad.sum())} rows with non-positive latency, cpus or mem_mb")
    return df
