"""07's parameters are checked right after ``start``: a bad value fails at once with a ParameterError (exit 2) naming
the parameter as the notebook spells it (``bandwidth_mhz``, in MHz), before MNIST loads or any client trains."""

import json
import re

import pytest

from support.fl_selection import experiments as X
from support.params import notebook_parameters
from support.paths import REPO_ROOT
from support.validate import ParameterError

NOTEBOOK = REPO_ROOT / "notebooks" / "07_fl_selection.ipynb"
CHECKED = ("dataset", "alpha", "participation", "w", "delta_max", "target_accuracy", "bandwidth_mhz", "local_epochs",
           "lr")


def _defaults(**changes) -> dict:
    p = notebook_parameters(NOTEBOOK)
    return {**{n: p[n].default for n in CHECKED}, **changes}


def test_notebook_defaults_pass_the_parameter_check():
    assert X.check_parameters(**_defaults()) is None


@pytest.mark.parametrize("value", [0.0, -20.0, float("inf"), True, "20", 2e6, 1e303])
def test_bandwidth_mhz_outside_0_to_1e6_is_refused_under_its_notebook_name(value):
    # before: 0 and -20 were refused as "bandwidth_hz" in Hz, True ran at 1 MHz and "20" was a TypeError (exit 1);
    # 1e303 MHz overflowed to inf Hz and was refused as "bandwidth_hz"
    message = rf"^bandwidth_mhz must be a number in \(0, 1e\+06\], got {re.escape(repr(value))}$"
    with pytest.raises(ParameterError, match=message):
        X.check_parameters(**_defaults(bandwidth_mhz=value))


def test_bandwidth_mhz_up_to_1e6_is_accepted():
    assert X.check_parameters(**_defaults(bandwidth_mhz=X.MAX_BANDWIDTH_MHZ)) is None


@pytest.mark.parametrize(("name", "value"), [
    ("dataset", "cifar10"), ("alpha", 0.0), ("participation", 0.0), ("participation", 1.5), ("w", 1.2),
    ("delta_max", 0.0), ("target_accuracy", 1.0), ("local_epochs", 0), ("local_epochs", 2.0), ("lr", 0.0),
])
def test_bad_value_of_every_other_parameter_is_refused_naming_it(name, value):
    with pytest.raises(ParameterError, match=rf"^{name} must .*got {re.escape(repr(value))}$"):
        X.check_parameters(**_defaults(**{name: value}))


def test_notebook_checks_its_parameters_in_the_cell_that_starts_it():
    cells = ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    first = next(c for c in cells if "start(" in c)
    assert first.index("X.check_parameters(") > first.index("start(")
    assert all(f"{n}={n}" in first[first.index("X.check_parameters("):] for n in CHECKED)
