"""Metrics recomputed from the event log alone (never from the simulator's running totals).

MTTR (fault onset to healthy, failure faults only), cost (sum of workers x price x time over the billing
segments), manual interventions (split by cause), batch freshness SLO attainment, streaming lag SLO attainment,
and the actuation overhead of governance (p95 wall time of a policy check, measured, not simulated).
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pandas as pd


def cost_from_log(events, pipelines=("batch", "stream")) -> dict[str, float]:
    """USD per pipeline: every ``bill`` event starts a segment that lasts until the next one."""
    segs = defaultdict(list)
    for t, kind, info in events:
        if kind == "bill":
            segs[info["pipeline"]].append((t, info["workers"] * info["price"]))
    out = {}
    for p in pipelines:
        s = segs.get(p, [])
        tot = 0.0
        for (t0, rate), (t1, _) in itertools.pairwise(s):
            tot += rate * (t1 - t0) / 3600.0
        if s and s[-1][1] != 0:
            raise ValueError(f"billing of {p} is still open at the end of the log")
        out[p] = tot
    return out


def episodes(events) -> pd.DataFrame:
    """One row per fault episode: pipeline, fault, start, end, duration (s)."""
    start, rows = {}, []
    for t, kind, info in events:
        if kind == "episode_start":
            start[info["ep"]] = (t, info["fault"], info["pipeline"])
        elif kind == "episode_end":
            t0, f, p = start.pop(info["ep"])
            rows.append({"pipeline": p, "fault": f, "start": t0, "end": t, "ttr_s": t - t0})
    return pd.DataFrame(rows, columns=["pipeline", "fault", "start", "end", "ttr_s"])


PAGE_CAUSES = ("worker_loss_cost_ceiling", "oom", "schema_drift", "other")


def page_cause(info) -> str:
    """The cause of one page (a ``manual`` event): a lost worker whose replacement the cost ceiling refused, an OOM,
    schema drift, or anything else (one of :data:`PAGE_CAUSES`)."""
    fault = info.get("fault", "")
    if fault == "worker_loss" and "cost_ceiling" in info.get("rules", ()):
        return "worker_loss_cost_ceiling"
    return fault if fault in ("oom", "schema_drift") else "other"


def summarize(world) -> dict:
    """Headline metrics of one finished run, from ``world.rec.events`` (and the audit log for violations)."""
    ev = world.rec.events
    p = world.p
    cost = cost_from_log(ev)
    ep = episodes(ev)
    runs, lags, causes = [], [], []  # batch run durations, stream window lags, one cause per page: one pass
    for _t, k, i in ev:
        if k == "run":
            runs.append(i["done"] - i["scheduled"])
        elif k == "window":
            lags.append(i["lag"])
        elif k == "manual":
            causes.append(page_cause(i))
    lags = np.array(lags)
    out = {"cost_batch": cost["batch"], "cost_stream": cost["stream"], "cost": cost["batch"] + cost["stream"],
           "mttr_s": float(ep.ttr_s.mean()) if len(ep) else np.nan, "episodes": len(ep),
           "manual": len(causes),
           "batch_fresh": float(np.mean(np.array(runs) <= p.batch_fresh_slo_s)) if runs else np.nan,
           "stream_fresh": float(np.mean(lags <= p.lag_slo_s)) if lags.size else np.nan,
           "runs": len(runs), "proposals": len(world.audit), "executed": len(world.audit.executed())}
    gate = getattr(world, "gate", None)
    cs = np.asarray(gate.check_seconds) if gate is not None and gate.check_seconds else np.zeros(0)
    out["policy_check_ms_p95"] = float(np.quantile(cs, 0.95) * 1e3) if cs.size else np.nan
    out.update({f"pages_{c}": causes.count(c) for c in PAGE_CAUSES})
    for pipe in ("batch", "stream"):
        e = ep[ep.pipeline == pipe]
        out[f"mttr_{pipe}_s"] = float(e.ttr_s.mean()) if len(e) else np.nan
    return out
