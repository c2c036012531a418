"""Live profiling of the workloads under cgroup CPU quotas and memory limits.

:func:`profile` runs every workload at every (CPUs, memory) grid point in a fresh cgroup (created
and removed by :func:`support.cgroups.limited_worker`) and returns one row per request. When cgroups
are not usable here it returns the recorded profile our profiler wrote earlier
(``data/crms/profile_recorded.csv``) and says so in ``source``.

Run order is a randomised block design. Every cell gets its own long-lived worker process in its own
cgroup (started and warmed up once, so start-up is not timed); each repetition is a *round* that
sends one request to every cell, in a fresh seeded random order. The speed of a shared VM drifts
over tens of seconds (the same request's CPU time moves by 10-25%); run in grid order with the
repetitions back to back, that drift lands on neighbouring cells as a smooth fake effect of the
allocation, which no repetition can average out. Shuffled rounds turn it into independent noise per
request, which the per-cell statistic over rounds (:func:`cell_table`) reduces. At most ``max_workers``
workers live at once: cells are dealt at random into blocks of that size, and the rounds run block by block.
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from support.cgroups import CgroupError, detect, limited_worker
from support.cgroups.profile import load_profile, save_profile
from support.crms.workloads import WORKLOADS
from support.paths import REPO_ROOT
from support.progress import progress_bar
from support.seeding import derive
from support.validate import check_choice

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
            seed: int = 0, allow_recorded: bool = True, save_to: Path | None = None, max_workers: int = 48) -> Profile:
    """Profile ``workloads`` on the grid ``cpus x mem_mb``: ``reps`` shuffled rounds of one request per cell,
    each cell served by its own warmed-up worker in its own cgroup; rows carry the round (``rep``), the
    position in the run sequence (``run``) and the group's throttled periods during that request."""
    bad = [w for w in workloads if w not in WORKLOADS]
    if bad:
        raise ValueError(f"unknown workloads {bad}; known: {', '.join(WORKLOADS)}")
    if reps < 1 or max_workers < 1:
        raise ValueError(f"reps and max_workers must be >= 1, got {reps} and {max_workers}")
    info = detect()
    if not info.usable:
        if not allow_recorded:
            raise CgroupError(f"cgroups not usable: {info.reason}")
        return Profile(load_profile(RECORDED), f"recorded ({RECORDED.relative_to(REPO_ROOT)})", info.reason)
    grid = [(w, c, m) for w in workloads for c in cpus for m in mem_mb]
    rng = derive(seed, "profile-order")
    cells = rng.permutation(len(grid))
    blocks = [cells[i:i + max_workers] for i in range(0, len(grid), max_workers)]
    rows = []
    bar = progress_bar(reps * len(grid), desc="profiling")
    for block in blocks:
        first = len(rows)
        with contextlib.ExitStack() as stack:
            workers = {}
            for k in block:
                w, c, m = grid[k]
                argv = [sys.executable, str(WORKLOAD_SCRIPT), w, "--cpus", str(c), "--mem-mb", str(m),
                        "--size", str(size), "--seed", str(seed)]
                # warm-up at the default weight: at PRIORITY_WEIGHT, dozens of starting workers would take the
                # machine from everything else beside this run for seconds; the weight is raised before measuring
                workers[k] = stack.enter_context(limited_worker(
                    argv, cpus=c, mem_bytes=int(m) << 20, info=info, period_us=PERIOD_US))
            for k in block:  # all started at once above; wait until each has warmed up
                workers[k].read_line()
            for k in block:
                workers[k].group.set_weight(PRIORITY_WEIGHT)
            for rnd in range(reps):
                for k in rng.permutation(block):
                    w, c, m = grid[k]
                    g = workers[k].group
                    thr0 = g.cpu_stat().get("nr_throttled")
                    out = json.loads(workers[k].ask(str(seed + rnd)))
                    thr1 = g.cpu_stat().get("nr_throttled")
                    thr = -1 if thr0 is None or thr1 is None else thr1 - thr0  # -1: counter not readable
                    rows.append({"workload": w, "cpus": c, "mem_mb": m, "rep": rnd, "latency_s": out["latency_s"],
                                 "cpu_s": out["cpu_s"], "nr_throttled": thr, "size": size, "run": len(rows), "k": k})
                    bar.update()
            peak_mb = {k: (workers[k].group.memory_peak() or 0) / 2**20 for k in block}
        for r in rows[first:]:
            r["mem_peak_mb"] = peak_mb[r["k"]]
    bar.close()
    df = pd.DataFrame(rows).drop(columns="k")
    if save_to is not None:
        save_profile(df, save_to)
    return Profile(df, f"live cgroup v{info.version}")


CELL_STATS = ("min", "median")  # per-cell statistics over rounds; the first is the notebook's default


def cell_table(df: pd.DataFrame, stat: str = CELL_STATS[0]) -> pd.DataFrame:
    """Latency per (workload, cpus, mem_mb) over repetitions: ``stat`` = "min" (the fastest repetition, as
    ``timeit`` reports it: on a shared VM, other load and the host only ever slow a request down) or "median"."""
    check_choice(stat, "stat", CELL_STATS)
    return (df.groupby(["workload", "cpus", "mem_mb"], as_index=False)
              .agg(latency_s=("latency_s", stat), cpu_s=("cpu_s", stat), reps=("rep", "count")))


def holdout_count(frac: float, n_cells: int) -> int:
    """How many of ``n_cells`` grid cells :func:`holdout_split` holds back (at least one)."""
    return max(1, round(frac * n_cells))


def holdout_split(cells: pd.DataFrame, frac: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of held-back grid cells (same (cpus, mem) cells for every workload)."""
    keys = cells[["cpus", "mem_mb"]].drop_duplicates().to_numpy()
    k = holdout_count(frac, len(keys))
    pick = {tuple(x) for x in keys[rng.choice(len(keys), size=k, replace=False)]}
    return cells.apply(lambda r: (r.cpus, r.mem_mb) in pick, axis=1).to_numpy()
