"""The notebook's metric helpers compute what their captions state (hand-computed cases)."""

from __future__ import annotations

import zlib
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from support.dpor_estimate import experiments
from support.dpor_estimate.benchmarks import make
from support.dpor_estimate.experiments import (
    RunSet,
    band_row,
    benchmarks_in_band,
    benchmarks_low_variance,
    budget_sweep,
    cost_estimate_runs,
    cost_rows,
    counts_match,
    estimate_runs,
    exact_unbiasedness,
    exhaustive_table,
    expectation_mismatches,
    time_to_band,
    unbiasedness_z,
    variance_row,
    worst_cost_error,
)
from support.dpor_estimate.knuth import knuth_probe
from support.dpor_estimate.order import with_order
from support.dpor_estimate.stochastic_enumeration import se_trial
from support.seeding import derive
from support.validate import ParameterError


def test_predicted_exhaustive_time_uses_probe_timing_not_the_exhaustive_time():
    # 2 runs x 2 probes; node estimates average 50 in both runs; 2 s for 100 expanded graphs per run
    rs = RunSet("toy", "program", 1, classes=np.ones((2, 2)), nodes=np.array([[40.0, 60.0], [50.0, 50.0]]),
                seconds=np.array([2.0, 2.0]), work=np.array([100, 100]))
    row = cost_rows(rs, exact_nodes=50, exact_seconds=999.0)
    assert row["median estimate"] == 50.0
    assert row["rel. error"] == 0.0
    # 50 graphs x (4 s / 200 graphs) = 1 s; the actual exhaustive time is only reported beside it
    assert row["predicted exhaustive s"] == pytest.approx(1.0)
    assert row["actual exhaustive s"] == 999.0


def test_estimate_runs_counts_expanded_graphs():
    # CO-2+2W(2) has no reads, so no revisit ever deletes events: every Knuth probe adds the 4 writes
    # (4 expansions) and then looks at the leaf (1 more) -> 5 children() calls per probe.
    rs = estimate_runs("co_2_2w(2)", "program", 1, trials=10, runs=2, seed=0)
    assert rs.work.tolist() == [50, 50]


@pytest.mark.parametrize(("budget", "trials", "runs", "named"), [
    (0, 10, 1, "the SE budget"), (2.0, 10, 1, "the SE budget"), (1, 0, 1, "trials"), (1, 10, 0, "runs")])
def test_estimate_runs_refuses_budgets_and_counts_that_would_score_silently(budget, trials, runs, named):
    with pytest.raises(ValueError, match=f"^{named} must be an integer >= 1"):
        estimate_runs("co_2_2w(2)", "program", budget, trials=trials, runs=runs, seed=0)


def _runset(classes, nodes=None, seconds=None, work=None, budget=1, spec="toy"):
    c = np.asarray(classes, dtype=float)
    return RunSet(spec, "program", budget, classes=c, nodes=c if nodes is None else np.asarray(nodes, dtype=float),
                  seconds=np.ones(c.shape[0]) if seconds is None else np.asarray(seconds, dtype=float),
                  work=np.full(c.shape[0], 10) if work is None else np.asarray(work))


# three runs of three trials: run means 50, 65, 10 (errors 0, +0.3, -0.8 against 50); run 0's median is 30
THREE_RUNS = [[30, 30, 90], [60, 65, 70], [10, 10, 10]]


def test_band_row_scores_each_runs_mean_against_the_20pct_band():
    row = band_row(_runset(THREE_RUNS, seconds=[1.0, 3.0, 2.0]), exact=50)
    assert row["within ±20%"] == pytest.approx(1 / 3)  # only run 0 (mean 50); +0.3 is outside, so is -0.8
    assert row["median err"] == pytest.approx(0.0)
    # quantiles of (-0.8, 0, 0.3), linear interpolation: p10 = -0.8 + 0.2 * 0.8, p90 = 0 + 0.8 * 0.3
    assert row["p10 err"] == pytest.approx(-0.64) and row["p90 err"] == pytest.approx(0.24)
    assert (row["trials"], row["runs"], row["s/run"]) == (3, 3, pytest.approx(2.0))


def test_band_row_after_n_trials_uses_the_first_n_and_keeps_the_band_edge():
    row = band_row(_runset(THREE_RUNS, seconds=[3.0, 3.0, 3.0]), exact=50, after=1)
    # first trials 30, 60, 10: errors -0.4, +0.2 (60/50 - 1 is 0.19999999999999996 in floating point: inside), -0.8
    assert row["within ±20%"] == pytest.approx(1 / 3)
    assert row["trials"] == 1 and row["s/run"] == pytest.approx(1.0)
    for bad in (0, 500):  # 500 reported 'trials: 500' while scoring the set's few; 0 gave NaN errors
        with pytest.raises(ValueError, match="after must be an integer"):
            band_row(_runset(THREE_RUNS, seconds=[3.0, 3.0, 3.0]), exact=50, after=bad)


