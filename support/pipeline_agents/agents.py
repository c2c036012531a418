"""The four bounded agents of the governance plane (paper abstract: resource reconfiguration, schema
reconciliation, failure recovery; plus cost). Each maps a telemetry signature to one action of its finite
menu; none actuates anything. The policy gate decides what runs.

Observation keys: ``signal`` (the detected fault kind or ``autoscale`` / ``spike_end``), ``pipeline``,
``workers``, ``desired`` (autoscale), ``drift`` (the schema agent's real DuckDB reconciliation row),
``price_now``, ``on_demand_price``, ``spot_price``, ``memory_factor``, ``region``, ``replacement_delta`` (the
``delta_workers`` a stream worker replacement is checked with).
"""

from __future__ import annotations

from collections.abc import Mapping

from support.control.agents import BoundedAgent, Proposal


def _base(obs: Mapping) -> dict:
    return {"delta_workers": 0, "memory_factor": 1.0, "price_factor": 1.0, "target_region": obs["region"],
            "writes_pii": False, "drops_required": False}


class ResourceAgent(BoundedAgent):
    name = "resource"
    menu = ("scale", "raise_memory", "repartition")

    def decide(self, obs: Mapping) -> list[Proposal]:
        s, a = obs["signal"], _base(obs)
        if s == "oom":
            return [self.make("raise_memory", "OOM kill", **{**a, "memory_factor": obs["memory_factor"]})]
        if s == "skew":
            return [self.make("repartition", "straggler: hot partition", **a)]
        if s == "autoscale" and obs["desired"] != obs["workers"]:  # optional: dropped, not escalated, if refused
            return [self.make("scale", f"load wants {obs['desired']} workers", {"optional": True},
                              **{**a, "delta_workers": int(obs["desired"] - obs["workers"])})]
        return []


class RecoveryAgent(BoundedAgent):
    name = "recovery"
    menu = ("restart_checkpoint", "retry", "noop")

    def decide(self, obs: Mapping) -> list[Proposal]:
        s, a = obs["signal"], _base(obs)
        if s == "worker_loss" and obs["pipeline"] == "batch":
            return [self.make("restart_checkpoint", "task lost its worker", **a)]
        if s == "worker_loss":  # streaming: restart the lost task on a replacement worker, checked as
            # replacement_delta more workers than the live count (Params.stream_replacement_delta)
            return [self.make("restart_checkpoint", "replace lost worker",
                              **{**a, "delta_workers": int(obs["replacement_delta"])})]
        if s == "transient":
            return [self.make("retry", "transient error: short backoff", **a)]
        if s == "upstream_delay":
            return [self.make("noop", "input late: wait for upstream", **a)]
        return []


class SchemaAgent(BoundedAgent):
    name = "schema"
    menu = ("map_column", "add_column", "cast_column", "drop_column", "quarantine")

    def decide(self, obs: Mapping) -> list[Proposal]:
        if obs["signal"] != "schema_drift":
            return []
        d = obs["drift"]
        a = _base(obs)
        if d["action"] in ("map_column", "add_column", "cast_column", "drop_column"):
            a.update(writes_pii=bool(d["writes_pii"]), drops_required=bool(d["drops_required"]))
            return [self.make(d["action"], f"schema drift: {d['drift']}", {"fixed": bool(d["fixed"])}, **a)]
        return [self.make("quarantine", f"unreconcilable drift {d['drift']}", {"fixed": False}, **a)]


class CostAgent(BoundedAgent):
    name = "cost"
    menu = ("to_on_demand", "to_spot")

    def decide(self, obs: Mapping) -> list[Proposal]:
        s, a = obs["signal"], _base(obs)
        if s == "cost_spike" and obs["on_demand_price"] < obs["price_now"]:
            return [self.make("to_on_demand", "spot price spike",
                              **{**a, "price_factor": obs["on_demand_price"] / obs["price_now"]})]
        if s == "spike_end" and obs["spot_price"] < obs["price_now"]:
            return [self.make("to_spot", "spot price back to normal",
                              **{**a, "price_factor": obs["spot_price"] / obs["price_now"]})]
        return []


AGENTS = (ResourceAgent(), RecoveryAgent(), SchemaAgent(), CostAgent())


def propose(obs: Mapping) -> list[Proposal]:
    """Proposals of all four agents for one observation (usually exactly one agent responds)."""
    return [p for ag in AGENTS for p in ag.propose(obs)]
