"""RABO / RAFBO rounds: masked client oracles, pluggable hypergradient estimator, coverage-aware server step.

RABO (arXiv 2512.24667, Alg. 1, our reconstruction): every oracle call of the estimator is one aggregation
over covering clients, and the server steps x <- x - alpha h. RAFBO's federated reading (``local``): each
client runs the estimator and ``local_steps`` outer steps on its own submodel, then the server averages x, y
and the solver state over covering clients. ``run_unpruned`` is the plain algorithm without any masks,
written separately, so tests can check that all-ones masks reproduce it exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from support.bilevel.estimators import Estimator, fd_cross, fd_hvp
from support.bilevel.federation import Federation
from support.fl.masks import coverage, coverage_aggregate
from support.progress import progress
from support.validate import check_int
from support.xp import blas_threads

MaskSchedule = Callable[[int], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class RunConfig:
    """Outer loop: Q rounds with step alpha; ``local_steps`` > 0 selects the federated local-update variant."""

    rounds: int = 100
    outer_lr: float = 0.1
    local_steps: int = 0
    eval_every: int = 1
    desc: str = ""

    def __post_init__(self):
        for name in ("rounds", "eval_every", "local_steps"):
            check_int(getattr(self, name), name, minimum=0 if name == "local_steps" else 1)
        if not (math.isfinite(self.outer_lr) and self.outer_lr > 0):  # inf gave NaN iterates
            raise ValueError(f"outer_lr must be finite and > 0; got {self.outer_lr}")


@dataclass
class RunResult:
    """Iterates and per-round records of one run."""

    x: np.ndarray
    y: np.ndarray
    xs: list[np.ndarray] = field(default_factory=list)  # x after every round
    records: list[dict] = field(default_factory=list)  # metrics at evaluated rounds
    work: np.ndarray | None = None  # gradient-coordinate work per client, whole run
    min_coverage_x: int = 0  # smallest C_x* over the rounds
    min_coverage_y: int = 0


def _schedule_check(task, mx, my):
    M = task.n_clients
    if mx.shape != (M, task.nx) or my.shape != (M, task.ny):
        raise ValueError(f"mask schedule must give ({M}, {task.nx}) and ({M}, {task.ny}) masks; "
                         f"got {mx.shape} and {my.shape}")


def run_rabo(task, estimator: Estimator, schedule: MaskSchedule, cfg: RunConfig, rng: np.random.Generator,
             evaluate: Callable[[np.ndarray, np.ndarray], dict] | None = None,
             x0: np.ndarray | None = None) -> RunResult:
    """Q rounds of RABO (``cfg.local_steps == 0``) or of the local-update variant (``> 0``).

    ``schedule(q)`` gives the round's masks (M x nx, M x ny); ``task.clients(mx, my, rng)`` the client views,
    aggregated by ``task.federation(views, mx, my)`` where the task has one (same outputs), else by Federation;
    ``evaluate(x, y)`` a metrics dict recorded every ``eval_every`` rounds (and after the last).
    BLAS runs single-threaded: the client products are small, and threads only contend on a shared machine.
    """
    with blas_threads(1):
        return _run_rabo(task, estimator, schedule, cfg, rng, evaluate, x0)


def _run_rabo(task, estimator, schedule, cfg, rng, evaluate, x0) -> RunResult:
    x = task.x0() if x0 is None else np.asarray(x0, float).copy()
    state = estimator.init(task.y0())
    work = np.zeros(task.n_clients)
    res = RunResult(x, state["y"])
    cx, cy = [], []
    for q in progress(range(cfg.rounds), desc=cfg.desc or estimator.name, leave=False):
        mx, my = schedule(q)
        mx, my = np.asarray(mx, bool), np.asarray(my, bool)
        _schedule_check(task, mx, my)
        cx.append(int(coverage(mx).min()))
        cy.append(int(coverage(my).min()))
        views = task.clients(mx, my, rng)
        if cfg.local_steps == 0:
            fed = getattr(task, "federation", Federation)(views, mx, my)  # a task may stack its clients' calls
            h, state = estimator.step(fed, x, state, q)
            x = x - cfg.outer_lr * h
        else:
            xs, ss, seen = [], [], {}
            for i, view in enumerate(views):
                key = getattr(view, "share_key", None)  # equal keys and masks: the same local run (see Federation)
                key = None if key is None else (key, mx[i].tobytes(), my[i].tobytes())
                if key in seen:
                    xi, si, dw = seen[key]
                    view.work += dw
                else:
                    w0 = view.work
                    fed = Federation([view], mx[i:i + 1], my[i:i + 1])
                    xi, si = x.copy(), {k: v.copy() for k, v in state.items()}
                    for _ in range(cfg.local_steps):
                        h, si = estimator.step(fed, xi, si, q)
                        xi = xi - cfg.outer_lr * h * mx[i]
                    if key is not None:
                        seen[key] = xi, si, view.work - w0
                xs.append(xi)
                ss.append(si)
            x = coverage_aggregate(x, np.stack(xs), mx)
            state = {k: coverage_aggregate(state[k], np.stack([s[k] for s in ss]), my) for k in state}
        work += np.array([float(v.work) for v in views])
        res.xs.append(x.copy())
        if evaluate is not None and ((q + 1) % cfg.eval_every == 0 or q == cfg.rounds - 1):
            res.records.append({"round": q + 1, **evaluate(x, state["y"])})
    res.x, res.y, res.work = x, state["y"], work
    res.min_coverage_x, res.min_coverage_y = min(cx), min(cy)
    return res


def _client_mean(views) -> SimpleNamespace:
    """The round's first-order oracles averaged over the clients (what the unpruned server sees)."""
    def avg(name):
        return lambda *a: np.mean(np.stack([getattr(c, name)(*a) for c in views]), axis=0)
    return SimpleNamespace(**{n: avg(n) for n in ("grad_x_f", "grad_y_f", "grad_x_g", "grad_y_g")})


def run_unpruned(task, inner_steps: int, inner_lr: float, solver_steps: int, solver_lr: float, delta: float,
                 rounds: int, outer_lr: float, rng: np.random.Generator) -> list[np.ndarray]:
    """The unpruned distributed FD-HVP algorithm (plain means over clients, no masks); returns x per round."""
    x, y = task.x0(), task.y0()
    v = np.zeros_like(y)
    xs = []

    for _ in range(rounds):
        o = _client_mean(task.clients(None, None, rng))
        for _ in range(inner_steps):
            y = y - inner_lr * o.grad_y_g(x, y)
        gyf = o.grad_y_f(x, y)
        for _ in range(solver_steps):
            v = v - solver_lr * (fd_hvp(o, x, y, v, delta) - gyf)
        cross = fd_cross(o, x, y, v, delta)
        x = x - outer_lr * (o.grad_x_f(x, y) - cross)
        xs.append(x.copy())
    return xs


def full_schedule(task) -> MaskSchedule:
    """Every client holds the whole model (the unpruned upper bound)."""
    mx, my = np.ones((task.n_clients, task.nx), bool), np.ones((task.n_clients, task.ny), bool)
    return lambda q: (mx, my)
