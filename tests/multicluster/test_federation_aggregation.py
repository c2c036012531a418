"""The aggregation of :mod:`support.multicluster.experiments` that only the notebook ran before: the window runs
(``run_federation``), the HPA target sweep and the anti-flap table, with the closed-loop runs and their metrics
replaced by fakes whose values are known, so every ratio of the tables is checked by hand."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from support.multicluster import experiments as X
from support.multicluster.decision import PolicyConfigError
from support.multicluster.federation import Federation, FederationConfig


def _fed(T=10, t0=4, **cfg):
    return Federation(("a", "b"), np.ones((T, 2)), SimpleNamespace(capacity=(5, 5)), FederationConfig(**cfg), t0)


class _Audit:
    def __init__(self, actions, violating):
        self.s = {"actions": actions, "violating_actions": violating, "violations_by_rule": {"r": violating}}

    def summary(self):
        return dict(self.s)


def _trace(name, stop, **extra):
    return SimpleNamespace(name=name, stop=stop, audit=_Audit(10, 0), **extra)


def test_run_federation_runs_hpa_and_each_forecaster_to_the_test_stop_and_reports_the_failures(monkeypatch):
    """T = 10 boundaries (last index 9), t0 = 4: 3 test intervals stop at 7; None or 20 at 9 (the last boundary)."""
    stops = []
    monkeypatch.setattr(X, "run_hpa", lambda fed, stop: stops.append(("hpa", stop)) or _trace("hpa", stop))

    def proactive(fed, make, stop, name):
        stops.append((name, stop))
        if "Holt" in name:
            raise PolicyConfigError("no decision satisfies the policies")
        return _trace(name, stop)

    monkeypatch.setattr(X, "run_proactive", proactive)
    monkeypatch.setattr(X, "summarize", lambda tr, *a, **k: {"efficiency": float(tr.stop), "who": tr.name})
    fed = _fed()
    rows, info = X.run_federation(fed, ["ridge", "holt_winters"], 3, label="w")
    assert [s for _, s in stops] == [7, 7, 7]
    assert [r["key"] for r in rows] == ["hpa", "ridge"] and set(info["runs"]) == {"hpa", "ridge"}
    assert list(info["failed"]) == ["holt_winters"] and "no decision" in info["failed"]["holt_winters"]
    assert all(r["window"] == "w" and r["efficiency"] == 7.0 and r["policy_actions"] == 10 for r in rows)
    assert rows[1]["who"].startswith("proactive (") and rows[1]["violations_by_rule"] == {"r": 0}
    for ti in (None, 20):
        stops.clear()
        X.run_federation(fed, ["ridge"], ti)
        assert [s for _, s in stops] == [9, 9]


def test_hpa_target_sweep_runs_the_hpa_once_per_target_on_the_given_window(monkeypatch):
    monkeypatch.setattr(X, "run_hpa", lambda fed, stop, target: SimpleNamespace(target=target, stop=stop))
    keys = ("efficiency", "slo_violation", "latency_cv", "jain", "one_minus_cv", "jain_fill", "events_per_hour",
            "stabilization_s")
    monkeypatch.setattr(X, "summarize", lambda tr, *a, **k: {**{c: tr.target * i for i, c in enumerate(keys)},
                                                             "stop": tr.stop, "other": 1})
    sw = X.hpa_target_sweep(FederationConfig(), None, [0.5, 0.8], test_intervals=2, fed=_fed())
    assert sw.target.tolist() == [0.5, 0.8] and list(sw.columns) == ["target", *keys]
    assert sw.slo_violation.tolist() == [0.5, 0.8] and sw.stabilization_s.tolist() == [3.5, pytest.approx(5.6)]


def test_antiflap_sweep_reads_the_configured_setting_from_the_rows_and_runs_the_others_relative_to_hpa(monkeypatch):
    """HPA: efficiency per cluster (0.5, 0.4), stabilization 100 s, 4 events/h. A run with (0.6, 0.5), 150 s and
    2 events/h has worst gain min(0.6/0.5, 0.5/0.4) - 1 = 0.2, stabilization change +50 % and events change -50 %."""
    hpa = {"key": "hpa", "efficiency_per_cluster": np.array([0.5, 0.4]), "stabilization_s": 100.0,
           "events_per_hour": 4.0}
    kept = {"key": "ridge", "efficiency": 0.9, "efficiency_per_cluster": np.array([0.5, 0.8]),
            "stabilization_s": 100.0, "events_per_hour": 4.0, "slo_violation": 0.01, "latency_cv": 0.2}
    runs = []

    def proactive(f, make, stop):
        runs.append((f.cfg.tolerance, f.cfg.downscale_stabilisation_s, stop))
        return SimpleNamespace()

    monkeypatch.setattr(X, "run_proactive", proactive)
    monkeypatch.setattr(X, "summarize", lambda tr, *a, **k: {
        "efficiency": 0.55, "efficiency_per_cluster": np.array([0.6, 0.5]), "stabilization_s": 150.0,
        "events_per_hour": 2.0, "slo_violation": 0.02, "latency_cv": 0.3})
    fed = _fed(tolerance=0.1, downscale_stabilisation_s=300)
    settings = (("none", 0.0, 0), ("configured", 0.1, 300), ("same tolerance", 0.1, 600), ("wider", 0.15, 600))
    af = X.antiflap_sweep(fed, "ridge", [hpa, kept], settings, test_intervals=2).set_index("anti-flap")
    assert runs == [(0.0, 0, 6), (0.1, 600, 6), (0.15, 600, 6)]  # the configured (0.1, 300 s) is not run again
    c = af.loc["configured"]
    assert c.efficiency == 0.9 and c.efficiency_gain_worst == pytest.approx(0.0)
    assert c.stabilization_change == 0.0 and c.events_change == 0.0
    for label in ("none", "same tolerance", "wider"):
        r = af.loc[label]
        assert r.efficiency == 0.55 and r.efficiency_gain_worst == pytest.approx(0.2)
        assert r.stabilization_change == pytest.approx(0.5) and r.events_change == pytest.approx(-0.5)
        assert (r.slo_violation, r.latency_cv) == (0.02, 0.3)
    calm = {**hpa, "events_per_hour": 0.0}  # HPA made no scaling event: any change is an infinite increase
    af = X.antiflap_sweep(replace(fed), "ridge", [calm, kept], settings=(("none", 0.0, 0),))
    assert af.events_change.tolist() == [float("inf")]


def test_milp_vs_brute_force_counts_a_milp_refusal_as_a_match_only_when_enumeration_finds_nothing_either(
        monkeypatch):
    def refuse(*a, **k):
        raise ValueError("no feasible decision")

    monkeypatch.setattr(X, "decide", refuse)
    monkeypatch.setattr(X, "brute_force_decision", lambda *a: (float("inf"), None))
    both = X.milp_vs_brute_force(2, np.random.default_rng(0))
    assert both.match.tolist() == [True, True] and both.n_milp.isna().all() and np.isinf(both.milp).all()
    monkeypatch.setattr(X, "brute_force_decision", lambda D, *a: (3.0, np.ones(len(D), int)))
    one = X.milp_vs_brute_force(2, np.random.default_rng(0))
    assert one.match.tolist() == [False, False] and one.n_bf.tolist() == [[1, 1], [1, 1, 1]]
