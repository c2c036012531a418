"""support.sim: simpy DES against closed forms (within 5% at load <= 0.8) and against the Lindley recursion."""

import numpy as np
import pytest

from support.queueing import mm1_sojourn, mmc_sojourn
from support.sim import Recorder, Streams, lindley, nhpp_arrivals, poisson_split, simulate_fifo
from support.sim.recorder import summarize


def test_lindley_equals_simpy_on_the_same_streams():
    st = Streams(7)
    ia = st["arrivals"].exponential(1 / 0.8, 20_000)
    sv = st["service"].exponential(1.0, 20_000)
    np.testing.assert_allclose(simulate_fifo(ia, sv), lindley(ia, sv), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_simpy_mm1_matches_the_formula_within_5_percent(rho):
    rng = Streams(1)["mm1"]
    x = simulate_fifo(rng.exponential(1 / rho, 60_000), rng.exponential(1.0, 60_000))
    assert x[3000:].mean() == pytest.approx(mm1_sojourn(rho, 1.0), rel=0.05)


def test_simpy_mmc_matches_erlang_c_within_5_percent():
    rng = Streams(2)["mmc"]
    lam, mu, c = 2.4, 1.0, 3
    x = simulate_fifo(rng.exponential(1 / lam, 60_000), rng.exponential(1 / mu, 60_000), servers=c)
    assert x[3000:].mean() == pytest.approx(mmc_sojourn(c, lam, mu), rel=0.05)


def test_streams_are_reproducible_and_independent():
    a, b = Streams(3), Streams(3)
    assert a["x"].random() == b["x"].random()
    assert Streams(3)["x"].random() != Streams(3)["y"].random()
    s = Streams(3); _ = s["other"].random(100)
    assert s["x"].random() == Streams(3)["x"].random()  # other components do not shift a stream


def test_recorder_summary_has_a_confidence_interval():
    rec = Recorder()
    rng = np.random.default_rng(0)
    for v in rng.normal(1.0, 0.1, 10_000):
        rec.record("t", v)
    s = rec.summary("t")
    assert abs(s.mean - 1.0) < 3 * s.ci95 + 1e-3 and s.ci95 < 0.01
    with pytest.raises(KeyError, match="no samples"):
        rec.values("missing")


@pytest.mark.parametrize("batches", [5, 20])
def test_summarize_ci_uses_the_t_quantile_with_batches_minus_one_degrees_of_freedom(batches):
    from scipy import stats

    x = np.random.default_rng(batches).exponential(size=10 * batches + 3)  # 3 left-over samples are not batched
    m = x[: 10 * batches].reshape(batches, -1).mean(axis=1)
    want = stats.t.ppf(0.975, batches - 1) * m.std(ddof=1) / np.sqrt(batches)  # 2.776 for 5 batches, not 2.093
    assert summarize(x, batches=batches).ci95 == pytest.approx(want, rel=1e-12)


def test_summarize_refuses_fewer_than_five_batches():
    with pytest.raises(ValueError, match="batches must be an integer >= 5"):
        summarize(np.ones(100), batches=4)


def test_simpy_run_fills_the_recorder():
    rec = Recorder()
    simulate_fifo([1.0, 1.0], [0.5, 3.0], recorder=rec)
    np.testing.assert_allclose(rec.values("sojourn"), [0.5, 3.0])


def test_nhpp_thinning_matches_the_piecewise_rates():
    rng = np.random.default_rng(4)
    t = nhpp_arrivals([0, 100, 200], [2.0, 0.5], rng)
    assert np.sum(t < 100) == pytest.approx(200, rel=0.15) and np.sum(t >= 100) == pytest.approx(50, rel=0.3)


def test_recorder_ci_widens_with_autocorrelation_and_is_unknown_without_enough_samples():
    """Queueing samples are autocorrelated: on an AR(1) series with phi = 0.9 the variance of the mean is (1 + phi) /
    (1 - phi) = 19 times the i.i.d. one, so the batch-means half-width must be well above 1.96 s / sqrt(n). Below 50
    samples there are not 5 batches of 10: the half-width is inf, not the i.i.d. formula (which covered the M/M/1
    mean 8% of the time at load 0.9 with 150 samples)."""
    from support.sim.recorder import summarize

    rng = np.random.default_rng(9)
    e = rng.normal(size=20_000)
    x = np.empty_like(e)
    x[0] = e[0]
    for k in range(1, x.size):
        x[k] = 0.9 * x[k - 1] + e[k]
    s = summarize(x)
    iid = 1.96 * x.std(ddof=1) / np.sqrt(x.size)
    assert s.ci95 > 3 * iid and s.batches >= 5
    assert summarize(rng.normal(size=49)).ci95 == float("inf")
    assert summarize(rng.normal(size=49)).batches == 0


def test_poisson_split_keeps_every_arrival():
    t = np.sort(np.random.default_rng(5).uniform(0, 10, 1000))
    parts = poisson_split(t, 3, np.random.default_rng(6))
    assert sum(p.size for p in parts) == 1000


def test_poisson_split_routes_uniformly_or_by_probs_and_each_part_is_poisson():
    """Each arrival goes to part j with probability p_j independently: the counts are binomial (within 5 sigma), and
    a part of a Poisson stream is Poisson (its gaps are exponential with rate p_j lam: Kolmogorov-Smirnov)."""
    from scipy import stats

    rng = np.random.default_rng(7)
    lam, n = 50.0, 60_000
    t = np.cumsum(rng.exponential(1 / lam, n))
    for probs in (None, [0.6, 0.3, 0.1]):
        parts = poisson_split(t, 3, np.random.default_rng(8), probs=probs)
        p = np.full(3, 1 / 3) if probs is None else np.asarray(probs)
        for j, part in enumerate(parts):
            assert abs(part.size - n * p[j]) <= 5 * np.sqrt(n * p[j] * (1 - p[j]))
            assert stats.kstest(np.diff(part), "expon", args=(0, 1 / (lam * p[j]))).pvalue > 1e-3


def test_length_mismatch_is_refused():
    with pytest.raises(ValueError, match="differ in length"):
        lindley([1.0], [1.0, 2.0])


def test_fifo_refuses_nan_or_negative_times_and_a_fractional_server_count():
    """A NaN service time passed into the output, and the Lindley recursion's max(0, nan) made the next wait 0;
    servers = 1.5 ran as 2 servers."""
    for f in (lindley, simulate_fifo):
        with pytest.raises(ValueError, match="services must be finite and >= 0"):
            f([1.0, 1.0, 1.0], [np.nan, 1.0, 1.0])
        with pytest.raises(ValueError, match="interarrivals must be finite and >= 0"):
            f([1.0, -1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="servers must be a whole number >= 1, got 1.5"):
        simulate_fifo([0.0, 0.0], [5.0, 5.0], servers=1.5)
