"""Each heuristic's rule checked by hand, and the headline's per-seed summary checked on a fixed frame.

Heuristics follow the notes §1.2 (equal; load-proportional c_i ~ lam_i; static request = limit) plus a
Kubernetes VPA-style demand share (audit 2026-11-29); the headline compares CRMS with the best by latency.
"""

import math

import numpy as np
import pandas as pd
import pytest

from support.crms import baselines as B
from support.crms import experiments as X
from support.crms.latency_model import MonotoneLatency
from support.crms.problem import App, Problem, Server, evaluate
from tests.crms.conftest import MODELS

VPA = "demand-proportional (VPA-style)"


@pytest.fixture
def roomy():
    """Three apps of unlike rate and CPU demand on a server whose per-container bounds never clip a share."""
    apps = (App("heavy", MODELS["cpu_bound"].scaled(4.0), 2.0), App("sat", MODELS["saturating"], 10.0),
            App("join", MODELS["mem_join"], 6.0))
    return Problem(apps, Server(cpu=8.0, mem=3.0, c_min=0.05, c_max=8.0, m_min=0.01, m_max=3.0, n_max=4))


def _shares(a):
    return a.n * a.c, a.n * a.m


def _own_latency(p, i, n, cpu_share, mem_share):
    d = float(p.apps[i].model(cpu_share / n, mem_share / n))
    rate = p.apps[i].lam / n
    return 1 / (1 / d - rate) if rate * d <= 1 - p.stability_margin else math.inf


def _assert_best_count(p, a, cpu, mem):
    for i in range(p.N):
        own = [_own_latency(p, i, n, cpu[i], mem[i]) for n in range(1, p.server.n_max + 1)]
        assert a.n[i] == 1 + int(np.argmin(own)), (p.apps[i].name, own)


def test_heuristic_set_has_the_notes_three_and_the_vpa_style_demand_share():
    assert list(B.HEURISTICS) == ["equal share", "load-proportional", VPA, "static request=limit"]
    assert B.HEURISTICS[VPA] is B.demand_proportional


def test_equal_share_gives_each_app_c_over_n_and_m_over_n(roomy):
    a = B.equal_share(roomy)
    cpu, mem = _shares(a)
    assert np.isfinite(a.latency)
    assert cpu == pytest.approx([8.0 / 3] * 3) and mem == pytest.approx([1.0] * 3)
    _assert_best_count(roomy, a, cpu, mem)


def test_load_proportional_splits_cpu_by_rate_and_memory_equally(roomy):
    a = B.proportional_share(roomy)
    cpu, mem = _shares(a)
    assert np.isfinite(a.latency)
    assert cpu == pytest.approx(8.0 * np.array([2.0, 10.0, 6.0]) / 18.0)
    assert mem == pytest.approx([1.0] * 3)  # the notes' rule is c_i ~ lam_i, CPU only
    _assert_best_count(roomy, a, cpu, mem)


def test_demand_proportional_splits_cpu_by_cpu_seconds_demand_and_memory_equally(roomy):
    a = B.demand_proportional(roomy)
    cpu, mem = _shares(a)
    demand = np.array([2.0 * (0.005 * 4 + 0.09 * 4 / 1.0),  # heavy: (a + h/c) at c = 1, scaled 4x
                       10.0 * (0.07 + 0.6 * math.exp(-6.0) + 0.01),  # sat: a + b e^{-6} + h
                       6.0 * (0.02 + 0.06 + 0.5 * math.exp(-9.0 * 3.0))])  # join at m_max = 3 GB
    assert np.isfinite(a.latency) and a.method == VPA
    assert cpu == pytest.approx(8.0 * demand / demand.sum())
    assert mem == pytest.approx([1.0] * 3)
    _assert_best_count(roomy, a, cpu, mem)


def _at_the_boundary():
    """One app whose only count (n_max = 1) at c_max = 1 CPU has load exactly 1 - margin: d = 0.25 + 0.25 / 1 = 0.5 s,
    lam = 1 req/s, margin 0.5 (all exact in binary); any smaller c is unstable."""
    mdl = MonotoneLatency(a=0.25, b=0.0, beta=1.0, h=0.25, g=0.0, gamma=1.0)
    return Problem((App("edge", mdl, 1.0),), Server(cpu=1.0, mem=0.5, n_max=1), stability_margin=0.5)


def test_problem_stable_holds_when_load_equals_one_minus_margin():
    p = _at_the_boundary()
    assert p.stable(0.5) and not p.stable(np.nextafter(0.5, 1.0))


