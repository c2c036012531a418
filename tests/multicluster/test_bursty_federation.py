"""The bursty fine-grained federation replays the recorded 15 s demand of the Azure LLM and Alibaba GenAI
traces, causally (the controller at boundary t knows only completed intervals), scaled like the 5-minute runs."""

import numpy as np
import pytest

from support.control.forecast import make_forecaster
from support.multicluster.federation import (
    FederationConfig,
    build_bursty_federation,
    bursty_demand,
    load_bursty_federation,
)
from support.multicluster.simulate import run_hpa, run_proactive
from support.traces.azure import request_rates

CFG = FederationConfig(interval_s=60)


@pytest.fixture(scope="module")
def fed():
    return load_bursty_federation(CFG)


def test_bursty_demand_is_the_raw_azure_request_counts_per_15s():
    fine, info = bursty_demand(15, 60)
    code, _ = request_rates("code", 15)
    assert fine.shape == (4 * info["intervals"], 3) and info["intervals"] == 57  # the 57-minute code trace
    np.testing.assert_array_equal(fine[:, 0], code[:fine.shape[0]])
    ali = fine[:, 2].reshape(-1, 4)
    assert np.all(ali == ali[:, :1])  # about one gateway sample a minute: held for the minute's four bins


def test_rates_are_interval_means_scaled_to_the_training_busy_replicas(fed):
    fine, _ = bursty_demand(15, 60)
    means = fine.reshape(-1, 4, 3).mean(1)
    assert fed.t0 == round(0.7 * 57)
    np.testing.assert_allclose(fed.rates[:fed.t0].mean(0), np.array(CFG.busy) * CFG.mu, rtol=1e-12)
    scale = np.array(CFG.busy) * CFG.mu / means[:fed.t0].mean(0)
    np.testing.assert_allclose(fed.rates, means * scale, rtol=1e-12)
    # simulated interval t replays trace interval t + 1, whose mean is rates[t + 1] (the controller forecasts it)
    np.testing.assert_allclose(fed.fine.reshape(-1, 4, 3).mean(1), fed.rates[1:], rtol=1e-12)


def test_both_controllers_serve_the_recorded_15s_demand_within_policies(fed):
    stop = fed.t0 + 6
    fine, _ = bursty_demand(15, 60)
    scale = np.array(CFG.busy) * CFG.mu / fine.reshape(-1, 4, 3).mean(1)[:fed.t0].mean(0)
    want = (fine[(fed.t0 + 1) * 4:(stop + 1) * 4] * scale).sum(1)  # trace intervals t0+1 .. stop, per 15 s
    pro = run_proactive(fed, lambda: make_forecaster("ridge", 10), stop=stop)
    hpa = run_hpa(fed, stop=stop)
    for tr in (pro, hpa):
        np.testing.assert_allclose(tr.load.sum(1), want, rtol=1e-9)
        assert np.all(tr.ready <= tr.spec) and np.all(tr.spec <= np.array(fed.policy.capacity))
    assert pro.audit.summary(engine=False)["violating_actions"] == 0
    # the recorded on/off bursts of the code trace reach the HPA within a 15 s step
    assert np.ptp(hpa.load[:, 0]) > 0 and (np.diff(hpa.load[:, 0]) != 0).sum() > 6


def test_bursty_federation_rejects_bad_demand():
    with pytest.raises(ValueError, match="non-negative"):
        build_bursty_federation(-np.ones((400, 3)), CFG)
    with pytest.raises(ValueError, match="at least"):
        build_bursty_federation(np.ones((5, 3)), CFG)
    with pytest.raises(ValueError, match="too short"):
        build_bursty_federation(np.ones((40, 3)), CFG, period=10)
