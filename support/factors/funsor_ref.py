"""The peer: funsor (pyro-ppl/funsor, numpy backend) on the same SLDS, built independently of our
algebra from the model matrices (notes §2 "funsor"). Eager = exact enumeration of the mode history;
moment_matching = funsor's SLDS example filter (collapse over the previous mode each step, i.e. GPB2).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from support.factors.models import SLDS


def _funsor():
    try:
        import funsor
    except ModuleNotFoundError:
        raise RuntimeError("the funsor comparison needs funsor: pip install funsor") from None
    funsor.set_backend("numpy")
    return funsor


@dataclass(frozen=True)
class FunsorResult:
    log_z: float
    mode_posterior: np.ndarray
    mean: np.ndarray
    cov: np.ndarray


def _pair_prec_sqrt(A: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Square root of the (singular) precision of (u, v) for v = A u + noise(Q): ``[-AᵀL; L]``, LLᵀ = Q⁻¹."""
    L = np.linalg.cholesky(np.linalg.inv(Q))
    return np.concatenate([-np.swapaxes(A, -1, -2) @ L, L], axis=-2)


def _logdet2pi(S: np.ndarray) -> np.ndarray:
    return np.linalg.slogdet(2 * np.pi * S)[1]


def slds_filter(model: SLDS, interpretation: str = "eager") -> FunsorResult:
    """log p(y), P(s_T | y), E/Cov[x_T | y] with funsor.

    ``interpretation``: 'eager' (exact), 'moment_matching' (GPB2, funsor's SLDS example) or 'gpb1'
    (after each update: exact mode marginal times the moment-matched Gaussian over x_t).
    """
    _funsor()
    from funsor import ops
    from funsor.domains import Bint, Reals
    from funsor.gaussian import Gaussian
    from funsor.interpretations import moment_matching
    from funsor.tensor import Tensor

    if interpretation not in ("eager", "moment_matching", "gpb1"):
        raise ValueError(f"interpretation must be 'eager', 'moment_matching' or 'gpb1', got {interpretation!r}")
    K, dx, dy, T = model.K, model.dx, model.dy, model.T
    Strans = _pair_prec_sqrt(model.A, model.Q)
    Sobs = _pair_prec_sqrt(model.H, model.R)

    def step_factors(t: int):
        s_prev, s_cur = f"s{t - 1}", f"s{t}"
        x_prev, x_cur, y_cur = f"x{t - 1}", f"x{t}", f"y{t}"
        fs = []
        if t > 1:
            fs.append(Tensor(np.log(model.trans), OrderedDict([(s_prev, Bint[K]), (s_cur, Bint[K])])))
            fs.append(Gaussian(white_vec=np.zeros((K, dx)), prec_sqrt=Strans,
                               inputs=OrderedDict([(s_cur, Bint[K]), (x_prev, Reals[dx]), (x_cur, Reals[dx])])))
            fs.append(Tensor(-0.5 * _logdet2pi(model.Q), OrderedDict([(s_cur, Bint[K])])))
        obs = Gaussian(white_vec=np.zeros((K, dy)), prec_sqrt=Sobs,
                       inputs=OrderedDict([(s_cur, Bint[K]), (x_cur, Reals[dx]), (y_cur, Reals[dy])]))
        fs.append(obs(**{y_cur: Tensor(model.y[t - 1])}))
        fs.append(Tensor(-0.5 * _logdet2pi(model.R), OrderedDict([(s_cur, Bint[K])])))
        return fs

    def run():
        lp = Tensor(np.log(model.pi), OrderedDict([("s1", Bint[K])]))
        lp = lp + Gaussian(mean=np.asarray(model.m0, float), covariance=np.asarray(model.P0, float),
                           inputs=OrderedDict([("x1", Reals[dx])]))
        lp = lp + Tensor(np.array(-0.5 * _logdet2pi(model.P0)))
        for t in range(1, T + 1):
            for f in step_factors(t):
                lp = lp + f
            if t > 1:
                drop = {f"x{t - 1}"} | ({f"s{t - 1}"} if interpretation != "eager" else set())
                lp = lp.reduce(ops.logaddexp, frozenset(drop))
            if interpretation == "gpb1" and t < T:  # p(s_t) x one moment-matched Gaussian over x_t
                ms = lp.reduce(ops.logaddexp, f"x{t}")
                g = lp.reduce(ops.logaddexp, f"s{t}")
                lp = ms + g - g.reduce(ops.logaddexp, f"x{t}")
        return lp

    if interpretation != "eager":
        with moment_matching:
            lp = run()
    else:
        lp = run()
    sT, xT = f"s{T}", f"x{T}"
    log_z = float(np.asarray(lp.reduce(ops.logaddexp).data))
    modes = lp.reduce(ops.logaddexp, frozenset(v for v in lp.inputs if v != sT))
    mode_post = np.exp(np.asarray(modes.align((sT,)).data) - log_z)
    with moment_matching:
        g = lp.reduce(ops.logaddexp, frozenset(v for v in lp.inputs if v != xT))
    gauss = next(t for t in _terms(g) if isinstance(t, Gaussian))
    prec = np.asarray(gauss._precision)
    info = np.asarray(gauss._info_vec)
    cov = np.linalg.inv(prec)
    return FunsorResult(log_z, mode_post, cov @ info, cov)


def _terms(f):
    from funsor.cnf import Contraction

    if isinstance(f, Contraction):
        return list(f.terms)
    return [f]
