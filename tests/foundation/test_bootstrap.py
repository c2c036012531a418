"""The shared percentile bootstrap: the mean's interval is scipy's with the same resamples; the ratio's interval lies
where the exact bootstrap distribution (every resample enumerated) puts it; bad input is one ValueError."""

import itertools

import numpy as np
import pytest
from scipy import stats

from support.bootstrap import mean_ci, percentile_interval, ratio_of_means_ci


@pytest.mark.parametrize(("n", "n_boot", "level"), [(13, 999, 0.9), (40, 2000, 0.95), (5, 400, 0.99)])
def test_mean_interval_is_scipys_percentile_bootstrap_with_the_same_generator(n, n_boot, level):
    x = np.random.default_rng(n).gamma(2.0, size=n)
    ref = stats.bootstrap((x,), np.mean, n_resamples=n_boot, method="percentile", confidence_level=level,
                          rng=np.random.default_rng(7))
    mean, lo, hi = mean_ci(x, np.random.default_rng(7), n_boot, level)
    assert mean == pytest.approx(x.sum() / n, rel=1e-15)
    assert (lo, hi) == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high), rel=1e-12)


def test_percentile_interval_interpolates_between_order_statistics():
    # 41 replicates 0..40: the 2.5% quantile sits at position 0.025 * 40 = 1, the 97.5% one at 39
    assert percentile_interval(np.arange(41.0)[::-1], 0.95) == pytest.approx((1.0, 39.0), abs=1e-12)
    assert percentile_interval(np.arange(11.0), 0.9) == pytest.approx((0.5, 9.5))  # positions 0.5 and 9.5


def _exact_ratio_distribution(num, den, groups):
    """Every stratified resample (each group's runs drawn with replacement, group sizes kept), equally likely:
    the sorted ratios of sums."""
    per_group = [list(itertools.product(np.flatnonzero(groups == g), repeat=int((groups == g).sum())))
                 for g in np.unique(groups)]
    out = []
    for choice in itertools.product(*per_group):
        ix = np.concatenate(choice)
        out.append(num[ix].sum() / den[ix].sum())
    return np.sort(out)


def _exact_quantile(sorted_values, p):
    """The smallest value whose share of resamples at or below it reaches ``p``."""
    return sorted_values[int(np.ceil(p * len(sorted_values))) - 1]


# two workloads of three runs: A's runs have ratio ~1 and small denominators, B's ~10 and large ones; resampled across
# groups (not stratified), resamples with more or fewer B runs than 3 spread the ratio from 1 to 10, far outside the
# bands below
_NUM = np.array([1.0, 1.1, 0.9, 100.0, 102.0, 98.0])
_DEN = np.array([1.0, 1.0, 1.0, 10.0, 10.0, 10.0])
_GROUPS = np.array(["a", "a", "a", "b", "b", "b"])


@pytest.mark.parametrize("groups", [_GROUPS, None])
def test_ratio_interval_lies_within_the_exact_stratified_bootstrap_quantiles(groups):
    """20000 resamples: each bound is the empirical 2.5% (97.5%) quantile, within 0.5 points (4.5 standard errors)
    of its level in the exact distribution of all 729 (resp. 46656) resamples."""
    exact = _exact_ratio_distribution(_NUM, _DEN, np.zeros(6) if groups is None else groups)
    ratio, lo, hi = ratio_of_means_ci(_NUM, _DEN, np.random.default_rng(3), 20000, groups=groups)
    assert ratio == pytest.approx(_NUM.sum() / _DEN.sum(), rel=1e-15)
    assert _exact_quantile(exact, 0.02) <= lo <= _exact_quantile(exact, 0.03)
    assert _exact_quantile(exact, 0.97) <= hi <= _exact_quantile(exact, 0.98)


