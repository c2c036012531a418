"""Black-box log-density factors (non-linear likelihoods such as range or bearing observations).

Such a factor can be evaluated pointwise only: it multiplies exactly into Particles (reweighting)
and into other densities; with Tables or Gaussians it needs a ``project`` first (notes §1.3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from support.factors.errors import FactorError, NotClosedError

LogFn = Callable[[Mapping[str, np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class LogDensity:
    """``log f(x)`` over continuous variables ``continuous`` ((name, dim) pairs), given by ``fn``.

    ``fn`` maps {name: (N, dim) array} to (N,) log values; ``fixed`` holds conditioned values.
    """

    continuous: tuple[tuple[str, int], ...]
    fn: LogFn
    fixed: Mapping[str, np.ndarray] = field(default_factory=dict)
    label: str = "density"

    @property
    def dims(self) -> dict[str, int]:
        return dict(self.continuous)

    @property
    def scope(self) -> frozenset[str]:
        return frozenset(self.dims)

    def evaluate(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Log values at N points (each variable (N, dim)); conditioned values are broadcast."""
        n = None
        vals = {}
        for c, d in self.continuous:
            if c not in values:
                raise FactorError(f"{self.label}: no value for variable {c!r}")
            a = np.asarray(values[c], dtype=float)
            vals[c] = a.reshape(a.shape[0], d)
            n = a.shape[0]
        for c, v in self.fixed.items():
            vals[c] = np.broadcast_to(np.asarray(v, dtype=float), ((n or 1), np.size(v)))
        return np.asarray(self.fn(vals), dtype=float)


def product(a: LogDensity, b: LogDensity) -> LogDensity:
    """Sum of log densities (op 1, exact)."""
    dims = dict(a.continuous)
    for c, d in b.continuous:
        if dims.setdefault(c, d) != d:
            raise FactorError(f"continuous variable {c!r} has dimension {dims[c]} and {d}")
    clash = sorted(k for k in set(a.fixed) & set(b.fixed) if not np.array_equal(a.fixed[k], b.fixed[k]))
    half = sorted(((set(a.fixed) - set(b.fixed)) & set(dict(b.continuous)))
                  | ((set(b.fixed) - set(a.fixed)) & set(dict(a.continuous))))
    if clash or half:  # one side's conditioned value silently replaced the other's, or fixed a free variable
        raise FactorError(f"product of log densities: {clash} fixed to different values on the two sides"
                          if clash else f"product of log densities: {half} fixed on one side and free on the other")
    fixed = {**a.fixed, **b.fixed}

    def fn(v, a=a, b=b):
        return a.fn(v) + b.fn(v)

    return LogDensity(tuple(dims.items()), fn, fixed, f"{a.label}*{b.label}")


def condition(f: LogDensity, evidence: Mapping[str, object]) -> LogDensity:
    """Fix observed values (op 3, exact)."""
    fixed = dict(f.fixed)
    for k, v in evidence.items():
        a = np.atleast_1d(np.asarray(v, dtype=float))
        if a.shape != (f.dims[k],):
            raise FactorError(f"evidence for {k!r} must have shape ({f.dims[k]},), got {a.shape}")
        fixed[k] = a
    return LogDensity(tuple((c, d) for c, d in f.continuous if c not in evidence), f.fn, fixed, f.label)


def not_closed(op: str) -> NotClosedError:
    return NotClosedError(f"{op} of a black-box LogDensity has no closed form: project it to particles or a "
                          "grid table first")
