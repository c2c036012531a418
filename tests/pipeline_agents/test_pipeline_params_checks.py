"""Params refuses values that would hang the simulation, crash it mid-run or turn a cost into NaN, naming the field."""

from __future__ import annotations

import math

import numpy as np
import pytest

from support.pipeline_agents.params import Params

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("field", ["horizon_h", "window_s", "retry_delay_s", "oncall_median_s", "headroom",
                                   "spot_price", "skew_s", "detect_s", "upstream_sigma"])
@pytest.mark.parametrize("value", [NAN, INF, -INF])
def test_a_numeric_field_must_be_finite(field, value):
    # horizon_h=inf never ends the run; nan passes every `v < 0` comparison
    with pytest.raises(ValueError, match=rf"^parameter {field} must be a number in .*, got {value!r}"):
        Params(**{field: value})


@pytest.mark.parametrize("field", ["skew_factor", "memory_factor", "spot_price", "on_demand_price", "spike_mult"])
def test_divisors_and_prices_must_be_positive(field):
    # skew_factor 0 divides the stream capacity by zero mid-run; a zero price or price factor bills nothing,
    # which the claims would report as "no billed worker-hour"
    with pytest.raises(ValueError, match=rf"^parameter {field} must be a number in \(0, inf\), got 0\.0"):
        Params(**{field: 0.0})


@pytest.mark.parametrize("field", ["retry_delay_s", "detect_s", "actuate_s", "repartition_s", "fail_fast_s",
                                   "skew_s", "oncall_sigma", "stream_memory_raise_h"])
def test_durations_and_spreads_may_be_zero(field):
    assert getattr(Params(**{field: 0.0}), field) == 0.0


def test_a_stream_memory_raise_may_last_to_the_end_of_the_run_but_not_nan_or_negative():
    assert math.isinf(Params(stream_memory_raise_h=INF).stream_memory_raise_h)
    for bad in (NAN, -1.0, -INF):
        with pytest.raises(ValueError, match=r"^parameter stream_memory_raise_h must be a number in \[0, inf\)"):
            Params(stream_memory_raise_h=bad)


@pytest.mark.parametrize(("field", "value"), [("retries", 2.5), ("retries", True), ("max_stream_workers", NAN),
                                              ("change_reserve", -1), ("batch_workers", "8")])
def test_a_count_must_be_an_integer(field, value):
    with pytest.raises(ValueError, match=rf"^parameter {field} must be an integer"):
        Params(**{field: value})


@pytest.mark.parametrize(("field", "value"), [("spot_price", "1.5"), ("skew_factor", True), ("headroom", None)])
def test_a_real_field_must_be_a_number(field, value):
    with pytest.raises(ValueError, match=rf"^parameter {field} must be a number"):
        Params(**{field: value})


def test_numpy_scalars_are_accepted():
    p = Params(retries=np.int64(2), headroom=np.float64(1.2), spot_price=np.int64(2))
    assert (p.retries, p.headroom, p.spot_price) == (2, 1.2, 2)
