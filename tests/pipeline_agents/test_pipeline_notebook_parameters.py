"""05's parameters are checked right after ``start``: a bad value fails at once, naming the parameter, the
value and the interval, before TPC-H is generated and run in DuckDB."""

import json
import re

import pytest

from support.params import notebook_parameters
from support.paths import REPO_ROOT
from support.pipeline_agents import experiments as X
from support.validate import ParameterError

NOTEBOOK = REPO_ROOT / "notebooks" / "05_pipeline_agents.ipynb"
CHECKED = ("horizon_h", "tpch_sf", "fault_scale", "retries", "retry_delay_s", "exponential_backoff", "oncall_median_s",
           "fix_median_s", "detect_s", "actuate_s")


def _defaults() -> dict:
    p = notebook_parameters(NOTEBOOK)
    return {n: p[n].default for n in CHECKED}


def test_notebook_defaults_pass_the_parameter_check():
    assert X.check_parameters(**_defaults()) is None


def test_zero_delays_and_fault_rates_are_accepted():
    zero = {n: 0 for n in ("tpch_sf", "fault_scale", "retries", "retry_delay_s", "oncall_median_s", "fix_median_s",
                           "detect_s")}
    assert X.check_parameters(**{**_defaults(), **zero}) is None


@pytest.mark.parametrize(("name", "value", "message"), [
    ("horizon_h", 0.0, r"horizon_h must be a number in \(0, inf\), got 0\.0"),
    ("tpch_sf", -0.01, r"tpch_sf must be a number in \[0, 1\], got -0\.01"),
    ("tpch_sf", 2.0, r"tpch_sf must be a number in \[0, 1\], got 2\.0"),  # tpch.generate refuses sf > 1
    ("fault_scale", -1.0, r"fault_scale must be a number in \[0, inf\), got -1\.0"),
    ("retries", -1, r"retries must be an integer >= 0, got -1"),
    ("retry_delay_s", -300.0, r"retry_delay_s must be a number in \[0, inf\), got -300\.0"),
    ("oncall_median_s", -1.0, r"oncall_median_s must be a number in \[0, inf\), got -1\.0"),
    ("fix_median_s", -1.0, r"fix_median_s must be a number in \[0, inf\), got -1\.0"),
    ("detect_s", -1.0, r"detect_s must be a number in \[0, inf\), got -1\.0"),
    ("actuate_s", 0.0, r"actuate_s must be a number in \(0, inf\), got 0\.0"),
])
def test_out_of_range_value_is_refused_naming_parameter_and_interval(name, value, message):
    with pytest.raises(ParameterError, match=message):
        X.check_parameters(**{**_defaults(), name: value})


@pytest.mark.parametrize("value", ["False", 0, None])
def test_exponential_backoff_that_is_not_a_bool_is_refused_naming_it(value):
    # Params.retry_delay reads its truth: the text "False" would double every retry delay, silently
    with pytest.raises(ParameterError, match=rf"exponential_backoff must be one of False, True; got {value!r}"):
        X.check_parameters(**{**_defaults(), "exponential_backoff": value})


def test_exponential_backoff_accepts_both_bools():
    for value in (False, True):
        assert X.check_parameters(**{**_defaults(), "exponential_backoff": value}) is None


def test_notebook_checks_every_parameter_in_the_cell_that_starts_it():
    cells = ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    first = next(c for c in cells if "start(" in c)
    call = first[first.index("X.check_parameters("):]
    assert first.index("X.check_parameters(") > first.index("start(")
    assert all(f"{n}={n}" in call for n in CHECKED)


def test_claim_notes_format_their_numbers_with_number_so_a_missing_one_reads_n_a():
    """record_unless puts a claim's note into its not-applicable reason, where a NaN formatted with ':.0%' read
    'batch nan%, stream nan%'; support.wording.number writes 'n/a' for it (the same text for a finite value)."""
    cells = ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    notes = next(c for c in cells if "X.unmeasured(" in c).split("X.unmeasured(", 1)[1]
    # the MTTR note is built by X.mttr_note (support), with number(): the same check on what it writes for a NaN
    assert "X.mttr_note(red, " in notes
    nan = float("nan")
    assert "batch n/a, stream n/a" in X.mttr_note({"mttr": nan, "mttr_batch": nan, "mttr_stream": nan}, 2, 24.0, 300.0)
    assert re.findall(r"\{(?!number\()[^{}]*:[^{}]*[%f]\}", notes) == []  # e.g. {red['cost_batch']:.0%}
