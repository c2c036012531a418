"""The policy language's numbers: every number is the exact rational of its shortest decimal form.

A rule literal ``3.2`` or an input value ``0.1`` means 16/5 or 1/10 (``Fraction(repr(float(x)))``, the decimal
a person wrote or JSON carried), not the binary double nearest to it; ``+ - *`` and comparisons are exact on
these rationals. So 15 workers at 3.2 USD/h cost exactly 48 USD/h, at a ceiling of 48, in every engine: z3
uses rationals, and the Rego module sees reals as integers scaled by a power of ten (:func:`scaled`), which
regopy computes exactly (big integers), while its floats are doubles rounded to 16 digits after each operation.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from support.policy.language import PolicyError


def decimal_value(v) -> Fraction:
    """Exact value of a number: an int as is, a float (NumPy scalars included) as its shortest decimal repr."""
    if isinstance(v, (bool, np.bool_)):
        raise PolicyError(f"{v!r} is a boolean, not a number")
    if isinstance(v, (int, np.integer)):
        return Fraction(int(v))
    x = float(v)
    if not math.isfinite(x):
        raise PolicyError(f"{v!r} is not a finite number")
    return Fraction(repr(x))


def decimal_places(q: Fraction) -> int:
    """Fewest decimal places that write ``q`` exactly (0 for an integer); ``q`` must be a finite decimal."""
    d, twos, fives = q.denominator, 0, 0
    while d % 2 == 0:
        d, twos = d // 2, twos + 1
    while d % 5 == 0:
        d, fives = d // 5, fives + 1
    if d != 1:
        raise PolicyError(f"{q} has no finite decimal expansion")
    return max(twos, fives)


def scaled(q: Fraction, places: int) -> int:
    """``q * 10**places`` as an int; ``places`` must be at least :func:`decimal_places` of ``q``."""
    n = q * 10 ** places
    if n.denominator != 1:
        raise PolicyError(f"{q} needs more than {places} decimal places")
    return n.numerator
