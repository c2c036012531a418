"""Conditional linear Gaussian factors in canonical form, batched over discrete parents (notes §1.3).

``log f(d, x) = g[d] + h[d]·x - ½ xᵀ K[d] x``. One class covers plain Gaussians (no discrete axes),
CLG factors and (lifted) tables (no continuous variables). Rank-deficient ``K`` is allowed; only
full-rank blocks are marginalized or normalized, as in funsor's ``Gaussian``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from support.factors.errors import FactorError, NotClosedError
from support.factors.logmath import LOG_2PI, logsumexp
from support.factors.table import Table, check_cards, state_index, union_names


@dataclass(frozen=True)
class Gaussian:
    """Canonical-form factor: discrete batch axes ``discrete`` (sizes ``g.shape``), continuous
    variables ``continuous`` as ``(name, dim)`` pairs stacked into one vector in that order."""

    discrete: tuple[str, ...]
    continuous: tuple[tuple[str, int], ...]
    g: np.ndarray
    h: np.ndarray
    K: np.ndarray

    def __post_init__(self):
        disc = tuple(self.discrete)
        cont = tuple((str(n), int(d)) for n, d in self.continuous)
        g = np.asarray(self.g, dtype=float)
        n = sum(d for _, d in cont)
        h0, K0 = np.asarray(self.h, dtype=float), np.asarray(self.K, dtype=float)
        names = list(disc) + [c for c, _ in cont]
        if np.isnan(g).any() or np.isposinf(g).any() or not (np.isfinite(h0).all() and np.isfinite(K0).all()):
            raise FactorError(f"Gaussian over {names} has a NaN or +inf log-mass g, or a non-finite h or K "
                              "(g = -inf, a component of zero mass, is allowed)")
        h = np.broadcast_to(h0, g.shape + (n,))
        K = np.broadcast_to(K0, g.shape + (n, n))
        if len(set(names)) != len(names):
            raise FactorError(f"Gaussian has repeated variable names {names}")
        if g.ndim != len(disc):
            raise FactorError(f"Gaussian over discrete {disc} needs a {len(disc)}-d g, got shape {g.shape}")
        for obj, val in (("discrete", disc), ("continuous", cont), ("g", g), ("h", h), ("K", K)):
            object.__setattr__(self, obj, val)

    @property
    def cards(self) -> dict[str, int]:
        return dict(zip(self.discrete, self.g.shape))

    @property
    def dims(self) -> dict[str, int]:
        return dict(self.continuous)

    @property
    def n(self) -> int:
        return self.h.shape[-1]

    @property
    def scope(self) -> frozenset[str]:
        return frozenset(self.discrete) | frozenset(self.dims)

    def index(self, names: Iterable[str]) -> np.ndarray:
        """Positions of the continuous variables ``names`` in the stacked vector."""
        off, pos = 0, {}
        for c, d in self.continuous:
            pos[c] = np.arange(off, off + d)
            off += d
        names = list(names)
        return np.concatenate([pos[c] for c in names]) if names else np.zeros(0, dtype=int)


# ----------------------------------------------------------------------------- constructors

def lift(t: Table) -> Gaussian:
    """A Table as a CLG with an empty continuous scope (exact)."""
    return Gaussian(t.names, (), t.logp, np.zeros(t.logp.shape + (0,)), np.zeros(t.logp.shape + (0, 0)))


def from_moments(discrete: Sequence[str], continuous: Sequence[tuple[str, int]], mean: np.ndarray,
                 cov: np.ndarray, log_mass: np.ndarray | float = 0.0) -> Gaussian:
    """The canonical form of ``exp(log_mass) * N(x; mean, cov)``, batched over ``discrete``."""
    mean = np.asarray(mean, dtype=float)
    cov = np.asarray(cov, dtype=float)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
        raise FactorError("from_moments: mean and covariance must be finite (got NaN or inf)")
    _check_symmetric(cov, "from_moments: the covariance")
    L = _cholesky(cov, "covariance")
    K = _sym(np.linalg.inv(cov))
    h = np.einsum("...ij,...j->...i", K, mean)
    logdet_cov = 2.0 * np.sum(np.log(np.diagonal(L, axis1=-2, axis2=-1)), axis=-1)
    n = mean.shape[-1]
    g = np.asarray(log_mass, dtype=float) - 0.5 * (n * LOG_2PI + logdet_cov + np.einsum("...i,...i->...", h, mean))
    return Gaussian(tuple(discrete), tuple(continuous), g, h, K)


def linear_gaussian(child: tuple[str, int], parents: Sequence[tuple[str, int]], A: np.ndarray, b: np.ndarray,
                    Q: np.ndarray, discrete: Sequence[str] = ()) -> Gaussian:
    """``N(child; A·parents + b, Q)`` in canonical form over (child, parents), batched over ``discrete``.

    Uses ``M = [I, -A]``: ``K = Mᵀ Q⁻¹ M``, ``h = Mᵀ Q⁻¹ b``, ``g = -½ bᵀQ⁻¹b - ½ log|2πQ|``.
    """
    dc = child[1]
    dp = sum(d for _, d in parents)
    if not all(np.isfinite(np.asarray(x, dtype=float)).all() for x in ((A, b, Q) if dp else (b, Q))):
        raise FactorError(f"linear_gaussian for {child[0]!r}: A, b and Q must be finite (got NaN or inf)")
    A = np.asarray(A, dtype=float).reshape(np.shape(A)[:-2] + (dc, dp)) if dp else np.zeros(np.shape(Q)[:-2] + (dc, 0))
    b = np.asarray(b, dtype=float)
    Q = np.asarray(Q, dtype=float)
    batch = np.broadcast_shapes(A.shape[:-2], b.shape[:-1], Q.shape[:-2])
    A = np.broadcast_to(A, batch + A.shape[-2:])
    b = np.broadcast_to(b, batch + (dc,))
    Q = np.broadcast_to(Q, batch + (dc, dc))
    _check_symmetric(Q, f"linear_gaussian for {child[0]!r}: the noise covariance Q")
    L = _cholesky(Q, "noise covariance")
    Qi = _sym(np.linalg.inv(Q))
    M = np.concatenate([np.broadcast_to(np.eye(dc), batch + (dc, dc)), -A], axis=-1)
    K = _sym(np.swapaxes(M, -1, -2) @ Qi @ M)
    Qib = np.einsum("...ij,...j->...i", Qi, b)
    h = np.einsum("...ji,...j->...i", M, Qib)
    logdet = 2.0 * np.sum(np.log(np.diagonal(L, axis1=-2, axis2=-1)), axis=-1)
    g = -0.5 * np.einsum("...i,...i->...", b, Qib) - 0.5 * (dc * LOG_2PI + logdet)
    if len(discrete) != len(batch):
        raise FactorError(f"linear_gaussian: parameters batched as {batch} but discrete axes are {tuple(discrete)}")
    return Gaussian(tuple(discrete), (child,) + tuple(parents), g, h, K)


# ----------------------------------------------------------------------------- helpers

def _sym(K: np.ndarray) -> np.ndarray:
    return 0.5 * (K + np.swapaxes(K, -1, -2))


def _check_symmetric(M: np.ndarray, what: str) -> None:
    """A covariance must be symmetric: the Cholesky factor reads only its lower triangle and the inverse all of
    it, so a non-symmetric one gave a normalizer and a precision of two different matrices (log mass 0.11 where a
    normalized density has 0)."""
    scale = max(1.0, float(np.abs(M).max())) if M.size else 1.0
    if not np.allclose(M, np.swapaxes(M, -1, -2), rtol=0.0, atol=1e-12 * scale):
        raise FactorError(f"{what} must be symmetric")


def _cholesky(K: np.ndarray, what: str) -> np.ndarray:
    try:
        return np.linalg.cholesky(K)
    except np.linalg.LinAlgError:
        raise NotClosedError(f"{what} block is not positive definite (rank-deficient factor): only "
                             "full-rank blocks can be marginalized, normalized or sampled") from None


def _align(f: Gaussian, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """g, h, K with batch axes transposed to ``names`` (size-1 axes where ``f`` lacks a name)."""
    perm = [f.discrete.index(n) for n in names if n in f.cards]
    shape = tuple(f.cards.get(n, 1) for n in names)
    nb = len(f.discrete)
    g = np.transpose(f.g, perm).reshape(shape)
    h = np.transpose(f.h, perm + [nb]).reshape(shape + (f.n,))
    K = np.transpose(f.K, perm + [nb, nb + 1]).reshape(shape + (f.n, f.n))
    return g, h, K


def _pad(f: Gaussian, names: Sequence[str], cont: Sequence[tuple[str, int]]):
    g, h, K = _align(f, names)
    n = sum(d for _, d in cont)
    off, pos = 0, {}
    for c, d in cont:
        pos[c] = np.arange(off, off + d)
        off += d
    idx = np.concatenate([pos[c] for c, _ in f.continuous]) if f.continuous else np.zeros(0, dtype=int)
    H = np.zeros(h.shape[:-1] + (n,))
    H[..., idx] = h
    KK = np.zeros(K.shape[:-2] + (n, n))
    KK[..., idx[:, None], idx[None, :]] = K
    return g, H, KK


def _cont_union(a: Gaussian, b: Gaussian) -> tuple[tuple[str, int], ...]:
    out = list(a.continuous)
    for c, d in b.continuous:
        if c in a.dims:
            if a.dims[c] != d:
                raise FactorError(f"continuous variable {c!r} has dimension {a.dims[c]} and {d}")
        else:
            out.append((c, d))
    return tuple(out)


def log_normalizers(f: Gaussian) -> np.ndarray:
    """Per-component log mass ``g + ½(n log 2π - log|K| + hᵀK⁻¹h)``; needs full-rank ``K``."""
    if f.n == 0:
        return f.g.copy()
    L = _cholesky(f.K, "precision")
    logdet = 2.0 * np.sum(np.log(np.diagonal(L, axis1=-2, axis2=-1)), axis=-1)
    mu = np.linalg.solve(f.K, f.h[..., None])[..., 0]
    return f.g + 0.5 * (f.n * LOG_2PI - logdet + np.einsum("...i,...i->...", f.h, mu))


def moments(f: Gaussian) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-component (log mass, mean, covariance); needs full-rank ``K``."""
    lz = log_normalizers(f)
    cov = _sym(np.linalg.inv(f.K))
    mean = np.einsum("...ij,...j->...i", cov, f.h)
    return lz, mean, cov


