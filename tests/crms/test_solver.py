"""CRMS against independent oracles: SCIP global MINLP optimum, exact grid DP, brute force over counts."""

import itertools

import numpy as np
import pytest

from support.crms.experiments import random_small_problem, synthetic_problem
from support.crms.oracles import grid_dp_optimum, scip_optimum
from support.crms.problem import App, Problem, Server
from support.crms.solver import Stage1, crms
from support.opt import InfeasibleError


def test_stage1_is_dcp_and_dpp(models):
    p = Problem(tuple(App(k, v, 3.0) for k, v in models.items()), Server())
    st = Stage1(p)
    assert st.is_dcp and st.is_dpp


@pytest.mark.parametrize("k", range(6))
def test_crms_within_2_percent_of_the_scip_global_optimum(models, k):
    p = random_small_problem(models, np.random.default_rng(1000 + k))
    a = crms(p)
    s = scip_optimum(p, time_limit=30)
    assert s.info["status"] in ("optimal", "gaplimit")  # gaplimit: proven within 1e-6
    assert a.objective >= s.objective * (1 - 1e-4)  # SCIP is global: nobody beats it
    assert a.objective <= s.objective * 1.02


@pytest.mark.parametrize("k", range(3))
def test_crms_no_worse_than_the_exact_grid_dp_for_three_apps(models, k):
    rng = np.random.default_rng(2000 + k)
    p = random_small_problem(models, rng, n_apps=(3, 3))
    a = crms(p)
    g = grid_dp_optimum(p, c_step=0.05, m_step=0.0625)
    assert a.objective <= g.objective * 1.005


def test_grid_dp_refuses_a_grid_that_misses_the_bounds(models):
    # 0.032 GB divides neither m_min = 0.125 nor m_max = 0.5 GB: the grid would start at 0.128 and top out at
    # 0.48 GB, missing the corners
    p = random_small_problem(models, np.random.default_rng(7), n_apps=(2, 2))
    with pytest.raises(ValueError, match="does not divide m_min"):
        grid_dp_optimum(p, c_step=0.05, m_step=0.032)


def test_stage1_at_each_count_vector_equals_enumeration_minimum(models):
    # brute force over every integer count vector, stage 1 at each: the greedy must find the best one
    rng = np.random.default_rng(5)
    p = random_small_problem(models, rng, n_apps=(2, 2), n_max=4)
    st = Stage1(p)
    best = min(st.solve(np.array(n))[0] for n in itertools.product(range(1, 5), repeat=2))
    assert crms(p).objective == pytest.approx(best, rel=1e-4)


@pytest.mark.parametrize("seed", [2, 5])
def test_greedy_counts_match_enumeration_on_three_app_instances(models, seed):
    """Brute force over all 4**3 count vectors (stage 1 at each): CRMS must land on the best one. On these two
    seeds a greedy that stops on an improvement below 1 % ends 3.9 % / 6.8 % above it (a 2 % SCIP bar misses that)."""
    p = random_small_problem(models, np.random.default_rng(seed), n_apps=(2, 3), n_max=4)
    st = Stage1(p)
    best = min(st.solve(np.array(n))[0] for n in itertools.product(range(1, 5), repeat=p.N))
    assert crms(p).objective == pytest.approx(best, rel=1e-4)


def test_fifty_apps_solve_quickly(models):
    import time

    p = synthetic_problem(models, 50, np.random.default_rng(0))
    t0 = time.perf_counter()
    a = crms(p)
    assert time.perf_counter() - t0 < 30  # the benchmark holds the 10 s bar; CI machines vary
    assert np.isfinite(a.objective)


def test_demand_above_cpu_capacity_names_the_binding_constraint(models):
    p = Problem(tuple(App(k, v, 20.0) for k, v in models.items()), Server(cpu=2.0, mem=8.0, n_max=64))
    with pytest.raises(InfeasibleError, match="CPU capacity") as e:
        crms(p)
    assert e.value.binding == "cpu_capacity"


def test_demand_beyond_max_containers_names_the_app(models):
    p = Problem((App("hot", models["cpu_bound"], 500.0),), Server(n_max=4))
    with pytest.raises(InfeasibleError, match="stability of app 'hot'") as e:
        crms(p)
    assert e.value.binding == "stability:hot"


def test_memory_shortage_names_memory(models):
    p = Problem(tuple(App(k, v, 30.0) for k, v in models.items()), Server(cpu=64.0, mem=0.5, n_max=64))
    with pytest.raises(InfeasibleError, match="memory capacity"):
        crms(p)


def test_warm_start_gives_the_same_optimum(models):
    p = synthetic_problem(models, 4, np.random.default_rng(3))
    a = crms(p)
    b = crms(p, n0=np.ones(4, int))
    assert b.objective == pytest.approx(a.objective, rel=1e-3)


def test_reused_stage1_uses_the_new_rates(models):
    # the quasi-dynamic loop reuses one compiled stage 1 across epochs: rates must come from the new problem
    from support.crms.solver import Stage1

    p = synthetic_problem(models, 4, np.random.default_rng(8))
    q = p.with_rates(p.lam * 1.3)
    st = Stage1(p)
    assert crms(q, stage1=st, n0=crms(p, stage1=st).n).objective == pytest.approx(crms(q).objective, rel=1e-3)


