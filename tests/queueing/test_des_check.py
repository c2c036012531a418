"""support.sim.des_check: the shared DES-vs-formula check (papers 05, 06, 11) on its streams, warm-up and verdicts."""

import numpy as np
import pytest

from support.queueing import mm1_sojourn, mmc_sojourn
from support.sim import simulate_fifo
from support.sim.des_check import des_check


def test_des_check_of_mm1_agrees_with_the_closed_form_and_with_lindley_job_by_job():
    r = des_check(1, 0.8, 1.0, 40_000, np.random.default_rng(3), warmup=0.05, lindley_too=True)
    assert r.analytic == mm1_sojourn(0.8, 1.0) == pytest.approx(5.0)
    assert r.lindley_equal and r.lindley_max_abs_diff < 1e-9
    assert r.lindley_mean == pytest.approx(r.simulated, rel=1e-12)
    assert r.rel_err == pytest.approx(abs(r.simulated / 5.0 - 1), rel=1e-9)
    assert r.rel_err < 0.08  # 40k jobs at rho 0.8: a few per cent of sampling error


def test_des_check_of_mmc_agrees_with_erlang_c():
    r = des_check(3, 2.4, 1.0, 40_000, np.random.default_rng(4), warmup=0.1)
    assert r.analytic == mmc_sojourn(3, 2.4, 1.0)
    assert r.rel_err < 0.06
    assert r.lindley_equal is None and r.lindley_mean is None


def test_des_check_draws_interarrivals_first_then_services_and_drops_the_warmup_share():
    n = 2_001
    r = des_check(2, 1.5, 1.0, n, np.random.default_rng(9), warmup=0.1)
    rng = np.random.default_rng(9)
    ia = rng.exponential(1 / 1.5, n)
    sv = rng.exponential(1.0, n)
    assert r.warmup_jobs == 200
    assert r.simulated == float(simulate_fifo(ia, sv, servers=2)[200:].mean())


def test_des_check_draws_services_from_the_service_stream_when_given():
    n = 1_000
    r = des_check(1, 0.5, 1.0, n, np.random.default_rng(1), np.random.default_rng(2))
    sv = np.random.default_rng(2).exponential(1.0, n)
    ia = np.random.default_rng(1).exponential(2.0, n)
    assert r.warmup_jobs == 0
    assert r.simulated == float(simulate_fifo(ia, sv).mean())


@pytest.mark.parametrize("args, kw, what", [
    ((2, 2.0, 1.0, 100), {}, "unstable"),
    ((1, 0.5, 1.0, 100), {"warmup": 1.0}, "warmup"),
    ((1, 0.5, 1.0, 100), {"warmup": -0.1}, "warmup"),
    ((2, 0.5, 1.0, 100), {"lindley_too": True}, "one server"),
    ((0, 0.5, 1.0, 100), {}, "number of servers"),
    ((1, 0.5, 1.0, 0), {}, "n_jobs"),
    ((1, float("nan"), 1.0, 100), {}, "arrival rate"),
    ((1, 0.5, 0.0, 100), {}, "service rate"),
])
def test_des_check_refuses_unstable_queues_and_bad_settings(args, kw, what):
    with pytest.raises(ValueError, match=what):
        des_check(*args, np.random.default_rng(0), **kw)
