"""The held-back 30 % stays held back: forecasters are fitted on the training part only, and bursts (and their
threshold) come from the held-back part only (paper 11, issue 14: "on the held-back 30 % of all three traces")."""

from dataclasses import replace

import numpy as np
import pytest

from support.control.forecast import make_forecaster
from support.multicluster.federation import FederationConfig, build_federation
from support.multicluster.metrics import burst_times, summarize
from support.multicluster.simulate import Trajectory, forecasts_for


@pytest.fixture(scope="module")
def fed():
    # three smooth daily-like series with a season of 24 intervals: 120 intervals, training 0..83
    t = np.arange(120)
    cpu = np.stack([1 + 0.3 * np.sin(2 * np.pi * t / 24 + p) + 0.01 * t / 120 for p in (0.0, 1.0, 2.0)], axis=1)
    return build_federation(cpu, FederationConfig(), names=("a", "b", "c"), period=24)


@pytest.mark.parametrize("kind", ["seasonal_naive", "holt_winters", "ridge"])
def test_forecasts_up_to_a_boundary_do_not_change_when_the_held_back_demand_after_it_changes(fed, kind):
    """``F[t]`` forecasts from ``rates[:t]``; fitting reads ``rates[:t0]`` only. Scaling ``rates[c:]`` (c after t0)
    may change forecasts made at c + 1 and later, never those made at or before c (nor the fitted models)."""
    c = fed.t0 + 5
    altered = fed.rates.copy()
    altered[c:] *= 1.5
    F, _ = forecasts_for(fed, lambda: make_forecaster(kind, fed.period, 2), fed.t0)
    G, _ = forecasts_for(replace(fed, rates=altered), lambda: make_forecaster(kind, fed.period, 2), fed.t0)
    np.testing.assert_array_equal(G[:c + 1], F[:c + 1])
    assert not np.allclose(G[c + 1:], F[c + 1:])  # the alteration is visible where it may be read


def _trajectory(start, n_intervals, steps, dt):
    S = n_intervals * steps
    spec = np.full((S, 1), 4)
    spec[4:8, 0] = [3, 3, 6, 6]  # after the burst at boundary start + 1 (step 4): settles after 4 steps = 60 s
    load = np.full((S, 1), 30.0)
    return Trajectory("hand", start * steps * dt + dt * np.arange(S), spec, spec.copy(), load,
                      np.full((S, 1), 0.12), audit=None)


def test_bursts_and_their_threshold_come_from_the_held_back_part_only():
    """Training (0..19) alternates 10 and 30 req/s (log-changes 1.10), far larger than any held-back change; the
    held-back part has one jump, 30 -> 36 at boundary 21 (0.18). Over the held-back changes alone that jump is the
    top 2.5 %: one burst, settled in 60 s. A threshold over training too would find no burst."""
    start, steps, dt, interval = 20, 4, 15, 60
    rates = np.array([[10.0 if i % 2 == 0 else 30.0] for i in range(start)] + [[30.0], [30.0]] + [[36.0]] * 8)
    assert burst_times(rates, start, start + 5) == [(21, 0)]
    m = summarize(_trajectory(start, 8, steps, dt), rates, start, 10.0, 0.15, interval)
    assert m["bursts"] == 1
    assert m["stabilization_s"] == pytest.approx(60.0)
