"""Paper 05's four bounded agents, signal by signal: the proposal each must make, with its policy-visible action
fields worked out by hand from the observation (the agents' documented decision table)."""

from __future__ import annotations

import pytest

from support.pipeline_agents import agents as A

OBS = {"pipeline": "stream", "workers": 8, "region": "eu-west", "price_now": 1.5, "on_demand_price": 3.0,
       "spot_price": 1.5, "memory_factor": 2.0, "replacement_delta": 1}


def one(**kw):
    (p,) = A.propose({**OBS, **kw})
    return p


@pytest.mark.parametrize("desired, delta", [(5, -3), (11, 3), (1, -7)])
def test_autoscaling_proposes_the_step_to_the_desired_size_down_as_well_as_up(desired, delta):
    """The resource agent proposes scale by desired - workers in both directions (scaling down is where the cost
    saving comes from), marked optional: a refused optional step is dropped, not escalated."""
    p = one(signal="autoscale", desired=desired)
    assert (p.agent, p.kind, p.action["delta_workers"], p.payload) == ("resource", "scale", delta, {"optional": True})


def test_autoscaling_at_the_desired_size_proposes_nothing():
    assert A.propose({**OBS, "signal": "autoscale", "desired": 8}) == []


@pytest.mark.parametrize("pipeline, delta", [("batch", 0), ("stream", 2)])
def test_a_lost_worker_is_restarted_from_the_checkpoint_and_the_stream_checks_its_replacement(pipeline, delta):
    """Batch: restart the task on the same pool (no worker added). Stream: restart on a replacement worker,
    checked by the policy as replacement_delta (here 2) workers more than the live count."""
    p = one(signal="worker_loss", pipeline=pipeline, replacement_delta=2)
    assert (p.agent, p.kind, p.action["delta_workers"]) == ("recovery", "restart_checkpoint", delta)


@pytest.mark.parametrize("signal, kind", [("transient", "retry"), ("upstream_delay", "noop")])
def test_transient_errors_are_retried_and_late_input_is_waited_for(signal, kind):
    p = one(signal=signal)
    assert (p.agent, p.kind, p.action["delta_workers"], p.action["price_factor"]) == ("recovery", kind, 0, 1.0)


@pytest.mark.parametrize("fixed", [True, False])
def test_schema_agent_passes_on_whether_the_reconciliation_fixed_the_drift_and_its_pii_and_drop_flags(fixed):
    """The executor decides from payload["fixed"] whether a human is still needed: a reconciliation that did not fix
    the drift must not be reported as fixed; writes_pii / drops_required go to the policy as they were measured."""
    drift = {"drift": "add_pii", "action": "add_column", "fixed": fixed, "writes_pii": True, "drops_required": False}
    p = one(signal="schema_drift", drift=drift)
    assert (p.agent, p.kind, p.payload["fixed"]) == ("schema", "add_column", fixed)
    assert p.action["writes_pii"] is True and p.action["drops_required"] is False


def test_an_unreconcilable_drift_is_quarantined_and_never_counted_as_fixed():
    drift = {"drift": "drop_required", "action": "none", "fixed": True, "writes_pii": False, "drops_required": True}
    p = one(signal="schema_drift", drift=drift)
    assert (p.kind, p.payload["fixed"], p.action["drops_required"]) == ("quarantine", False, False)


def test_cost_agent_moves_to_on_demand_in_a_spike_and_back_to_spot_after_it_at_the_price_ratio():
    """Spike: spot at 3.75 > on-demand 3.0, so to_on_demand at 3.0 / 3.75 = 0.8; after it, spot 1.5 < on-demand
    3.0, so to_spot at 1.5 / 3.0 = 0.5. Where the switch would not be cheaper, nothing is proposed."""
    p = one(signal="cost_spike", price_now=3.75)
    assert (p.agent, p.kind, p.action["price_factor"]) == ("cost", "to_on_demand", 0.8)
    p = one(signal="spike_end", price_now=3.0)
    assert (p.agent, p.kind, p.action["price_factor"]) == ("cost", "to_spot", 0.5)
    assert A.propose({**OBS, "signal": "cost_spike", "price_now": 3.0}) == []
    assert A.propose({**OBS, "signal": "spike_end", "price_now": 1.5}) == []
