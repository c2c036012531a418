"""Op 5, ``project``: the only place approximation enters (notes §1.2-1.3).

Conversions: Gaussian/Table -> Particles (sample all variables, or only the discrete ones with the
continuous kept attached: Rao-Blackwellised), Particles -> Particles (sample attached variables, resample),
Particles -> Gaussian (moment match), CLG mixture -> Gaussian (collapse / weak marginalization, Lauritzen 1992;
GPB), Gaussian/Particles/LogDensity -> Table (discretize on a grid).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from support.factors import gaussian as G
from support.factors.density import LogDensity
from support.factors.errors import FactorError
from support.factors.logmath import logsumexp, safe_log
from support.factors.particles import AXIS, Particles, attached_log_mass
from support.factors.table import Table


@dataclass(frozen=True)
class Grid:
    """A regular grid over one continuous variable of dimension ``len(edges)``: ``edges[i]`` are the
    bin edges along axis i. Cells are flattened C-order into one discrete axis named ``name``."""

    var: str
    edges: tuple[np.ndarray, ...]
    name: str = "cell"

    @property
    def centers(self) -> np.ndarray:
        mids = [0.5 * (e[1:] + e[:-1]) for e in self.edges]
        mesh = np.meshgrid(*mids, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)

    @property
    def cell_volume(self) -> np.ndarray:
        widths = np.meshgrid(*[np.diff(e) for e in self.edges], indexing="ij")
        return np.prod(np.stack([w.ravel() for w in widths], axis=1), axis=1)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(e) - 1 for e in self.edges)


# ----------------------------------------------------------------------------- collapse (moment matching)

def collapse(f: G.Gaussian, over: Sequence[str], keep_weights: bool = False) -> G.Gaussian:
    """Moment-match the mixture over discrete ``over`` into one Gaussian per remaining component.

    Total mass is kept. With ``keep_weights`` the ``over`` axes stay, carrying each component's mass,
    and share the collapsed (h, K): the GPB1 "product form" p(s) N(x; m, P).
    """
    over = list(over)
    missing = [d for d in over if d not in f.cards]
    if missing:
        raise FactorError(f"collapse: {missing} are not discrete variables of the factor")
    if f.n == 0:
        raise FactorError("collapse needs continuous variables; use marginalize for a pure table")
    lz, mean, cov = G.moments(f)
    rest = [d for d in f.discrete if d not in over]
    nb = len(f.discrete)
    perm = [f.discrete.index(d) for d in rest + over]
    lz_t = np.transpose(lz, perm)
    rshape = lz_t.shape[: len(rest)]
    m = int(np.prod(lz_t.shape[len(rest):], dtype=int))
    lz_t = lz_t.reshape(rshape + (m,))
    mu = np.transpose(mean, perm + [nb]).reshape(rshape + (m, f.n))
    S = np.transpose(cov, perm + [nb, nb + 1]).reshape(rshape + (m, f.n, f.n))
    tot = logsumexp(lz_t, axis=-1)
    w = np.exp(lz_t - tot[..., None])
    mbar = np.einsum("...m,...mi->...i", w, mu)
    d = mu - mbar[..., None, :]
    Sbar = np.einsum("...m,...mij->...ij", w, S + d[..., :, None] * d[..., None, :])
    out = G.from_moments(rest, f.continuous, mbar, Sbar, tot)
    if not keep_weights:
        return out
    # same (h, K) on every `over` component; g carries that component's own mass
    unit = out.g - tot  # g of the collapsed Gaussian scaled to unit mass
    g = lz_t + unit[..., None]
    g = g.reshape(rshape + tuple(f.cards[o] for o in over))
    shape_h = rshape + (1,) * len(over) + (f.n,)
    res = G.Gaussian(tuple(rest + over), f.continuous, g, out.h.reshape(shape_h), out.K.reshape(shape_h + (f.n,)))
    back = [res.discrete.index(dn) for dn in f.discrete]
    nb2 = len(res.discrete)
    h = np.broadcast_to(res.h, res.g.shape + (f.n,))
    K = np.broadcast_to(res.K, res.g.shape + (f.n, f.n))
    return G.Gaussian(f.discrete, f.continuous, np.transpose(res.g, back), np.transpose(h, back + [nb2]),
                      np.transpose(K, back + [nb2, nb2 + 1]))


def moment_match(p: Particles) -> G.Gaussian:
    """Weighted mean/covariance of the continuous columns (and attached Gaussians) as one Gaussian.

    Discrete columns are dropped (summed over); total mass = logsumexp(logw) is kept.
    """
    cols = [(k, s) for k, (kind, s) in p.kinds.items() if kind == "continuous"]
    logw = p.logw
    att = p.attached
    if att is not None:
        extra = [d for d in att.discrete if d != AXIS]
        if att.n == 0:  # an attached table: its per-particle mass goes into the weights
            logw, att = logw + (logsumexp(att.g, axis=tuple(range(1, att.g.ndim))) if extra else att.g), None
        elif extra:
            att = collapse(att, extra)
    tot = logsumexp(logw)
    w = np.exp(logw - tot)
    parts_mu, parts_cov_diag = [], []
    names = list(cols)
    if cols:
        X = np.concatenate([p.values[k] for k, _ in cols], axis=1)
        parts_mu.append(X)
    if att is not None:
        lz, amu, acov = G.moments(att)
        w = np.exp(logw + lz - logsumexp(logw + lz))
        tot = logsumexp(logw + lz)
        names += list(att.continuous)
        parts_mu.append(amu)
        parts_cov_diag.append(acov)
    if not names:
        raise FactorError("moment_match: the particles carry no continuous variable")
    X = np.concatenate(parts_mu, axis=1)
    mbar = w @ X
    D = X - mbar
    S = np.einsum("n,ni,nj->ij", w, D, D)
    if parts_cov_diag:  # within-particle covariance of the attached block
        k0 = X.shape[1] - parts_cov_diag[0].shape[-1]
        S[k0:, k0:] += np.einsum("n,nij->ij", w, parts_cov_diag[0])
    return G.from_moments((), tuple(names), mbar, S, tot)


# ----------------------------------------------------------------------------- sampling

def _rao_blackwellised(gf: G.Gaussian, names: Sequence[str] | None) -> bool:
    """Whether ``names`` asks to draw only the discrete variables of ``gf`` (the continuous ones stay attached);
    ``None`` or every variable means a full joint draw, anything else is refused."""
    if names is None or set(names) == gf.scope:
        return False
    unknown = sorted(set(names) - gf.scope)
    if unknown:
        raise FactorError(f"sample: {unknown} are not variables of the factor (scope {sorted(gf.scope)})")
    if set(names) != set(gf.discrete):
        raise FactorError("sample: names must be every variable of the factor (joint draw) or exactly its discrete "
                          f"variables {sorted(gf.discrete)} (Rao-Blackwellised draw); got {sorted(names)}")
    return gf.n > 0


def sample(f: Table | G.Gaussian, n: int, rng: np.random.Generator,
           names: Sequence[str] | None = None) -> Particles:
    """Draw ``n`` joint samples of a full-rank Table/CLG; equal weights carrying the total mass.

    With ``names`` = the discrete variables only, those are drawn from their exact marginal and each particle keeps
    its component's Gaussian attached, normalized, so that component's mass is carried once, by the weight.
    """
    if n <= 0:
        raise FactorError(f"number of particles must be positive, got {n}")
    gf = G.lift(f) if isinstance(f, Table) else f
    rao_blackwellised = _rao_blackwellised(gf, names)
    lz = G.log_normalizers(gf)
    flat = lz.ravel()
    tot = logsumexp(flat)
    comp = rng.choice(flat.size, size=n, p=np.exp(flat - tot))
    kinds: dict[str, tuple[str, int]] = {}
    values: dict[str, np.ndarray] = {}
    idx = np.unravel_index(comp, lz.shape) if lz.ndim else ()
    for d, k, i in zip(gf.discrete, lz.shape, idx):
        kinds[d], values[d] = ("discrete", k), i
    if rao_blackwellised:  # the conditional of the continuous variables given each particle's component
        g = gf.g.reshape(-1)[comp] - flat[comp]
        att = G.Gaussian((AXIS,), gf.continuous, g, gf.h.reshape(-1, gf.n)[comp], gf.K.reshape(-1, gf.n, gf.n)[comp])
        return Particles(values, kinds, np.full(n, tot - np.log(n)), att)
    if gf.n:
        _, mean, cov = G.moments(gf)
        mu = mean.reshape(-1, gf.n)[comp]
        L = np.linalg.cholesky(cov.reshape(-1, gf.n, gf.n))[comp]
        x = mu + np.einsum("nij,nj->ni", L, rng.standard_normal((n, gf.n)))
        off = 0
        for c, dim in gf.continuous:
            kinds[c], values[c] = ("continuous", dim), x[:, off:off + dim]
            off += dim
    return Particles(values, kinds, np.full(n, tot - np.log(n)))


def sample_attached(p: Particles, rng: np.random.Generator, names: Sequence[str] | None = None) -> Particles:
    """Draw the attached variables (all, or the discrete ``names``) once per particle.

    Each particle's weight absorbs the mass of its attached factor (so the total mass is unchanged);
    discrete draws come from the exact per-particle marginal, continuous ones from the conditional.
    """
    att = p.attached
    if att is None:
        return p
    want = set(att.scope - {AXIS}) if names is None else set(names) & att.scope
    unknown = set(names or ()) - att.scope - set(p.values)
    if unknown:
        raise FactorError(f"sample_attached: {sorted(unknown)} are neither sampled nor attached variables")
    if not want:
        return p
    disc = [d for d in att.discrete if d != AXIS]
    if not set(disc) <= want:
        raise FactorError("sampling only some attached variables: every attached discrete variable must be drawn")
    cont_all = [c for c, _ in att.continuous]
    draw_cont = [c for c in cont_all if c in want]
    if draw_cont and len(draw_cont) != len(cont_all):
        raise FactorError("sampling only some attached continuous variables is not supported")
    n = p.n
    lz = G.log_normalizers(att) if att.n else att.g  # (N, *disc)
    flat = lz.reshape(n, -1)
    tot = logsumexp(flat, axis=1)
    u = rng.random(n)
    cdf = np.cumsum(np.exp(flat - tot[:, None]), axis=1)
    comp = np.minimum((cdf < u[:, None]).sum(axis=1), flat.shape[1] - 1)
    values, kinds = dict(p.values), dict(p.kinds)
    idx = np.unravel_index(comp, lz.shape[1:]) if disc else ()
    for d, i in zip(disc, idx):
        values[d], kinds[d] = i, ("discrete", att.cards[d])
    sel = (np.arange(n),) + tuple(idx)
    logw = p.logw + tot
    if draw_cont:
        _, mean, cov = G.moments(G.Gaussian((AXIS,), att.continuous, att.g[sel], att.h[sel], att.K[sel]))
        x = mean + np.einsum("nij,nj->ni", np.linalg.cholesky(cov), rng.standard_normal((n, att.n)))
        off = 0
        for c, dim in att.continuous:
            values[c], kinds[c] = x[:, off:off + dim], ("continuous", dim)
            off += dim
        return Particles(values, kinds, logw, None)
    if att.n == 0:
        return Particles(values, kinds, logw, None)
    # keep the attached Gaussian of the drawn component, renormalised per particle (zero mass stays -inf)
    g = att.g[sel] - np.where(np.isfinite(lz[sel]), lz[sel], 0.0)
    return Particles(values, kinds, logw, G.Gaussian((AXIS,), att.continuous, g, att.h[sel], att.K[sel]))


def resample(p: Particles, rng: np.random.Generator, n: int | None = None) -> Particles:
    """Systematic resampling to ``n`` equally weighted particles (total mass kept)."""
    n = p.n if n is None else n
    tot = logsumexp(p.logw)
    w = np.exp(p.logw - tot)
    cdf = np.cumsum(w)
    cdf[-1] = 1.0
    idx = np.searchsorted(cdf, (rng.random() + np.arange(n)) / n)
    values = {k: v[idx] for k, v in p.values.items()}
    att = p.attached
    if att is not None:
        att = G.Gaussian(att.discrete, att.continuous, att.g[idx], att.h[idx], att.K[idx])
    return Particles(values, p.kinds, np.full(n, tot - np.log(n)), att)


# ----------------------------------------------------------------------------- discretize

def _box_probabilities(f: G.Gaussian, grid: Grid) -> np.ndarray:
    """Exact mass of a 1-D or 2-D Gaussian in each axis-aligned cell (C order): normal CDF differences, or
    scipy's bivariate normal CDF over the cell (Genz's BVN algorithm, accurate to ~1e-15) for 2-D."""
    from scipy.stats import multivariate_normal, norm

    lz, mean, cov = G.moments(f)
    mass = float(np.exp(lz))
    if len(grid.edges) == 1:
        return mass * np.diff(norm.cdf(grid.edges[0], mean[0], np.sqrt(cov[0, 0])))
    lo = np.stack([m.ravel() for m in np.meshgrid(grid.edges[0][:-1], grid.edges[1][:-1], indexing="ij")], axis=1)
    hi = np.stack([m.ravel() for m in np.meshgrid(grid.edges[0][1:], grid.edges[1][1:], indexing="ij")], axis=1)
    p = multivariate_normal(mean, 0.5 * (cov + cov.T)).cdf(hi, lower_limit=lo)
    return mass * np.clip(np.atleast_1d(p), 0.0, None)


def _check_grid_axes(grid: Grid, dim: int) -> None:
    """A grid cuts a variable of dimension ``dim`` with one axis per component; else a FactorError (a 2-D Gaussian
    on a 1-axis grid would give the first component's marginal, a 1-D one on a 2-axis grid a broadcast error)."""
    if len(grid.edges) != dim:
        raise FactorError(f"grid has {len(grid.edges)} axes but {grid.var!r} has dimension {dim}")


def discretize(f, grid: Grid) -> Table:
    """Mass of ``f`` per grid cell as a Table over ``grid.name``: a Gaussian's exact box probabilities in
    1-D and 2-D (density x cell volume above that), a particle histogram, or density x cell volume for a
    LogDensity. For particles, other columns and the attached variables are summed out (each particle counts
    with its weight times its attached mass)."""
    if isinstance(f, Particles):
        if f.kinds.get(grid.var, ("", 0))[0] != "continuous":
            raise FactorError(f"discretize: particles have no continuous column {grid.var!r}")
        logw = f.logw if f.attached is None else f.logw + attached_log_mass(f.attached)
        X = f.values[grid.var]
        _check_grid_axes(grid, X.shape[1])
        ids = []
        for i, e in enumerate(grid.edges):
            j = np.searchsorted(e, X[:, i], side="right") - 1
            ids.append(j)
        ids = np.stack(ids, axis=1)
        inside = np.all((ids >= 0) & (ids < np.array(grid.shape)), axis=1)
        flat = np.ravel_multi_index(tuple(np.clip(ids, 0, np.array(grid.shape) - 1).T), grid.shape)
        w = np.exp(logw - logsumexp(logw)) * inside
        mass = np.bincount(flat, weights=w, minlength=int(np.prod(grid.shape)))
        return Table((grid.name,), safe_log(mass) + logsumexp(logw))
    if isinstance(f, G.Gaussian):
        if set(f.dims) != {grid.var} or f.discrete:
            raise FactorError("discretize: the Gaussian must be over the grid variable only")
        _check_grid_axes(grid, f.dims[grid.var])
        if len(grid.edges) <= 2:
            return Table((grid.name,), safe_log(_box_probabilities(f, grid)))
        vals = {grid.var: grid.centers}  # 3-D and up: midpoint rule (density at the centre x cell volume)
        lf = G.condition_batched(f, vals, grid.name, grid.centers.shape[0]).g
        return Table((grid.name,), lf + np.log(grid.cell_volume))
    if isinstance(f, LogDensity):
        if grid.var not in f.dims:
            raise FactorError(f"discretize: the density has no continuous variable {grid.var!r}")
        _check_grid_axes(grid, f.dims[grid.var])
        lf = f.evaluate({grid.var: grid.centers})
        return Table((grid.name,), lf + np.log(grid.cell_volume))
    raise FactorError(f"discretize: unsupported factor {type(f).__name__}")


def particles_to_table(p: Particles, names: Sequence[str]) -> Table:
    """Weighted histogram over discrete ``names`` (columns, or attached discrete variables whose exact
    per-particle masses are summed): exact for the empirical measure."""
    att = p.attached
    att_disc = [d for d in att.discrete if d != AXIS] if att is not None else []
    for k in names:
        if p.kinds.get(k, ("", 0))[0] != "discrete" and k not in att_disc:
            raise FactorError(f"{k!r} is neither a discrete particle column nor an attached discrete variable")
    cols = [k for k in names if k in p.values]
    anames = [k for k in names if k in att_disc]
    if att is not None:
        lz = G.log_normalizers(att) if att.n else att.g  # (N, *att_disc)
        drop = tuple(1 + att_disc.index(d) for d in att_disc if d not in anames)
        lz = logsumexp(lz, axis=drop) if drop else lz
        keep = [d for d in att_disc if d in anames]
        lz = np.transpose(lz, [0] + [1 + keep.index(d) for d in anames])
    else:
        lz = np.zeros(p.n)
    lw = p.logw.reshape((-1,) + (1,) * len(anames)) + lz
    tot = logsumexp(lw)
    W = np.exp(lw - tot)
    cards = [p.kinds[k][1] if k in p.values else att.cards[k] for k in names]
    R = np.zeros([p.kinds[k][1] for k in cols] + [att.cards[k] for k in anames])
    if cols:
        np.add.at(R, tuple(p.values[k] for k in cols), W)
    else:
        R += W.sum(axis=0)
    order = [(cols + anames).index(k) for k in names]
    R = np.transpose(R, order).reshape(cards)
    return Table(tuple(names), safe_log(R) + tot)


def project(f, target: str, *, over: Sequence[str] | None = None, keep_weights: bool = False,
            n: int | None = None, rng: np.random.Generator | None = None, names: Sequence[str] | None = None,
            resample_: bool = False, grid: Grid | None = None):
    """Dispatch op 5 by (representation of ``f``, ``target``); see the module docstring."""
    if target == "gaussian":
        if isinstance(f, G.Gaussian):
            if not over:
                raise FactorError("project(Gaussian, 'gaussian') needs over=[discrete variables to collapse]")
            return collapse(f, over, keep_weights)
        if isinstance(f, Particles):
            return moment_match(f)
    elif target == "particles":
        if rng is None:
            raise FactorError("project(..., 'particles') needs rng=np.random.Generator")
        if isinstance(f, (Table, G.Gaussian)):
            if n is None:
                raise FactorError("project(..., 'particles') from a parametric factor needs n")
            return sample(f, n, rng, names)
        if isinstance(f, Particles):
            if n is not None and not resample_:
                raise FactorError("project(Particles, 'particles', n=...) changes the number of particles only "
                                  "with resample_=True; pass both, or neither")
            out = sample_attached(f, rng, names) if (f.attached is not None and (names is None or names)) else f
            return resample(out, rng, n) if resample_ else out
    elif target == "table":
        if grid is not None:
            return discretize(f, grid)
        if isinstance(f, Particles):
            return particles_to_table(f, list(names or [k for k, (kd, _) in f.kinds.items() if kd == "discrete"]))
    else:
        raise FactorError(f"unknown projection target {target!r}; expected gaussian, particles or table")
    raise FactorError(f"unsupported projection {type(f).__name__} -> {target!r} with these options")
