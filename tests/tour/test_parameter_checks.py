"""00's ``days`` is checked right after ``start``: a year too long to handle fails at once as a usage error, naming
the parameter, the value and the range, instead of hanging in ``smallest_group_over_half`` after the curve."""

import pytest

from support.params import notebook_parameters
from support.paths import REPO_ROOT
from support.tour.birthday import MAX_DAYS, check_parameters
from support.validate import ParameterError

NOTEBOOK = REPO_ROOT / "notebooks" / "00_tour.ipynb"


def test_notebook_default_passes_the_parameter_check():
    days = notebook_parameters(NOTEBOOK)["days"].default
    assert check_parameters(days) == days == 365


def test_the_longest_allowed_year_is_accepted():
    assert check_parameters(MAX_DAYS) == MAX_DAYS


@pytest.mark.parametrize("bad", [MAX_DAYS + 1, 10**12, 2**63])
def test_a_year_past_max_days_is_refused_naming_the_value_and_range(bad):
    with pytest.raises(ParameterError, match=rf"^days must be an integer in 1\.\.1_000_000_000 .*, got {bad}$"):
        check_parameters(bad)

