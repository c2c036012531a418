"""support.queueing: closed forms against textbook values and against each other."""

from fractions import Fraction
from math import factorial

import numpy as np
import pytest

from support.queueing import (
    erlang_b,
    erlang_c,
    erlang_c_array,
    little_L,
    little_W,
    mg1_sojourn,
    mm1_number,
    mm1_sojourn,
    mm1_sojourn_array,
    mm1_sojourn_quantile,
    mm1_wait,
    mmc_sojourn,
    mmc_sojourn_array,
    utilization,
)


def erlang_c_textbook(c: int, a: Fraction) -> Fraction:
    """Erlang C by the textbook factorial formula, in exact arithmetic (an oracle independent of the recursion)."""
    top = a**c / factorial(c) * Fraction(c) / (c - a)
    return top / (sum(a**k / factorial(k) for k in range(c)) + top)


def test_mm1_textbook_values():
    assert mm1_sojourn(0.8, 1.0) == pytest.approx(5.0)
    assert mm1_wait(0.8, 1.0) == pytest.approx(4.0)
    assert mm1_number(0.8, 1.0) == pytest.approx(4.0)
    assert mm1_sojourn_quantile(0.8, 1.0, 0.5) == pytest.approx(5 * np.log(2))


def test_littles_law_ties_number_and_time():
    lam, mu = 3.0, 5.0
    assert little_L(lam, mm1_sojourn(lam, mu)) == pytest.approx(mm1_number(lam, mu))
    assert little_W(mm1_number(lam, mu), lam) == pytest.approx(mm1_sojourn(lam, mu))


def test_erlang_known_values():
    # Erlang B(2, 1) = 0.2; Erlang C(2 servers, a=1) = 1/3
    assert erlang_b(2, 1.0) == pytest.approx(0.2)
    assert erlang_c(2, 1.0, 1.0) == pytest.approx(1 / 3)


def test_erlang_c_with_three_servers_matches_the_textbook_value():
    # M/M/3 with offered load a = 2: P(wait) = (4/3 * 3) / (1 + 2 + 2 + 4) = 4/9, W = 1/mu + C/(c mu - lam) = 13/9
    assert erlang_c_textbook(3, Fraction(2)) == Fraction(4, 9)
    assert erlang_c(3, 2.0, 1.0) == pytest.approx(4 / 9, rel=1e-14)
    assert mmc_sojourn(3, 2.0, 1.0) == pytest.approx(13 / 9, rel=1e-14)


@pytest.mark.parametrize("c, a", [(3, Fraction(12, 5)), (10, Fraction(17, 2)), (50, Fraction(45))])
def test_erlang_c_matches_the_factorial_formula_for_many_servers(c, a):
    assert erlang_c(c, float(a), 1.0) == pytest.approx(float(erlang_c_textbook(c, a)), rel=1e-12)


def test_erlang_c_array_stops_each_recursion_at_its_own_server_count():
    c = np.array([1, 3, 10, 50, 3])
    lam = np.array([0.7, 2.4, 8.5, 45.0, 0.0])
    want = [float(erlang_c_textbook(int(k), Fraction(x).limit_denominator(100))) for k, x in zip(c, lam)]
    np.testing.assert_allclose(erlang_c_array(c, lam, 1.0), want, rtol=1e-12)
    scalar = [erlang_c(int(k), x, 1.0) for k, x in zip(c[:4], lam[:4])]
    np.testing.assert_allclose(erlang_c_array(c[:4], lam[:4], 1.0), scalar, rtol=1e-15)


def test_erlang_c_array_is_nan_where_unstable_or_serverless():
    out = erlang_c_array([2, 2, 0], [2.0, 3.0, 1.0], 1.0)
    assert np.isnan(out).all()


def test_mm1_sojourn_array_is_the_scalar_formula_and_inf_where_unstable():
    lam = np.array([0.0, 0.5, 0.8, 0.999, 1.0, 1.5, np.inf])
    out = mm1_sojourn_array(lam, 1.0)
    np.testing.assert_array_equal(out[:4], [mm1_sojourn(x, 1.0) for x in lam[:4]])
    assert out[2] == pytest.approx(5.0)  # textbook: rho = 0.8, W = 1 / (mu - lam)
    assert np.all(out[4:] == np.inf)


