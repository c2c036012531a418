"""The tour's birthday problem against brute force and the textbook value."""

import itertools
import json
from fractions import Fraction

import numpy as np
import pytest

from support.tour.birthday import (
    birthday_curve,
    check_parameters,
    exact_shared_probability,
    simulate_shared_probability,
    smallest_group_over_half,
)


@pytest.mark.parametrize("n,days", [(2, 5), (3, 4), (4, 6), (5, 5)])
def test_exact_probability_matches_brute_force_enumeration(n, days):
    groups = list(itertools.product(range(days), repeat=n))
    shared = sum(len(set(g)) < n for g in groups)
    assert exact_shared_probability(n, days) == pytest.approx(float(Fraction(shared, len(groups))), abs=1e-12)


def test_classic_values_for_365_days():
    assert smallest_group_over_half(365) == 23
    assert exact_shared_probability(23) == pytest.approx(0.507297, abs=1e-6)
    assert exact_shared_probability(366) == 1.0


def test_simulation_is_within_four_standard_errors():
    rng = np.random.default_rng(0)
    p = exact_shared_probability(23)
    est = simulate_shared_probability(23, 20_000, rng)
    assert abs(est - p) < 4 * np.sqrt(p * (1 - p) / 20_000)


def test_birthday_curve_z_scores_have_unit_variance_under_the_central_limit_theorem():
    """Audit s12 finding 4: mc_z (the tour's claim) is max |z| of this curve; a z shrunk or zeroed read as agreement.
    Each z is (simulated - exact) / sqrt(p (1 - p) / trials), about N(0, 1): the mean of z^2 over 56 sizes is near 1."""
    curve = birthday_curve(range(5, 61), 2000, np.random.default_rng(0))
    assert 0.5 <= float((curve.z ** 2).mean()) <= 2.0


def test_birthday_curve_z_score_matches_a_hand_computation_at_23_people():
    trials, rng = 2000, np.random.default_rng(3)
    row = birthday_curve([23], trials, rng).iloc[0]
    p = exact_shared_probability(23)
    assert row.exact == p
    assert row.simulated == simulate_shared_probability(23, trials, np.random.default_rng(3))
    assert row.z == pytest.approx((row.simulated - p) / np.sqrt(p * (1 - p) / trials), rel=1e-12)
    assert row.abs_error == pytest.approx(abs(row.simulated - p), rel=1e-12)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        exact_shared_probability(-1)
    with pytest.raises(ValueError):
        simulate_shared_probability(5, 0, np.random.default_rng(0))


@pytest.mark.parametrize("bad", [0, -365, 365.0, True, "365"])
def test_check_parameters_refuses_a_days_value_that_is_not_an_integer_of_at_least_one(bad):
    from support.validate import ParameterError

    with pytest.raises(ParameterError, match=rf"^days must be an integer >= 1, got {bad!r}$"):
        check_parameters(bad)
    assert check_parameters(1) == 1 and check_parameters(np.int64(100)) == 100


def test_tour_refuses_days_0_as_a_usage_error(cli):
    """The tour's up-front check: exit 2 with one line naming the value and ``paper-repro params``."""
    r = cli(["run", "tour", "-p", "days=0", "--no-report", "--force"], timeout=300)
    assert r.returncode == 2, r.stderr
    line = "paper-repro: error: 00_tour: days must be an integer >= 1, got 0 (`paper-repro params 00_tour` describes them)"
    assert r.stderr.strip().splitlines() == [line]


def test_tour_with_another_year_marks_the_textbook_claims_not_applicable_with_the_reason(cli, reports_dir):
    """Audit s12 finding 6: p23 and n_half state the 365-day values; with days=100 they are not tested."""
    r = cli(["run", "tour", "-p", "days=100", "--no-report", "--force"], timeout=300)
    assert r.returncode == 0, r.stderr
    claims = {c["name"]: c for c in json.loads((reports_dir / "00_tour/results.json").read_text())["claims"]}
    notes = {"p23": "measured 0.9357 (exact product formula)",  # 1 - prod(1 - k/100, k < 23), by hand
             "n_half": "measured 13 (smallest group whose exact probability exceeds 1/2)"}
    for name in ("p23", "n_half"):
        assert claims[name]["verdict"] == "not applicable here" and claims[name]["measured"] is None
        assert claims[name]["note"] == f"textbook value is for 365 days; days=100; {notes[name]}"
    assert claims["mc_z"]["verdict"] == "reproduced"  # the simulation still agrees with the formula


def _brute_force_shared(n, days):
    """P(a repeat among n birthdays over ``days`` days), exactly, by enumerating every assignment."""
    groups = list(itertools.product(range(days), repeat=n))
    return Fraction(sum(len(set(g)) < n for g in groups), len(groups))


@pytest.mark.parametrize("days", [1, 2, 3, 4, 5, 6, 7])
def test_smallest_group_over_half_is_the_first_size_whose_brute_force_chance_exceeds_one_half(days):
    """Oracle: exact enumeration. At 2 days two people share with chance exactly 1/2, which does not exceed it: 3."""
    expected = next(n for n in range(1, days + 2) if _brute_force_shared(n, days) > Fraction(1, 2))
    assert smallest_group_over_half(days) == expected
    if days == 2:
        assert expected == 3


@pytest.mark.parametrize("n,days", [(2, 2), (2, 3), (3, 4)])
def test_simulation_draws_every_day_of_a_short_year_alike(n, days):
    """The estimate is within 4 standard errors of the enumerated chance (1/2, 1/3, 5/8): a draw that leaves a day
    out (or adds one) moves it far outside at these year lengths."""
    trials = 20_000
    p = float(_brute_force_shared(n, days))
    est = simulate_shared_probability(n, trials, np.random.default_rng(1), days=days)
    assert abs(est - p) < 4 * np.sqrt(p * (1 - p) / trials)
