"""support.queueing: closed forms against textbook values and against each other."""

import numpy as np
import pytest

from support.queueing import (
    erlang_b,
    erlang_c,
    little_L,
    little_W,
    mg1_sojourn,
    mm1_number,
    mm1_sojourn,
    mm1_sojourn_quantile,
    mm1_wait,
    mmc_sojourn,
    utilization,
)


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
