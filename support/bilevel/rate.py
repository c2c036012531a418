"""The O(1/sqrt(C_x* Q)) rate (arXiv 2512.24667, abstract / main theorem) measured on noisy quadratics.

M clients with stochastic oracles; dual-pruning masks are staggered rolling windows giving every coordinate
of x and y exactly C* covering clients. As in the theorem, the outer step grows like sqrt(C*): at the fixed Q
used here, alpha = alpha0 sqrt(C*/M) (alpha0 at full coverage). The stationarity measure is
(1/Q) sum_q |grad F(x_q)|^2 with the closed-form hypergradient; its log-log slope against C* should be -1/2.
Control (``coverage="full"``): every client holds the whole model whatever C*, and only the step follows
the C* rule; it isolates the step's share of the slope (the noise floor grows with the step, about +1/2).
The Q half (:func:`rate_vs_rounds`): at fixed C*, the usual horizon-scaled constant step
alpha = alpha0 sqrt(C*/M) sqrt(Q0/Q) (``q_ref`` = Q0), the log-log slope of the same measure against Q.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from support import fits
from support.bilevel.estimators import InnerConfig, make_estimator
from support.bilevel.quadratic import make_quadratic
from support.bilevel.rabo import RunConfig, run_rabo
from support.fl.masks import masks_with_coverage
from support.seeding import derive
from support.validate import ParameterError, check_int, check_range


@dataclass(frozen=True)
class RateConfig:
    """Sizes and step sizes of the rate experiment."""

    n_clients: int = 8
    nx: int = 16
    ny: int = 16
    rounds: int = 400
    noise: float = 1.0
    alpha0: float = 0.2  # outer step at full coverage; theorem rule: alpha0 * sqrt(C* / M) (Q fixed)
    inner_steps: int = 5
    inner_lr: float = 0.2
    solver_steps: int = 5
    solver_lr: float = 0.2
    estimator: str = "fd_hvp"
    step_rule: str = "theorem"  # "theorem": alpha0 sqrt(C*/M) (Q fixed); "fixed": alpha0 for every C*
    coverage: str = "c_star"  # "c_star": masks with coverage exactly C*; "full": all-ones masks (control)
    q_ref: int | None = None  # set: horizon-scaled step, times sqrt(q_ref / rounds) (the Q half of the rate)

    def __post_init__(self):
        if self.coverage not in ("c_star", "full"):
            raise ValueError(f"coverage must be 'c_star' or 'full'; got {self.coverage!r}")
        check_range(self.alpha0, "alpha0 (notebook parameter rate_alpha0)", low=0, low_open=True, error=ParameterError)
        if self.q_ref is not None:
            check_int(self.q_ref, "q_ref", minimum=1)

    def mask_coverage(self, c_star: int) -> int:
        """Clients per coordinate in the masks of a run labelled ``c_star`` (M for the full-coverage control)."""
        return c_star if self.coverage == "c_star" else self.n_clients

    def outer_lr(self, c_star: int) -> float:
        """The outer step of a run at ``c_star``: the C* rule, times sqrt(q_ref / rounds) when ``q_ref`` is set."""
        if self.step_rule == "theorem":
            a = self.alpha0 * np.sqrt(c_star / self.n_clients)
        elif self.step_rule == "fixed":
            a = self.alpha0
        else:
            raise ValueError(f"step_rule must be 'theorem' or 'fixed'; got {self.step_rule!r}")
        return a if self.q_ref is None else a * np.sqrt(self.q_ref / self.rounds)


def stationarity(problem, xs: Sequence[np.ndarray]) -> float:
    """(1/Q) sum_q |grad F(x_q)|^2 with the exact hypergradient."""
    return float(np.mean([np.sum(problem.hypergradient(x) ** 2) for x in xs]))


def rate_run(cfg: RateConfig, c_star: int, seed: int) -> float:
    """Averaged squared hypergradient norm of one run with minimum coverage ``c_star`` (its step follows
    ``c_star``; under the full-coverage control its masks are all ones)."""
    # the cached run is keyed on what it does (masks' coverage, step, noise stream), not on how its step was
    # chosen: the control at C* = M, the fixed-step run at C* = M (sqrt(M/M) = 1) and the horizon-scaled run at
    # Q = q_ref (sqrt(1) = 1) are each the main run at the same coverage, bit for bit, and computed once
    step = float(cfg.outer_lr(c_star))
    return _rate_run(replace(cfg, coverage="c_star", step_rule="fixed", alpha0=step, q_ref=None),
                     cfg.mask_coverage(c_star), c_star, seed)


@functools.lru_cache(maxsize=8192)
def _coverage_masks(n: int, n_clients: int, coverage: int, q: int) -> np.ndarray:
    """``masks_with_coverage`` of round q, made once (read-only) for every run, seed and of x and y alike:
    the rate runs repeat the same rounds' masks across their seeds and steps."""
    m = masks_with_coverage(n, n_clients, coverage, q)
    m.flags.writeable = False
    return m