# ----------------------------------------------------------------------------- the four exact ops

def product(a: Gaussian, b: Gaussian) -> Gaussian:
    """Pointwise product: zero-pad to the union of continuous variables, broadcast batches, add (op 1)."""
    check_cards(a.cards, b.cards)
    names = union_names(a.discrete, b.discrete)
    cont = _cont_union(a, b)
    ga, ha, Ka = _pad(a, names, cont)
    gb, hb, Kb = _pad(b, names, cont)
    return Gaussian(names, cont, ga + gb, ha + hb, Ka + Kb)


def marginalize(f: Gaussian, names: Iterable[str]) -> Gaussian:
    """Integrate continuous ``names`` (Schur complement), then sum discrete ones (op 2).

    A discrete variable can only be summed while continuous variables remain if the Gaussian part
    does not depend on it; otherwise the result is a mixture and :class:`NotClosedError` is raised.
    """
    names = set(names)
    xs = [c for c, _ in f.continuous if c in names]
    ds = [d for d in f.discrete if d in names]
    if xs:
        f = _integrate(f, xs)
    if ds:
        f = _sum_discrete(f, ds)
    return f


def _integrate(f: Gaussian, xs: list[str]) -> Gaussian:
    keep = tuple((c, d) for c, d in f.continuous if c not in xs)
    ix = f.index(xs)
    iy = f.index([c for c, _ in keep])
    Kxx = f.K[..., ix[:, None], ix[None, :]]
    Kxy = f.K[..., ix[:, None], iy[None, :]]
    Kyy = f.K[..., iy[:, None], iy[None, :]]
    hx, hy = f.h[..., ix], f.h[..., iy]
    L = _cholesky(Kxx, f"precision of {xs}")
    logdet = 2.0 * np.sum(np.log(np.diagonal(L, axis1=-2, axis2=-1)), axis=-1)
    sol = np.linalg.solve(Kxx, np.concatenate([Kxy, hx[..., None]], axis=-1))
    S, u = sol[..., :-1], sol[..., -1]
    K2 = _sym(Kyy - np.swapaxes(Kxy, -1, -2) @ S)
    h2 = hy - np.einsum("...xy,...x->...y", Kxy, u)
    g2 = f.g + 0.5 * (len(ix) * LOG_2PI - logdet + np.einsum("...i,...i->...", hx, u))
    return Gaussian(f.discrete, keep, g2, h2, K2)


