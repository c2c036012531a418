"""Notebook 12's ``rate_mbit`` is checked right after ``start``: a rate the rate_collapse fault cannot slow down is
a ParameterError (exit 2) naming it, not a fault campaign whose gray failures change nothing."""

import pytest

from support.params import notebook_parameters
from support.paths import REPO_ROOT
from support.r2ccl import experiments as ex
from support.validate import ParameterError

NOTEBOOK = REPO_ROOT / "notebooks" / "12_r2ccl.ipynb"


def test_notebook_defaults_pass_the_parameter_check():
    p = {n: s.default for n, s in notebook_parameters(NOTEBOOK).items()}
    assert ex.check_parameters(p["hosts"], p["nics"], p["rate_mbit"], p["n_faults"]) is None


@pytest.mark.parametrize("rate", [0.008, 0.004, 1e-6, False])
def test_a_rate_at_or_below_the_collapsed_rate_is_refused_naming_rate_mbit(rate):
    """A rate_collapse fault sets the NIC's tbf to 8 kbit/s: at or below that rate it slows nothing down."""
    with pytest.raises(ParameterError, match=rf"^rate_mbit must be 0 \(picks by scale\) or a rate in Mbit/s above "
                                             rf"0\.008 .*, got {rate!r}$"):
        ex.check_parameters(0, 0, rate, 0)


@pytest.mark.parametrize("rate", [0.0, 0.009, 20.0, 50])
def test_zero_or_a_rate_above_the_collapsed_rate_is_accepted(rate):
    assert ex.check_parameters(0, 0, rate, 0) is None