def test_share_heuristics_accept_a_count_whose_load_is_exactly_one_minus_margin():
    # Problem documents lam d / n <= 1 - margin; a heuristic testing < would call this app unstable at every
    # count, fall back to (c_min, m_min) and leave it overloaded
    p = _at_the_boundary()
    for f in (B.equal_share, B.proportional_share, B.demand_proportional):
        a = f(p)
        assert a.c == pytest.approx([1.0]) and a.n.tolist() == [1], a.method
        assert a.latency == pytest.approx(1 / (1 / 0.5 - 1.0)), a.method  # M/M/1 sojourn 1 / (mu - lam)


def _static_problem(cpu, mem):
    apps = (App("u", MODELS["cpu_bound"], 20.0), App("v", MODELS["mem_join"], 10.0))
    return Problem(apps, Server(cpu=cpu, mem=mem, c_min=0.05, c_max=1.0, m_min=0.01, m_max=0.5, n_max=8))


def test_static_request_limit_counts_by_hand_and_keeps_the_request_when_it_fits():
    p = _static_problem(cpu=8.0, mem=4.0)
    a = B.static_request_limit(p)
    d = np.array([0.005 + 0.09, 0.02 + (0.06 + 0.5 * math.exp(-9 * 0.256))])  # d(1 CPU, 0.256 GB)
    n = np.ceil(np.array([20.0, 10.0]) * d / 0.7)
    assert list(a.n) == list(n) == [3, 2]
    assert a.c == pytest.approx([1.0, 1.0]) and a.m == pytest.approx([0.256, 0.256])


def test_static_request_limit_scales_only_the_over_committed_resource():
    cpu_short = B.static_request_limit(_static_problem(cpu=4.0, mem=4.0))  # 5 containers x 1 CPU > 4 CPUs
    assert cpu_short.c == pytest.approx([0.8, 0.8]) and cpu_short.m == pytest.approx([0.256, 0.256])
    mem_short = B.static_request_limit(_static_problem(cpu=8.0, mem=1.0))  # 5 x 0.256 GB > 1 GB
    assert mem_short.c == pytest.approx([1.0, 1.0]) and mem_short.m == pytest.approx([0.2, 0.2])


def test_busy_power_reads_the_linear_model_as_utilization_capped_at_reserved(roomy):
    a = evaluate(roomy, [1, 3, 1], [2.0, 0.5, 1.0], [1.0, 0.5, 0.5])
    busy = sum(lam * float(app.model(c, m)) * c for lam, app, c, m in zip(roomy.lam, roomy.apps, a.c, a.m))
    got_busy, got_power = X.busy_power(roomy, a)
    assert got_busy == pytest.approx(busy) and busy < a.cpu_used
    s = roomy.server
    assert got_power == pytest.approx(s.p_idle + (s.p_max - s.p_idle) * busy / s.cpu + s.beta_mem * a.mem_used)
    tight = evaluate(roomy, [1, 1, 1], [0.5, 0.2, 0.2], [1.0, 0.5, 0.5])  # unstable: demand above the quota
    assert X.busy_power(roomy, tight)[0] == pytest.approx(tight.cpu_used)


def _frame(crms, heur, search):
    """Rows as :func:`experiments.compare` returns them: (latency s, power W, busy-CPU power W) per method."""
    rows = [("CRMS", crms), *heur.items(), *search.items()]
    evals = {B.RANDOM_SEARCH: 700, B.ANNEALING: 300}  # objective calls; NaN for CRMS and the heuristics
    return pd.DataFrame([{"method": name, "latency_s": lat, "power_w": pw, "power_busy_w": pbusy,
                          "requests_per_joule": 10.0 / pw, "seconds": 0.1, "evaluations": evals.get(name, math.nan)}
                         for name, (lat, pw, pbusy) in rows])


FRAMES = {
    # seed 0: static is the stable winner by latency but draws the most power; VPA-style draws less and loses
    0: _frame((0.4, 91.0, 80.0),
              {"equal share": (0.6, 90.5, 81.0), "load-proportional": (math.inf, 60.0, 50.0),
               VPA: (0.55, 89.0, 79.0), "static request=limit": (0.5, 91.5, 84.0)},
              {"random search": (0.8, 90.0, 80.0), B.ANNEALING: (0.5, 90.0, 80.0)}),
    # seed 1: every heuristic unstable, so no power to compare with
    1: _frame((0.3, 92.0, 82.0),
              {"equal share": (math.inf, 90.0, 80.0), "load-proportional": (math.inf, 88.0, 78.0),
               VPA: (math.inf, 89.0, 79.0), "static request=limit": (math.inf, 87.0, 77.0)},
              {"random search": (0.6, 90.0, 80.0), B.ANNEALING: (math.inf, 90.0, 80.0)}),
}