def test_unbiasedness_z_is_pooled_mean_error_in_standard_errors():
    rs = _runset([[1, 3], [5, 7]])  # mean 4, sample sd sqrt(20/3), s.e. sd / 2
    assert unbiasedness_z(rs, 2) == pytest.approx(2 / (np.sqrt(20 / 3) / 2))
    assert unbiasedness_z(_runset([[5, 5], [5, 5]]), 5) == 0.0
    assert unbiasedness_z(_runset([[5, 5], [5, 5]]), 4) == float("inf")


def test_variance_row_gives_per_trial_cv2_ratio_and_equal_time_gain():
    t = _runset([[0, 20], [0, 20]], seconds=[1.0, 1.0])  # var 100 -> CV² 1; 0.5 s per trial
    s = _runset([[5, 15], [10, 10]], seconds=[2.0, 2.0], budget=8)  # var 12.5 -> CV² 0.125; 1 s per trial
    row = variance_row(t, s, exact=10)
    assert row["CV² Knuth"] == pytest.approx(1.0) and row["CV² SE(B=8)"] == pytest.approx(0.125)
    assert row["var ratio S/T"] == pytest.approx(0.125)
    assert row["ms/trial Knuth"] == pytest.approx(500) and row["ms/trial SE(B=8)"] == pytest.approx(1000)
    assert row["efficiency gain S/T (equal time)"] == pytest.approx(4.0)  # (1 x 0.5) / (0.125 x 1)


def test_time_to_band_is_the_first_trial_from_which_the_runs_stay_in_the_band():
    # running means 10, 20, 14, 12.5, 12, 12 against 10: in the band at trial 1, out, back in from trial 5
    rs = _runset([[10, 30, 2, 8, 10, 12]], seconds=[6.0])
    row = time_to_band(rs, exact=10)
    assert row["trials to band"] == 5
    assert row["seconds to band"] == pytest.approx(5.0) and row["seconds per run"] == pytest.approx(6.0)


def test_time_to_band_needs_the_fraction_of_runs_and_is_none_when_they_leave_the_band():
    # run means stay at 10 (in) for runs 0-3 from trial 2 on; run 4 never enters: 4 of 5 = 0.8 is enough
    rows = [[0, 20, 10, 10]] * 4 + [[50, 50, 50, 50]]
    assert time_to_band(_runset(rows), exact=10)["trials to band"] == 2
    assert time_to_band(_runset(rows), exact=10, frac=0.9)["trials to band"] is None
    ends_out = _runset([[10, 10, 10, 40]])  # running mean 17.5 at the last trial
    assert time_to_band(ends_out, exact=10)["trials to band"] is None
    assert time_to_band(ends_out, exact=10)["seconds to band"] is None


def test_cost_rows_takes_the_median_run_and_its_quantiles():
    # run means of the node estimates 50, 100, 10: median 50, not the mean (53.3) nor the min or max
    rs = _runset(np.ones((3, 2)), nodes=[[40, 60], [100, 100], [10, 10]], seconds=[1.0, 2.0, 3.0],
                 work=[100, 100, 100])
    row = cost_rows(rs, exact_nodes=40, exact_seconds=7.0)
    assert row["median estimate"] == 50.0 and row["rel. error"] == pytest.approx(0.25)
    assert row["p10"] == pytest.approx(18.0) and row["p90"] == pytest.approx(90.0)
    assert row["predicted exhaustive s"] == pytest.approx(50 * 6.0 / 300)  # per expanded graph, not per probe
    assert (row["probes/run"], row["runs"]) == (2, 3)


def test_first_keeps_the_first_runs_of_every_array():
    rs = _runset([[1, 2], [3, 4], [5, 6]], seconds=[1.0, 2.0, 3.0], work=[7, 8, 9])
    head = rs.first(2)
    assert head.classes.tolist() == [[1, 2], [3, 4]] and head.seconds.tolist() == [1.0, 2.0]
    assert head.work.tolist() == [7, 8] and head.runs == 2 and head.trials == 2
    assert rs.first(20).runs == 3  # fewer runs than asked: all of them


@pytest.mark.parametrize("budget", [1, 2])
def test_estimate_runs_draws_run_r_from_its_documented_stream(budget):
    spec, policy, seed = "lastzero(4)", "writers_first", 3
    rs = estimate_runs(spec, policy, budget, trials=6, runs=3, seed=seed)
    p = with_order(make(spec), policy)
    for r in range(3):
        rng = derive(seed, zlib.crc32(spec.encode()), zlib.crc32(policy.encode()), budget, r)
        draws = [knuth_probe(p, rng) if budget == 1 else se_trial(p, budget, rng) for _ in range(6)]
        assert rs.classes[r].tolist() == [float(d.classes) for d in draws]
        assert rs.nodes[r].tolist() == [float(d.nodes) for d in draws]
    assert len({tuple(row) for row in rs.classes.tolist()}) == 3  # independent runs differ


