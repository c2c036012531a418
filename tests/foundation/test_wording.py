"""Counts and possibly-missing numbers in notes."""

import math

import numpy as np

from support.wording import count, number


def test_count_uses_the_singular_for_one_only():
    assert [count(n, "seed") for n in (0, 1, 2)] == ["0 seeds", "1 seed", "2 seeds"]
    assert count(1, "process", "processes") == "1 process" and count(3, "process", "processes") == "3 processes"


def test_number_formats_finite_values_and_names_missing_ones():
    assert number(0.12345, ".2f") == "0.12" and number(3, "d") == "3" and number(np.float64(2.5), ".1f") == "2.5"
    assert number(float("nan"), ".1f") == "n/a" and number(np.float32("nan")) == "n/a" and number(None) == "n/a"
    assert number("text", "") == "text"
    assert number(math.inf, ".1f", missing="n/a (1 seed)") == "n/a (1 seed)"
    assert number(1.25, ".1f", " pp") == "1.2 pp" and number(float("nan"), ".1f", " pp") == "n/a"
