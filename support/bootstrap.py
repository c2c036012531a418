"""Percentile bootstrap intervals: of a mean, and of a ratio of means with runs resampled within groups.

One implementation for every paper (01's conformance, harm and utility CIs, 03's collector ratios), so the resample
count, the level and the samples are checked in one place and the draws from ``rng`` are documented once.
"""

from __future__ import annotations

import numpy as np

from support.validate import check_bootstrap_count, check_range


def check_level(level: object) -> float:
    """``float(level)`` if it is a confidence level strictly between 0 and 1, else a ValueError naming ``level``."""
    return check_range(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)


def percentile_interval(stats, level: float) -> tuple[float, float]:
    """The two-sided percentile interval at ``level`` of bootstrap replicates ``stats``: their ``(1 - level) / 2``
    and ``(1 + level) / 2`` quantiles, linearly interpolated (NumPy's default, as scipy's ``method='percentile'``)."""
    level = check_level(level)
    lo, hi = np.quantile(np.asarray(stats, dtype=float), [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def _sample(x, name: str) -> np.ndarray:
    """``x`` as a non-empty 1-d float array without NaN or inf, else a ValueError naming ``name`` (a missing
    measurement is an error, not a value to average)."""
    a = np.asarray(x, dtype=float)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d sample, got shape {a.shape}")
    bad = int((~np.isfinite(a)).sum())
    if bad:
        raise ValueError(f"{name} has {bad} NaN or infinite value(s)")
    return a


def mean_ci(x, rng: np.random.Generator, n_boot: int = 2000, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``x`` and its percentile bootstrap interval at ``level``.

    Draws ``rng.integers(0, n, size=(n_boot, n))`` once: the resamples of ``scipy.stats.bootstrap`` with the
    same generator, ``n_resamples=n_boot`` and ``method='percentile'``."""
    level = check_level(level)
    n_boot = check_bootstrap_count(n_boot, "n_boot", level=level)
    x = _sample(x, "x")
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    return (float(x.mean()), *percentile_interval(x[idx].mean(axis=1), level))


def ratio_of_means_ci(num, den, rng: np.random.Generator, n_boot: int = 2000, level: float = 0.95,
                      groups=None) -> tuple[float, float, float]:
    """``sum(num) / sum(den)`` over paired runs and its percentile bootstrap interval at ``level``, resampling runs
    (pairs) with replacement within each group so every group keeps its number of runs (stratified; one group when
    ``groups`` is None).

    For non-negative quantities (pauses, bytes) with a positive denominator; a ratio of means, not a mean of per-run
    ratios, stays defined when a run's numerator is 0. Draws, per resample and per group in ``np.unique`` order,
    ``rng.integers(0, size, size)``; a resample whose denominators are all 0 divides by 1e-300, not by 0."""
    level = check_level(level)
    n_boot = check_bootstrap_count(n_boot, "n_boot", level=level)
    num, den = _sample(num, "num"), _sample(den, "den")
    if num.shape != den.shape:
        raise ValueError(f"num and den must pair up run by run, got {num.size} and {den.size} values")
    if (num < 0).any() or (den < 0).any() or den.sum() <= 0:
        raise ValueError("num and den must be non-negative and den must have a positive sum")
    groups = np.zeros(num.size, dtype=int) if groups is None else np.asarray(groups)
    if groups.shape != num.shape:
        raise ValueError(f"groups must name the group of each of the {num.size} runs, got shape {groups.shape}")
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    boots = np.empty(n_boot)
    for b in range(n_boot):
        ix = np.concatenate([m[rng.integers(0, m.size, m.size)] for m in members])
        boots[b] = num[ix].sum() / max(den[ix].sum(), 1e-300)
    return (float(num.sum() / den.sum()), *percentile_interval(boots, level))


__all__ = ["check_level", "mean_ci", "percentile_interval", "ratio_of_means_ci"]
