"""Live profiling of the workloads under cgroup CPU quotas and memory limits.

:func:`profile` runs every workload at every (CPUs, memory) grid point in a fresh cgroup (created
and removed by :func:`support.cgroups.run_limited`) and returns one row per repetition. When cgroups
are not usable here it returns the recorded profile our profiler wrote earlier
(``data/crms/profile_recorded.csv``) and says so in ``source``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from support.cgroups import CgroupError, detect, run_limited
from support.cgroups.profile import load_profile, save_profile
from support.crms.workloads import WORKLOADS
from support.paths import REPO_ROOT
from support.progress import progress

WORKLOAD_SCRIPT = Path(__file__).with_name("workloads.py")
RECORDED = REPO_ROOT / "data" / "crms" / "profile_recorded.csv"
PRIORITY_WEIGHT = 8192  # cpu.shares of the profiled group: the quota, not the shared VM's other load, limits it
PERIOD_US = 10_000  # CFS period: 10 ms keeps ~0.1 s requests from being quantized by 100 ms throttling slices


@dataclass
class Profile:
    data: pd.DataFrame  # workload, cpus, mem_mb, rep, latency_s, cpu_s, nr_throttled
    source: str  # "live cgroup v1/v2" or "recorded (<path>)"
    reason: str = ""


def profile(workloads=WORKLOADS, cpus=(0.25, 0.5, 1.0), mem_mb=(128, 512), reps: int = 1, size: float = 1.0,
            seed: int = 0, allow_recorded: bool = True, save_to: Path | None = None) -> Profile:
    """Profile ``workloads`` on the grid ``cpus x mem_mb`` (``reps`` requests per point, after a warm-up)."""
    bad = [w for w in workloads if w not in WORKLOADS]
    if bad:
        raise ValueError(f"unknown workloads {bad}; known: {', '.join(WORKLOADS)}")
    info = detect()
    if not info.usable:
        if not allow_recorded:
            raise CgroupError(f"cgroups not usable: {info.reason}")
        return Profile(load_profile(RECORDED), f"recorded ({RECORDED.relative_to(REPO_ROOT)})", info.reason)
    rows = []
    grid = [(w, c, m) for w in workloads for c in cpus for m in mem_mb]
    for w, c, m in progress(grid, desc="profiling"):
        argv = [sys.executable, str(WORKLOAD_SCRIPT), w, "--cpus", str(c), "--mem-mb", str(m), "--size", str(size),
                "--reps", str(reps), "--seed", str(seed)]
        r = run_limited(argv, cpus=c, mem_bytes=int(m) << 20, info=info, weight=PRIORITY_WEIGHT,
                         period_us=PERIOD_US)
        if r.returncode != 0:
            raise CgroupError(f"workload {w} at cpus={c}, mem={m} MB failed (rc {r.returncode}; OOM-killed if -9): "
                              f"{r.stderr.strip()[-300:]}")
        out = json.loads(r.stdout.strip().splitlines()[-1])
        for k, (lat, cpu) in enumerate(zip(out["latency_s"], out["cpu_s"])):
            rows.append({"workload": w, "cpus": c, "mem_mb": m, "rep": k, "latency_s": lat, "cpu_s": cpu,
                         "nr_throttled": r.throttled.get("nr_throttled", -1), "mem_peak_mb":
                         (r.mem_peak or 0) / 2**20, "size": size})
    df = pd.DataFrame(rows)
    if save_to is not None:
        save_profile(df, save_to)
    return Profile(df, f"live cgroup v{info.version}")


def median_table(df: pd.DataFrame, stat: str = "median") -> pd.DataFrame:
    """Latency per (workload, cpus, mem_mb) over repetitions: ``stat`` = "median" or "min" (best of the
    repetitions, as ``timeit`` does: on a shared VM, noise only ever slows a request down)."""
    if stat not in ("median", "min"):
        raise ValueError(f"stat must be 'median' or 'min', got {stat!r}")
    return (df.groupby(["workload", "cpus", "mem_mb"], as_index=False)
              .agg(latency_s=("latency_s", stat), cpu_s=("cpu_s", stat), reps=("rep", "count")))


def holdout_split(cells: pd.DataFrame, frac: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of held-back grid cells (same (cpus, mem) cells for every workload)."""
    keys = cells[["cpus", "mem_mb"]].drop_duplicates().to_numpy()
    k = max(1, round(frac * len(keys)))
    pick = {tuple(x) for x in keys[rng.choice(len(keys), size=k, replace=False)]}
    return cells.apply(lambda r: (r.cpus, r.mem_mb) in pick, axis=1).to_numpy()
