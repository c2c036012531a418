"""Models: discrete and Gaussian Bayesian networks shipped in the pgmpy wheel, switching linear
dynamical systems (SLDS), a linear-Gaussian state-space model, and the single-beacon range ("circular
observation") tracking model.

BNs are read directly from the files inside the installed pgmpy package (BIF / JSON), with our
own parser, so pgmpy stays an independent oracle. Synthetic models are labelled as such.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np

from support.factors import gaussian as G
from support.factors.density import LogDensity
from support.factors.table import Table

DISCRETE_NETWORKS = ("asia", "alarm", "insurance", "hepar2", "win95pts", "hailfinder", "pathfinder", "andes")
GAUSSIAN_NETWORKS = ("ecoli70", "magic-niab", "magic-irri", "arth150")


def _pgmpy_file(name: str) -> Path:
    try:
        base = resources.files("pgmpy") / "utils" / "example_models"
    except ModuleNotFoundError:
        raise RuntimeError("the Bayesian-network files come from the pgmpy wheel: pip install 'pgmpy<1.3'") from None
    for suffix in (".bif.gz", ".json"):
        p = base / f"{name}{suffix}"
        if p.is_file():
            return Path(str(p))
    known = ", ".join(DISCRETE_NETWORKS + GAUSSIAN_NETWORKS)
    raise ValueError(f"unknown network {name!r}; shipped networks include {known}")


# ----------------------------------------------------------------------------- discrete BNs

@dataclass(frozen=True)
class DiscreteBN:
    """A discrete BN: states per variable, parents per variable and a CPT Table over (child, *parents)."""

    name: str
    states: dict[str, tuple[str, ...]]
    parents: dict[str, tuple[str, ...]]
    cpts: dict[str, Table]

    @property
    def variables(self) -> list[str]:
        return list(self.states)

    def factors(self) -> tuple[list[Table], list[str]]:
        """CPT factors and their heads (for barren-node pruning)."""
        vs = self.variables
        return [self.cpts[v] for v in vs], vs

    def topological(self) -> list[str]:
        order, seen = [], set()

        def visit(v):
            if v in seen:
                return
            seen.add(v)
            for p in self.parents[v]:
                visit(p)
            order.append(v)

        for v in self.states:
            visit(v)
        return order


_VAR = re.compile(r"variable\s+(\S+)\s*\{\s*type\s+discrete\s*\[\s*(\d+)\s*\]\s*\{([^}]*)\}\s*;\s*\}", re.DOTALL)
_PROB = re.compile(r"probability\s*\(\s*([^|)]+?)\s*(?:\|\s*([^)]*))?\)\s*\{(.*?)\}", re.DOTALL)
_ROW = re.compile(r"\(([^)]*)\)\s*([^;]*);")


def parse_bif(text: str, name: str = "bif") -> DiscreteBN:
    """Parse the BIF subset used by the bnlearn files (``table`` rows for roots, ``(states) p…;`` rows)."""
    states: dict[str, tuple[str, ...]] = {}
    for m in _VAR.finditer(text):
        vals = tuple(s.strip() for s in m.group(3).split(","))
        if len(vals) != int(m.group(2)):
            raise ValueError(f"{name}: variable {m.group(1)} declares {m.group(2)} states but lists {len(vals)}")
        states[m.group(1)] = vals
    if not states:
        raise ValueError(f"{name}: no discrete variables found (not a BIF file?)")
    parents: dict[str, tuple[str, ...]] = {}
    cpts: dict[str, Table] = {}
    for m in _PROB.finditer(text):
        child = m.group(1).strip()
        pars = tuple(p.strip() for p in m.group(2).split(",")) if m.group(2) else ()
        for v in (child,) + pars:
            if v not in states:
                raise ValueError(f"{name}: probability block mentions undeclared variable {v!r}")
        body = m.group(3)
        kc = len(states[child])
        shape = (kc,) + tuple(len(states[p]) for p in pars)
        probs = np.full(shape, np.nan)
        if not pars:
            t = re.search(r"table\s+([^;]*);", body)
            if t is None:
                raise ValueError(f"{name}: root {child} has no table row")
            vals = np.array([float(x) for x in t.group(1).replace(",", " ").split()])
            if vals.size != kc:
                raise ValueError(f"{name}: table of root {child} has {vals.size} entries, expected {kc}")
            probs[:] = vals
        else:
            if re.search(r"^\s*table\s", body, re.MULTILINE):
                raise ValueError(f"{name}: 'table' rows for non-root {child} are not supported")
            for r in _ROW.finditer(body):
                key = tuple(s.strip() for s in r.group(1).split(","))
                idx = tuple(states[p].index(k) for p, k in zip(pars, key))
                vals = np.array([float(x) for x in r.group(2).replace(",", " ").split()])
                if vals.size != kc:
                    raise ValueError(f"{name}: row {key} of {child} has {vals.size} entries, expected {kc}")
                probs[(slice(None),) + idx] = vals
        if np.isnan(probs).any():
            raise ValueError(f"{name}: CPT of {child} has missing parent configurations")
        parents[child] = pars
        cpts[child] = Table.from_probs((child,) + pars, probs)
    missing = set(states) - set(cpts)
    if missing:
        raise ValueError(f"{name}: variables without a CPT: {sorted(missing)}")
    return DiscreteBN(name, states, parents, cpts)


def load_discrete(name: str) -> DiscreteBN:
    """One of the discrete networks shipped in the pgmpy wheel (e.g. ``asia`` … ``andes``)."""
    path = _pgmpy_file(name)
    if not path.name.endswith(".bif.gz"):
        raise ValueError(f"{name!r} is not a discrete network")
    with gzip.open(path, "rt") as fh:
        return parse_bif(fh.read(), name)


def sample_evidence(bn: DiscreteBN, n_evidence: int, n_queries: int, rng: np.random.Generator
                    ) -> tuple[dict[str, int], list[str]]:
    """Forward-sample one full assignment, observe ``n_evidence`` random variables of it (so the evidence
    has positive probability), and pick ``n_queries`` other variables to query."""
    n_vars = len(bn.states)
    if n_evidence < 0 or n_queries < 1 or n_evidence + n_queries > n_vars:
        raise ValueError(f"{bn.name}: need n_evidence >= 0, n_queries >= 1 and n_evidence + n_queries <= "
                         f"{n_vars} nodes, got n_evidence={n_evidence}, n_queries={n_queries}")
    x: dict[str, int] = {}
    for v in bn.topological():
        t = bn.cpts[v]
        idx = (slice(None),) + tuple(x[p] for p in bn.parents[v])
        p = np.exp(t.logp[idx])
        x[v] = int(rng.choice(len(p), p=p / p.sum()))
    vs = bn.variables
    pick = rng.permutation(len(vs))
    ev = {vs[i]: x[vs[i]] for i in pick[:n_evidence]}
    qs = [vs[i] for i in pick[n_evidence:n_evidence + n_queries]]
    return ev, qs


# ----------------------------------------------------------------------------- Gaussian BNs

@dataclass(frozen=True)
class GaussianBN:
    """Linear Gaussian BN: ``x_v = b_v + Σ β_vp x_p + N(0, σ²_v)``."""

    name: str
    parents: dict[str, tuple[str, ...]]
    intercept: dict[str, float]
    coef: dict[str, tuple[float, ...]]
    variance: dict[str, float]

    @property
    def variables(self) -> list[str]:
        return list(self.parents)

    def factors(self) -> tuple[list[G.Gaussian], list[str]]:
        """One canonical-form CPD factor per variable, and their heads."""
        out = []
        for v in self.variables:
            ps = [(p, 1) for p in self.parents[v]]
            A = np.array(self.coef[v], dtype=float).reshape(1, len(ps))
            out.append(G.linear_gaussian((v, 1), ps, A, [self.intercept[v]], [[self.variance[v]]]))
        return out, self.variables


def load_gaussian(name: str) -> GaussianBN:
    """One of the linear Gaussian networks shipped in the pgmpy wheel (ecoli70, magic-niab, …)."""
    path = _pgmpy_file(name)
    if not path.name.endswith(".json"):
        raise ValueError(f"{name!r} is not a Gaussian network")
    data = json.loads(path.read_text())
    parents, icpt, coef, var = {}, {}, {}, {}
    for v in data["nodes"]:
        c = data["cpds"][v]
        parents[v] = tuple(c["parents"])
        icpt[v] = float(c["coefficients"]["(Intercept)"][0])
        coef[v] = tuple(float(c["coefficients"][p][0]) for p in c["parents"])
        var[v] = float(c["variance"][0])
        if var[v] <= 0:
            raise ValueError(f"{name}: variable {v} has non-positive variance {var[v]}")
    return GaussianBN(name, parents, icpt, coef, var)


# ----------------------------------------------------------------------------- state-space models

def _check_distribution(what: str, p: np.ndarray, ndim: int) -> None:
    """Raise unless ``p`` is non-negative and sums to 1 along its last axis."""
    if p.ndim != ndim or not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"{what} must be a finite non-negative {ndim}-d array, got {p!r}")
    sums = p.sum(axis=-1)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-9):
        raise ValueError(f"{what} must sum to 1, sums to {sums}")


def _check_finite_data(y: np.ndarray) -> None:
    """Raise on NaN/inf observations (they would surface later as a misleading 'zero total mass')."""
    bad = ~np.isfinite(np.asarray(y, dtype=float))
    if bad.any():
        raise ValueError(f"observations must be finite; {int(bad.sum())} value(s) are NaN or inf")


class _LinearStateSpace:
    """Shape and data handling shared by the linear state-space models (SLDS and the linear-Gaussian model): A is
    (..., dx, dx), H is (..., dy, dx), y is (T, dy); the state at step t is named "x{t}"."""

    A: np.ndarray
    H: np.ndarray
    y: np.ndarray

    @property
    def dx(self) -> int:
        return self.A.shape[-1]

    @property
    def dy(self) -> int:
        return self.H.shape[-2]

    @property
    def T(self) -> int:
        return self.y.shape[0]

    def with_data(self, y: np.ndarray):
        """The same model conditioned on observations ``y`` (T x dy); the constructor's checks run again."""
        return replace(self, y=np.asarray(y, dtype=float).reshape(-1, self.dy))

    def x(self, t: int) -> str:
        return f"x{t}"


