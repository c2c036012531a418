"""Numbers in notes and printed lines: counts with the right plural, and values that may be missing.

A note reads "mean of 1 seed", not "mean of 1 seeds", and "standard error n/a (1 seed)", not "nan"."""

from __future__ import annotations

import math
from typing import Any


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun`` in the number ``n`` needs: ``count(1, "seed")`` is "1 seed", ``count(5, "seed")``
    "5 seeds" (``plural`` for irregular nouns)."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def number(v: Any, spec: str = ".3g", unit: str = "", missing: str = "n/a") -> str:
    """``v`` formatted with ``spec`` and followed by ``unit``, or ``missing`` alone where it is None or not
    finite (a standard error of one sample, a ratio over zero)."""
    if v is None:
        return missing
    try:
        if not math.isfinite(v):
            return missing
    except TypeError:  # not a real number: formatted as it is
        pass
    return format(v, spec) + unit
