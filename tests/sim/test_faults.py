"""support.sim.faults: Poisson fault schedules (counts, times) and the simpy injector."""

import numpy as np
import pytest
import simpy
from scipy import stats

from support.sim import FaultInjector, FaultSpec, Recorder, fault_schedule, scale_rates

SPECS = [FaultSpec("worker_loss", 2.0), FaultSpec("oom", 0.5, {"factor": 2}), FaultSpec("transient", 4.0)]


def test_counts_are_poisson_with_the_declared_rates():
    rng = np.random.default_rng(0)
    counts = {s.kind: [] for s in SPECS}
    for _ in range(400):
        sched = fault_schedule(SPECS, 10 * 3600, rng)
        for s in SPECS:
            counts[s.kind].append(sum(f.kind == s.kind for f in sched))
    for s in SPECS:
        c = np.array(counts[s.kind])
        lam = s.rate_per_hour * 10
        assert abs(c.mean() - lam) < 4 * np.sqrt(lam / c.size)  # mean within 4 standard errors
        assert c.var(ddof=1) == pytest.approx(lam, rel=0.25)  # Poisson: variance = mean


def test_onsets_are_uniform_sorted_and_targets_drawn_from_the_list():
    sched = fault_schedule([FaultSpec("x", 50.0)], 100 * 3600, np.random.default_rng(1), targets=["a", "b"],
                           start_s=500.0)
    t = np.array([f.t for f in sched])
    assert np.all(np.diff(t) >= 0) and t.min() >= 500.0 and t.max() < 500.0 + 100 * 3600
    assert stats.kstest((t - 500.0) / (100 * 3600), "uniform").pvalue > 1e-3
    assert {f.target for f in sched} == {"a", "b"}
    assert [f.idx for f in sched] == list(range(len(sched)))


def test_same_seed_same_schedule_and_scaling_multiplies_rates():
    a = fault_schedule(SPECS, 3600 * 5, np.random.default_rng(3))
    b = fault_schedule(SPECS, 3600 * 5, np.random.default_rng(3))
    assert a == b
    assert [s.rate_per_hour for s in scale_rates(SPECS, 2.0)] == [4.0, 1.0, 8.0]


def test_injector_calls_handler_at_each_onset_in_simpy():
    env = simpy.Environment()
    sched = fault_schedule(SPECS, 3600 * 3, np.random.default_rng(4))
    seen = []
    rec = Recorder()
    FaultInjector(env, sched, lambda f: seen.append((env.now, f.kind)), rec)
    env.run()
    assert seen == [(f.t, f.kind) for f in sched]
    assert [e[0] for e in rec.events] == [f.t for f in sched]


@pytest.mark.parametrize("bad", [{"rate_per_hour": -1.0}, {"rate_per_hour": float("nan")}])
def test_bad_rates_raise(bad):
    with pytest.raises(ValueError, match="rate_per_hour"):
        FaultSpec("x", **bad)


def test_duplicate_kinds_and_bad_horizon_raise():
    with pytest.raises(ValueError, match="duplicate"):
        fault_schedule([FaultSpec("x", 1.0), FaultSpec("x", 2.0)], 10.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="horizon"):
        fault_schedule(SPECS, 0.0, np.random.default_rng(0))