def test_stratified_and_pooled_exact_distributions_differ_so_the_test_above_can_tell_them_apart():
    strat, pooled = _exact_ratio_distribution(_NUM, _DEN, _GROUPS), _exact_ratio_distribution(_NUM, _DEN, np.zeros(6))
    assert _exact_quantile(pooled, 0.03) < _exact_quantile(strat, 0.02)
    assert _exact_quantile(pooled, 0.97) > _exact_quantile(strat, 0.98)


def test_ratio_without_groups_is_one_group_and_a_constant_ratio_gives_a_point_interval():
    rng = np.random.default_rng(0)
    num, den = rng.uniform(0, 2, 9), rng.uniform(1, 2, 9)
    assert ratio_of_means_ci(num, den, np.random.default_rng(5), 200) == \
        ratio_of_means_ci(num, den, np.random.default_rng(5), 200, groups=np.full(9, "w"))
    assert ratio_of_means_ci(0.25 * den, den, np.random.default_rng(5), 200, groups=np.arange(9) % 3) == \
        pytest.approx((0.25, 0.25, 0.25), rel=1e-12)


_OK = {"num": [1.0, 2.0, 3.0], "den": [2.0, 2.0, 2.0], "groups": [0, 0, 1]}


@pytest.mark.parametrize(("kw", "message"), [
    ({"n_boot": 0}, r"^n_boot must be an integer >= 40 \(each 2\.5% tail of the 95% CI needs a resample\), got 0$"),
    ({"n_boot": 39}, r"^n_boot must be an integer >= 40 .*, got 39$"),
    ({"n_boot": 100.0}, r"^n_boot must be an integer >= 40 .*, got 100\.0$"),
    ({"n_boot": 150, "level": 0.99}, r"^n_boot must be an integer >= 200 .*, got 150$"),
    ({"level": 0.0}, r"^level must be a number in \(0, 1\), got 0\.0$"),
    ({"level": 95}, r"^level must be a number in \(0, 1\), got 95$"),
    ({"level": float("nan")}, r"^level must be a number in \(0, 1\), got nan$"),
])
def test_both_intervals_refuse_a_bad_resample_count_or_level(kw, message):
    args = {"n_boot": 100, **kw}
    with pytest.raises(ValueError, match=message):
        mean_ci([1.0, 2.0], np.random.default_rng(0), **args)
    with pytest.raises(ValueError, match=message):
        ratio_of_means_ci(_OK["num"], _OK["den"], np.random.default_rng(0), groups=_OK["groups"], **args)


@pytest.mark.parametrize(("x", "message"), [
    ([], r"^x must be a non-empty 1-d sample, got shape \(0,\)$"),
    ([[1.0, 2.0]], r"^x must be a non-empty 1-d sample, got shape \(1, 2\)$"),
    ([0.5, float("nan"), float("inf")], r"^x has 2 NaN or infinite value\(s\)$"),
])
def test_mean_interval_refuses_an_empty_nested_or_non_finite_sample(x, message):
    with pytest.raises(ValueError, match=message):
        mean_ci(x, np.random.default_rng(0), 100)


@pytest.mark.parametrize(("kw", "message"), [
    ({"groups": [0, 0]}, r"^groups must name the group of each of the 3 runs, got shape \(2,\)$"),  # was a subset
    ({"den": [2.0, 2.0]}, r"^num and den must pair up run by run, got 3 and 2 values$"),
    ({"num": [1.0, -2.0, 3.0]}, r"^num and den must be non-negative and den must have a positive sum$"),
    ({"den": [0.0, 0.0, 0.0]}, r"^num and den must be non-negative and den must have a positive sum$"),
    ({"num": [1.0, float("nan"), 3.0]}, r"^num has 1 NaN or infinite value\(s\)$"),
    ({"den": []}, r"^den must be a non-empty 1-d sample, got shape \(0,\)$"),
])
def test_ratio_interval_refuses_unpaired_ungrouped_negative_or_non_finite_runs(kw, message):
    args = {**_OK, **kw}
    with pytest.raises(ValueError, match=message):
        ratio_of_means_ci(args["num"], args["den"], np.random.default_rng(0), 100, groups=args["groups"])
