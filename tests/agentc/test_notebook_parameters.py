"""01's ranged parameters are checked right after ``start``: a bad value fails at once, naming the parameter, the
value and the range, before the trace track and the token track run."""

import pytest

from support.agentc import experiments as X
from support.agentc.taubench.data import tasks
from support.params import notebook_parameters
from support.paths import REPO_ROOT
from support.validate import ParameterError, min_bootstrap_count

NOTEBOOK = REPO_ROOT / "notebooks" / "01_agentc.ipynb"


def test_notebook_defaults_pass_the_parameter_check():
    p = {n: s.default for n, s in notebook_parameters(NOTEBOOK).items()}
    assert X.check_parameters(p["n_boot"], p["token_tasks"], p["token_seeds"]) is None


def test_every_retail_test_task_count_is_accepted():
    assert X.check_parameters(min_bootstrap_count(), 1, 1) is None
    assert X.check_parameters(min_bootstrap_count(), len(tasks("retail", "test")), 1) is None


@pytest.mark.parametrize(("args", "message"), [
    ((0, 20, 2), r"n_boot must be an integer >= 40 .*, got 0"),
    ((39, 20, 2), r"n_boot must be an integer >= 40 \(each 2\.5% tail of the 95% CI needs a resample\), got 39"),
    ((1, 20, 2), r"n_boot must be an integer >= 40 .*, got 1"),  # the "95% CI" would be one resample's mean
    ((2000, 0, 2), r"token_tasks must be an integer in 1\.\.115, got 0"),
    ((2000, 116, 2), r"token_tasks must be an integer in 1\.\.115, got 116"),
    ((2000, 20, 0), r"token_seeds must be an integer >= 1, got 0"),
])
def test_out_of_range_value_is_refused_naming_parameter_and_range(args, message):
    with pytest.raises(ParameterError, match=message):
        X.check_parameters(*args)
