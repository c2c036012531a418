"""Fine-grained demand for paper 11's bursty runs: Azure LLM request rates per bin and Alibaba GenAI gateway
QPS per bin agree with an independent pandas resample of the raw files."""

import tarfile

import numpy as np
import pandas as pd
import pytest

from support.data import fetch
from support.traces.alibaba import QPS, gateway_qps_series
from support.traces.azure import FILES, request_rates


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
