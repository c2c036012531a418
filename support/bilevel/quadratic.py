"""Quadratic bilevel problems with a closed-form hypergradient (exact oracle; benchopt ``datasets/quadratic.py`` form).

Client i: g_i(x, y) = 1/2 y'A_i y + x'C_i y + b_i'y,  f_i(x, y) = 1/2 y'F_i y + 1/2 x'G_i x + x'E_i y + c_i'y + d_i'x.
With A = mean A_i (positive definite): y*(x) = -A^{-1}(b + C'x) and the hypergradient
grad F(x) = grad_x f(x, y*) - C A^{-1} grad_y f(x, y*)  (implicit function theorem).
Stochastic oracles add zero-mean noise to the linear terms b_i, c_i, d_i once per round (a "minibatch"), so
the two evaluations of a finite difference see the same sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from support.bilevel.federation import Federation, client_masks
from support.fl.masks import coverage_average


def _spd(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return (Q * rng.uniform(lo, hi, n)) @ Q.T


@dataclass
class QuadraticClient:
    """One client's (possibly noisy) quadratic oracles on its submodel for one round."""

    A: np.ndarray
    C: np.ndarray
    b: np.ndarray
    F: np.ndarray
    G: np.ndarray
    E: np.ndarray
    c: np.ndarray
    d: np.ndarray
    mx: np.ndarray
    my: np.ndarray
    prune_inputs: bool = False  # evaluate at (x * m_x, y * m_y) (parameter pruning) or only mask outputs
    work: float = 0.0

    def __post_init__(self):
        self._nx, self._ny = self.mx.sum(), self.my.sum()  # work per x- / y-oracle call (the masks are fixed)

    def _in(self, x, y):
        return (x * self.mx, y * self.my) if self.prune_inputs else (x, y)

    def grad_y_g(self, x, y):
        x, y = self._in(x, y)
        self.work += self._ny
        return (self.A @ y + self.C.T @ x + self.b) * self.my

    def grad_x_g(self, x, y):
        x, y = self._in(x, y)
        self.work += self._nx
        return (self.C @ y) * self.mx

    def grad_y_f(self, x, y):
        x, y = self._in(x, y)
        self.work += self._ny
        return (self.F @ y + self.E.T @ x + self.c) * self.my

    def grad_x_f(self, x, y):
        x, y = self._in(x, y)
        self.work += self._nx
        return (self.G @ x + self.E @ y + self.d) * self.mx

    def hvp(self, x, y, v):
        self.work += self._ny
        return (self.A @ (v * self.my if self.prune_inputs else v)) * self.my

    def cross(self, x, y, v):
        self.work += self._nx
        return (self.C @ (v * self.my if self.prune_inputs else v)) * self.mx


class StackedQuadraticFederation(Federation):
    """:class:`~support.bilevel.federation.Federation` over quadratic clients at unpruned inputs, every client's
    product in one stacked call (the same BLAS product each, bit for bit): same outputs, call count and work."""

    def __init__(self, clients: Sequence[QuadraticClient], mask_x: np.ndarray, mask_y: np.ndarray):
        super().__init__(clients, mask_x, mask_y)
        if any(c.prune_inputs for c in self.clients):
            raise ValueError("stacked quadratic oracles need clients with prune_inputs=False")
        cs = self.clients
        self.A, self.C, self.F, self.G, self.E = (np.stack([getattr(c, k) for c in cs]) for k in "ACFGE")
        self.b, self.c, self.d = (np.stack([getattr(c, k) for c in cs]) for k in "bcd")
        self.mx, self.my = np.stack([c.mx for c in cs]), np.stack([c.my for c in cs])  # float 0/1 output masks
        self.Ct, self.Et = self.C.transpose(0, 2, 1), self.E.transpose(0, 2, 1)

    def _out(self, vals: np.ndarray, masks: np.ndarray, per_client: str) -> np.ndarray:
        self.calls += 1
        for c in self.clients:
            c.work += getattr(c, per_client)  # what the client's own oracle call charges
        return coverage_average(vals, masks)

    def grad_y_g(self, x, y):
        return self._out((self.A @ y + self.Ct @ x + self.b) * self.my, self.mask_y, "_ny")

    def grad_x_g(self, x, y):
        return self._out((self.C @ y) * self.mx, self.mask_x, "_nx")

    def grad_y_f(self, x, y):
        return self._out((self.F @ y + self.Et @ x + self.c) * self.my, self.mask_y, "_ny")

    def grad_x_f(self, x, y):
        return self._out((self.G @ x + self.E @ y + self.d) * self.mx, self.mask_x, "_nx")

    def hvp(self, x, y, v):
        return self._out((self.A @ v) * self.my, self.mask_y, "_ny")

    def cross(self, x, y, v):
        return self._out((self.C @ v) * self.mx, self.mask_x, "_nx")


