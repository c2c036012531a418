"""Client masks and coverage-aware aggregation (support.fl.masks), checked against brute-force loops."""

import numpy as np
import pytest

from support.fl import masks as mk


def brute_coverage(masks):
    M, n = masks.shape
    return np.array([sum(int(masks[i, j]) for i in range(M)) for j in range(n)])


def test_nested_masks_keep_ceil_r_n_first_coordinates_and_are_nested():
    m = mk.client_masks(10, [1.0, 0.5, 0.25], "nested")
    assert m.sum(axis=1).tolist() == [10, 5, 3]
    assert m[2].tolist() == [True] * 3 + [False] * 7
    assert np.all(m[2] <= m[1]) and np.all(m[1] <= m[0])  # smaller budgets are subsets


def test_nested_masks_follow_a_given_order():
    order = np.array([3, 1, 0, 2])
    assert np.flatnonzero(mk.nested_mask(4, 0.5, order)).tolist() == [1, 3]


def test_coverage_and_min_coverage_match_brute_force():
    rng = np.random.default_rng(1)
    m = mk.client_masks(17, [1.0, 0.7, 0.3, 0.3, 0.1], "random", rng=rng)
    assert mk.coverage(m).tolist() == brute_coverage(m).tolist()
    assert mk.min_coverage(m) == brute_coverage(m).min()
    nested = mk.client_masks(8, [1.0, 1.0, 0.5, 0.25], "nested")
    assert mk.min_coverage(nested) == 2  # the tail is held only by the two full clients


@pytest.mark.parametrize("c", [1, 2, 4, 8])
def test_staggered_rolling_windows_give_exact_coverage_every_round(c):
    for q in range(5):
        m = mk.masks_with_coverage(32, 8, c, round_index=q)
        assert brute_coverage(m).tolist() == [c] * 32


def test_rolling_window_moves_with_the_round_and_wraps():
    a = mk.rolling_mask(6, 0.5, start=0)
    b = mk.rolling_mask(6, 0.5, start=5)
    assert np.flatnonzero(a).tolist() == [0, 1, 2]
    assert np.flatnonzero(b).tolist() == [0, 1, 5]
    m0 = mk.client_masks(12, [0.25] * 4, "rolling", round_index=0)
    m1 = mk.client_masks(12, [0.25] * 4, "rolling", round_index=1)
    assert not np.array_equal(m0, m1)


def test_coverage_average_matches_an_explicit_loop_and_zeroes_uncovered():
    rng = np.random.default_rng(2)
    m = rng.random((4, 9)) < 0.4
    m[:, 0] = False  # coordinate 0 uncovered
    v = rng.normal(size=(4, 9))
    out = mk.coverage_average(v, m)
    for j in range(9):
        held = [v[i, j] for i in range(4) if m[i, j]]
        assert out[j] == pytest.approx(np.mean(held) if held else 0.0)


def test_coverage_average_reads_values_only_where_the_mask_is_set():
    """Unheld coordinates may hold anything (nan, inf): they must not reach the average (0 * nan = nan)."""
    v = np.array([[1.0, 2.0, np.nan], [np.inf, 4.0, 6.0]])
    m = np.array([[1, 1, 0], [0, 1, 1]])
    assert mk.coverage_average(v, m).tolist() == [1.0, 3.0, 6.0]
    assert mk.coverage_aggregate(np.array([9.0, 9.0, 9.0]), v, m).tolist() == [1.0, 3.0, 6.0]


def test_coverage_average_with_full_masks_is_the_plain_mean():
    v = np.random.default_rng(3).normal(size=(5, 7))
    assert np.array_equal(mk.coverage_average(v, np.ones((5, 7), bool)), np.mean(v, axis=0))


def test_coverage_aggregate_keeps_uncovered_parameters():
    cur = np.array([1.0, 2.0, 3.0])
    m = np.array([[True, False, False], [True, True, False]])
    new = mk.coverage_aggregate(cur, np.array([[10.0, 0.0, 0.0], [20.0, 5.0, 9.0]]), m)
    assert new.tolist() == [15.0, 5.0, 3.0]


def test_unit_mask_expands_to_columns_rows_and_always_kept_blocks():
    um = np.array([True, False, True])
    p = mk.unit_mask_to_params(um, [((2, 3), 1), ((3,), 0), ((3, 2), 0), ((2,), None)])
    W1 = p[:6].reshape(2, 3)
    assert W1.tolist() == [[True, False, True]] * 2
    assert p[6:9].tolist() == [True, False, True]
    assert p[9:15].reshape(3, 2).tolist() == [[True, True], [False, False], [True, True]]
    assert p[15:].all()


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, float("nan")])
def test_budget_outside_zero_one_is_rejected(bad):
    with pytest.raises(ValueError, match="budget"):
        mk.client_masks(10, [1.0, bad])


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="same shape"):
        mk.coverage_average(np.zeros((2, 3)), np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="binary"):
        mk.coverage(np.array([[0, 2]]))
    with pytest.raises(ValueError, match="unknown mask kind"):
        mk.client_masks(4, [1.0], "diagonal")
    with pytest.raises(ValueError, match="divisible"):
        mk.masks_with_coverage(10, 8, 2)
    with pytest.raises(ValueError, match="permutation"):
        mk.nested_mask(3, 0.5, order=np.array([0, 0, 1]))


def test_exact_coverage_needs_a_whole_c_star():
    """c_star = 2.5 was accepted and the coverage alternated between 3 and 2."""
    with pytest.raises(ValueError, match="c_star must be an integer"):
        mk.masks_with_coverage(8, 4, 2.5)
    assert (mk.coverage(mk.masks_with_coverage(8, 4, 2)) == 2).all()
