"""support.sim.replay: rate profiles, exact replay, NHPP resampling and the simpy replayer."""

import numpy as np
import pytest
import simpy

from support.sim import TraceReplayer, rate_profile, replay_times, resample_arrivals


def test_rate_profile_counts_every_arrival_once():
    t = np.array([0.0, 0.5, 1.0, 2.5, 3.0, 3.9])
    edges, rates = rate_profile(t, 1.0)
    assert edges.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert (rates * 1.0).tolist() == [2, 1, 1, 2]  # [0,1): 0, .5 | [1,2): 1 | [2,3): 2.5 | [3,4): 3, 3.9


def test_rate_profile_counts_an_arrival_on_the_last_edge_once():
    t = np.array([0.0, 1.5, 2.0])  # the span is a whole number of bins: 2.0 falls on the last edge
    edges, rates = rate_profile(t, 1.0)
    assert edges.tolist() == [0.0, 1.0, 2.0]
    assert rates.tolist() == [1.0, 2.0]  # [0,1): 0 | [1,2]: 1.5, 2.0
    assert rates.sum() * 1.0 == t.size


def test_replay_times_compresses_and_tiles_exactly():
    t = np.array([10.0, 12.0, 16.0])
    assert replay_times(t, speed=2.0).tolist() == [0.0, 1.0, 3.0]
    tiled = replay_times(t, horizon_s=20.0)  # period = 6 + median gap 3 = 9
    assert tiled.tolist() == [0.0, 2.0, 6.0, 9.0, 11.0, 15.0, 18.0]


def test_resampled_arrivals_follow_the_profile_on_average():
    edges = np.array([0.0, 100.0, 200.0])
    rates = np.array([0.5, 2.0])
    rng = np.random.default_rng(0)
    n1, n2 = [], []
    for _ in range(300):
        a = resample_arrivals(edges, rates, rng, horizon_s=400.0, rate_scale=0.5)
        n1.append(np.sum((a % 200) < 100))
        n2.append(np.sum((a % 200) >= 100))
    assert np.mean(n1) == pytest.approx(2 * 0.5 * 0.5 * 100, rel=0.05)  # two tiles x 25 expected arrivals
    assert np.mean(n2) == pytest.approx(2 * 2.0 * 0.5 * 100, rel=0.05)


def test_replayer_fires_at_the_given_times():
    env = simpy.Environment()
    times = np.array([0.5, 0.5, 2.0, 7.25])
    got = []
    r = TraceReplayer(env, times, lambda k, t: got.append((k, env.now)))
    env.run()
    assert got == [(0, 0.5), (1, 0.5), (2, 2.0), (3, 7.25)] and r.count == 4


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="non-empty"):
        rate_profile([], 1.0)
    with pytest.raises(ValueError, match="speed"):
        replay_times([1.0, 2.0], speed=0)
    with pytest.raises(ValueError, match="sorted"):
        TraceReplayer(simpy.Environment(), [2.0, 1.0], lambda k, t: None)