@dataclass
class QuadraticBilevel:
    """M heterogeneous quadratic clients; exact y*(x), F(x) and grad F(x) of the averaged problem."""

    A: np.ndarray  # (M, ny, ny)
    C: np.ndarray  # (M, nx, ny)
    b: np.ndarray  # (M, ny)
    F: np.ndarray  # (M, ny, ny)
    G: np.ndarray  # (M, nx, nx)
    E: np.ndarray  # (M, nx, ny)
    c: np.ndarray  # (M, ny)
    d: np.ndarray  # (M, nx)
    noise: float = 0.0  # std of the per-round noise on b_i, c_i, d_i
    prune_inputs: bool = False
    name: str = "quadratic"
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if not (np.isfinite(self.noise) and self.noise >= 0):  # a negative or NaN std used to mean "no noise"
            raise ValueError(f"oracle noise must be a finite std >= 0; got {self.noise}")

    @property
    def n_clients(self) -> int:
        return self.A.shape[0]

    @property
    def nx(self) -> int:
        return self.C.shape[1]

    @property
    def ny(self) -> int:
        return self.A.shape[1]

    def x0(self) -> np.ndarray:
        return np.zeros(self.nx)

    def y0(self) -> np.ndarray:
        return np.zeros(self.ny)

    def clients(self, mask_x: np.ndarray | None, mask_y: np.ndarray | None,
                rng: np.random.Generator | None = None) -> list[QuadraticClient]:
        """Client views for one round; ``None`` masks mean the full model. Draws the round's noise from rng."""
        M = self.n_clients
        mx, my = client_masks(M, self.nx, self.ny, mask_x, mask_y)
        out = []
        for i in range(M):
            b, c, d = self.b[i], self.c[i], self.d[i]
            if self.noise > 0:
                if rng is None:
                    raise ValueError("a noisy quadratic needs an rng to draw the round's sample")
                b = b + self.noise * rng.normal(size=self.ny)
                c = c + self.noise * rng.normal(size=self.ny)
                d = d + self.noise * rng.normal(size=self.nx)
            out.append(QuadraticClient(self.A[i], self.C[i], b, self.F[i], self.G[i], self.E[i], c, d,
                                       mx[i].astype(float), my[i].astype(float), self.prune_inputs))
        return out

    def federation(self, clients: Sequence[QuadraticClient], mask_x: np.ndarray, mask_y: np.ndarray):
        """The round's aggregated oracle (what :func:`~support.bilevel.rabo.run_rabo` uses): stacked over the
        clients when they evaluate at unpruned inputs, else the per-client :class:`Federation`; same outputs."""
        if self.prune_inputs:
            return Federation(clients, mask_x, mask_y)
        return StackedQuadraticFederation(clients, mask_x, mask_y)

    # ---- exact quantities of the averaged (noise-free, unpruned) problem ----
    def _mean(self, name):
        if name not in self._cache:
            self._cache[name] = getattr(self, name).mean(axis=0)
        return self._cache[name]

    def y_star(self, x: np.ndarray) -> np.ndarray:
        A, C, b = self._mean("A"), self._mean("C"), self._mean("b")
        return -np.linalg.solve(A, b + C.T @ x)

    def value(self, x: np.ndarray) -> float:
        """F(x) = f(x, y*(x))."""
        y = self.y_star(x)
        F, G, E, c, d = (self._mean(k) for k in "FGEcd")
        return float(0.5 * y @ F @ y + 0.5 * x @ G @ x + x @ E @ y + c @ y + d @ x)

    def hypergradient(self, x: np.ndarray) -> np.ndarray:
        """Closed form grad F(x) = grad_x f - C A^{-1} grad_y f at y*(x)."""
        y = self.y_star(x)
        A, C, F, G, E, c, d = (self._mean(k) for k in "ACFGEcd")
        gx = G @ x + E @ y + d
        gy = F @ y + E.T @ x + c
        return gx - C @ np.linalg.solve(A, gy)

    def x_star(self) -> np.ndarray:
        """The outer minimizer (F is a convex quadratic in x when its Hessian is positive definite)."""
        H = self.outer_hessian()
        return -np.linalg.solve(H, self.hypergradient(np.zeros(self.nx)))

    def outer_hessian(self) -> np.ndarray:
        A, C, F, G, E = (self._mean(k) for k in "ACFGE")
        J = -np.linalg.solve(A, C.T)  # dy*/dx (ny x nx)
        return G + E @ J + J.T @ E.T + J.T @ F @ J


def make_quadratic(rng: np.random.Generator, n_clients: int = 4, nx: int = 8, ny: int = 8, mu_g: float = 1.0,
                   L_g: float = 4.0, coupling: float = 0.5, hetero: float = 0.3, noise: float = 0.0,
                   prune_inputs: bool = False) -> QuadraticBilevel:
    """Random heterogeneous clients around a common problem; g strongly convex in y (eigenvalues in [mu_g, L_g]).

    ``hetero`` scales the client-specific perturbations; the outer problem is made strongly convex in x.
    """
    if n_clients < 1 or nx < 1 or ny < 1:
        raise ValueError(f"need n_clients, nx, ny >= 1; got {n_clients}, {nx}, {ny}")
    if not 0 < mu_g <= L_g:
        raise ValueError(f"need 0 < mu_g <= L_g; got {mu_g}, {L_g}")
    A0 = _spd(rng, ny, mu_g, L_g)
    A = np.stack([A0 + hetero * _spd(rng, ny, 0.0, mu_g) for _ in range(n_clients)])
    C = coupling * (rng.normal(size=(1, nx, ny)) + hetero * rng.normal(size=(n_clients, nx, ny))) / np.sqrt(ny)
    b = rng.normal(size=(n_clients, ny))
    F = np.stack([_spd(rng, ny, 0.5, 2.0) for _ in range(n_clients)])
    G = np.stack([_spd(rng, nx, 0.5, 2.0) for _ in range(n_clients)])
    E = 0.3 * rng.normal(size=(n_clients, nx, ny)) / np.sqrt(ny)
    c = rng.normal(size=(n_clients, ny))
    d = rng.normal(size=(n_clients, nx))
    return QuadraticBilevel(A, C, b, F, G, E, c, d, noise=noise, prune_inputs=prune_inputs)
