"""loghub 2k-line samples (logpai/loghub; research use with citation): failure signatures by category.

The Hadoop sample comes from a cluster with injected machine-down, network-disconnection and disk-full
failures. :func:`failure_episodes` classifies the WARN/ERROR/FATAL templates of the structured logs by
keywords into ``worker_loss`` (host/network unreachable), ``resource`` (disk full, out of memory) and
``transient`` (retried/timeouts) and counts *episodes* (distinct minutes with that signature), which gives
a relative mix of fault types; line counts would over-weight chatty retries.
"""

from __future__ import annotations

import re

import pandas as pd

from support.data import fetch

SYSTEMS = {"Hadoop": "loghub/Hadoop/Hadoop_2k.log_structured.csv", "HDFS": "loghub/HDFS/HDFS_2k.log_structured.csv",
           "Spark": "loghub/Spark/Spark_2k.log_structured.csv"}
CATEGORIES = {
    "worker_loss": re.compile(r"NoRouteToHost|No route|CONTACTING RM|Address change|bad datanode|"
                              r"Connection refused|unknown container|lost|exited", re.IGNORECASE),
    "resource": re.compile(r"No space|disk full|OutOfMemory|out of memory|memory", re.IGNORECASE),
    "transient": re.compile(r"retry|timeout|timed out|exception|Slow", re.IGNORECASE),
}


def load_structured(system: str) -> pd.DataFrame:
    """One structured 2k sample with a ``minute`` column (date + HH:MM). ``Date`` is required: without it,
    the same minute of different days would count as one episode."""
    if system not in SYSTEMS:
        raise ValueError(f"unknown loghub system {system!r}; expected one of {sorted(SYSTEMS)}")
    df = pd.read_csv(fetch(SYSTEMS[system]), dtype=str)
    for c in ("Level", "EventTemplate", "Date", "Time"):
        if c not in df.columns:
            raise ValueError(f"{SYSTEMS[system]}: missing column {c!r}")
    tm = df["Time"].astype(str)
    hhmm = tm.where(~tm.str.fullmatch(r"\d+"), tm.str.zfill(6).str[:2] + ":" + tm.str.zfill(6).str[2:4])
    df["minute"] = df["Date"].astype(str) + " " + hhmm.str[:5]
    return df


def classify(template: str) -> str | None:
    """First matching category of a log template (worker_loss before resource before transient)."""
    for cat, rx in CATEGORIES.items():
        if rx.search(template or ""):
            return cat
    return None


def failure_episodes(systems=("Hadoop", "HDFS", "Spark")) -> pd.DataFrame:
    """Per system and category: non-INFO lines and episodes (distinct minutes)."""
    rows = []
    for s in systems:
        df = load_structured(s)
        bad = df[df.Level.str.upper().isin(["WARN", "ERROR", "FATAL"])].copy()
        bad["category"] = bad.EventTemplate.map(classify)
        for cat in CATEGORIES:
            b = bad[bad.category == cat]
            rows.append({"system": s, "category": cat, "lines": len(b), "episodes": int(b.minute.nunique())})
    return pd.DataFrame(rows)