def test_mm1_sojourn_array_broadcasts_rates():
    out = mm1_sojourn_array([[0.5], [3.0]], [1.0, 4.0])
    np.testing.assert_array_equal(out, [[2.0, 1 / 3.5], [np.inf, 1.0]])


def test_mmc_sojourn_array_is_the_scalar_formula_and_inf_where_unstable_or_serverless():
    c = np.array([1, 2, 3, 10, 40, 2, 3, 0, 0])
    lam = np.array([0.7, 1.0, 2.0, 8.5, 36.0, 2.0, 3.5, 1.0, 0.0])
    out = mmc_sojourn_array(c, lam, 1.0)
    np.testing.assert_array_equal(out[:5], [mmc_sojourn(int(k), x, 1.0) for k, x in zip(c[:5], lam[:5])])
    assert out[2] == pytest.approx(13 / 9)
    assert np.all(out[5:] == np.inf)


@pytest.mark.parametrize("f, args", [(mm1_sojourn_array, (np.nan, 1.0)), (mm1_sojourn_array, (-0.1, 1.0)),
                                     (mm1_sojourn_array, (0.5, 0.0)), (mm1_sojourn_array, (0.5, np.inf)),
                                     (mm1_sojourn_array, (0.5, np.nan)), (mmc_sojourn_array, (2, np.nan, 1.0)),
                                     (mmc_sojourn_array, (2, 0.5, np.nan)), (erlang_c_array, (2, np.nan, 1.0)),
                                     (erlang_c_array, (2, 0.5, np.nan)), (erlang_c_array, (2, -0.5, 1.0))])
def test_array_forms_refuse_nan_negative_or_nonpositive_inputs(f, args):
    with pytest.raises(ValueError, match="rate|load"):
        f(*args)


def test_mmc_with_one_server_is_mm1():
    assert mmc_sojourn(1, 0.7, 1.0) == pytest.approx(mm1_sojourn(0.7, 1.0))


def test_mg1_exponential_is_mm1_and_deterministic_halves_the_wait():
    assert mg1_sojourn(0.8, 1.0, 1.0) == pytest.approx(mm1_sojourn(0.8, 1.0))
    assert mg1_sojourn(0.8, 1.0, 0.0) - 1.0 == pytest.approx(0.5 * mm1_wait(0.8, 1.0))


def test_vectorized_inputs():
    np.testing.assert_allclose(mm1_sojourn(np.array([0.5, 0.9]), 1.0), [2.0, 10.0])


@pytest.mark.parametrize("f,args", [(mm1_sojourn, (1.0, 1.0)), (mmc_sojourn, (2, 2.5, 1.0)),
                                    (utilization, (3.0, 1.0, 2))])
def test_unstable_queue_is_refused(f, args):
    with pytest.raises(ValueError, match="unstable"):
        f(*args)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="service rate"):
        mm1_sojourn(0.5, 0.0)
    with pytest.raises(ValueError, match="positive integer"):
        erlang_b(0, 1.0)


@pytest.mark.parametrize("f, args, what", [
    (mm1_sojourn, (np.nan, 1.0), "arrival rate must be finite"),
    (mm1_sojourn, (0.5, np.nan), "service rate must be finite"),
    (mm1_sojourn, (0.5, np.inf), "service rate must be finite"),
    (mm1_wait, (np.array([0.5, np.nan]), 1.0), "arrival rate must be finite"),
    (mmc_sojourn, (2, np.nan, 1.0), "arrival rate must be finite"),
    (erlang_c, (2, 1.0, np.inf), "service rate must be finite"),
    (utilization, (0.5, np.nan, 2), "service rate must be finite"),
    (mg1_sojourn, (0.5, np.nan, 1.0), "mean service time"),
    (mg1_sojourn, (0.5, 0.0, 1.0), "mean service time"),
    (mg1_sojourn, (0.5, 1.0, np.nan), "squared coefficient of variation"),
])
def test_nan_and_infinite_inputs_are_refused_by_name(f, args, what):
    with pytest.raises(ValueError, match=what):
        f(*args)


