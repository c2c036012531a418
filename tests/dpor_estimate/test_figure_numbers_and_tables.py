"""What 04's figures draw and its order table shows, against hand-computed values on tiny run sets.

The figures are the notebook's only view of the per-run estimates (F1 convergence, F2/F6 error boxes, F5 cost),
so the numbers they plot are checked here, not just that they draw."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from support.dpor_estimate import experiments as ex
from support.dpor_estimate.experiments import RunSet


def _rs(classes, spec="toy", budget=1, policy="writers_first"):
    c = np.asarray(classes, dtype=float)
    return RunSet(spec, policy, budget, classes=c, nodes=c, seconds=np.ones(c.shape[0]),
                  work=np.ones(c.shape[0], dtype=int))


# three runs of two trials; exact count 4
#   running means:  run0 2, 3   run1 4, 6   run2 12, 7   -> / 4:  0.5, 0.75 | 1, 1.5 | 3, 1.75
#   median over runs per trial: 1.0, 1.5 (the mean would be 1.5, 1.33)
#   10 % / 90 % quantiles at trial 1 of (0.5, 1, 3), linear: 0.5 + 0.2 * 0.5 = 0.6 and 1 + 0.8 * 2 = 2.6
CLASSES = [[2, 4], [4, 8], [12, 2]]


def test_convergence_figure_draws_the_median_running_estimate_over_exact_and_its_10_90_band():
    fig = ex.convergence_figure([_rs(CLASSES)], {"toy": 4.0})
    try:
        ax = fig.axes[0]
        line = ax.lines[0]
        assert line.get_xdata().tolist() == [1, 2]
        assert np.allclose(line.get_ydata(), [1.0, 1.5])
        band_y = np.concatenate([p.vertices[:, 1] for p in ax.collections[0].get_paths()])
        assert np.isclose(band_y, 0.6).any() and np.isclose(band_y, 2.6).any()
        assert "exact 4" in ax.get_title()
    finally:
        plt.close(fig)


def test_convergence_figure_puts_each_benchmark_on_its_own_panel_divided_by_its_own_exact_count():
    fig = ex.convergence_figure([_rs([[10, 10]], spec="a"), _rs([[10, 30]], spec="b")], {"a": 10.0, "b": 20.0})
    try:
        assert len(fig.axes) == 2
        assert np.allclose(fig.axes[0].lines[0].get_ydata(), [1.0, 1.0])
        assert np.allclose(fig.axes[1].lines[0].get_ydata(), [0.5, 1.0])  # running means 10, 20 over 20
    finally:
        plt.close(fig)


def test_error_box_figure_boxes_each_runs_final_relative_error(monkeypatch):
    """Per run: mean of its trials / exact - 1. Runs (1, 2, 9), (4, 4, 4), (6, 6, 9), exact 4: means 4, 4, 7 ->
    0, 0, 0.75 (medians would give -0.5, 0, 0.5)."""
    seen = {}
    real = matplotlib.axes.Axes.boxplot

    def spy(self, data, *a, **k):
        seen["data"] = [np.asarray(d, dtype=float) for d in data]
        return real(self, data, *a, **k)

    monkeypatch.setattr(matplotlib.axes.Axes, "boxplot", spy)
    sets = [_rs([[1, 2, 9], [4, 4, 4], [6, 6, 9]]), _rs([[5, 5], [15, 5]], spec="other", budget=8, policy="reversed")]
    fig = ex.error_box_figure(sets, {"toy": 4.0, "other": 10.0}, title="t")
    try:
        assert np.allclose(seen["data"][0], [0.0, 0.0, 0.75])
        assert np.allclose(seen["data"][1], [-0.5, 0.0])
        labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
        assert labels == ["toy\nKnuth (T)", "other\nSE(B=8)\nreversed"]  # the default policy is not repeated
    finally:
        plt.close(fig)


def test_cost_figure_error_bars_run_from_p10_to_p90_around_the_median():
    rows = pd.DataFrame({"benchmark": ["a", "b"], "exact graphs": [100.0, 1000.0], "median estimate": [90.0, 1100.0],
                         "p10": [80.0, 900.0], "p90": [120.0, 1500.0]})
    fig = ex.cost_figure(rows)
    try:
        ax = fig.axes[0]
        segs = [s for c in ax.collections for s in getattr(c, "get_segments", list)()]
        spans = sorted((float(s[0][0]), float(min(s[0][1], s[1][1])), float(max(s[0][1], s[1][1]))) for s in segs)
        assert spans == [(100.0, 80.0, 120.0), (1000.0, 900.0, 1500.0)]
    finally:
        plt.close(fig)


def test_time_figure_drops_benchmarks_that_never_reached_the_band_and_draws_the_2_percent_line():
    rows = pd.DataFrame({"benchmark": ["a", "b"], "exhaustive s": [10.0, 100.0], "estimate s": [0.1, np.nan]})
    fig = ex.time_figure(rows)
    try:
        ax = fig.axes[0]
        assert ax.collections[0].get_offsets().tolist() == [[10.0, 0.1]]
        two = next(ln for ln in ax.lines if ln.get_label() == "2 % of exhaustive")
        assert np.allclose(np.asarray(two.get_ydata()) / np.asarray(two.get_xdata()), 0.02)
    finally:
        plt.close(fig)


def test_variance_figure_plots_each_benchmarks_cv2_and_efficiency_against_the_budget():
    sweep = pd.DataFrame({"benchmark": ["a", "a", "b"], "budget B": [1, 4, 1], "CV² per trial": [2.0, 0.5, 3.0],
                          "efficiency 1/(CV²·s)": [10.0, 20.0, 5.0]})
    fig = ex.variance_figure(sweep)
    try:
        a1, a2 = fig.axes
        assert [ln.get_ydata().tolist() for ln in a1.lines] == [[2.0, 0.5], [3.0]]
        assert [ln.get_ydata().tolist() for ln in a2.lines] == [[10.0, 20.0], [5.0]]
    finally:
        plt.close(fig)


def test_order_table_lists_threads_in_each_policys_order():
    """lastzero(2): the reader alone reads a2 = 0 and stops (share of reads 1); each writer reads then writes
    (share 1/2). writers_first sorts by that share ascending (stable), readers_first descending."""
    t = ex.order_table("lastzero(2)").set_index("policy")["threads in order"].to_dict()
    assert t == {"program": "reader, writer1, writer2", "writers_first": "writer1, writer2, reader",
                 "readers_first": "reader, writer1, writer2", "reversed": "writer2, writer1, reader"}


def test_order_table_puts_a_pure_writer_first_and_pure_readers_first_as_their_policies_say():
    """readers(2): the writer has share 0, each reader share 1."""
    t = ex.order_table("readers(2)").set_index("policy")["threads in order"].to_dict()
    names = t["program"].split(", ")
    w, r0, r1 = names
    assert t["writers_first"] == f"{w}, {r0}, {r1}"
    assert t["readers_first"] == f"{r0}, {r1}, {w}"
    assert t["reversed"] == f"{r1}, {r0}, {w}"


def test_exact_unbiasedness_refuses_a_benchmark_without_a_known_count(monkeypatch):
    monkeypatch.setattr(ex, "spec_count", lambda spec: None)
    with pytest.raises(ValueError, match="known count"):
        ex.exact_unbiasedness(["lastzero(3)"])


def test_worst_z_refuses_an_empty_table():
    with pytest.raises(ValueError, match="at least one"):
        ex.worst_z(pd.DataFrame({"z": []}))
