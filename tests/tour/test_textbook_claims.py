"""00 judges the textbook claims (p23, n_half) only for the textbook's 365-day year: another year records them as not
applicable, with the reason and the value measured, through ``nb.record_unless`` as the notebook does."""

import pytest

from support.claims import ClaimRecorder, Verdict
from support.tour.birthday import exact_shared_probability, off_textbook, smallest_group_over_half
from support.tour.claims import CLAIMS


def test_the_textbook_year_gives_no_reason_to_skip_the_claims():
    assert off_textbook(365) is None


@pytest.mark.parametrize("days", [1, 364, 366, 10**9])
def test_another_year_gives_the_reason_naming_both_years(days):
    assert off_textbook(days) == f"textbook value is for 365 days; days={days}"


def test_a_365_day_year_is_judged_against_the_textbook_values(tmp_path):
    rec = ClaimRecorder(CLAIMS, "smoke", tmp_path)
    # 1 - 365! / (342! 365^23) = 0.507297 (Feller); within 3 % of 0.5073, and 23 is the textbook's group
    assert rec.record_unless(off_textbook(365), "p23", exact_shared_probability(23, 365)) is Verdict.REPRODUCED
    assert rec.measurements["p23"].measured == pytest.approx(0.507297, abs=1e-6)
    assert rec.record_unless(off_textbook(365), "n_half", smallest_group_over_half(365)) is Verdict.REPRODUCED
    assert rec.measurements["n_half"].measured == 23


def test_another_year_is_not_applicable_with_the_value_it_measured(tmp_path):
    rec = ClaimRecorder(CLAIMS, "smoke", tmp_path)
    # 366 days: 1 - prod_{k<23} (366 - k) / 366 = 0.506323, which would still pass the 3 % band: only the year stops it
    v = rec.record_unless(off_textbook(366), "p23", exact_shared_probability(23, 366), "exact product formula")
    assert v is Verdict.NOT_APPLICABLE
    m = rec.measurements["p23"]
    assert (m.measured, m.verdict) == (None, Verdict.NOT_APPLICABLE.value)
    assert m.note == "textbook value is for 365 days; days=366; measured 0.5063 (exact product formula)"