def test_headline_summary_by_hand_on_a_fixed_comparison(monkeypatch):
    monkeypatch.setattr(X, "trace_rates", lambda epoch_s: (None, None, None))
    monkeypatch.setattr(X, "_seed_problem", lambda models, seed, *a: (None, 7 + seed, 0.6))
    monkeypatch.setattr(X, "compare", lambda p, seed: FRAMES[seed].copy())
    rows, summ = X.headline({}, [0, 1], Server(), 0.002)
    assert len(rows) == sum(len(f) for f in FRAMES.values()) and list(summ.epoch) == [7, 8]
    s0, s1 = summ.iloc[0], summ.iloc[1]
    assert s0.best_heuristic == "static request=limit" and not s0.heuristics_all_unstable
    assert s0.reduction_vs_heuristic == pytest.approx(1 - 0.4 / 0.5)
    assert s0.reduction_vs_search == pytest.approx(1 - 0.4 / 0.5)
    assert s0.power_ratio == pytest.approx(91.0 / 91.5)
    assert s0.efficiency_ratio == pytest.approx(91.5 / 91.0)
    assert s0.power_ratio_busy == pytest.approx(80.0 / 84.0)
    assert s1.heuristics_all_unstable and s1.reduction_vs_heuristic == 1.0
    assert np.isnan(s1.power_ratio) and np.isnan(s1.efficiency_ratio) and np.isnan(s1.power_ratio_busy)
    assert s1.reduction_vs_search == pytest.approx(1 - 0.3 / 0.6) and not s1.searches_all_unstable
    assert (s0.random_search_evaluations, s0.annealing_evaluations) == (700, 300)  # each search's own count


def test_headline_compares_with_the_vpa_style_share_when_it_is_the_unique_best(monkeypatch):
    frame = _frame((0.4, 90.0, 80.0),
                   {"equal share": (0.6, 90.5, 81.0), "load-proportional": (0.7, 89.5, 79.5),
                    VPA: (0.45, 88.0, 78.0), "static request=limit": (0.5, 91.5, 84.0)},
                   {"random search": (0.8, 90.0, 80.0), B.ANNEALING: (0.9, 90.0, 80.0)})
    monkeypatch.setattr(X, "trace_rates", lambda epoch_s: (None, None, None))
    monkeypatch.setattr(X, "_seed_problem", lambda models, seed, *a: (None, 3, 0.6))
    monkeypatch.setattr(X, "compare", lambda p, seed: frame.copy())
    s = X.headline({}, [0], Server(), 0.002)[1].iloc[0]
    assert s.best_heuristic == VPA
    assert s.reduction_vs_heuristic == pytest.approx(1 - 0.4 / 0.45)
    assert s.power_ratio == pytest.approx(90.0 / 88.0) and s.power_ratio_busy == pytest.approx(80.0 / 78.0)


def test_margin_without_nothing_left_out_is_the_headlines_own_reduction_and_the_default_drops_only_the_vpa_share(
        monkeypatch):
    monkeypatch.setattr(X, "trace_rates", lambda epoch_s: (None, None, None))
    monkeypatch.setattr(X, "_seed_problem", lambda models, seed, *a: (None, 3, 0.6))
    frames = {0: FRAMES[0], 1: FRAMES[1], 2: _frame(  # seed 2: the VPA share is the unique best heuristic
        (0.4, 90.0, 80.0), {"equal share": (0.6, 90.5, 81.0), "load-proportional": (0.7, 89.5, 79.5),
                            VPA: (0.42, 88.0, 78.0), "static request=limit": (0.5, 91.5, 84.0)},
        {"random search": (0.8, 90.0, 80.0), B.ANNEALING: (0.9, 90.0, 80.0)})}
    monkeypatch.setattr(X, "compare", lambda p, seed: frames[seed].copy())
    rows, summ = X.headline({}, [0, 1, 2], Server(), 0.002)
    every = X.margin_without(rows, left_out=())
    assert every["median"] == pytest.approx(X.headline_summary(summ)["latency_vs_heuristic"])
    assert every["seeds_margin"] == pytest.approx(X.headline_summary(summ)["seeds_10pct"])
    assert every["power_ratio_mean"] == pytest.approx(X.power_summary(summ, "power_ratio")["mean"])
    assert every["power_ratios"] == pytest.approx(list(summ.power_ratio.dropna()))  # per seed, as the headline's
    named = X.margin_without(rows)
    assert VPA not in named["heuristics"] and len(named["heuristics"]) == len(B.HEURISTICS) - 1
    assert named["median"] == pytest.approx(0.2)  # seeds: 1 - 0.4/0.5, 1 (none stable), 1 - 0.4/0.5
    assert named["seeds_margin"] == 1.0 and every["seeds_margin"] == pytest.approx(2 / 3)  # seed 2: 4.8% with VPA
