"""The five-operation factor interface (notes §1.2): product, marginalize, condition, normalize, project.

Every engine (:mod:`elimination`, :mod:`filtering`, :mod:`sum_product`) is written only against
these five (plus the read-only :func:`scope`). Ops 1-4 are exact for every pair they accept and raise
:class:`UnsupportedPairError` / :class:`NotClosedError` otherwise; op 5 is the only approximation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import contextmanager

from support.factors import density as D
from support.factors import gaussian as G
from support.factors import particles as P
from support.factors import project as J
from support.factors import table as T
from support.factors.errors import FactorError, UnsupportedPairError

Factor = T.Table | G.Gaussian | P.Particles | D.LogDensity
_KINDS = (T.Table, G.Gaussian, P.Particles, D.LogDensity)


def _check(f) -> None:
    if not isinstance(f, _KINDS):
        raise FactorError(f"not a factor: {type(f).__name__} (expected Table, Gaussian, Particles or LogDensity)")


def scope(f: Factor) -> frozenset[str]:
    """The variables a factor mentions (read-only; not one of the five ops)."""
    _check(f)
    return f.scope


def product(f: Factor, g: Factor) -> Factor:
    """Op 1: pointwise product over the union of scopes (log add); exact or raises for the pair."""
    _check(f)
    _check(g)
    if isinstance(f, P.Particles) or isinstance(g, P.Particles):
        p, o = (f, g) if isinstance(f, P.Particles) else (g, f)
        return P.product(p, o)
    if isinstance(f, D.LogDensity) or isinstance(g, D.LogDensity):
        if isinstance(f, D.LogDensity) and isinstance(g, D.LogDensity):
            return D.product(f, g)
        other = g if isinstance(f, D.LogDensity) else f
        raise UnsupportedPairError(f"LogDensity x {type(other).__name__}: no exact product; project the "
                                   f"{type(other).__name__} to particles (or both to a grid table) first")
    if isinstance(f, T.Table) and isinstance(g, T.Table):
        return T.product(f, g)
    fa = G.lift(f) if isinstance(f, T.Table) else f
    ga = G.lift(g) if isinstance(g, T.Table) else g
    return G.product(fa, ga)


def _known(f: Factor, names: Iterable[str], what: str) -> list[str]:
    names = list(names)
    bad = [n for n in names if n not in f.scope]
    if bad:
        raise FactorError(f"{what}: variables {bad} are not in the factor's scope {sorted(f.scope)}")
    return names


def marginalize(f: Factor, names: Iterable[str]) -> Factor:
    """Op 2: sum/integrate ``names`` out; a CLG left without continuous variables becomes a Table."""
    _check(f)
    names = _known(f, names, "marginalize")
    if isinstance(f, T.Table):
        return T.marginalize(f, names)
    if isinstance(f, G.Gaussian):
        out = G.marginalize(f, names)
        return T.Table(out.discrete, out.g) if out.n == 0 else out
    if isinstance(f, P.Particles):
        return P.marginalize(f, names)
    raise D.not_closed("marginalize")


def condition(f: Factor, evidence: Mapping[str, object]) -> Factor:
    """Op 3: instantiate observed values (discrete: state index; continuous: a vector)."""
    _check(f)
    _known(f, evidence, "condition")
    if isinstance(f, T.Table):
        return T.condition(f, evidence)
    if isinstance(f, G.Gaussian):
        out = G.condition(f, evidence)
        return T.Table(out.discrete, out.g) if out.n == 0 else out
    if isinstance(f, P.Particles):
        return P.condition(f, evidence)
    return D.condition(f, evidence)


def normalize(f: Factor) -> tuple[Factor, float]:
    """Op 4: ``(f / Z, log Z)``: the total mass, i.e. the evidence of everything multiplied in."""
    _check(f)
    if isinstance(f, T.Table):
        return T.normalize(f)
    if isinstance(f, G.Gaussian):
        return G.normalize(f)
    if isinstance(f, P.Particles):
        return P.normalize(f)
    raise D.not_closed("normalize")


def project(f: Factor, target: str, **options) -> Factor:
    """Op 5: convert/approximate into ``target`` ('gaussian', 'particles', 'table'); see :mod:`project`."""
    _check(f)
    if options.get("over"):
        _known(f, options["over"], "project")
    return J.project(f, target, **options)


OPS = ("product", "marginalize", "condition", "normalize", "project")


@contextmanager
def counted():
    """Count calls of the five ops while the block runs: ``with counted() as c: ...; c['product']``."""
    import sys

    mod = sys.modules[__name__]
    counts = {name: 0 for name in OPS}
    originals = {name: getattr(mod, name) for name in OPS}

    def wrap(name, fn):
        def inner(*a, **k):
            counts[name] += 1
            return fn(*a, **k)

        return inner

    for name, fn in originals.items():
        setattr(mod, name, wrap(name, fn))
    try:
        yield counts
    finally:
        for name, fn in originals.items():
            setattr(mod, name, fn)