def _sum_discrete(f: Gaussian, ds: list[str]) -> Gaussian:
    axes = tuple(f.discrete.index(d) for d in ds)
    rest = tuple(d for d in f.discrete if d not in ds)
    if f.n:
        for ax in axes:  # the Gaussian part must be constant along each summed axis
            hd = np.abs(f.h - np.take(f.h, [0], axis=ax)).max(initial=0.0)
            Kd = np.abs(f.K - np.take(f.K, [0], axis=ax)).max(initial=0.0)
            scale = 1.0 + max(np.abs(f.h).max(initial=0.0), np.abs(f.K).max(initial=0.0))
            if hd > 1e-12 * scale or Kd > 1e-12 * scale:
                raise NotClosedError(
                    f"summing discrete {f.discrete[ax]!r} out of a CLG whose Gaussian part depends on it gives a "
                    "mixture: keep the variable, or call project(f, 'gaussian', over=[...]) to moment-match")
        idx = tuple(0 if i in axes else slice(None) for i in range(len(f.discrete)))
        return Gaussian(rest, f.continuous, logsumexp(f.g, axis=axes), f.h[idx], f.K[idx])
    g = logsumexp(f.g, axis=axes)
    return Gaussian(rest, (), g, np.zeros(g.shape + (0,)), np.zeros(g.shape + (0, 0)))


