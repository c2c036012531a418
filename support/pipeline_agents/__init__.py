"""Paper 05 (arXiv 2512.23737): policy-bounded agents governing cloud data pipelines, reproduced as a
discrete-event simulation on real inputs.

* :mod:`.tpch` — TPC-H via ``tpchgen-cli``, the five batch stages run and timed in DuckDB.
* :mod:`.schema` — schema drift applied to the DuckDB tables and reconciled for real.
* :mod:`.calibration` — fault-rate table from Alibaba/loghub traces plus stated assumptions.
* :mod:`.params` — every constant as one published parameter table.
* :mod:`.agents` — the four bounded agents (resource, schema, recovery, cost).
* :mod:`.des` — the simpy world: batch DAG + streaming pipeline, static vs agentic controller.
* :mod:`.metrics` — MTTR, cost, interventions, freshness recomputed from the event log.
* :mod:`.experiments` — what the notebook calls; :mod:`.claims` — the paper's claims.
"""
