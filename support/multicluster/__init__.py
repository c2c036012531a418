"""Paper 11 (arXiv 2512.24914): AI-driven resource optimization across clusters vs reactive autoscaling.

Modules (import directly): :mod:`~support.multicluster.federation` (three real traces as clusters, the bursty
fine-grained federation of the Azure LLM and Alibaba GenAI traces, policies),
:mod:`~support.multicluster.latency` (M/M/c, the SLO capacity curve), :mod:`~support.multicluster.decision`
(policy-aware MILP on HiGHS), :mod:`~support.multicluster.simulate` (HPA baseline and the proactive closed
loop at 15 s), :mod:`~support.multicluster.metrics`, :mod:`~support.multicluster.policies` (audit against
the declarative rules in ``policies/`` via :mod:`support.policy`), :mod:`~support.multicluster.oracles`,
:mod:`~support.multicluster.experiments` (what the notebook calls) and :mod:`~support.multicluster.claims`.
"""
