"""Paper 05 inputs: TPC-H in DuckDB (known row counts), real schema drift, calibration, bounded agents."""

from __future__ import annotations

import pytest

from support.control.agents import BoundedAgent
from support.pipeline_agents import agents as A
from support.pipeline_agents.params import Params


def test_tpch_sf001_pipeline_known_row_counts(inputs):
    # TPC-H SF 0.01: 60,175 lineitem rows (dbgen/tpchgen); 25 nations x 7 order years = 175 aggregate rows
    assert inputs.profile.rows_lineitem == 60175
    assert inputs.profile.rows_loaded == 175
    assert all(s > 0 for s in inputs.profile.seconds)


def test_schema_drift_is_applied_and_reconciled_for_real(inputs):
    d = inputs.drifts.set_index("drift")
    assert d.loc["rename", "action"] == "map_column" and d.loc["rename", "fixed"]
    assert d.loc["add", "action"] == "add_column" and d.loc["add", "fixed"] and not d.loc["add", "writes_pii"]
    assert d.loc["add_pii", "writes_pii"]  # the pii_sink rule will refuse it
    assert d.loc["type_change", "action"] == "cast_column" and d.loc["type_change", "fixed"]
    assert d.loc["drop_required", "drops_required"] and not d.loc["drop_required", "fixed"]


def test_worker_loss_rate_comes_from_the_alibaba_pod_list(inputs):
    pods = inputs.evidence["alibaba_pods"]
    assert pods["failed"] == 1870 and pods["pods"] == 8152  # counts stated in the trace README / notes
    assert inputs.faults.rates["worker_loss"] == pytest.approx(pods["per_pod_hour"] * 8)
    req = inputs.evidence["alibaba_requests"]
    assert req["failed"] == 398
    assert inputs.faults.rates["transient"] == pytest.approx(req["p_fail"] * 5)


def test_agents_stay_inside_their_menus():
    class Rogue(BoundedAgent):
        name, menu = "rogue", ("noop",)

        def decide(self, obs):
            return [self.make("drop_column")]

    with pytest.raises(ValueError, match="not in its menu"):
        Rogue().propose({})
    obs = {"signal": "oom", "pipeline": "batch", "workers": 8, "region": "eu-west", "price_now": 1.5,
           "on_demand_price": 3.0, "spot_price": 1.5, "memory_factor": 2.0}
    (p,) = A.propose(obs)
    assert (p.agent, p.kind, p.action["memory_factor"]) == ("resource", "raise_memory", 2.0)
    assert A.propose({**obs, "signal": "cost_spike", "price_now": 3.75})[0].action["price_factor"] == 0.8


def test_exponential_backoff_doubles_and_caps():
    p = Params(exponential_backoff=True, max_retry_delay_s=1000)
    assert [p.retry_delay(k) for k in (1, 2, 3, 4)] == [300, 600, 1000, 1000]


def test_loghub_classifier_and_episode_counts():
    from support.traces import loghub
    assert loghub.classify("Task: attempt_1 - exited : java.net.NoRouteToHostException: No Route to Host") \
        == "worker_loss"
    assert loghub.classify("Failed to renew lease for [DFSClient] for 30 seconds.  Will retry shortly ...") \
        == "transient"
    assert loghub.classify("org.apache.hadoop.util.DiskChecker: No space left on device") == "resource"
    assert loghub.classify("Created MRAppMaster for application") is None
    eps = loghub.failure_episodes().set_index(["system", "category"])
    assert eps.loc[("Spark", "transient"), "lines"] == 0  # the Spark sample has only INFO lines
    assert eps.loc[("HDFS", "transient"), "lines"] == 80  # 80 WARN "Got exception while serving" lines
    assert (eps.episodes <= eps.lines).all()
    with pytest.raises(ValueError, match="unknown loghub system"):
        loghub.load_structured("Windows")
