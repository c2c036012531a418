"""Weighted particles, optionally carrying a Rao-Blackwellised CLG per particle (notes §1.3).

``values`` holds N joint samples of some variables, ``logw`` their log weights (their logsumexp is
the total mass). ``attached`` is an exact CLG over the other variables, batched over the particle
axis: product with a factor on new variables is then exact (Rao-Blackwellisation), and only
``project`` (sampling, resampling, moment matching) introduces Monte Carlo error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from support.factors import gaussian as G
from support.factors.density import LogDensity
from support.factors.errors import FactorError, UnsupportedPairError
from support.factors.logmath import logsumexp
from support.factors.table import Table, state_index, state_indices

AXIS = "__particle__"


@dataclass(frozen=True)
class Particles:
    """N weighted samples: discrete columns (N,) ints, continuous columns (N, dim) floats.

    ``kinds[name]`` is ``("discrete", card)`` or ``("continuous", dim)``.
    """

    values: Mapping[str, np.ndarray]
    kinds: Mapping[str, tuple[str, int]]
    logw: np.ndarray
    attached: G.Gaussian | None = None

    def __post_init__(self):
        logw = np.asarray(self.logw, dtype=float)
        if logw.ndim != 1:
            raise FactorError(f"particle log-weights must be 1-d, got shape {logw.shape}")
        if np.isnan(logw).any() or np.isposinf(logw).any():
            raise FactorError(f"particle log-weights must not be NaN or +inf; {int((~(logw < np.inf)).sum())} are")
        n = logw.shape[0]
        vals = {}
        for k, (kind, size) in self.kinds.items():
            a = np.asarray(self.values[k])
            if kind == "discrete":
                a = state_indices(k, a, size).reshape(n)
            elif kind == "continuous":
                a = a.astype(float).reshape(n, size)
            else:
                raise FactorError(f"unknown particle column kind {kind!r}")
            vals[k] = a
        if self.attached is not None:
            if self.attached.discrete[:1] != (AXIS,) or self.attached.g.shape[0] != n:
                raise FactorError("attached CLG must be batched over the particle axis first")
            clash = set(vals) & self.attached.scope
            if clash:
                raise FactorError(f"variables {sorted(clash)} are both sampled and attached")
        object.__setattr__(self, "values", vals)
        object.__setattr__(self, "kinds", dict(self.kinds))
        object.__setattr__(self, "logw", logw)

    @property
    def n(self) -> int:
        return self.logw.shape[0]

    @property
    def scope(self) -> frozenset[str]:
        return frozenset(self.values) | (self.attached.scope - {AXIS} if self.attached is not None else frozenset())


def _evaluate(f: Table | G.Gaussian, values: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """Log value of ``f`` at each particle (scope of f inside the sampled columns)."""
    gf = G.lift(f) if isinstance(f, Table) else f
    c = G.condition_batched(gf, {k: values[k] for k in gf.scope}, AXIS, n)
    return c.g


def product(p: Particles, f) -> Particles:
    """Reweight by ``f`` on sampled variables; factors on new variables join the attached CLG (op 1, exact)."""
    if isinstance(f, Particles):
        raise UnsupportedPairError("Particles x Particles: two independent sample sets share no particle index; "
                                   "project one side (e.g. to a Gaussian) first")
    if isinstance(f, LogDensity):
        if not f.scope <= set(p.values):
            raise UnsupportedPairError(f"Particles x LogDensity needs every variable of the density sampled; "
                                       f"missing {sorted(f.scope - set(p.values))}: project to particles first")
        return Particles(p.values, p.kinds, p.logw + f.evaluate(p.values), p.attached)
    if not isinstance(f, (Table, G.Gaussian)):
        raise UnsupportedPairError(f"Particles x {type(f).__name__} is not supported")
    _check_kinds(p, f)
    if f.scope <= set(p.values):
        return Particles(p.values, p.kinds, p.logw + _evaluate(f, p.values, p.n), p.attached)
    gf = G.lift(f) if isinstance(f, Table) else f
    cf = G.condition_batched(gf, {k: p.values[k] for k in gf.scope if k in p.values}, AXIS, p.n)
    att = cf if p.attached is None else G.product(p.attached, cf)
    return Particles(p.values, p.kinds, p.logw, att)


def _check_kinds(p: Particles, f) -> None:
    cards = f.cards if isinstance(f, (Table, G.Gaussian)) else {}
    dims = f.dims if isinstance(f, G.Gaussian) else {}
    for k, (kind, size) in p.kinds.items():
        if k in cards and (kind != "discrete" or cards[k] != size):
            raise FactorError(f"variable {k!r} is {kind}({size}) in the particles but discrete({cards[k]}) in f")
        if k in dims and (kind != "continuous" or dims[k] != size):
            raise FactorError(f"variable {k!r} is {kind}({size}) in the particles but continuous({dims[k]}) in f")


def marginalize(p: Particles, names: Iterable[str]) -> Particles:
    """Drop sampled columns (weights unchanged); integrate attached variables exactly (op 2)."""
    names = set(names)
    vals = {k: v for k, v in p.values.items() if k not in names}
    kinds = {k: v for k, v in p.kinds.items() if k not in names}
    att = p.attached
    if att is not None and names & att.scope:
        att = G.marginalize(att, names & att.scope)
        if att.n == 0 and att.discrete == (AXIS,):  # nothing left attached: fold its mass into the weights
            return Particles(vals, kinds, p.logw + att.g, None)
    return Particles(vals, kinds, p.logw, att)


def condition(p: Particles, evidence: Mapping[str, object]) -> Particles:
    """Discrete evidence on a column = indicator reweight; attached variables are conditioned exactly (op 3)."""
    logw = p.logw.copy()
    vals, kinds = dict(p.values), dict(p.kinds)
    att = p.attached
    for k, v in evidence.items():
        if k in p.values:
            kind, size = p.kinds[k]
            if kind == "continuous":
                raise FactorError(f"cannot condition particles on a continuous value of {k!r} (measure zero); "
                                  "multiply in a likelihood factor instead")
            logw = np.where(vals[k] == state_index(k, v, size), logw, -np.inf)
            del vals[k], kinds[k]
        elif att is not None and k in att.scope:
            att = G.condition(att, {k: v})
        else:
            raise FactorError(f"evidence variable {k!r} is not in the particles' scope")
    return Particles(vals, kinds, logw, att)


def attached_log_mass(att: G.Gaussian) -> np.ndarray:
    """Each particle's log total mass of its attached factor (components summed out): what :func:`normalize` folds
    into the weights, and what a particle histogram weighs each particle by."""
    lz = G.log_normalizers(att)
    return logsumexp(lz, axis=tuple(range(1, lz.ndim))) if lz.ndim > 1 else lz


def normalize(p: Particles) -> tuple[Particles, float]:
    """Fold the attached per-particle mass into the weights; log Z = logsumexp(logw) (op 4)."""
    logw, att = p.logw, p.attached
    if att is not None:
        lzp = attached_log_mass(att)
        logw = logw + lzp
        shift = np.where(np.isfinite(lzp), lzp, 0.0)  # a particle with zero attached mass keeps g = -inf, not NaN
        att = G.Gaussian(att.discrete, att.continuous, att.g - shift.reshape((-1,) + (1,) * (att.g.ndim - 1)),
                         att.h, att.K)
    logz = float(logsumexp(logw))
    if not np.isfinite(logz):
        raise FactorError("cannot normalize particles with zero total weight (all particles impossible)")
    return Particles(p.values, p.kinds, logw - logz, att), logz
