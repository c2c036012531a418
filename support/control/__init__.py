"""Control core shared by papers 05 and 11 (import the submodules directly).

Reactive and proactive controllers over simulated clusters and pipelines: the exact Kubernetes HPA
algorithm, forecasters, and the bounded-action agent base class whose proposals a policy engine
(:mod:`support.policy`) validates before they run.
"""
