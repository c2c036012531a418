"""03's parameters are checked right after ``start``: a bad value fails at once, naming the parameter, the value
and the options or interval, before the recorded programs and the claim grid run."""

import json
import re

import pytest

from support.params import notebook_parameters
from support.paths import REPO_ROOT
from support.validate import ParameterError
from support.vgc import experiments as X

NOTEBOOK = REPO_ROOT / "notebooks" / "03_vgc.ipynb"


def test_notebook_defaults_pass_the_parameter_check():
    p = {n: s.default for n, s in notebook_parameters(NOTEBOOK).items()}
    assert X.check_parameters(p["budget_mult"], p["n_threads"], p["workloads"], p["n_boot"]) is None


def test_budget_of_exactly_the_peak_live_bytes_is_accepted():
    assert X.check_parameters(1.0, 1, ["lru"], 1) is None


@pytest.mark.parametrize(("args", "message"), [
    ((0.5, 2, ["lru"], 10), r"budget_mult must be a number in \[1, inf\], got 0\.5"),
    ((0.0, 2, ["lru"], 10), r"budget_mult must be a number in \[1, inf\], got 0\.0"),  # 0 would mean "no budget"
    ((2.0, 0, ["lru"], 10), r"n_threads must be an integer >= 1, got 0"),
    ((2.0, 2, [], 10), r"workloads must be a non-empty list of 'trees', 'lru', .*; got \[\]"),
    ((2.0, 2, ["trees", "lur"], 10), (r"workloads\[1\] must be one of 'trees', 'lru', 'prodcons', 'static_churn', "
                                      r"'graph'; got 'lur'")),
    ((2.0, 2, ["lru"] * 5, 10), r"must not repeat a workload; 'lru' given twice"),  # would pass grid_size's 5
    ((2.0, 2, ["lru"], 0), r"n_boot must be an integer >= 1, got 0"),
])
def test_bad_value_is_refused_naming_parameter_value_and_options(args, message):
    with pytest.raises(ParameterError, match=message):  # the CLI's usage error (exit 2), still a ValueError
        X.check_parameters(*args)


def test_per_workload_table_resamples_n_boot_times_as_given():
    code = "\n".join("".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"]
                     if c["cell_type"] == "code")
    calls = re.findall(r"X\.per_workload_ratios\(([^)]*)\)", code)
    assert calls and all(re.search(r"\bn_boot=n_boot\b", c) for c in calls)  # no cap such as min(n_boot, 1000)


def _code():
    return "\n".join("".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code")


def test_claim_grid_runs_with_the_oracle_at_every_collection():
    calls = re.findall(r"X\.claim_grid\(([^)]*)\)", _code())
    assert calls and all(re.search(r"\bcheck=True\b", c) for c in calls)  # safety is recorded over its collections


def test_headline_claims_are_recorded_through_the_issues_grid_rule():
    code = _code()
    for name in X.HEADLINE:
        assert f'nb.record("{name}"' not in code
        assert re.search(rf'X\.record_headline\(\s*nb, "{name}"', code), name