@pytest.mark.parametrize("a", [-0.5, np.nan, np.inf])
def test_erlang_b_refuses_a_negative_or_non_finite_load(a):
    with pytest.raises(ValueError, match="offered load"):
        erlang_b(2, a)


def test_server_counts_must_be_whole_and_littles_law_needs_meaningful_inputs():
    """erlang_c_array and mmc_sojourn_array cast c to int: c = 1.99 was computed as M/M/1; utilization accepted
    c = -2 (-0.5); erlang_b took True as one server; little_W(-3, 1) gave -3 and little_W(3, nan) NaN."""
    import support.queueing.formulas as F

    with pytest.raises(ValueError, match="whole numbers"):
        F.erlang_c_array([1.99], [0.5], 1.0)
    with pytest.raises(ValueError, match="whole numbers"):
        F.mmc_sojourn_array([1.99], [0.9], 1.0)
    np.testing.assert_allclose(F.erlang_c_array([3.0], [2.5], 1.0), [F.erlang_c(3, 2.5, 1.0)])  # 3.0 is whole
    with pytest.raises(ValueError, match="number of servers must be >= 1"):
        F.utilization(1.0, 1.0, c=-2)
    with pytest.raises(ValueError, match="positive integer, got True"):
        F.erlang_b(True, 1.0)
    for L, lam in ((-3.0, 1.0), (3.0, float("nan"))):
        with pytest.raises(ValueError, match="Little's law W = L/lam needs"):
            F.little_W(L, lam)
    with pytest.raises(ValueError, match="Little's law L = lam W needs"):
        F.little_L(-2.0, 1.0)


def test_formulas_with_a_service_rate_other_than_one_match_textbook_values():
    """Every other test uses mu = 1, where rho = lam and a = lam: these hand-derived values tell them apart.

    M/M/1, lam = 1.5, mu = 2: rho = 0.75, W = 1/(mu - lam) = 2, Wq = rho/(mu - lam) = 1.5, L = rho/(1 - rho) = 3,
    the sojourn is exponential with rate 0.5, so its 0.9-quantile is ln(10)/0.5.
    M/M/3, lam = 4, mu = 2: a = lam/mu = 2, so C(3, 2) = 4/9 (as for mu = 1), Wq = C/(c mu - lam) = 2/9 and
    W = Wq + 1/mu = 13/18.
    M/G/1, lam = 0.5, E[S] = 1.5 (rho = 0.75): P-K Wq = lam E[S^2] / (2 (1 - rho)) with E[S^2] = (1 + scv) E[S]^2:
    scv = 0 gives 0.5 * 2.25 / 0.5 = 2.25, scv = 1 gives 4.5, i.e. W = 6 = 1/(mu - lam) with mu = 2/3 (M/M/1)."""
    assert mm1_sojourn(1.5, 2.0) == pytest.approx(2.0, rel=1e-14)
    assert mm1_wait(1.5, 2.0) == pytest.approx(1.5, rel=1e-14)
    assert mm1_number(1.5, 2.0) == pytest.approx(3.0, rel=1e-14)
    assert mm1_sojourn_quantile(1.5, 2.0, 0.9) == pytest.approx(np.log(10) / 0.5, rel=1e-14)
    assert erlang_c(3, 4.0, 2.0) == pytest.approx(4 / 9, rel=1e-14)
    assert mmc_sojourn(3, 4.0, 2.0) == pytest.approx(13 / 18, rel=1e-14)
    np.testing.assert_allclose(mmc_sojourn_array([3], [4.0], 2.0), [13 / 18], rtol=1e-14)
    assert mg1_sojourn(0.5, 1.5, 0.0) - 1.5 == pytest.approx(2.25, rel=1e-14)
    assert mg1_sojourn(0.5, 1.5, 1.0) == pytest.approx(6.0, rel=1e-14)
