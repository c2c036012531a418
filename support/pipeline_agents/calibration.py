"""Fault-rate table calibrated from real failure data (Alibaba clusterdata, loghub), plus stated assumptions.

There is no public "Airflow pipeline failure" data set. Worker loss comes from the Alibaba openb pod list
(failed pods per pod-hour, times the pipeline's workers); transient task errors from the Alibaba GenAI LoRA
request trace (failed fraction per task attempt, times the attempts per hour); loghub's Hadoop/HDFS samples
give the observed worker-loss : transient episode mix as a cross-check. OOM, schema drift, skew, upstream
delay and cost spikes have no public rate data; their rates are assumptions, labelled so.
"""

from __future__ import annotations

from support.pipeline_agents.params import FaultTable
from support.traces import alibaba, loghub

ASSUMED = {"oom": 1 / 24, "schema_drift": 1 / 24, "skew": 2 / 24, "upstream_delay": 2 / 24, "cost_spike": 1 / 24}


def calibrate(workers: int = 8, attempts_per_hour: float = 5.0, assumed: dict | None = None):
    """``(FaultTable, evidence)``: rates per pipeline-hour and the raw statistics they came from."""
    pods = alibaba.pod_failure_rate()
    req = alibaba.request_failure_probability()
    eps = loghub.failure_episodes()
    mix = eps.groupby("category").episodes.sum()
    a = dict(ASSUMED if assumed is None else assumed)
    rates = {"worker_loss": pods["per_pod_hour"] * workers, "transient": req["p_fail"] * attempts_per_hour, **a}
    sources = {
        "worker_loss": f"data: Alibaba openb {pods['failed']} failed pods / {pods['pod_hours']:.0f} pod-hours "
                       f"= {pods['per_pod_hour']:.4f} per worker-hour x {workers} workers "
                       "(the batch; the stream's rate is scaled to its own workers)",
        "transient": f"data: Alibaba LoRA trace {req['failed']}/{req['requests']} failed requests "
                     f"= {req['p_fail']:.4f} per attempt x {attempts_per_hour:g} stage attempts per hour",
    }
    sources.update({k: "assumed (no public rate data)" for k in a})
    evidence = {"alibaba_pods": pods, "alibaba_requests": req, "loghub_episodes": eps,
                "loghub_worker_loss_share": float(mix.get("worker_loss", 0) / max(1, mix.sum()))}
    return FaultTable(rates, sources, workers=workers), evidence
