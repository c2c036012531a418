"""Stream lag, the quantity behind the streaming freshness claim, checked window by window against hand arithmetic.

Model (paper notes 05: source -> window-aggregate -> sink "with lag"; des.World._stream): each window of
``window_s`` seconds, ``live`` workers at ``worker_rate`` ev/s clear ``live * rate * window_s / skew`` events;
the rest joins the backlog, and the lag is the time the backlog needs to drain at ``live * rate / skew`` ev/s.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from support.pipeline_agents.des import Scenario, World, per_fault
from support.pipeline_agents.metrics import summarize
from support.pipeline_agents.params import Params
from support.sim import Fault


def _stream_world(arrivals, stream_faults=(), workers=4):
    """Static stream of ``workers`` at 100 ev/s, 60 s windows, one 1 worker-second batch stage, no other faults."""
    p = Params(horizon_h=1, worker_rate=100.0, window_s=60.0)
    sc = Scenario(np.ones(1), ("ingest",), np.asarray(arrivals, dtype=float), [], list(stream_faults), [], [],
                  per_fault(1000.0), per_fault(1.0), workers)
    return World(p, sc, "static").run()


def _windows(world):
    return [(t, i) for t, k, i in world.rec.events if k == "window"]


def test_lag_is_backlog_over_drain_rate_and_grows_each_overloaded_window():
    # 4 workers x 100 ev/s x 60 s = 24,000 events cleared per window; 30,000 arrive -> 6,000 more backlog each
    # window. Drain 400 ev/s: lag 6,000/400 = 15 s, then 12,000/400 = 30 s, then 18,000/400 = 45 s.
    w = _stream_world([30_000.0] * 3)
    got = _windows(w)
    assert [t for t, _ in got] == [0.0, 60.0, 120.0]
    assert [i["backlog"] for _, i in got] == pytest.approx([6_000.0, 12_000.0, 18_000.0], rel=1e-12)
    assert [i["lag"] for _, i in got] == pytest.approx([15.0, 30.0, 45.0], rel=1e-12)


def test_backlog_drains_and_lag_returns_to_zero_when_arrivals_fall_below_capacity():
    # 30,000 then 20,000: backlog 6,000 (lag 15 s), then 6,000 + 20,000 - 24,000 = 2,000 (lag 5 s), then 0 (lag 0).
    w = _stream_world([30_000.0, 20_000.0, 20_000.0])
    assert [i["lag"] for _, i in _windows(w)] == pytest.approx([15.0, 5.0, 0.0], abs=1e-12)


def test_a_stalled_stream_with_a_backlog_has_infinite_lag():
    # schema drift at t=30 stalls the stream (static: retries, then a human, long after the 3 windows):
    # window 0 lag 15 s; window 1 clears nothing: backlog 6,000 + 30,000 = 36,000, drain 0 -> lag inf.
    drift = Fault(30.0, "schema_drift", None, 0, 0.5, {})
    w = _stream_world([30_000.0] * 3, [drift])
    got = _windows(w)
    assert got[0][1]["lag"] == pytest.approx(15.0, rel=1e-12)
    assert got[1][1]["backlog"] == pytest.approx(36_000.0, rel=1e-12)
    assert math.isinf(got[1][1]["lag"]) and math.isinf(got[2][1]["lag"])
    # 1 of 3 windows meets the 120 s lag SLO
    assert summarize(w)["stream_fresh"] == pytest.approx(1 / 3, rel=1e-12)


def test_a_stalled_stream_with_nothing_waiting_has_zero_lag():
    drift = Fault(30.0, "schema_drift", None, 0, 0.5, {})
    w = _stream_world([0.0] * 3, [drift])
    assert [i["lag"] for _, i in _windows(w)] == [0.0, 0.0, 0.0]


def test_a_hot_key_skew_divides_both_capacity_and_drain_rate_by_the_skew_factor():
    # skew (factor 4) from t=30 (static: passes by itself after 1800 s). Window 0: backlog 6,000, lag 15 s.
    # Window 1: capacity 24,000 / 4 = 6,000 -> backlog 6,000 + 30,000 - 6,000 = 30,000; drain 400 / 4 = 100 ev/s
    # -> lag 300 s. Window 2: backlog 54,000 -> lag 540 s.
    skew = Fault(30.0, "skew", None, 0, 0.5, {})
    w = _stream_world([30_000.0] * 3, [skew])
    got = _windows(w)
    assert [i["backlog"] for _, i in got] == pytest.approx([6_000.0, 30_000.0, 54_000.0], rel=1e-12)
    assert [i["lag"] for _, i in got] == pytest.approx([15.0, 300.0, 540.0], rel=1e-12)
