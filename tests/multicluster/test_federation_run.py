"""Short closed-loop runs on the real traces: invariants of both controllers, the oracle bound, bad input."""

import re

import numpy as np
import pandas as pd
import pytest

from support.control.forecast import make_forecaster
from support.multicluster import experiments as X
from support.multicluster.federation import FederationConfig, build_federation, load_federation
from support.multicluster.metrics import summarize
from support.multicluster.simulate import run_hpa, run_proactive
from support.params import notebook_parameters
from support.paths import REPO_ROOT
from support.validate import ParameterError


@pytest.fixture(scope="module")
def fed():
    return load_federation(FederationConfig())


def test_runs_respect_policies_and_conserve_demand(fed):
    stop = fed.t0 + 24
    pro = run_proactive(fed, lambda: make_forecaster("ridge", 288), stop=stop)
    hpa = run_hpa(fed, stop=stop)
    steps = fed.cfg.interval_s // fed.cfg.sync_s
    for tr in (pro, hpa):
        assert tr.spec.shape == (24 * steps, 3)
        assert np.all(tr.ready <= tr.spec) and np.all(tr.spec <= np.array(fed.policy.capacity))
        assert np.all(tr.spec >= fed.policy.ha_min[0])
        # every request of every origin is served somewhere: cluster loads add up to the origin demand
        j = np.arange(24 * steps)
        t, frac = fed.t0 + j // steps, (j % steps) / steps
        total = (fed.rates[t] + (fed.rates[t + 1] - fed.rates[t]) * frac[:, None]).sum(1)
        np.testing.assert_allclose(tr.load.sum(1), total, rtol=1e-9)
    assert pro.audit.summary(engine=False)["violating_actions"] == 0