@dataclass(frozen=True)
class SLDS(_LinearStateSpace):
    """Switching linear dynamical system (synthetic): modes s_t ∈ {0..K-1}, state x_t ∈ R^dx.

    s_1 ~ pi, s_t | s_{t-1} ~ trans; x_1 ~ N(m0, P0); x_t = A[s_t] x_{t-1} + N(0, Q[s_t]);
    y_t = H[s_t] x_t + N(0, R[s_t]), t = 1..T.
    """

    pi: np.ndarray
    trans: np.ndarray
    A: np.ndarray
    Q: np.ndarray
    H: np.ndarray
    R: np.ndarray
    m0: np.ndarray
    P0: np.ndarray
    y: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))

    def __post_init__(self):
        """Reject a mode prior or transition matrix that is not a distribution (it would shift log Z)."""
        _check_distribution("SLDS initial mode distribution pi", np.asarray(self.pi, dtype=float), ndim=1)
        trans = np.asarray(self.trans, dtype=float)
        _check_distribution("SLDS mode transition matrix (each row)", trans, ndim=2)
        if trans.shape != (len(self.pi), len(self.pi)):
            raise ValueError(f"SLDS transition matrix has shape {trans.shape}, expected {(len(self.pi),) * 2}")
        _check_finite_data(self.y)

    @property
    def K(self) -> int:
        return len(self.pi)

    # the state-space protocol used by filtering.forward_filter --------------------------------
    discrete_name = "s"
    continuous_name = "x"

    def s(self, t: int) -> str:
        return f"s{t}"

    def initial(self) -> list:
        """Factors over (s_1, x_1)."""
        return [Table.from_probs((self.s(1),), self.pi),
                G.from_moments((), ((self.x(1), self.dx),), self.m0, self.P0)]

    def transition(self, t: int) -> list:
        """Factors over (s_{t-1}, s_t, x_{t-1}, x_t)."""
        return [Table.from_probs((self.s(t - 1), self.s(t)), self.trans),
                G.linear_gaussian((self.x(t), self.dx), [(self.x(t - 1), self.dx)], self.A,
                                  np.zeros((self.K, self.dx)), self.Q, discrete=(self.s(t),))]

    def observation(self, t: int) -> list:
        """The likelihood of y_t as a (rank-deficient) CLG over (s_t, x_t), conditioned on the data."""
        yname = f"y{t}"
        f = G.linear_gaussian((yname, self.dy), [(self.x(t), self.dx)], self.H, np.zeros((self.K, self.dy)),
                              self.R, discrete=(self.s(t),))
        return [G.condition(f, {yname: self.y[t - 1]})]

    def simulate(self, T: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draw (modes, states, observations) for T steps."""
        s = np.zeros(T, dtype=int)
        x = np.zeros((T, self.dx))
        y = np.zeros((T, self.dy))
        for t in range(T):
            s[t] = rng.choice(self.K, p=self.pi if t == 0 else self.trans[s[t - 1]])
            if t == 0:
                x[t] = rng.multivariate_normal(self.m0, self.P0)
            else:
                x[t] = rng.multivariate_normal(self.A[s[t]] @ x[t - 1], self.Q[s[t]])
            y[t] = rng.multivariate_normal(self.H[s[t]] @ x[t], self.R[s[t]])
        return s, x, y


def slds_1d(K: int = 2) -> SLDS:
    """The 1-D SLDS of notes §1.4a (K=2: pi=(.6,.4), A=[[.9,.1],[.2,.8]], a=(.95,.5), q=(.1,1), r=.5);
    K=3 adds a third mode (a=-.7, q=.3)."""
    if K == 2:
        pi, trans, a, q = [0.6, 0.4], [[0.9, 0.1], [0.2, 0.8]], [0.95, 0.5], [0.1, 1.0]
    elif K == 3:
        pi = [0.5, 0.3, 0.2]
        trans = [[0.8, 0.1, 0.1], [0.15, 0.75, 0.1], [0.2, 0.2, 0.6]]
        a, q = [0.95, 0.5, -0.7], [0.1, 1.0, 0.3]
    else:
        raise ValueError(f"slds_1d defines K=2 or K=3, got K={K}")
    K_ = len(pi)
    return SLDS(np.array(pi), np.array(trans), np.array(a).reshape(K_, 1, 1), np.array(q).reshape(K_, 1, 1),
                np.ones((K_, 1, 1)), np.full((K_, 1, 1), 0.5), np.zeros(1), np.eye(1))


def slds_cv(K: int = 2, dt: float = 1.0) -> SLDS:
    """A 2-D constant-velocity SLDS (dx=4, position observed, dy=2): mode 0 quiet, mode 1 manoeuvring."""
    F = np.eye(4)
    F[0, 2] = F[1, 3] = dt
    A = np.stack([F] * K)
    Q = np.stack([np.diag([0.01, 0.01, 0.01, 0.01]) * (1 + 30 * k) for k in range(K)])
    H = np.stack([np.hstack([np.eye(2), np.zeros((2, 2))])] * K)
    R = np.stack([0.25 * np.eye(2)] * K)
    pi = np.full(K, 1.0 / K)
    trans = np.ones((1, 1)) if K == 1 else np.full((K, K), 0.1 / (K - 1)) + np.eye(K) * (0.9 - 0.1 / (K - 1))
    return SLDS(pi, trans, A, Q, H, R, np.zeros(4), np.eye(4))


@dataclass(frozen=True)
class LinearGaussianSSM(_LinearStateSpace):
    """Linear-Gaussian state-space model (synthetic; no modes): x_1 ~ N(m0, P0), x_t = A x_{t-1} + N(0, Q),
    y_t = H x_t + N(0, R). The model a Kalman filter solves exactly, so the forward filter's oracle check runs on it
    at any length (an SLDS with one mode would keep a size-1 mode axis per step in the exact map)."""

    A: np.ndarray
    Q: np.ndarray
    H: np.ndarray
    R: np.ndarray
    m0: np.ndarray
    P0: np.ndarray
    y: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))

    discrete_name = None
    continuous_name = "x"

    def __post_init__(self):
        _check_finite_data(self.y)

    def initial(self) -> list:
        return [G.from_moments((), ((self.x(1), self.dx),), self.m0, self.P0)]

    def transition(self, t: int) -> list:
        return [G.linear_gaussian((self.x(t), self.dx), [(self.x(t - 1), self.dx)], self.A, np.zeros(self.dx),
                                  self.Q)]

    def observation(self, t: int) -> list:
        yname = f"y{t}"
        f = G.linear_gaussian((yname, self.dy), [(self.x(t), self.dx)], self.H, np.zeros(self.dy), self.R)
        return [G.condition(f, {yname: self.y[t - 1]})]

    def simulate(self, T: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw (states, observations) for T steps."""
        x = np.zeros((T, self.dx))
        y = np.zeros((T, self.dy))
        for t in range(T):
            x[t] = rng.multivariate_normal(self.m0 if t == 0 else self.A @ x[t - 1], self.P0 if t == 0 else self.Q)
            y[t] = rng.multivariate_normal(self.H @ x[t], self.R)
        return x, y


def lgssm_cv(dt: float = 1.0) -> LinearGaussianSSM:
    """The quiet mode of :func:`slds_cv` as a linear-Gaussian model: 2-D constant velocity, position observed."""
    m = slds_cv(1, dt)
    return LinearGaussianSSM(m.A[0], m.Q[0], m.H[0], m.R[0], m.m0, m.P0)


@dataclass(frozen=True)
class RangeTracking:
    """2-D random walk observed by its noisy distance to one beacon (synthetic; ring likelihoods).

    x_1 ~ N(m0, P0), x_t = x_{t-1} + N(0, q I), r_t = |x_t - beacon| + N(0, sigma²).
    """

    beacon: np.ndarray
    q: float
    sigma: float
    m0: np.ndarray
    P0: np.ndarray
    y: np.ndarray = field(default_factory=lambda: np.zeros(0))

    discrete_name = None
    continuous_name = "x"

    @property
    def T(self) -> int:
        return self.y.shape[0]

    def with_data(self, y: np.ndarray) -> RangeTracking:
        _check_finite_data(y)
        return RangeTracking(self.beacon, self.q, self.sigma, self.m0, self.P0, np.asarray(y, dtype=float).ravel())

    def x(self, t: int) -> str:
        return f"x{t}"

    def initial(self) -> list:
        return [G.from_moments((), ((self.x(1), 2),), self.m0, self.P0)]

    def transition(self, t: int) -> list:
        return [G.linear_gaussian((self.x(t), 2), [(self.x(t - 1), 2)], np.eye(2), np.zeros(2), self.q * np.eye(2))]

    def log_lik(self, x: np.ndarray, r: float) -> np.ndarray:
        """log N(r; |x - beacon|, sigma²) for an (N, 2) array of positions."""
        d = np.linalg.norm(np.asarray(x) - self.beacon, axis=-1)
        return -0.5 * ((r - d) / self.sigma) ** 2 - 0.5 * np.log(2 * np.pi * self.sigma ** 2)

    def observation(self, t: int) -> list:
        r = float(self.y[t - 1])
        name = self.x(t)
        return [LogDensity(((name, 2),), lambda v, r=r, name=name: self.log_lik(v[name], r), label=f"range{t}")]

    def simulate(self, T: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = np.zeros((T, 2))
        x[0] = rng.multivariate_normal(self.m0, self.P0)
        for t in range(1, T):
            x[t] = x[t - 1] + np.sqrt(self.q) * rng.standard_normal(2)
        r = np.linalg.norm(x - self.beacon, axis=1) + self.sigma * rng.standard_normal(T)
        return x, r


def range_tracking() -> RangeTracking:
    """The single-beacon setting of notes §1.4d: beacon at the origin, start ~ N((3,0), I)."""
    return RangeTracking(np.zeros(2), 0.05, 0.2, np.array([3.0, 0.0]), np.eye(2))