def test_estimate_runs_purpose_gives_a_stream_of_its_own():
    spec, policy = "lastzero(4)", "writers_first"
    plain = estimate_runs(spec, policy, 1, trials=6, runs=1, seed=0)
    abl = estimate_runs(spec, policy, 1, trials=6, runs=1, seed=0, purpose="ablation")
    rng = derive(0, zlib.crc32(b"ablation"), zlib.crc32(spec.encode()), zlib.crc32(policy.encode()), 1, 0)
    p = with_order(make(spec), policy)
    assert abl.classes[0].tolist() == [float(knuth_probe(p, rng).classes) for _ in range(6)]
    assert abl.classes.tolist() != plain.classes.tolist()


def test_budget_sweep_does_not_repeat_the_headline_runs():
    sweep = budget_sweep("lastzero(4)", "writers_first", [1], trials=20, seed=0, exact=28)
    plain = estimate_runs("lastzero(4)", "writers_first", 1, trials=20, runs=1, seed=0)
    assert sweep["mean/exact"].iloc[0] != pytest.approx(plain.classes.mean() / 28)


def test_cost_runs_repeat_no_knuth_run_of_their_seed_or_the_next():
    """seed + 1 made seed s's cost runs seed s + 1's Knuth runs, probe for probe over the shorter run."""
    spec, policy = "lastzero(4)", "writers_first"
    cost = cost_estimate_runs(spec, policy, probes=12, runs=3, seed=5)
    assert cost.budget == 1 and cost.nodes.shape == (3, 12)
    for seed in (5, 6):
        knuth = estimate_runs(spec, policy, 1, trials=8, runs=3, seed=seed)
        assert not any(np.array_equal(c[:8], k) for c in cost.nodes for k in knuth.nodes)


def test_benchmarks_in_band_needs_80pct_of_the_runs():
    in4 = _runset([[10]] * 4 + [[50]])  # 4 of 5 runs at the exact 10: 0.8, on the bar
    in3 = _runset([[10]] * 3 + [[50]] * 2)  # 3 of 5: 0.6
    exact = {"a": 10, "b": 10}
    assert benchmarks_in_band({"a": in4, "b": in3}, exact) == ["a"]
    assert benchmarks_in_band({"a": in3}, exact, frac=0.6) == ["a"]


def test_benchmarks_low_variance_keeps_ratios_up_to_a_quarter():
    var = pd.DataFrame({"benchmark": ["a", "b", "c"], "var ratio S/T": [0.25, 0.26, 0.01]})
    assert benchmarks_low_variance(var) == ["a", "c"]


def test_worst_cost_error_is_the_largest_absolute_error_over_the_named_benchmarks():
    cost = pd.DataFrame({"benchmark": ["big0", "big1", "co_2_2w(5)"], "rel. error": [0.1, -0.3, 0.9]})
    assert worst_cost_error(cost, ["big0", "big1"]) == pytest.approx(0.3)
    assert worst_cost_error(cost, ["big0"]) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="missing"):
        worst_cost_error(cost, ["big0", "lastzero(15)"])


def test_counts_match_and_exhaustive_table_flag_a_wrong_expected_count(monkeypatch):
    t1, _ = exhaustive_table(["inc(2)", "lastzero(3)"], "program")
    assert t1["match"].tolist() == [True, True] and counts_match(t1)
    monkeypatch.setattr(experiments, "spec_count", lambda spec: 5 if spec == "inc(2)" else 12)
    t1, _ = exhaustive_table(["inc(2)", "lastzero(3)"], "program")
    assert t1["match"].tolist() == [False, True] and not counts_match(t1)


def test_exact_unbiasedness_compares_with_the_exhaustive_known_and_node_counts(monkeypatch):
    unb = exact_unbiasedness(["lastzero(3)", "cinc(2)"])
    assert unb["known count"].tolist() == [12, 8]
    assert expectation_mismatches(unb) == 0
    monkeypatch.setattr(experiments, "spec_count", lambda spec: 13 if spec == "lastzero(3)" else 8)
    assert expectation_mismatches(exact_unbiasedness(["lastzero(3)", "cinc(2)"])) == 1  # only the known count
    from support.dpor_estimate import knuth
    monkeypatch.setattr(knuth, "exact_expectation", lambda *a, **k: Fraction(1, 3))
    assert expectation_mismatches(exact_unbiasedness(["lastzero(3)"])) == 3  # classes, known and nodes


def test_estimate_runs_budget_error_is_a_library_error_not_a_notebook_usage_error():
    with pytest.raises(ValueError, match="the SE budget must be") as e:
        estimate_runs("co_2_2w(2)", "program", 0, trials=1, runs=1, seed=0)
    assert not isinstance(e.value, ParameterError)
