"""Hypergradient estimators (pluggable): finite-difference HVP (RABO), exact HVP (FedNest) and F2SA penalty.

All work against an oracle with ``grad_{x,y}_{f,g}`` (a :class:`~support.bilevel.federation.Federation` or one
client). One call of :meth:`Estimator.step` is one outer round: T inner steps on y, then the estimator's
own work, and returns the hypergradient estimate h (arXiv 2512.24667, Sec. 4; F2SA: Kwon et al. ICML'23).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from support.validate import ParameterError, check_int, check_range


def fd_hvp(o, x: np.ndarray, y: np.ndarray, v: np.ndarray, delta: float) -> np.ndarray:
    """d^2_yy g v by a central difference of first-order oracles: [grad_y g(y + e u) - grad_y g(y - e u)] / 2e.

    u = v / |v| and e = ``delta`` (an absolute step), scaled back by |v|; exact for quadratics.
    """
    nv = float(np.linalg.norm(v))
    if nv == 0.0:
        return np.zeros_like(y)
    u = v / nv
    return (o.grad_y_g(x, y + delta * u) - o.grad_y_g(x, y - delta * u)) * (nv / (2.0 * delta))


def fd_cross(o, x: np.ndarray, y: np.ndarray, v: np.ndarray, delta: float) -> np.ndarray:
    """d^2_xy g v by a central difference of grad_x g along v (first-order oracles only)."""
    nv = float(np.linalg.norm(v))
    if nv == 0.0:
        return np.zeros_like(x)
    u = v / nv
    return (o.grad_x_g(x, y + delta * u) - o.grad_x_g(x, y - delta * u)) * (nv / (2.0 * delta))


def cg_solve(matvec, rhs: np.ndarray, x0: np.ndarray | None = None, tol: float = 1e-12,
             max_iter: int = 500) -> np.ndarray:
    """Conjugate gradient for H v = rhs with H symmetric positive definite given as a matvec."""
    v = np.zeros_like(rhs) if x0 is None else x0.copy()
    r = rhs - matvec(v)
    p = r.copy()
    rr = float(r @ r)
    stop = tol * max(float(np.linalg.norm(rhs)), 1e-300)
    for _ in range(max_iter):
        if np.sqrt(rr) <= stop:
            break
        Hp = matvec(p)
        pHp = float(p @ Hp)
        if pHp <= 0:
            raise ValueError("cg_solve: the operator is not positive definite along a search direction")
        a = rr / pHp
        v += a * p
        r -= a * Hp
        rr_new = float(r @ r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    return v


@dataclass(frozen=True)
class InnerConfig:
    """Per-round work shared by the estimators: T inner steps (lr beta), K solver steps (lr gamma)."""

    inner_steps: int = 10
    inner_lr: float = 0.1
    solver_steps: int = 10
    solver_lr: float = 0.1
    delta: float = 1e-3  # finite-difference step

    def __post_init__(self):
        # ParameterError (a ValueError) naming the field: a step count of 2.5 or an infinite FD step (which
        # silently makes every FD product 0) is refused here rather than failing or misleading later. 0 steps
        # is kept: T = 0 holds y, K = 0 keeps v = 0 (h = the direct term grad_x f), an ablation the tests use;
        # the notebook requires >= 1 (experiments.check_parameters): hyper-cleaning has grad_x f = 0
        for name in ("inner_steps", "solver_steps"):
            check_int(getattr(self, name), name, minimum=0, error=ParameterError)
        for name in ("inner_lr", "solver_lr", "delta"):
            check_range(getattr(self, name), name, low=0, low_open=True, error=ParameterError)


class Estimator:
    """Base: ``init(y0)`` makes the state; ``step(o, x, state, q)`` runs one round and returns (h, state)."""

    name = "base"
    second_order = False

    def __init__(self, cfg: InnerConfig):
        self.cfg = cfg

    def init(self, y0: np.ndarray) -> dict:
        return {"y": y0.copy(), "v": np.zeros_like(y0)}

    def inner(self, o, x, y):
        for _ in range(self.cfg.inner_steps):
            y = y - self.cfg.inner_lr * o.grad_y_g(x, y)
        return y

    def step(self, o, x: np.ndarray, state: dict, q: int) -> tuple[np.ndarray, dict]:
        raise NotImplementedError


class FDHVP(Estimator):
    """RABO's second-order-free estimator: K gradient steps on 1/2 v'Hv - v'grad_y f with FD Hessian products,
    then h = grad_x f - FD(grad_x g) along v. Warm-started y and v."""

    name = "fd_hvp"

    def _hv(self, o, x, y, v):
        return fd_hvp(o, x, y, v, self.cfg.delta)

    def _cross(self, o, x, y, v):
        return fd_cross(o, x, y, v, self.cfg.delta)

    def step(self, o, x, state, q):
        y = self.inner(o, x, state["y"])
        gyf = o.grad_y_f(x, y)
        v = state["v"]
        for _ in range(self.cfg.solver_steps):
            v = v - self.cfg.solver_lr * (self._hv(o, x, y, v) - gyf)
        h = o.grad_x_f(x, y) - self._cross(o, x, y, v)
        return h, {**state, "y": y, "v": v}


class ExactHVP(FDHVP):
    """FedNest-style baseline: the same solver with exact second-order oracles (Hessian/Jacobian products)."""

    name = "exact_hvp"
    second_order = True

    def _hv(self, o, x, y, v):
        return o.hvp(x, y, v)

    def _cross(self, o, x, y, v):
        return o.cross(x, y, v)


class F2SA(Estimator):
    """Fully first-order penalty estimator: z tracks argmin g, w tracks argmin f/lam + g, and
    h = grad_x f(x, w) + lam (grad_x g(x, w) - grad_x g(x, z)), lam = min(lam0 + growth q, lam_max)."""

    name = "f2sa"

    def __init__(self, cfg: InnerConfig, lam0: float = 1.0, growth: float = 0.1, lam_max: float = 100.0):
        super().__init__(cfg)
        if not (lam0 > 0 and growth >= 0 and lam_max >= lam0):
            raise ValueError(f"F2SA needs lam0 > 0, growth >= 0, lam_max >= lam0; got {lam0}, {growth}, {lam_max}")
        self.lam0, self.growth, self.lam_max = lam0, growth, lam_max

    def init(self, y0):
        return {"y": y0.copy(), "w": y0.copy()}

    def lam(self, q: int) -> float:
        return min(self.lam0 + self.growth * q, self.lam_max)

    def step(self, o, x, state, q):
        lam = self.lam(q)
        y, w = state["y"], state["w"]
        for _ in range(self.cfg.inner_steps):
            y = y - self.cfg.inner_lr * o.grad_y_g(x, y)
            w = w - self.cfg.inner_lr * (o.grad_y_f(x, w) / lam + o.grad_y_g(x, w))
        h = o.grad_x_f(x, w) + lam * (o.grad_x_g(x, w) - o.grad_x_g(x, y))
        return h, {**state, "y": y, "w": w}


ESTIMATORS = {"fd_hvp": FDHVP, "exact_hvp": ExactHVP, "f2sa": F2SA}


def make_estimator(name: str, cfg: InnerConfig, **kw) -> Estimator:
    """``fd_hvp`` (RABO), ``exact_hvp`` (FedNest-style) or ``f2sa`` (penalty reading of RAFBO)."""
    if name not in ESTIMATORS:
        raise ValueError(f"unknown estimator {name!r}; expected one of {', '.join(ESTIMATORS)}")
    return ESTIMATORS[name](cfg, **kw)
