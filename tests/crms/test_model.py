"""Latency model fit and the MINLP's evaluation: known-answer checks."""

import numpy as np
import pytest

from support.crms.latency_model import MonotoneLatency, fit_monotone, fit_paper
from support.crms.problem import App, Problem, Server, evaluate
from support.fits import adjusted_r2
from support.power import LinearPowerModel
from support.queueing import mm1_sojourn


def test_fit_recovers_a_known_model_with_r2_above_099(models):
    rng = np.random.default_rng(0)
    truth = models["mem_join"]
    c, m = np.meshgrid(np.linspace(0.15, 1.0, 8), np.linspace(0.125, 0.5, 4))
    c, m = c.ravel(), m.ravel()
    y = truth(c, m) * (1 + 0.01 * rng.standard_normal(c.size))
    fit = fit_monotone(c, m, y)
    cc, mm = rng.uniform(0.15, 1.0, 50), rng.uniform(0.125, 0.5, 50)  # held-back points
    yy = truth(cc, mm) * (1 + 0.01 * rng.standard_normal(50))
    assert adjusted_r2(yy, fit(cc, mm), 6) >= 0.99


def test_paper_form_keeps_its_quoted_signs(models):
    c, m = np.meshgrid(np.linspace(0.15, 1.0, 6), np.linspace(0.125, 0.5, 4))
    f = fit_paper(c.ravel(), m.ravel(), models["cpu_bound"](c.ravel(), m.ravel()))
    assert f.k1 <= 0 and f.k2 >= 0 and f.k3 >= 0


def test_adjusted_r2_known_value_and_small_sample_refused():
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0]); yhat = y + np.array([0.1, -0.1, 0.1, -0.1, 0.0])
    r2 = 1 - 0.04 / 10.0
    assert adjusted_r2(y, yhat, 1) == pytest.approx(1 - (1 - r2) * 4 / 3)
    with pytest.raises(ValueError, match="more than"):
        adjusted_r2(y, yhat, 4)


def test_negative_coefficients_are_refused():
    with pytest.raises(ValueError, match=">= 0"):
        MonotoneLatency(a=-1, b=0, beta=1, h=0, g=0, gamma=1)


def test_evaluate_is_mm1_per_container_plus_linear_power(models):
    p = Problem((App("x", models["cpu_bound"], 10.0), App("y", models["mem_join"], 4.0)),
                Server(cpu=4.0, mem=2.0, p_idle=20.0, p_max=80.0, beta_mem=1.0), w_pow=0.01)
    n, c, m = np.array([2, 1]), np.array([0.8, 1.0]), np.array([0.25, 0.5])
    a = evaluate(p, n, c, m)
    d = p.d(c, m)
    T = [mm1_sojourn(10.0 / 2, 1 / d[0]), mm1_sojourn(4.0, 1 / d[1])]
    assert a.latency == pytest.approx((10 * T[0] + 4 * T[1]) / 14)
    assert a.power == pytest.approx(LinearPowerModel(20.0, 80.0, 4.0, 1.0).power(2.6, 1.0))
    assert a.objective == pytest.approx(a.latency + 0.01 * a.power)


def test_unstable_allocation_is_infinite_and_strict_mode_names_it(models):
    p = Problem((App("x", models["cpu_bound"], 50.0),), Server())
    a = evaluate(p, [1], [0.5], [0.25])
    assert a.objective == np.inf
    with pytest.raises(ValueError, match="stability of app 'x'"):
        evaluate(p, [1], [0.5], [0.25], strict=True)


@pytest.mark.parametrize("n, c, mem, binding", [
    ([4, 4], [0.5, 0.50025], [0.125, 0.125], "CPU capacity"),   # 4.001 CPUs on a 4-CPU server (0.025 % over)
    ([4, 4], [0.25, 0.25], [0.25, 0.251], "memory capacity"),  # 2.004 GB on a 2-GB server
])
def test_evaluate_calls_an_allocation_just_over_cpu_or_memory_capacity_infeasible(models, n, c, mem, binding):
    """sum n c <= C and sum n m <= M are the MINLP's capacity constraints (tolerance 1e-6 relative): a stable
    allocation 0.025 % over the CPUs or 0.2 % over the memory must score inf and be named in strict mode, or a
    baseline that over-commits would be judged as feasible."""
    p = Problem((App("x", models["cpu_bound"], 1.0), App("y", models["mem_join"], 1.0)), Server(cpu=4.0, mem=2.0))
    a = evaluate(p, n, c, mem)
    assert a.objective == np.inf and a.latency == np.inf
    assert any(binding in why for why in a.info["infeasible"])
    with pytest.raises(ValueError, match=binding):
        evaluate(p, n, c, mem, strict=True)


