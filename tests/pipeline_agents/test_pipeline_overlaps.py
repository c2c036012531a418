"""Paper 05 simulator edge cases found in review: overlapping episodes, a repartition that lands between two
attempts, the resource agent's look-back window, parameters that would hang the simulation. Every expected
number is computed by hand in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from support.pipeline_agents import experiments as X
from support.pipeline_agents.des import Scenario, World, per_fault
from support.pipeline_agents.metrics import cost_from_log, episodes
from support.pipeline_agents.params import Params
from support.policy import load_policy
from support.sim import Fault

POLICY = load_policy(X.POLICY_DIR)


def _f(t, kind, idx=0):
    return Fault(t, kind, None, idx, 0.5, {})


def test_overlapping_cost_spikes_keep_the_spot_price_up_until_the_last_one_ends():
    # spikes at 600 s and 2400 s, each 3600 s long: spot costs 1.5 x 2.5 = 3.75 USD/h on [600, 6000).
    # 4 static streaming workers over 3 h: 4 x (1.5 x 5400 + 3.75 x 5400) / 3600 = 31.5 USD
    p = Params(horizon_h=3)
    sc = Scenario(np.ones(1), ("ingest",), np.zeros(180), [], [], [_f(600.0, "cost_spike", 0),
                  _f(2400.0, "cost_spike", 1)], [], per_fault(1000.0), per_fault(1.0), 4)
    w = World(p, sc, "static").run()
    assert cost_from_log(w.rec.events)["stream"] == pytest.approx(4 * (1.5 * 5400 + 3.75 * 5400) / 3600, rel=1e-12)


def test_overlapping_stream_skews_slow_the_stream_until_the_last_one_passes():
    # static: hot keys at 610 s and 1210 s, each lasting skew_s = 1800 s -> skewed on [610, 3010).
    # 4 workers x 100 ev/s x 60 s = 24,000 events per window, 6,000 while skewed (factor 4); 12,000 arrive per
    # window, so each skewed window (starts 660 ... 3000: 40 windows) adds 6,000 to the backlog -> peak 240,000.
    p = Params(horizon_h=1.5)
    sc = Scenario(np.ones(1), ("ingest",), np.full(90, 12_000.0), [], [_f(610.0, "skew", 0), _f(1210.0, "skew", 1)],
                  [], [], per_fault(1000.0), per_fault(1.0), 4)
    w = World(p, sc, "static").run()
    backlog = [i["backlog"] for t, k, i in w.rec.events if k == "window"]
    assert max(backlog) == pytest.approx(40 * 6000.0)
    assert list(episodes(w.rec.events).ttr_s) == [1800.0, 1800.0]


def test_agentic_repartition_finishing_during_a_restart_still_unskews_the_stage():
    # one 2000 worker-s stage on 2 workers (1000 s). Skew at 100 s (progress 200, then 0.5 worker-s/s);
    # repartition done at 100 + 30 detect + 15 actuate + 60 = 205 s. Worker lost at 190 s (progress 245),
    # restart from the 240 worker-s checkpoint at 190 + 45 = 235 s. The stage is repartitioned by then, so the
    # remaining 1760 worker-s run at 2/s: done at 235 + 880 = 1115 s; skew episode 100 -> 205 (105 s);
    # busy 190 + 880 = 1070 s x 2 workers x 1 USD/h.
    p = Params(horizon_h=0.5, batch_workers=2, spot_price=1.0)
    sc = Scenario(np.array([2000.0]), ("ingest",), np.zeros(1), [_f(100.0, "skew", 0), _f(190.0, "worker_loss", 1)],
                  [], [], [], per_fault(1000.0), per_fault(1.0), 0)
    w = World(p, sc, "agentic", POLICY, stream=False).run()
    ep = episodes(w.rec.events).set_index("fault")
    assert ep.loc["skew", "ttr_s"] == pytest.approx(105.0)
    assert ep.loc["worker_loss", "ttr_s"] == pytest.approx(45.0)
    assert next(i["done"] for t, k, i in w.rec.events if k == "run") == pytest.approx(1115.0)
    assert cost_from_log(w.rec.events)["batch"] == pytest.approx(1070 * 2 * 1.0 / 3600, rel=1e-12)


def test_resource_agent_that_resizes_faster_than_a_window_sees_the_last_completed_minute():
    # cadence 30 s < the 60 s window: at t = 630 s the last completed minute is window 9 ([540, 600) s)
    p = Params(horizon_h=0.5, autoscale_every_s=30.0)
    arr = 60.0 * np.arange(1, 31)  # window k carries 60 (k + 1) events, i.e. k + 1 events/s
    sc = Scenario(np.ones(1), ("ingest",), arr, [], [], [], [], per_fault(1000.0), per_fault(1.0), 4)
    w = World(p, sc, "static")
    w.env.run(until=630.0)
    assert w._rate_history() == pytest.approx(10.0)


@pytest.mark.parametrize("name", ["batch_period_s", "window_s", "autoscale_every_s", "checkpoint_s"])
def test_zero_periods_are_refused_instead_of_hanging_the_simulation(name):
    # batch_period_s = 0 schedules infinitely many runs at t = 0, autoscale_every_s = 0 loops at t = 0,
    # window_s and checkpoint_s = 0 divide by zero
    with pytest.raises(ValueError, match=name):
        Params(**{name: 0.0})


def test_the_cost_agent_stays_on_demand_until_the_last_of_two_overlapping_spikes_ends():
    """Spikes at 100 s and 2000 s, each 3600 s long: spot is 1.5 x 2.5 = 3.75 USD/h on [100, 5600), above on-demand's
    3.0. The end of the first (3700 s) used to signal 'spike_end', and the cost agent moved back to spot at 3.75; it
    may only move back once no spike is on (5600 s)."""
    p = Params(horizon_h=2.0, batch_workers=2, spike_s=3600.0)
    sc = Scenario(np.array([14000.0]), ("ingest",), np.zeros(1), [], [],
                  [_f(100.0, "cost_spike", 0), _f(2000.0, "cost_spike", 1)], [], per_fault(1.0), per_fault(1.0), 0)
    w = World(p, sc, "agentic", POLICY, stream=False).run()
    to_spot = [t for t, k, i in w.rec.events if k == "proposal" and i["pipeline"] == "batch" and i["action"] == "to_spot"]
    assert to_spot == [5600.0 + p.detect_s], to_spot  # before: 3700 + 30 s, at the spiked 3.75 USD/h
    prices = [(t, i["price"]) for t, k, i in w.rec.events if k == "bill" and i["pipeline"] == "batch" and i["workers"]]
    assert all(price <= 3.0 for t, price in prices if t > 145.0), prices  # never above on-demand after the switch
