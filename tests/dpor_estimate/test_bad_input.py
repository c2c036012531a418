"""Malformed programs and bad parameters raise one clear error naming the problem."""

from __future__ import annotations

import numpy as np
import pytest

from support.dpor_estimate.benchmarks import make
from support.dpor_estimate.dsl import MalformedProgram, Program, Read, Write, check_max_steps
from support.dpor_estimate.experiments import estimate_runs
from support.dpor_estimate.knuth import knuth_probe
from support.dpor_estimate.order import with_order
from support.dpor_estimate.stochastic_enumeration import se_trial
from support.dpor_estimate.trust import explore
from support.validate import ParameterError


def test_thread_yielding_a_non_event_names_thread_and_step():
    def good():
        yield Write("x", 1)

    def bad():
        yield Read("x")
        yield "not an event"

    p = Program("prog", [good, bad], {"x": 0})
    with pytest.raises(MalformedProgram, match=r"thread 1 \(bad\).*'not an event' at step 1"):
        explore(p)


def test_unknown_location_names_thread_step_and_location():
    def t():
        yield Write("x", 1)
        yield Read("nowhere")

    with pytest.raises(MalformedProgram, match=r"thread 0 \(t\).*unknown location 'nowhere' at step 1"):
        explore(Program("prog", [t], {"x": 0}))


def test_thread_body_exception_is_reported_with_thread_and_step():
    def t():
        v = yield Read("x")
        yield Write("x", 1 // v)

    with pytest.raises(MalformedProgram, match=r"thread 0 \(t\).*ZeroDivisionError.*step 1"):
        explore(Program("prog", [t], {"x": 0}))


def test_empty_and_non_callable_programs_are_rejected():
    with pytest.raises(MalformedProgram, match="no threads"):
        Program("p", [], {})
    with pytest.raises(MalformedProgram, match="thread 0"):
        Program("p", [42], {})


@pytest.mark.parametrize("spec", ["nosuch", "lastzero(x)", "lastzero(0)", "lastzero(3", "big0(2)", "peterson(2)",
                                  "szymanski"])
def test_bad_benchmark_spec(spec):
    with pytest.raises(ValueError, match="benchmark"):
        make(spec)


def test_bad_policy_budget_and_trials():
    p = make("inc(2)")
    with pytest.raises(ValueError, match="order policy"):
        with_order(p, "sideways")
    with pytest.raises(ValueError, match="budget"):
        se_trial(p, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="trials"):
        estimate_runs("inc(2)", "program", 1, trials=0, runs=1, seed=0)


@pytest.mark.parametrize("budget", [float("nan"), 2.5, True, 0, -1, "2"])
def test_se_budget_must_be_an_integer_of_at_least_one(budget):
    # nan used to slip past `budget < 1` and silently enumerate the whole tree; 2.5 and True hit numpy errors
    with pytest.raises(ValueError, match=r"budget must be an integer >= 1, got "):
        se_trial(make("inc(2)"), budget, np.random.default_rng(0))


@pytest.mark.parametrize("name", ["trials", "runs"])
@pytest.mark.parametrize("value", [0, -3, 2.5, True, float("nan"), "3"])
def test_estimate_runs_trials_and_runs_must_be_integers_of_at_least_one(name, value):
    kw = {"trials": 2, "runs": 2, name: value}
    with pytest.raises(ValueError, match=rf"^{name} must be an integer >= 1, got ") as e:
        estimate_runs("inc(2)", "program", 1, seed=0, **kw)
    assert not isinstance(e.value, ParameterError)  # a library argument, not a notebook usage error


def test_estimate_runs_accepts_numpy_integer_trials_and_runs():
    rs = estimate_runs("inc(2)", "program", 2, trials=np.int64(3), runs=np.int32(2), seed=0)
    assert rs.classes.shape == (2, 3)


@pytest.mark.parametrize("max_steps", [0, -5, 1.5, True, "100"])
def test_step_bound_must_be_a_positive_integer(max_steps):
    p = make("inc(2)")
    for run in (lambda: explore(p, max_steps=max_steps), lambda: se_trial(p, 2, np.random.default_rng(0), max_steps),
                lambda: knuth_probe(p, np.random.default_rng(0), max_steps), lambda: p.solo_profile(0, max_steps),
                lambda: estimate_runs("inc(2)", "program", 1, 1, 1, 0, max_steps)):
        with pytest.raises(ValueError, match="max_steps must be an integer >= 1"):
            run()


def test_step_bound_error_is_a_library_error_not_a_notebook_usage_error():
    # max_steps is no notebook parameter: the runner must not report a bad one as a refused value (exit 2)
    with pytest.raises(ValueError) as e:
        check_max_steps(0)
    assert not isinstance(e.value, ParameterError)