def test_evaluate_and_rates_refuse_a_vector_that_is_not_one_value_per_app(models):
    """Before, evaluate broadcast app 0's values to all four apps and with_rates returned a 2-app problem."""
    m = models["cpu_bound"]
    p = Problem(tuple(App(f"a{i}", m, 2.0) for i in range(4)), Server())
    with pytest.raises(ValueError, match=r"^n needs one value per app \(4\); got shape \(1,\)$"):
        evaluate(p, [2], [0.5], [0.25], strict=True)
    with pytest.raises(ValueError, match=r"^lam needs one value per app \(4\); got shape \(2,\)$"):
        p.with_rates([1.0, 2.0])
    with pytest.raises(ValueError, match=r"^c needs one value per app"):
        p.d([0.5] * 3, [0.25] * 4)


@pytest.mark.parametrize("n, c, mem, bad", [([11], [0.5], [0.25], "n"), ([1.5], [0.5], [0.25], "n"),
                                            ([1], [2.0], [0.25], "c"), ([1], [0.5], [0.01], "m")])
def test_strict_evaluate_refuses_containers_outside_the_servers_bounds(models, n, c, mem, bad):
    p = Problem((App("x", models["cpu_bound"], 1.0),), Server())
    assert np.isfinite(evaluate(p, [1], [0.5], [0.25], strict=True).objective)
    with pytest.raises(ValueError, match=f"^{bad} must "):
        evaluate(p, n, c, mem, strict=True)


def test_evaluate_applies_the_stability_margin_as_crms_does(models):
    """rho = 0.995 is stable for an M/M/1 queue but not within a 0.01 margin: evaluate used to score it (it only
    rejected rho >= 1), so search baselines and SCIP's answers were judged by a looser rule than CRMS."""
    d = 0.005 + 0.09 / 0.5  # cpu_bound at c = 0.5 CPUs
    lam = 0.995 / d
    tight = Problem((App("x", models["cpu_bound"], lam),), Server(), stability_margin=0.01)
    loose = Problem((App("x", models["cpu_bound"], lam),), Server(), stability_margin=0.0)
    assert not tight.stable(0.995) and loose.stable(0.995)
    a = evaluate(tight, [1], [0.5], [0.25])
    assert a.utilization[0] == pytest.approx(0.995) and a.objective == np.inf and a.latency == np.inf
    with pytest.raises(ValueError, match=r"stability of app 'x' \(utilization 0.995 > 1 - stability_margin = 0.99\)"):
        evaluate(tight, [1], [0.5], [0.25], strict=True)
    b = evaluate(loose, [1], [0.5], [0.25])  # same allocation, no margin: the hand-computed M/M/1 sojourn
    assert b.latency == pytest.approx(mm1_sojourn(lam, 1 / d)) == pytest.approx(d / 0.005)


@pytest.mark.parametrize("field, value", [("w_pow", -0.05), ("w_lat", -1.0), ("w_pow", np.nan), ("w_lat", np.inf),
                                          ("stability_margin", 1.0), ("stability_margin", -0.1),
                                          ("stability_margin", np.nan)])
def test_problem_refuses_negative_weights_and_a_margin_outside_0_1(models, field, value):
    """w_pow = -0.05 made CRMS maximise power; a margin of 1 makes every allocation unstable."""
    with pytest.raises(ValueError, match=rf"{field} must be a number in"):
        Problem((App("x", models["cpu_bound"], 3.0),), Server(), **{field: value})


def test_problem_accepts_zero_weights_and_a_zero_margin(models):
    p = Problem((App("x", models["cpu_bound"], 3.0),), Server(), w_lat=0.0, w_pow=0.0, stability_margin=0.0)
    assert (p.w_lat, p.w_pow, p.stability_margin) == (0.0, 0.0, 0.0)
