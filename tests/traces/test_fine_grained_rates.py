"""Fine-grained demand for paper 11's bursty runs: Azure LLM request rates per bin and Alibaba GenAI gateway
QPS per bin agree with an independent pandas resample of the raw files; the Azure binnings share one rule."""

import tarfile

import numpy as np
import pandas as pd
import pytest

from support.data import fetch
from support.sim import rate_profile
from support.traces.alibaba import QPS, gateway_qps_series
from support.traces.azure import FILES, epoch_rates, request_rates


@pytest.mark.parametrize("kind", ["code", "conv"])
def test_azure_request_rates_match_a_pandas_resample_of_the_raw_csv(kind):
    raw = pd.read_csv(fetch(FILES[kind]))
    ts = pd.to_datetime(raw.TIMESTAMP)
    ref = pd.Series(1, index=ts).sort_index().resample("15s", origin="start").sum()
    rates, first = request_rates(kind, 15.0)
    assert first == ts.min()
    # every bin but the last one (which holds the last request and is incomplete) is returned
    assert rates.size == ref.size - 1
    np.testing.assert_allclose(rates * 15, ref.to_numpy()[:-1], rtol=0, atol=1e-9)
    assert ref.sum() - ref.iloc[-1] == pytest.approx(rates.sum() * 15)


def test_azure_code_trace_is_bursty_with_empty_15s_bins():
    rates, _ = request_rates("code", 15.0)
    assert (rates == 0).mean() > 0.3 and rates.max() > 10 * rates.mean() / 2  # on/off traffic, tall peaks


def test_alibaba_gateway_qps_matches_a_pandas_resample_of_the_raw_archive():
    with tarfile.open(fetch(QPS)) as tf:
        raw = pd.read_csv(tf.extractfile("qps.csv"))
    total = raw.groupby("timestamp_anon").value.sum()
    total.index = pd.to_datetime(total.index, unit="s")
    ref = total.resample("60s", origin="start").mean().fillna(0.0)  # a minute without samples: no traffic
    got = gateway_qps_series(60.0)
    np.testing.assert_allclose(got, ref.to_numpy(), rtol=1e-12, atol=1e-12)
    assert got.size == 1339 and 0 < got.max() < 20


def test_gateway_qps_refuses_bins_shorter_than_the_sampling_gap():
    """A 30 s bin on a trace sampled every 57 s is empty half the time, and empty bins read as 0 QPS."""
    df = pd.DataFrame({"timestamp_anon": np.arange(20) * 57.0, "value": np.ones(20)})
    with pytest.raises(ValueError, match=r"bin_s = 30.0 s is below the median sampling gap .*\(57 s\)"):
        gateway_qps_series(30.0, df=df)
    assert gateway_qps_series(57.0, df=df).tolist() == [1.0] * 20


def test_azure_binnings_share_one_rule_complete_bins_only():
    """epoch_rates, request_rates and sim.rate_profile keep the complete bins from t = 0 and drop the partial
    last one (here [30, 37] with 7 of a full bin's 10 arrivals), so no bin is a rate divided by too long a time."""
    t = np.arange(0.0, 37.5, 1.0)  # one request per second for 37 s
    first = pd.Timestamp("2023-11-16 18:00:00")
    ts = first + pd.to_timedelta(t, unit="s")
    df = pd.DataFrame({"t": t, "cls": np.where(np.arange(t.size) % 2, "code-long", "code-short"), "ts": ts})
    rates, classes, starts = epoch_rates(df, 10.0)
    assert classes == ["code-long", "code-short"] and starts.tolist() == [0.0, 10.0, 20.0]
    assert rates.sum(axis=1).tolist() == [1.0, 1.0, 1.0]
    rr, t0 = request_rates("code", 10.0, df=pd.DataFrame({"TIMESTAMP": ts.astype(str)}))
    assert t0 == first and rr.tolist() == [1.0, 1.0, 1.0]
    assert rate_profile(t, 10.0)[1].tolist() == [1.0, 1.0, 1.0]


def test_epoch_rates_give_a_class_that_stops_early_zero_rate_in_the_later_epochs():
    """Every class is binned up to the trace's last request: class "a" sends one request per second for 38 s, class
    "b" only for its first 15 s, so with 10 s epochs (three complete ones) b's rates are 10/10, 5/10 and 0."""
    t = np.concatenate([np.arange(0.0, 38.0), np.arange(0.0, 15.0)])
    df = pd.DataFrame({"t": t, "cls": ["a"] * 38 + ["b"] * 15})
    rates, classes, starts = epoch_rates(df, 10.0)
    assert classes == ["a", "b"] and starts.tolist() == [0.0, 10.0, 20.0]
    assert rates[:, 0].tolist() == [1.0, 1.0, 1.0] and rates[:, 1].tolist() == [1.0, 0.5, 0.0]


def test_fine_grained_loaders_reject_bad_input():
    with pytest.raises(ValueError, match="unknown Azure LLM trace"):
        request_rates("chat")
    with pytest.raises(ValueError, match="bin_s"):
        request_rates("code", 0)
    with pytest.raises(ValueError, match="TIMESTAMP"):
        request_rates("code", 15, df=pd.DataFrame({"time": [1, 2]}))
    with pytest.raises(ValueError, match="bin_s"):
        gateway_qps_series(-1)
    with pytest.raises(ValueError, match="expected columns"):
        gateway_qps_series(60, df=pd.DataFrame({"t": [0.0], "value": [1.0]}))
    with pytest.raises(ValueError, match=">= 0"):
        gateway_qps_series(60, df=pd.DataFrame({"timestamp_anon": [0.0, 60.0], "value": [1.0, -1.0]}))
