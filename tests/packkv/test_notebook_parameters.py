"""08's parameters are checked right after ``start``: a bad value fails at once with a usage error naming the
parameter and its value, instead of after the model load (or never, for blas_threads=0 and a repeated text)."""

import json

import pytest

from support.packkv import experiments as E
from support.params import notebook_parameters
from support.paths import REPO_ROOT
from support.validate import ParameterError

NOTEBOOK = REPO_ROOT / "notebooks" / "08_packkv.ipynb"
NAMES = ("calib_text", "heldback_text", "recent", "block", "pack", "blas_threads")


def defaults() -> dict:
    p = notebook_parameters(NOTEBOOK)
    return {n: p[n].default for n in NAMES}


def test_notebook_defaults_pass_the_parameter_check():
    assert E.check_parameters(**defaults()) is None


@pytest.mark.parametrize(("change", "message"), [
    ({"pack": 12}, r"pack must be one of 8, 16, 32; got 12"),
    ({"pack": 16.0}, r"pack must be one of 8, 16, 32; got 16.0"),
    ({"block": 48}, r"block must be a multiple of pack \(16\) and of the KIVI baseline's token groups .* got 48"),
    ({"block": 0}, r"block must be an integer >= 1, got 0"),
    ({"recent": -1}, r"recent must be an integer >= 0, got -1"),
    ({"blas_threads": 0}, r"blas_threads must be an integer >= 1, got 0"),
    ({"calib_text": "nosuchplay"}, (r"calib_text must be 'python-docs', 'python-license' or a Shakespeare play "
                                   r"\(.*macbeth.*\); got 'nosuchplay'")),
    ({"heldback_text": "macbeth"}, r"heldback_text must differ from calib_text .* both are 'macbeth'"),
    ({"calib_text": "license", "heldback_text": "python-license"}, r"heldback_text must differ from calib_text"),
])
def test_bad_value_is_refused_as_a_usage_error_naming_parameter_and_value(change, message):
    with pytest.raises(ParameterError, match=message):
        E.check_parameters(**(defaults() | change))


def test_notebook_checks_its_parameters_in_the_cell_that_starts_it():
    cells = ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    first = next(c for c in cells if "start(" in c)
    assert "E.check_parameters(calib_text, heldback_text, recent, block, pack, blas_threads)" in first
