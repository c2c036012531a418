"""Scalar root finding / minimization (one root, or many at once elementwise) and a successive convex
approximation (SCA) loop."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from support.validate import check_int


def _value(fn: Callable[[float], float], x: float, who: str) -> float:
    """``fn(x)``, refused with a ValueError naming ``x`` when it is NaN (it would compare as neither sign)."""
    v = fn(x)
    if np.isnan(v):
        raise ValueError(f"{who}: the function is NaN at x={x!r}; it must be defined on the whole interval")
    return v


def _bracket(lo: float, hi: float, who: str, strict: bool) -> None:
    """A finite bracket with ``lo < hi`` (``lo <= hi`` unless ``strict``), else a ValueError naming it: a reversed
    one passed the width test at once and returned a point outside it."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or (lo >= hi if strict else lo > hi):
        raise ValueError(f"{who}: need finite lo {'<' if strict else '<='} hi; got lo={lo!r}, hi={hi!r}")


def bisect(g: Callable[[float], float], lo: float, hi: float, tol: float = 1e-10, max_iter: int = 200) -> float:
    """Root of a monotone ``g`` on ``[lo, hi]`` (``g(lo)`` and ``g(hi)`` must differ in sign).

    Raises ValueError when the bracket is not finite with lo < hi, the signs agree or ``g`` returns NaN at a probed
    point."""
    _bracket(lo, hi, "bisect", strict=True)
    glo, ghi = _value(g, lo, "bisect"), _value(g, hi, "bisect")
    if glo == 0:
        return lo
    if ghi == 0:
        return hi
    if (glo > 0) == (ghi > 0):
        raise ValueError(f"bisect: g({lo})={glo:.3g} and g({hi})={ghi:.3g} have the same sign; no bracketed root")
    for _ in range(max_iter):
        mid = 0.5 * (lo + hi)
        gm = _value(g, mid, "bisect")
        if (gm > 0) == (glo > 0):
            lo, glo = mid, gm
        else:
            hi = mid
        if hi - lo <= tol * max(1.0, abs(lo)):
            break
    return 0.5 * (lo + hi)


def bisect_boundary(above: Callable[[np.ndarray], np.ndarray], lo, hi, iters: int) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise bisection of many monotone predicates at once: ``(lo, hi)`` after ``iters`` halvings.

    ``above(x)`` maps an array of points to booleans, False below each element's boundary and True at and above it.
    Each halving sets ``hi = mid`` where ``above(mid)`` and ``lo = mid`` elsewhere, so where ``above(lo)`` is False
    and ``above(hi)`` True the boundary stays in ``[lo, hi]``, ``(hi0 - lo0) / 2**iters`` wide. The ends are not
    probed: where the predicate is True on the whole bracket both ends close on ``lo0``, where False on ``hi0``; the
    caller checks them. One loop for papers 06 (least stable CPU per count) and 11 (largest load within an SLO)."""
    check_int(iters, "iters", minimum=1)
    lo, hi = (np.array(v, dtype=float) for v in np.broadcast_arrays(np.asarray(lo, float), np.asarray(hi, float)))
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError("bisect_boundary: lo and hi must be finite")
    if np.any(lo > hi):
        raise ValueError("bisect_boundary: need lo <= hi elementwise")
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        up = np.asarray(above(mid), dtype=bool)
        if up.shape != mid.shape:
            raise ValueError(f"bisect_boundary: above() must return one boolean per point, shape {mid.shape}; "
                             f"got shape {up.shape}")
        hi, lo = np.where(up, mid, hi), np.where(up, lo, mid)
    return lo, hi


def golden_section(f: Callable[[float], float], lo: float, hi: float, tol: float = 1e-9,
                   max_iter: int = 300) -> float:
    """Minimizer of a unimodal ``f`` on ``[lo, hi]``.

    Raises ValueError when the bracket is not finite with lo <= hi or ``f`` returns NaN at a probed point."""
    _bracket(lo, hi, "golden_section", strict=False)
    r = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - r * (b - a), a + r * (b - a)
    fc, fd = _value(f, c, "golden_section"), _value(f, d, "golden_section")
    for _ in range(max_iter):
        if b - a <= tol * max(1.0, abs(a)):
            break
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - r * (b - a); fc = _value(f, c, "golden_section")
        else:
            a, c, fc = c, d, fd
            d = a + r * (b - a); fd = _value(f, d, "golden_section")
    return 0.5 * (a + b)


@dataclass
class SCAResult:
    x: np.ndarray
    value: float
    iterations: int
    history: list[float] = field(default_factory=list)
    converged: bool = False


def sca(step: Callable[[np.ndarray], np.ndarray], objective: Callable[[np.ndarray], float], x0,
        tol: float = 1e-8, max_iter: int = 100) -> SCAResult:
    """Successive convex approximation: ``x_{k+1} = step(x_k)``, the minimizer of a convex surrogate
    that upper-bounds ``objective`` and touches it at ``x_k`` (majorize-minimize), so the objective
    never increases. Stops when the decrease is below ``tol`` (relative).

    The SCA helper the optimization core was asked for; no paper calls it at present (paper 07's CSRA re-linearises
    its generalization constraint a fixed number of times inside its own cvxpy program)."""
    x = np.asarray(x0, float)
    f = float(objective(x))
    hist = [f]
    for k in range(1, max_iter + 1):
        xn = np.asarray(step(x), float)
        fn = float(objective(xn))
        hist.append(fn)
        if fn > f + 1e-9 * max(1.0, abs(f)):
            raise RuntimeError(f"SCA: objective increased at iteration {k} ({f:.6g} -> {fn:.6g}); "
                               "the surrogate is not a majorizer")
        done = f - fn <= tol * max(1.0, abs(f))
        x, f = xn, fn
        if done:
            return SCAResult(x, f, k, hist, True)
    return SCAResult(x, f, max_iter, hist, False)
