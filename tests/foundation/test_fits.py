"""The shared log-log fit against exact power laws."""

import numpy as np
import pytest

from support.fits import loglog_slope


@pytest.mark.parametrize("k", [-0.5, 1.0, 2.5])
def test_loglog_slope_recovers_the_exponent_of_an_exact_power_law(k):
    x = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    assert loglog_slope(x, 3.0 * x**k) == pytest.approx(k, abs=1e-12)


def test_loglog_slope_is_the_least_squares_line_through_noisy_points():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    y = np.array([1.0, 0.8, 0.45, 0.36])
    lx, ly = np.log(x), np.log(y)
    expected = ((lx - lx.mean()) * (ly - ly.mean())).sum() / ((lx - lx.mean()) ** 2).sum()
    assert loglog_slope(x, y) == pytest.approx(expected, rel=1e-12)


def test_loglog_slope_rejects_nonpositive_or_mismatched_input():
    with pytest.raises(ValueError, match="positive"):
        loglog_slope([1, 2], [0.0, 1.0])
    with pytest.raises(ValueError, match="equally long"):
        loglog_slope([1, 2, 3], [1, 2])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["x", "y"])
def test_loglog_slope_rejects_non_finite_input(bad, where):
    x, y = np.array([1.0, 2.0, 4.0]), np.array([1.0, 2.0, 4.0])
    (x if where == "x" else y)[1] = bad
    with pytest.raises(ValueError, match=f"finite x and y; {where}\\[1\\]"):
        loglog_slope(x, y)
