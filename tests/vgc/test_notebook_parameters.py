"""03's parameters are checked right after ``start``: a bad value fails at once, naming the parameter, the value
and the options or interval, before the recorded programs and the claim grid run."""

import json
import re

import numpy as np
import pytest

from support.params import notebook_parameters
from support.paths import REPO_ROOT
from support.validate import ParameterError, min_bootstrap_count
from support.vgc import experiments as X
from support.vgc.trace import TraceError
from support.vgc.workloads import make

NOTEBOOK = REPO_ROOT / "notebooks" / "03_vgc.ipynb"


def test_notebook_defaults_pass_the_parameter_check():
    p = {n: s.default for n, s in notebook_parameters(NOTEBOOK).items()}
    assert X.check_parameters(p["budget_mult"], p["n_threads"], p["workloads"], p["n_boot"]) is None


def test_budget_of_exactly_the_peak_live_bytes_is_accepted():
    assert X.check_parameters(1.0, 1, ["lru"], min_bootstrap_count()) is None


def test_the_bounds_themselves_are_accepted():
    assert X.check_parameters(2.0, X.MAX_THREADS, ["lru"], min_bootstrap_count()) is None


def test_thread_cap_is_the_most_threads_a_trace_can_store():
    """128 threads each allocate and give a valid trace; 129 give thread id 128, stored as int8 -128, refused."""
    t = make("trees", np.random.default_rng(0), n_alloc=50_000, n_threads=X.MAX_THREADS)
    assert int(t.tid.max()) == X.MAX_THREADS - 1
    with pytest.raises(TraceError, match="negative thread id"):
        make("trees", np.random.default_rng(0), n_alloc=50_000, n_threads=X.MAX_THREADS + 1)


@pytest.mark.parametrize(("args", "message"), [
    ((0.5, 2, ["lru"], 40), r"budget_mult must be a number in \[1, inf\), got 0\.5"),
    ((0.0, 2, ["lru"], 40), r"budget_mult must be a number in \[1, inf\), got 0\.0"),  # 0 would mean "no budget"
    ((2.0, 0, ["lru"], 40), r"n_threads must be an integer in 1\.\.128 .*, got 0"),
    ((2.0, 129, ["lru"], 40), (r"n_threads must be an integer in 1\.\.128 \(a trace stores thread ids as int8\), "
                               r"got 129")),  # would fail the first synthetic trace, after the recorded programs
    ((2.0, 2, [], 40), r"workloads must be a non-empty list of 'trees', 'lru', .*; got \[\]"),
    ((2.0, 2, ["trees", "lur"], 40), (r"workloads\[1\] must be one of 'trees', 'lru', 'prodcons', 'static_churn', "
                                      r"'graph'; got 'lur'")),
    ((2.0, 2, ["lru"] * 5, 40), r"must not repeat a workload; 'lru' given twice"),  # would pass grid_size's 5
    ((2.0, 2, ["lru"], 0), r"n_boot must be an integer >= 40 .*, got 0"),
    ((2.0, 2, ["lru"], 39), (r"n_boot must be an integer >= 40 \(each 2\.5% tail of the 95% CI needs a resample\), "
                             r"got 39")),
    ((2.0, 2, ["lru"], 1), r"n_boot must be an integer >= 40 .*, got 1"),  # hi would be one resample's ratio
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
