"""The tour's birthday problem against brute force and the textbook value."""

import itertools
from fractions import Fraction

import numpy as np
import pytest

from support.tour.birthday import (
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


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        exact_shared_probability(-1)
    with pytest.raises(ValueError):
        simulate_shared_probability(5, 0, np.random.default_rng(0))