@functools.lru_cache(maxsize=256)
def _rate_run(cfg: RateConfig, coverage: int, c_star: int, seed: int) -> float:
    """One run with masks of the given ``coverage`` and the step ``cfg.alpha0`` (``rate_run`` passes the step
    as a fixed one), cached: runs that differ only in how their step was chosen are computed once."""
    prob = make_quadratic(derive(seed, "problem"), cfg.n_clients, cfg.nx, cfg.ny, noise=cfg.noise)
    est = make_estimator(cfg.estimator, InnerConfig(cfg.inner_steps, cfg.inner_lr, cfg.solver_steps,
                                                    cfg.solver_lr, 1e-2))

    def schedule(q):
        return (_coverage_masks(cfg.nx, cfg.n_clients, coverage, q),
                _coverage_masks(cfg.ny, cfg.n_clients, coverage, q))

    res = run_rabo(prob, est, schedule, RunConfig(cfg.rounds, cfg.outer_lr(c_star), desc=f"C*={c_star}"),
                   derive(seed, "noise", c_star))
    return stationarity(prob, res.xs)


def rate_experiment(cfg: RateConfig, c_stars: Sequence[int] = (1, 2, 4, 8),
                    seeds: Sequence[int] = range(5)) -> pd.DataFrame:
    """One row per (C*, seed): the averaged squared hypergradient norm."""
    if any(c < 1 or c > cfg.n_clients for c in c_stars):
        raise ValueError(f"every C* must be in 1..{cfg.n_clients}; got {list(c_stars)}")
    rows = [{"c_star": c, "seed": s, "grad_sq": rate_run(cfg, c, s)} for c in c_stars for s in seeds]
    return pd.DataFrame(rows)


def rate_vs_rounds(cfg: RateConfig, rounds: Sequence[int], c_star: int = 1,
                   seeds: Sequence[int] = range(5)) -> pd.DataFrame:
    """The Q half of O(1/sqrt(C_x* Q)): one row per (Q, seed) at fixed ``c_star``, each run with the
    horizon-scaled constant step alpha0 sqrt(C*/M) sqrt(Q0/Q), Q0 = ``cfg.rounds`` (abstract, main theorem)."""
    if not 1 <= c_star <= cfg.n_clients:
        raise ValueError(f"C* must be in 1..{cfg.n_clients}; got {c_star}")
    Qs = [check_int(Q, "rounds", minimum=1) for Q in rounds]
    rows = [{"rounds": Q, "seed": s, "grad_sq": rate_run(replace(cfg, rounds=Q, q_ref=cfg.rounds), c_star, s)}
            for Q in Qs for s in seeds]
    return pd.DataFrame(rows)


def loglog_slope(df: pd.DataFrame, x: str = "c_star", y: str = "grad_sq") -> float:
    """Least-squares slope of log(mean over seeds of y) against log(x)."""
    m = df.groupby(x)[y].mean()
    return fits.loglog_slope(m.index, m.to_numpy())


def local_slopes(df: pd.DataFrame, x: str = "c_star", y: str = "grad_sq") -> np.ndarray:
    """Slopes between consecutive x values of log(mean over seeds of y) against log(x): how far the curve
    is from one power law."""
    m = df.groupby(x)[y].mean()
    return np.diff(np.log(m.to_numpy())) / np.diff(np.log(m.index.to_numpy(float)))


def seed_slopes(df: pd.DataFrame, x: str = "c_star") -> np.ndarray:
    """The slope of every seed separately (spread of the estimate)."""
    return np.array([loglog_slope(g, x) for _, g in df.groupby("seed")])