def test_a_pre_warm_is_kept_through_the_interval_it_was_made_for(fed):
    # the plan at the next boundary used to scale straight back down what the pre-warm had just started;
    # anti-flapping off, so that its scale-down window (which also keeps a pre-warm) does not hide the rule
    from dataclasses import replace

    stop = fed.t0 + 48
    fed = replace(fed, cfg=replace(fed.cfg, tolerance=0.0, downscale_stabilisation_s=0))
    pro = run_proactive(fed, lambda: make_forecaster("ridge", 288), stop=stop)
    steps = fed.cfg.interval_s // fed.cfg.sync_s
    pw = pro.info["prewarms"]
    assert len(pw) >= 3
    for i, k, n in pw:
        boundary = (i // steps + 1) * steps
        if boundary < pro.spec.shape[0]:
            assert pro.spec[boundary:boundary + steps, k].min() >= n, (i, k, n)


def test_perfect_foresight_bound_with_the_shipped_anti_flap_rule_holds_on_efficiency_and_fails_on_slo(fed):
    """Notes section 4 (oracle 2) in two parts, on the configuration the notebook runs (anti-flap on, 24 intervals):
    perfect foresight is the most efficient, but its exactly-sized plans are held short by the 10 % upward tolerance
    until the guard acts, so seasonal naive (0.28 %) has fewer SLO violations than it (0.97 %): part (ii) fails."""
    assert (fed.cfg.tolerance, fed.cfg.downscale_stabilisation_s) == (0.1, 300)  # the notebook's defaults
    m = {k: summarize(run_proactive(fed, lambda k=k: make_forecaster(k, 288), stop=fed.t0 + 24), fed.rates, fed.t0,
                      fed.cfg.mu, fed.cfg.slo_s, fed.cfg.interval_s) for k in ("seasonal_naive", "oracle")}
    bound = X.oracle_bound(pd.DataFrame({"key": list(m), "efficiency": [v["efficiency"] for v in m.values()],
                                         "slo_violation": [v["slo_violation"] for v in m.values()]}))
    assert m["seasonal_naive"]["efficiency"] < m["oracle"]["efficiency"] and bound.efficiency_holds
    assert m["seasonal_naive"]["slo_violation"] < m["oracle"]["slo_violation"] and not bound.violations_holds
    assert not bound.holds
    assert "(i) efficiency <= perfect foresight's" in bound.note() and ": fails (seasonal naive 0.28%)" in bound.note()


def test_bad_federation_inputs_raise_value_error(fed):
    with pytest.raises(ValueError, match="SLO"):
        FederationConfig(slo_s=0.05)
    with pytest.raises(ValueError, match="too short"):
        build_federation(np.ones((100, 3)), FederationConfig())
    with pytest.raises(ValueError, match="held-back"):
        run_hpa(fed, start=0, stop=10)


@pytest.mark.parametrize("field, value", [("hpa_target", 1.5), ("hpa_target", 0.0), ("hpa_target", 0.705),
                                          ("margin_quantile", 1.0),
                                          ("train_frac", 0.0), ("tolerance", 1.0), ("startup_s", 20),
                                          ("startup_s", 300), ("startup_s", -15), ("interval_s", 50), ("sync_s", 0),
                                          ("downscale_stabilisation_s", -1), ("horizon", 1), ("mu", 0.0),
                                          ("slo_s", 0.05)])
def test_federation_config_refuses_a_bad_value_naming_the_parameter_and_the_value(field, value):
    """One check per knob, so `-p margin_quantile=1.0` or `-p startup_s=20` in notebook 11 says which one is wrong."""
    with pytest.raises(ParameterError, match=rf"^{field} must .*got {re.escape(repr(value))}$"):  # CLI: exit 2
        FederationConfig(**{field: value})


def test_federation_config_accepts_the_bounds_its_intervals_include():
    cfg = FederationConfig(hpa_target=0.9, tolerance=0.0, startup_s=0, downscale_stabilisation_s=0)
    assert (cfg.hpa_target, cfg.startup_s) == (0.9, 0)
    assert FederationConfig(interval_s=60, startup_s=45).startup_s == 45


@pytest.mark.parametrize("target", [0.91, 0.95, 1.0])
def test_an_hpa_target_at_which_the_hpa_can_never_scale_up_is_refused(target):
    """Utilisation cannot exceed 100 %, so the HPA's ratio is at most 1 / target; above 1 / 1.1 = 0.909 it never
    leaves the 10 % tolerance and the baseline would never scale up (at 91-100 % it stayed at its start replicas)."""
    with pytest.raises(ParameterError, match=r"^hpa_target must be below 1 / \(1 \+ the HPA's tolerance 0.1\) = 0.909"):
        FederationConfig(hpa_target=target)
    fed = load_federation(FederationConfig())
    with pytest.raises(ValueError, match="can never scale up"):
        run_hpa(fed, stop=fed.t0 + 2, target=target)


def test_the_hpa_target_range_notebook_11_documents_is_the_range_its_checks_accept():
    """`paper-repro params 11` showed "in (0, 1]", but `-p hpa_target=1.0` (or 0.95) is refused with exit 2: the range
    written in the parameter's comment must be the one FederationConfig enforces, its upper end accepted and the
    next whole percent refused."""
    help_text = notebook_parameters(REPO_ROOT / "notebooks" / "11_multicluster.ipynb")["hpa_target"].help
    m = re.search(r"in \(0, ([0-9.]+)\]", help_text)
    assert m, help_text
    top = float(m.group(1))
    assert FederationConfig(hpa_target=top).hpa_target == top
    with pytest.raises(ParameterError, match="^hpa_target must"):
        FederationConfig(hpa_target=round(top + 0.01, 2))


def test_load_federation_refuses_an_interval_other_than_the_traces_300_s():
    with pytest.raises(ValueError, match="load_federation needs interval_s = 300, got 60"):
        load_federation(FederationConfig(interval_s=60, startup_s=45))


def test_a_window_too_short_for_holt_winters_training_is_refused_up_front():
    """Training must hold two seasons and two points (Holt-Winters); 1.5 seasons used to pass, and Holt-Winters then
    failed after the HPA and ridge runs."""
    with pytest.raises(ValueError, match=r"training needs at least 578 intervals"):
        load_federation(FederationConfig(), length=700)
    assert load_federation(FederationConfig(), length=830).t0 >= 578


def test_bursty_config_refuses_a_startup_that_does_not_fit_in_the_bursty_interval_naming_both():
    """Section 5 runs at 60 s intervals: `-p startup_s=60` passes FederationConfig (300 s) but must fail at start,
    naming startup_s and the bursty interval, not later naming an interval_s the user never set."""
    FederationConfig(startup_s=60)  # fine for the cluster-trace runs
    with pytest.raises(ParameterError, match=r"^startup_s must be below .*BURSTY_INTERVAL_S = 60 s .*got 60$"):
        X.bursty_config(FederationConfig(startup_s=60))
    assert X.bursty_config(FederationConfig(startup_s=45)) == FederationConfig(startup_s=45, interval_s=60)


def test_headline_must_be_a_realistic_forecaster_that_the_scale_runs():
    """Notebook 11 checks `headline` right after start: a typo fails before the federation runs, not in its figure."""
    assert X.check_headline("ridge", "smoke") == "ridge"
    assert X.check_headline("holt_winters", "default") == "holt_winters"
    with pytest.raises(ValueError, match=r"^headline at scale 'smoke' must be one of 'ridge'; got 'lstm'$"):
        X.check_headline("lstm", "smoke")
    with pytest.raises(ValueError, match="got 'holt_winters'"):  # not run at smoke: runs[headline] would fail
        X.check_headline("holt_winters", "smoke")
    with pytest.raises(ValueError, match="got 'oracle'"):  # perfect foresight is the bound, not a headline
        X.check_headline("oracle", "paper")


def test_notebook_11_defaults_pass_the_checks_and_every_listed_headline_runs_at_default_scale():
    specs = notebook_parameters(REPO_ROOT / "notebooks" / "11_multicluster.ipynb")
    p = {n: s.default for n, s in specs.items()}
    FederationConfig(hpa_target=p["hpa_target"], slo_s=p["slo_s"], startup_s=p["startup_s"],
                     margin_quantile=p["margin_quantile"], tolerance=p["tolerance"],
                     downscale_stabilisation_s=p["downscale_stabilisation_s"])
    assert all(X.check_headline(p["headline"], scale) == p["headline"] for scale in X.SCALES)
    listed = specs["headline"].help.rsplit(":", 1)[1].split(" | ")
    assert [X.check_headline(h.strip(), "default") for h in listed] == ["seasonal_naive", "holt_winters", "ridge"]


def test_safety_margin_is_the_quantile_of_relative_residuals_clipped_at_zero():
    from support.multicluster.simulate import safety_margin

    rng = np.random.default_rng(3)
    T, H, K = 40, 2, 2
    R = rng.uniform(20, 60, (T + H, K))
    F = np.full((T + H, H, K), np.nan)
    for s in range(T):
        for h in range(H):
            F[s, h] = R[s + h] * rng.uniform(0.8, 1.1, K)
    t = 30
    got = safety_margin(F, R, t, window=20, quantile=0.9, floor=10.0)
    for h in range(H):  # by hand: forecasts made at s in [t - 20, t - h] whose truth R[s + h] is known at t
        rel = [(R[s + h] - F[s, h]) / F[s, h] for s in range(t - 20, t + 1 - h)]
        assert np.allclose(got[h], np.maximum(np.quantile(rel, 0.9, axis=0), 0))
    assert (safety_margin(-F, R, t, 20, 0.9, 10.0) >= 0).all()


def test_safety_margin_stays_bounded_when_the_forecast_is_near_zero():
    from support.multicluster.simulate import safety_margin

    R = np.tile([[0.0], [300.0]], (20, 1))  # on/off demand
    F = np.zeros((40, 1, 1))
    F[:, 0, 0] = 1e-9  # a forecast of an idle interval
    m = safety_margin(F, R, 39, window=39, quantile=0.9, floor=10.0)
    assert m[0, 0] == pytest.approx(30.0, rel=1e-6)  # (300 - 1e-9) / 10, not 3e11


def test_hpa_baseline_sees_cpu_utilisation_as_a_truncated_integer_percent_like_kubernetes():
    # Kubernetes (metrics/utilization.go) reports int32(usage * 100 / requests): 10 pods busy 6.95 cores of
    # 10 requested is 69 %, not 69.5 %. Against a 63 % target, 69 / 63 = 1.095 is inside the 0.1 tolerance
    # (no scaling), whereas 69.5 / 63 = 1.103 would scale to ceil(11.03) = 12 (by hand).
    from support.multicluster.decision import FederationPolicy
    from support.multicluster.federation import Federation

    cfg = FederationConfig(hpa_target=0.63)
    steps = cfg.interval_s // cfg.sync_s
    pol = FederationPolicy((30,), (1,), (1.0,), (1.0,), (5,), 100.0)
    rates = np.array([[60.0], [69.5], [69.5]])  # 60 req/s at the start: ceil(60 / (10 x 0.63)) = 10 replicas
    fed = Federation(("one",), rates, pol, cfg, t0=0, fine=np.full((2 * steps, 1), 69.5))
    tr = run_hpa(fed)
    assert tr.spec[0, 0] == 10
    assert np.all(tr.spec == 10)
    with pytest.raises(ValueError, match="whole percent"):
        run_hpa(fed, target=0.705)


def test_hpa_baseline_scales_up_past_the_tolerance_and_holds_a_scale_down_300_s_then_drops_in_one_sync():
    """run_hpa's HPAs use the documented defaults (tolerance 0.1, 300 s scale-down window, 100 % per 15 s), by hand
    on one cluster at a 40 % target: 10 replicas at 40 %; at 46 % (ratio 1.15) they scale to ceil(11.5) = 12; when
    demand falls to 8 req/s (6 %) the last recommendation of 12 (t = 585 s) keeps 12 until it leaves the window at
    885 s, and the cut to ceil(0.15 x 12) = 2 is made in one sync."""
    from support.multicluster.decision import FederationPolicy
    from support.multicluster.federation import Federation

    cfg = FederationConfig(hpa_target=0.4)
    steps = cfg.interval_s // cfg.sync_s
    pol = FederationPolicy((30,), (1,), (1.0,), (1.0,), (30,), 100.0)
    fine = np.repeat([[40.0], [46.0], [8.0], [8.0]], steps, axis=0)  # req/s per 15 s step, 4 intervals
    fed = Federation(("one",), np.array([[40.0], [40.0], [46.0], [8.0], [8.0]]), pol, cfg, t0=0, fine=fine)
    tr = run_hpa(fed)
    n = tr.spec[:, 0]
    assert np.all(n[:steps] == 10)                       # 40 % at target: no change
    assert np.all(n[steps:2 * steps] == 12)              # ratio 1.15 > 1.1 scales at the first sync of interval 1
    drop = 2 * steps + (300 - 15) // cfg.sync_s          # t = 885 s
    assert tr.t[drop] == 885
    assert np.all(n[2 * steps:drop] == 12)               # held by the 300 s window
    assert np.all(n[drop:] == 2)                         # then 12 -> 2 at once (100 % per 15 s)
