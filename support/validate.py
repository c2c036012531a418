"""One shared check for "an integer that is not a bool, within bounds" (counts, sizes, seeds, step limits).

It replaces a dozen hand-written copies across papers; each call site passes its own error class.
"""

from __future__ import annotations

import numpy as np


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
