"""CRMS (arXiv 2512.23952): sensitivity-aware container resource management on one edge server.

* :mod:`~support.crms.workloads` / :mod:`~support.crms.profiling` — real workloads profiled under cgroup
  CPU quotas and memory limits (recorded-profile fallback).
* :mod:`~support.crms.latency_model` — the paper's fitted latency form and a corrected monotone form.
* :mod:`~support.crms.problem` — apps, server, the MINLP objective (M/M/1 per container + linear power).
* :mod:`~support.crms.solver` — the two-stage CRMS: stage-1 convex (cvxpy, DCP/DPP) + stage-2 greedy.
* :mod:`~support.crms.oracles` — SCIP global MINLP and an exact grid DP.
* :mod:`~support.crms.baselines` — equal, load-proportional, static request=limit, random search, annealing.
* :mod:`~support.crms.traces` — per-app arrival rates from the Azure LLM inference trace.
* :mod:`~support.crms.des` — discrete-event check of a chosen allocation.
"""