def condition(f: Gaussian, evidence: Mapping[str, object]) -> Gaussian:
    """Index discrete evidence; substitute continuous values ``x = v`` (op 3, exact).

    ``h_y' = h_y - K_yx v``, ``g' = g + h_x·v - ½ vᵀK_xx v``; ``K_yy`` unchanged.
    """
    disc = {k: v for k, v in evidence.items() if k in f.cards}
    cont = {k: v for k, v in evidence.items() if k in f.dims}
    if disc:
        idx = []
        for d, k in zip(f.discrete, f.g.shape):
            if d in disc:
                idx.append(state_index(d, disc[d], k))
            else:
                idx.append(slice(None))
        idx = tuple(idx)
        f = Gaussian(tuple(d for d in f.discrete if d not in disc), f.continuous, f.g[idx], f.h[idx], f.K[idx])
    if cont:
        xs = list(cont)
        v = np.concatenate([_value(cont[c], f.dims[c], c) for c in xs])
        keep = tuple((c, d) for c, d in f.continuous if c not in cont)
        ix, iy = f.index(xs), f.index([c for c, _ in keep])
        Kxx = f.K[..., ix[:, None], ix[None, :]]
        Kyx = f.K[..., iy[:, None], ix[None, :]]
        g = f.g + f.h[..., ix] @ v - 0.5 * np.einsum("i,...ij,j->...", v, Kxx, v)
        h = f.h[..., iy] - Kyx @ v
        f = Gaussian(f.discrete, keep, g, h, f.K[..., iy[:, None], iy[None, :]])
    return f


def _value(v, dim: int, name: str) -> np.ndarray:
    a = np.atleast_1d(np.asarray(v, dtype=float))
    if a.shape != (dim,):
        raise FactorError(f"evidence for {name!r} must have shape ({dim},), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise FactorError(f"evidence for {name!r} must be finite, got {a}")
    return a


def normalize(f: Gaussian) -> tuple[Gaussian, float]:
    """Divide by the total mass ``logsumexp_d log_normalizer[d]`` (op 4); needs full-rank ``K``."""
    logz = float(logsumexp(log_normalizers(f)))
    if not np.isfinite(logz):
        raise FactorError("cannot normalize a Gaussian factor with zero total mass")
    return Gaussian(f.discrete, f.continuous, f.g - logz, f.h, f.K), logz


def condition_batched(f: Gaussian, values: Mapping[str, np.ndarray], axis: str, n: int) -> Gaussian:
    """Condition on N value sets at once; the result gains (or keeps) the discrete batch axis ``axis``.

    Discrete values are (N,) state indices, continuous ones (N, dim). Used by particle reweighting and
    Rao-Blackwellisation: one exact ``condition`` per particle, vectorised.
    """
    disc = [d for d in f.discrete if d in values]
    cont = [c for c, _ in f.continuous if c in values]
    rest = [d for d in f.discrete if d not in values and d != axis]
    front = ([axis] if axis in f.cards else []) + disc
    perm = [f.discrete.index(d) for d in front + rest]
    nb = len(f.discrete)
    g = np.transpose(f.g, perm)
    h = np.transpose(f.h, perm + [nb])
    K = np.transpose(f.K, perm + [nb, nb + 1])
    if front:
        idx = tuple([np.arange(n)] if axis in f.cards else []) + tuple(
            np.asarray(values[d], dtype=np.intp) for d in disc)
        if axis in f.cards and f.cards[axis] != n:
            raise FactorError(f"batch axis {axis!r} has size {f.cards[axis]}, expected {n}")
        g, h, K = g[idx], h[idx], K[idx]
    else:
        g = np.broadcast_to(g, (n,) + g.shape)
        h = np.broadcast_to(h, (n,) + h.shape)
        K = np.broadcast_to(K, (n,) + K.shape)
    out = Gaussian((axis,) + tuple(rest), f.continuous, g, h, K)
    if cont:
        v = np.concatenate([np.asarray(values[c], dtype=float).reshape(n, f.dims[c]) for c in cont], axis=1)
        keep = tuple((c, d) for c, d in f.continuous if c not in cont)
        ix, iy = out.index(cont), out.index([c for c, _ in keep])
        vb = v.reshape((n,) + (1,) * len(rest) + (v.shape[1],))
        Kxx = out.K[..., ix[:, None], ix[None, :]]
        Kyx = out.K[..., iy[:, None], ix[None, :]]
        g2 = out.g + np.einsum("...i,...i->...", out.h[..., ix], vb) - 0.5 * np.einsum("...i,...ij,...j->...", vb,
                                                                                       Kxx, vb)
        h2 = out.h[..., iy] - np.einsum("...yx,...x->...y", Kyx, vb)
        out = Gaussian(out.discrete, keep, g2, h2, out.K[..., iy[:, None], iy[None, :]])
    return out
