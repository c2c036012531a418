"""The birthday problem: chance that ``n`` people share a birthday, exactly and by simulation.

The tour notebook uses it to show the project's shape: a parameter, one call, a figure, a claim.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from support.validate import ParameterError, check_int

TEXTBOOK_DAYS = 365  # the year the textbook claims p23 and n_half are stated for (Feller, 1968)
# smallest_group_over_half multiplies about 0.7 * days terms (n_half ~ 1.18 sqrt(days) products of up to n_half
# terms each): 3 s at 1e9 days, about an hour at 1e12; past 2**63, rng.integers cannot draw the birthdays at all
MAX_DAYS = 10**9


def check_parameters(days: int) -> int:
    """The tour's own parameter, checked right after ``start`` so a bad value fails before any work (a usage error,
    exit 2) naming it and its value: ``days`` is an integer in 1..MAX_DAYS (``scale``, ``seed``, ``backend``: start)."""
    check_int(days, "days", minimum=1, error=ParameterError)  # first, so a year < 1 keeps its message
    return check_int(days, "days", maximum=MAX_DAYS, error=ParameterError,
                     what=f"an integer in 1..{MAX_DAYS:_} (a longer year takes minutes to hours to find n_half)")


def off_textbook(days: int) -> str | None:
    """None for the textbook's year (TEXTBOOK_DAYS); else why p23 and n_half cannot be judged in this run, the
    reason ``nb.record_unless`` writes beside the measured value: the textbook states them for 365 days only."""
    return None if days == TEXTBOOK_DAYS else f"textbook value is for {TEXTBOOK_DAYS} days; days={days}"


def exact_shared_probability(n: int, days: int = 365) -> float:
    """P(at least two of ``n`` people share a birthday) = 1 - prod_{k<n} (days - k) / days."""
    if n < 0 or days < 1:
        raise ValueError(f"need n >= 0 and days >= 1, got n={n}, days={days}")
    if n > days:
        return 1.0
    k = np.arange(n, dtype=np.float64)
    return float(1.0 - np.prod((days - k) / days))


def simulate_shared_probability(n: int, trials: int, rng: np.random.Generator, days: int = 365,
                                xp: ModuleType = np) -> float:
    """Monte Carlo estimate: draw ``trials`` groups of ``n`` birthdays, count groups with a repeat."""
    if n < 0 or trials < 1 or days < 1:
        raise ValueError(f"need n >= 0, trials >= 1, days >= 1; got n={n}, trials={trials}, days={days}")
    if n < 2:
        return 0.0
    draws = xp.asarray(rng.integers(0, days, size=(trials, n)))
    s = xp.sort(draws, axis=1)
    shared = (s[:, 1:] == s[:, :-1]).any(axis=1)
    return float(shared.mean())


def smallest_group_over_half(days: int = 365) -> int:
    """The smallest group size whose shared-birthday probability exceeds 1/2 (23 for 365 days)."""
    n = 1
    while exact_shared_probability(n, days) <= 0.5:
        n += 1
    return n


def birthday_curve(sizes: range | list[int], trials: int, rng: np.random.Generator, days: int = 365,
                   xp: ModuleType = np):
    """Exact and simulated shared-birthday probability per group size, as a DataFrame."""
    import pandas as pd

    rows = [{"n": n, "exact": exact_shared_probability(n, days),
             "simulated": simulate_shared_probability(n, trials, rng, days, xp)} for n in sizes]
    df = pd.DataFrame(rows)
    df["abs_error"] = (df["simulated"] - df["exact"]).abs()
    se = np.sqrt(np.clip(df["exact"] * (1 - df["exact"]), 1e-12, None) / trials)
    df["z"] = (df["simulated"] - df["exact"]) / se
    return df
