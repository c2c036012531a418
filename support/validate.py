"""Shared checks for named values: an integer (not a bool) within bounds, one of a set of options, a real number
in an interval.

They replace a dozen hand-written copies across papers. By default they raise ``ValueError``: a value the library
computed is a bug, not the user's. A notebook's up-front parameter checks pass ``error=ParameterError`` (the alias
of :class:`NotebookParameterError`), which the runner reports as a usage error (exit 2). The runner knows it by its
project-unique class name, so a library's own ``ParameterError`` (cvxpy has one) is an ordinary failure (exit 1).
"""

from __future__ import annotations

import numpy as np


class NotebookParameterError(ValueError):
    """A bad value for a named parameter (a notebook's, or a function's it is passed to): a usage error, exit 2.

    A ``ValueError``, so ``except ValueError`` still catches it; ``support.params`` raises it before a kernel starts.
    The runner matches the kernel's exception by this class name (``support.runner.PARAMETER_ERROR``)."""


ParameterError = NotebookParameterError  # the name every caller imports; the class keeps its unique name


def is_int(x: object) -> bool:
    """True for a Python int or a NumPy integer; False for bool, ``np.bool_`` and everything else (2.0 included)."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def check_int(value: object, name: str, *, minimum: int | None = None, maximum: int | None = None,
              error: type[Exception] = ValueError, what: str | None = None) -> int:
    """``int(value)`` if ``value`` is an integer (not a bool) in ``[minimum, maximum]``, else raise ``error``.

    The message reads "<name> must be <what>, got <value!r>"; ``what`` defaults to the bounds ("an integer >= 1").
    """
    if is_int(value) and (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
        return int(value)
    if what is None:
        what = ("an integer" if minimum is None and maximum is None else
                f"an integer in {minimum}..{maximum}" if minimum is not None and maximum is not None else
                f"an integer >= {minimum}" if minimum is not None else f"an integer <= {maximum}")
    raise error(f"{name} must be {what}, got {value!r}")


def check_choice(value: object, name: str, options, *, error: type[Exception] = ValueError) -> object:
    """``value`` if it is one of ``options``, else raise ``error`` naming the parameter, the value and the options
    (for enumerated notebook parameters, checked right after ``start`` so a typo fails before any work)."""
    options = tuple(options)
    if any(value == o and type(value) is type(o) for o in options):
        return value
    raise error(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")


def check_range(value: object, name: str, *, low: float | None = None, high: float | None = None,
                low_open: bool = False, high_open: bool = False, error: type[Exception] = ValueError) -> float:
    """``float(value)`` if it is a real number (not a bool) within the bounds, else raise ``error`` naming the
    parameter, the value and the interval; ``low_open``/``high_open`` exclude the bound."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    x = float(value) if ok else float("nan")
    ok = ok and np.isfinite(x)
    if ok and low is not None:
        ok = x > low if low_open else x >= low
    if ok and high is not None:
        ok = x < high if high_open else x <= high
    if ok:
        return x
    # an unbounded side is open: infinity itself is refused like NaN
    interval = (("(" if low_open or low is None else "[") + ("-inf" if low is None else f"{low:g}") + ", "
                + ("inf" if high is None else f"{high:g}") + (")" if high_open or high is None else "]"))
    raise error(f"{name} must be a number in {interval}, got {value!r}")


def min_bootstrap_count(level: float = 0.95) -> int:
    """The fewest resamples for which a two-sided percentile interval at ``level`` has a resample in each tail
    (``(1 - level) / 2 * n >= 1``: 40 at 95%); with fewer, its bounds are just the extreme resamples."""
    return int(np.ceil(2 / (1 - level) - 1e-9))


def check_bootstrap_count(value: object, name: str = "n_boot", *, level: float = 0.95,
                          error: type[Exception] = ValueError) -> int:
    """``int(value)`` if it is an integer of at least :func:`min_bootstrap_count` resamples for a ``level``
    percentile interval, else raise ``error`` saying why (a CI from fewer resamples has empty tails)."""
    n = min_bootstrap_count(level)
    return check_int(value, name, minimum=n, error=error,
                     what=f"an integer >= {n} (each {(1 - level) / 2:.1%} tail of the {level:.0%} CI needs a resample)")
