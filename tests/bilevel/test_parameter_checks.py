"""Notebook 10's parameters are checked right after ``start``: a bad value is a ParameterError (exit 2) naming the
parameter, before the oracle checks and the minutes of hyper-cleaning and hyper-representation runs."""

import pytest

from support.bilevel import experiments as X
from support.params import notebook_parameters
from support.paths import REPO_ROOT
from support.validate import ParameterError

NOTEBOOK = REPO_ROOT / "notebooks" / "10_bilevel.ipynb"
CHECKED = ("budgets", "noise_rate", "inner_mu", "clean_outer_lr", "rep_outer_lr", "inner_steps", "solver_steps",
           "inner_lr", "fd_delta", "rate_noise", "rate_alpha0")


def notebook_defaults() -> dict:
    p = {n: s.default for n, s in notebook_parameters(NOTEBOOK).items()}
    return {n: p[n] for n in CHECKED}


@pytest.mark.parametrize("n_seeds", [1, 5])  # smoke runs the hyper-representation at one seed, default and paper at 5
def test_notebook_defaults_pass_at_every_scale(n_seeds):
    assert X.check_parameters(**notebook_defaults(), rep_seeds=range(n_seeds)) == X.BUDGETS


@pytest.mark.parametrize("name, bad", [
    ("inner_mu", 0.0), ("inner_mu", -0.005), ("inner_mu", float("nan")),
    ("inner_steps", 0), ("inner_steps", 2.5), ("solver_steps", 0), ("solver_steps", True),
    ("inner_lr", 0.0), ("inner_lr", float("inf")), ("fd_delta", 0.0), ("fd_delta", -1e-3),
    ("rate_alpha0", 0.0), ("rate_alpha0", "0.2"),
])
def test_a_bad_value_is_a_parameter_error_naming_the_parameter_and_the_value(name, bad):
    """Each was checked only when its config was built, cells later (or never: T = 0 or K = 0 ran silently, and
    K = 0 leaves the hyper-cleaning hypergradient 0, so 'cleaned' was the uncleaned model)."""
    with pytest.raises(ParameterError, match=rf"^{name} must .*got {bad!r}$"):
        X.check_parameters(**{**notebook_defaults(), name: bad}, rep_seeds=range(1))


def test_more_clients_than_the_hyper_representation_shards_allow_fail_up_front_naming_budgets():
    """70 budgets cannot each get 20 of the 1258 training digits: this failed after the hyper-cleaning runs. The
    message names only what the user sets (not the partition's min_size) and the hard limit, 1258 // 20 = 62."""
    with pytest.raises(ParameterError, match=r"^budgets='1(,1){69}' gives 70 clients, more than the hyper-rep") as e:
        X.check_parameters(**{**notebook_defaults(), "budgets": ",".join(["1"] * 70)}, rep_seeds=range(1))
    message = str(e.value)
    assert "at seed 0" in message and "never more than 62 clients" in message
    assert message.endswith("; give fewer budgets") and "min_size" not in message