def test_least_cpu_need_is_the_analytic_root_so_a_barely_feasible_server_is_accepted(models):
    # d = a + h/c (cpu_bound): n containers are stable iff c >= c*(n) = h / ((1 - margin) n / lam - a).
    # A 400-point grid's first stable point overshoots c* by up to 0.002 CPUs; diagnose then rejected
    # servers with just enough CPU.
    from support.crms.problem import min_cpu_need

    mdl = models["cpu_bound"]
    margin = 1e-3
    c_star = 0.15 + 100 * (0.85 / 399) + 0.001  # between two points of the old grid
    lam = (1 - margin) / (mdl.a + mdl.h / c_star)
    server = Server(cpu=c_star + 1e-4, mem=4.0, c_min=0.15, c_max=1.0, n_max=1)
    p = Problem((App("x", mdl, lam),), server, stability_margin=margin)
    need, n = min_cpu_need(p, p.apps[0])
    assert n == 1 and need == pytest.approx(c_star, abs=1e-9)
    a = crms(p)  # feasible: c in [c*, c* + 1e-4]
    assert np.isfinite(a.objective) and c_star - 1e-6 <= a.c[0] <= server.cpu + 1e-6
    # several counts: the least total over n of n * max(c_min, c*(n)), by hand
    q = Problem((App("x", mdl, 6.0),), Server(n_max=8), stability_margin=margin)
    ns = np.arange(1, 9)
    cs = mdl.h / ((1 - margin) * ns / 6.0 - mdl.a)
    tot = np.where((cs > 0) & (cs <= 1.0), ns * np.maximum(cs, 0.15), np.inf)
    need, n = min_cpu_need(q, q.apps[0])
    assert n == ns[np.argmin(tot)] and need == pytest.approx(tot.min(), abs=1e-9)


def test_reusing_a_stage1_compiled_with_other_weights_is_refused(models):
    # w_lat, w_pow and the stability margin are constants of the compiled program: reusing it for
    # another weight would silently minimize the old objective
    from dataclasses import replace

    p = synthetic_problem(models, 4, np.random.default_rng(3))
    with pytest.raises(ValueError, match="w_pow"):
        crms(replace(p, w_pow=0.2), stage1=Stage1(p))


def test_crms_finds_a_feasible_allocation_that_lies_next_to_its_start_counts():
    # recorded-profile models, oracle seed 11 instance 12: every start count vector ([4,4,4,2], [4,4,3,1], [3,3,3,1])
    # is infeasible in stage 1, while [3,4,4,2] is feasible; CRMS used to call the instance infeasible
    from support.crms.experiments import recorded_models
    from support.crms.solver import start_counts
    from support.seeding import derive

    models = recorded_models(0, 1 / 3, stat="median")  # the models the instance was found with
    p = random_small_problem(models, derive(11, "oracle", 12))
    st = Stage1(p)
    assert all(not np.isfinite(st.solve(n, p.lam)[0]) for n in start_counts(p))
    a, s = crms(p), scip_optimum(p, time_limit=30)
    assert abs(a.objective - s.objective) <= 0.02 * abs(s.objective)
    # a truly infeasible instance (SCIP agrees) is still refused, naming the binding constraint
    q = random_small_problem(models, derive(10, "oracle", 33))
    with pytest.raises(InfeasibleError, match="CPU and memory capacity jointly") as e:
        crms(q)
    assert e.value.binding == "cpu_and_memory_capacity"
    with pytest.raises(InfeasibleError):
        scip_optimum(q, time_limit=30)


def test_screening_estimate_of_an_unstable_move_is_infinite_not_nan_when_latency_has_no_weight(models):
    """w_lat = 0 is allowed. The shadow-price screening (N >= 7) ranks moves by _app_terms; an unstable candidate
    gave (0 / Lambda) x inf = NaN, and sorting NaN estimates cost up to 4.6% against the exhaustive search."""
    import warnings

    from support.crms.solver import _app_terms

    p = Problem((App("x", models["cpu_bound"], 30.0),), Server(), w_lat=0.0)
    cs = np.array([Server().c_min, Server().c_max])  # one container at c_min cannot serve 30 req/s
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = _app_terms(p, 0, 1, cs, np.full(2, Server().m_max), 0.0, 0.0, 30.0)
    assert np.isinf(t[0]) and not np.isnan(t).any()


@pytest.mark.parametrize("lam", [1e-6, 1e-9])
def test_crms_is_not_above_the_grid_dp_at_a_tiny_total_load(models, lam):
    """Stage 1 wrote the latency as n (1 / (1 - rho d) - 1) weighted by w_lat n / Lambda: at 1e-6 req/s the
    solver's tolerance on 1 / (1 - rho d) ~ 1 swamped the answer and CRMS came out 14-234% above the exact grid
    DP (at 1e-9 it chose 0.18 CPUs where 1 CPU is optimal). Now written d + rho d^2 / (1 - rho d)."""
    for name in ("cpu_bound", "mem_join"):
        p = Problem((App("x", models[name], lam),), Server())
        a, g = crms(p), grid_dp_optimum(p)
        assert a.objective <= g.objective * (1 + 1e-6), (name, a.objective, g.objective, a.c, g.c)
