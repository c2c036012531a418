"""Specification of support.validate: the shared "integer, not a bool, within bounds" check."""

import numpy as np
import pytest

from support.validate import check_choice, check_int, check_range, is_int


@pytest.mark.parametrize("x", [0, -3, 2**70, np.int64(5), np.uint8(1), np.int32(-1)])
def test_is_int_accepts_python_and_numpy_integers(x):
    assert is_int(x)


@pytest.mark.parametrize("x", [True, False, np.bool_(True), 2.0, np.float64(3.0), "3", None, 1 + 0j])
def test_is_int_rejects_bools_floats_and_other_types(x):
    assert not is_int(x)


@pytest.mark.parametrize("x", [True, False, np.bool_(True)])
def test_check_int_rejects_a_bool_even_when_its_value_is_within_bounds(x):
    with pytest.raises(ValueError, match=rf"max_steps must be an integer >= 0, got {x!r}"):
        check_int(x, "max_steps", minimum=0)


def test_check_int_accepts_a_numpy_integer_and_returns_a_python_int():
    out = check_int(np.int64(7), "n", minimum=1)
    assert out == 7 and type(out) is int


def test_check_int_bounds_are_inclusive():
    assert check_int(2, "folds", minimum=2, maximum=5) == 2
    assert check_int(5, "folds", minimum=2, maximum=5) == 5
    with pytest.raises(ValueError, match=r"folds must be an integer in 2\.\.5, got 1$"):
        check_int(1, "folds", minimum=2, maximum=5)
    with pytest.raises(ValueError, match=r"folds must be an integer in 2\.\.5, got 6$"):
        check_int(6, "folds", minimum=2, maximum=5)


@pytest.mark.parametrize(("kw", "phrase"), [({}, "an integer"), ({"minimum": 1}, "an integer >= 1"),
                                            ({"maximum": 9}, "an integer <= 9")])
def test_check_int_message_names_the_parameter_the_bounds_and_the_value(kw, phrase):
    with pytest.raises(ValueError) as err:
        check_int(10.5, "queue_depth", **kw)
    assert str(err.value) == f"queue_depth must be {phrase}, got 10.5"


def test_check_int_what_replaces_the_bounds_phrase_in_the_message():
    with pytest.raises(ValueError, match=r"^request size must be a positive integer number of bytes, got 0$"):
        check_int(0, "request size", minimum=1, what="a positive integer number of bytes")


def test_check_int_raises_the_callers_error_class():
    class PaperError(Exception):
        pass

    with pytest.raises(PaperError, match="bucket_bytes"):
        check_int(-1, "bucket_bytes", minimum=0, error=PaperError)
    assert check_int(0, "bucket_bytes", minimum=0, error=PaperError) == 0


def test_check_choice_returns_a_listed_value_and_names_parameter_value_and_options_otherwise():
    assert check_choice("ridge", "headline", ("ridge", "holt")) == "ridge"
    with pytest.raises(ValueError, match=r"headline must be one of 'ridge', 'holt'; got 'lstm'"):
        check_choice("lstm", "headline", ("ridge", "holt"))


def test_check_choice_does_not_take_true_for_one_or_a_string_for_a_number():
    with pytest.raises(KeyError):
        check_choice(True, "k", (0, 1), error=KeyError)
    with pytest.raises(ValueError):
        check_choice("1", "k", (0, 1))


@pytest.mark.parametrize("value, kw", [(0.5, {"low": 0, "high": 1, "low_open": True}), (1, {"low": 0, "high": 1}),
                                       (np.float64(0.0), {"low": 0}), (-7, {})])
def test_check_range_accepts_numbers_within_the_interval(value, kw):
    assert check_range(value, "x", **kw) == float(value)


@pytest.mark.parametrize("value, kw, shown", [(0, {"low": 0, "high": 1, "low_open": True}, r"\(0, 1\]"),
                                              (1.0, {"low": 0, "high": 1, "high_open": True}, r"\[0, 1\)"),
                                              (1.5, {"high": 1}, r"\(-inf, 1\]"), (-1, {"low": 0}, r"\[0, inf\)"),
                                              (float("nan"), {}, None),
                                              (float("inf"), {}, None), (True, {}, None), ("0.5", {}, None)])
def test_check_range_refuses_values_outside_the_interval_bools_strings_and_non_finite(value, kw, shown):
    with pytest.raises(ValueError, match=rf"participation must be a number in {shown or '.*'}, got "):
        check_range(value, "participation", **kw)


def test_a_95_percent_percentile_interval_needs_40_resamples_one_in_each_tail():
    from support.validate import check_bootstrap_count, min_bootstrap_count

    assert min_bootstrap_count(0.95) == 40 and min_bootstrap_count(0.9) == 20 and min_bootstrap_count(0.99) == 200
    assert check_bootstrap_count(40) == 40
    with pytest.raises(ValueError, match=r"n_boot must be an integer >= 40 \(each 2.5% tail of the 95% CI"):
        check_bootstrap_count(39)
