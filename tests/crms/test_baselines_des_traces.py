"""Baselines respect capacity; DES of a CRMS allocation matches the M/M/1 formula; the Azure trace loads."""

import numpy as np
import pytest

from support.crms import baselines as B
from support.crms.des import simulate_allocation
from support.crms.experiments import synthetic_problem
from support.crms.solver import crms
from support.crms.traces import scaled_rates
from support.traces.azure import epoch_rates, load_azure


@pytest.fixture
def problem(models):
    return synthetic_problem(models, 4, np.random.default_rng(11))


def test_heuristics_fit_the_server_and_crms_beats_them_on_its_objective(problem):
    a = crms(problem)
    for f in B.HEURISTICS.values():
        h = f(problem)
        assert h.cpu_used <= problem.server.cpu + 1e-9 and h.mem_used <= problem.server.mem + 1e-9
        assert a.objective <= h.objective + 1e-9


def test_search_baselines_honour_the_budget(problem):
    import time

    t0 = time.perf_counter()
    r = B.random_search(problem, 0.3, np.random.default_rng(0))
    s = B.annealing(problem, 0.3, 0)
    assert time.perf_counter() - t0 < 3.0
    assert r.info["evaluations"] > 10 and s.info["evaluations"] > 10


def test_des_of_the_crms_allocation_matches_the_formula(problem):
    a = crms(problem)
    rows = simulate_allocation(problem, a, 60_000, seed=1)
    for r in rows:
        if r["rho"] <= 0.8:
            assert r["rel_err"] < 0.05, r


def test_azure_trace_gives_four_classes_of_rates():
    df = load_azure()
    rates, classes, starts = epoch_rates(df, 300.0)
    assert classes == ["code-long", "code-short", "conv-long", "conv-short"]
    assert rates.shape == (len(starts), 4) and np.all(rates.sum(axis=1) > 0)
    s = scaled_rates(rates, np.ones(4), 4.0, 0.5)
    assert np.isclose(s.mean(axis=0).sum(), 2.0)


def test_bad_epoch_is_refused():
    with pytest.raises(ValueError, match="epoch_s"):
        epoch_rates(load_azure(), 0)
