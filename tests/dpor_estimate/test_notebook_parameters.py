"""04's parameters are checked right after ``start``: a bad value fails at once, naming the parameter, the value
and the options, before the exhaustive explorations run (§5: SE needs a budget B of at least 2)."""

import pytest

from support.dpor_estimate import experiments as ex
from support.dpor_estimate.order import POLICIES
from support.params import notebook_parameters
from support.paths import REPO_ROOT
from support.validate import ParameterError

NOTEBOOK = REPO_ROOT / "notebooks" / "04_dpor_estimate.ipynb"


def test_notebook_defaults_pass_the_parameter_check():
    p = {n: s.default for n, s in notebook_parameters(NOTEBOOK).items()}
    assert ex.check_parameters(p["order_policy"], p["se_budget"], p["trials"]) is None


@pytest.mark.parametrize("policy", POLICIES)
def test_every_order_policy_is_accepted(policy):
    assert ex.check_parameters(policy, 2, 1) is None


@pytest.mark.parametrize(("args", "message"), [
    (("writer_first", 8, 300), (r"order_policy must be one of 'program', 'writers_first', 'readers_first', "
                                r"'reversed'; got 'writer_first'")),
    (("writers_first", 1, 300), r"se_budget must be an integer >= 2 \(B = 1 is Knuth's estimator, not SE\), got 1"),
    (("writers_first", 8, 0), r"trials must be an integer >= 1, got 0"),
])
def test_bad_value_is_refused_naming_parameter_value_and_options(args, message):
    with pytest.raises(ParameterError, match=message):
        ex.check_parameters(*args)
