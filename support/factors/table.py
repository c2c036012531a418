"""Table factors: a log-potential array over named discrete axes (notes §1.3, "Table").

product = aligned broadcast add, marginalize = logsumexp, condition = index, normalize =
logsumexp of everything. All four are exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from support.factors.errors import FactorError
from support.factors.logmath import logsumexp, safe_log


@dataclass(frozen=True)
class Table:
    """Log-potential over discrete variables ``names``; ``logp.shape`` gives their cardinalities.

    A scalar table (no names) carries a log-constant, e.g. a marginal likelihood.
    """

    names: tuple[str, ...]
    logp: np.ndarray

    def __post_init__(self):
        names = tuple(self.names)
        logp = np.asarray(self.logp, dtype=float)
        if len(set(names)) != len(names):
            raise FactorError(f"Table has repeated variable names {names}")
        if logp.ndim != len(names):
            raise FactorError(f"Table over {names} needs a {len(names)}-d array, got shape {logp.shape}")
        if np.isnan(logp).any() or np.isposinf(logp).any():
            raise FactorError(f"Table over {names} has NaN or +inf log-potentials")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "logp", logp)

    @property
    def cards(self) -> dict[str, int]:
        return dict(zip(self.names, self.logp.shape))

    @property
    def scope(self) -> frozenset[str]:
        return frozenset(self.names)

    @classmethod
    def from_probs(cls, names: Sequence[str], probs: np.ndarray) -> Table:
        """A table from probabilities (zeros become -inf in log space); negative or NaN entries are rejected."""
        p = np.asarray(probs, dtype=float)
        if np.isnan(p).any() or (p < 0).any():
            raise FactorError(f"Table.from_probs over {tuple(names)}: probabilities must be >= 0 and not NaN")
        return cls(tuple(names), safe_log(p))

    def probs(self) -> np.ndarray:
        return np.exp(self.logp)

    def aligned(self, names: Sequence[str]) -> np.ndarray:
        """``logp`` transposed to ``names`` order, with size-1 axes for names it lacks (for broadcasting)."""
        own = [n for n in names if n in self.cards]
        if len(own) != len(self.names):
            missing = set(self.names) - set(names)
            raise FactorError(f"cannot align Table over {self.names} to {tuple(names)}: missing {missing}")
        arr = np.transpose(self.logp, [self.names.index(n) for n in own])
        cards = self.cards
        shape = [cards.get(n, 1) for n in names]
        return arr.reshape(shape)


def union_names(*groups: Iterable[str]) -> tuple[str, ...]:
    """Ordered union of variable names (first occurrence wins)."""
    out: list[str] = []
    for g in groups:
        for n in g:
            if n not in out:
                out.append(n)
    return tuple(out)


def check_cards(a: Mapping[str, int], b: Mapping[str, int]) -> None:
    """Raise if a shared discrete variable has different cardinalities in two factors."""
    for n in set(a) & set(b):
        if a[n] != b[n]:
            raise FactorError(f"variable {n!r} has cardinality {a[n]} in one factor and {b[n]} in the other")


def product(a: Table, b: Table) -> Table:
    """Pointwise product (log add) over the union of scopes (op 1, exact)."""
    check_cards(a.cards, b.cards)
    names = union_names(a.names, b.names)
    return Table(names, a.aligned(names) + b.aligned(names))


def marginalize(f: Table, names: Iterable[str]) -> Table:
    """Sum out ``names`` with logsumexp (op 2, exact)."""
    drop = set(names)
    axes = tuple(i for i, n in enumerate(f.names) if n in drop)
    if not axes:
        return f
    return Table(tuple(n for n in f.names if n not in drop), logsumexp(f.logp, axis=axes))


def state_index(name: str, value, card: int) -> int:
    """A discrete evidence value as a state index in 0..card-1; non-integers (e.g. 1.7) are rejected, not
    truncated."""
    try:
        v = int(value)
        ok = v == value
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise FactorError(f"evidence {name}={value!r} is not an integer state index")
    if not 0 <= v < card:
        raise FactorError(f"evidence {name}={v} out of range 0..{card - 1}")
    return v


def state_indices(name: str, values, card: int) -> np.ndarray:
    """An array of discrete values (a particle column) as state indices in 0..card-1, by :func:`state_index`'s
    rules per value: non-integers (1.7, NaN) are rejected, not truncated; out of range (-1 would wrap) too."""
    a = np.asarray(values)
    if a.dtype == bool or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise FactorError(f"discrete variable {name!r} must hold integer state indices, got dtype {a.dtype}")
    whole = np.isfinite(a) & (a == np.round(a)) if np.issubdtype(a.dtype, np.floating) else np.ones(a.shape, bool)
    if not whole.all():
        raise FactorError(f"discrete variable {name!r} holds {a[~whole].flat[0].item()!r}: not an integer state index")
    bad = (a < 0) | (a >= card)
    if bad.any():
        raise FactorError(f"discrete variable {name!r} holds {a[bad].flat[0].item()!r}: out of range 0..{card - 1}")
    return a.astype(np.intp)


def condition(f: Table, evidence: Mapping[str, int]) -> Table:
    """Index observed values (op 3, exact); values are state indices."""
    idx: list = []
    for n, k in zip(f.names, f.logp.shape):
        if n in evidence:
            idx.append(state_index(n, evidence[n], k))
        else:
            idx.append(slice(None))
    return Table(tuple(n for n in f.names if n not in evidence), f.logp[tuple(idx)])


def normalize(f: Table) -> tuple[Table, float]:
    """Divide by the total mass; return the normalized table and log Z (op 4, exact)."""
    logz = float(logsumexp(f.logp))
    if not np.isfinite(logz):
        raise FactorError("cannot normalize a Table with zero total mass (impossible evidence?)")
    return Table(f.names, f.logp - logz), logz
