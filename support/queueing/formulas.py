"""Formulas behind :mod:`support.queueing` (scalar or NumPy-array inputs)."""

from __future__ import annotations

import numpy as np


def _servers(c, what: str = "number of servers") -> np.ndarray:
    """``c`` as an integer array of server counts >= 1; a fractional, boolean or non-numeric count is an error (the
    int cast used to read c = 1.99 as one server)."""
    a = np.asarray(c)
    if a.dtype == bool or a.dtype.kind not in "iuf" or np.any(~np.isfinite(a)) or np.any(a != np.round(a)):
        raise ValueError(f"{what} must be whole numbers, got {c!r}")
    return a.astype(np.int64)


def _check(lam, mu, c=1):
    if np.any(_servers(c) < 1):
        raise ValueError(f"number of servers must be >= 1, got {c!r}")
    lam, mu = np.asarray(lam, float), np.asarray(mu, float)
    if not np.all(np.isfinite(lam)):
        raise ValueError(f"arrival rate must be finite, got {lam}")
    if not np.all(np.isfinite(mu)):
        raise ValueError(f"service rate must be finite, got {mu}")
    if np.any(lam < 0):
        raise ValueError(f"arrival rate must be >= 0, got {lam}")
    if np.any(mu <= 0):
        raise ValueError(f"service rate must be > 0, got {mu}")
    rho = lam / (c * mu)
    if np.any(rho >= 1):
        raise ValueError(f"unstable queue: load lam/(c*mu) = {np.max(rho):.4g} >= 1 (lam={lam}, mu={mu}, c={c})")
    return lam, mu, rho


def _out(x):
    x = np.asarray(x, float)
    return float(x) if x.ndim == 0 else x


def utilization(lam, mu, c: int = 1):
    """Server utilization rho = lam / (c mu) (must be < 1 for stability)."""
    return _out(_check(lam, mu, c)[2])


def mm1_sojourn(lam, mu):
    """Mean time in system of an M/M/1 queue: 1 / (mu - lam)."""
    lam, mu, _ = _check(lam, mu)
    return _out(1.0 / (mu - lam))


def mm1_wait(lam, mu):
    """Mean waiting time in queue of an M/M/1 queue: rho / (mu - lam)."""
    lam, mu, rho = _check(lam, mu)
    return _out(rho / (mu - lam))


def mm1_number(lam, mu):
    """Mean number in system of an M/M/1 queue: rho / (1 - rho)."""
    _, _, rho = _check(lam, mu)
    return _out(rho / (1 - rho))


def mm1_sojourn_quantile(lam, mu, q: float):
    """q-quantile of the M/M/1 sojourn time (exponential with rate mu - lam)."""
    lam, mu, _ = _check(lam, mu)
    if not 0 < q < 1:
        raise ValueError(f"quantile must be in (0, 1), got {q}")
    return _out(-np.log1p(-q) / (mu - lam))


def erlang_b(c: int, a: float) -> float:
    """Erlang-B blocking probability for c servers and offered load a = lam/mu (stable recursion)."""
    if isinstance(c, bool) or _servers(c).ndim or int(c) < 1:
        raise ValueError(f"number of servers must be a positive integer, got {c!r}")
    if not (np.isfinite(a) and a >= 0):
        raise ValueError(f"offered load a = lam/mu must be finite and >= 0, got {a}")
    b = 1.0
    for k in range(1, int(c) + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, lam: float, mu: float) -> float:
    """Probability that an arrival waits in an M/M/c queue (Erlang C)."""
    _, _, rho = _check(lam, mu, c)
    a = lam / mu
    b = erlang_b(c, a)
    return float(b / (1 - rho * (1 - b)))


def erlang_c_array(c, lam, mu: float) -> np.ndarray:
    """Erlang-C waiting probability for arrays of server counts ``c`` and loads ``lam``: the vectorised
    :func:`erlang_c`, returning nan (not raising) where a queue is unstable or has no server."""
    c = _servers(c, "server counts")
    lam = np.asarray(lam, float)
    c, lam = np.broadcast_arrays(c, lam)
    if not (np.isfinite(mu) and mu > 0):
        raise ValueError(f"service rate mu must be finite and > 0, got {mu}")
    if np.any(np.isnan(lam)) or np.any(lam < 0) or np.any(c < 0):
        raise ValueError("loads must be >= 0 (not nan) and server counts >= 0")
    a = lam / mu
    b = np.ones(c.shape)
    cmax = int(c.max()) if c.size else 0
    for k in range(1, cmax + 1):  # Erlang-B recursion B(k) = a B(k-1) / (k + a B(k-1)), stopped at k = c
        upd = k <= c
        b = np.where(upd, a * b / (k + a * b), b)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(c > 0, lam / (np.maximum(c, 1) * mu), np.inf)
        out = b / (1 - rho * (1 - b))
    return np.where((rho < 1) & (c > 0), out, np.nan)


def mm1_sojourn_array(lam, mu) -> np.ndarray:
    """Mean time in system 1/(mu - lam) of M/M/1 queues over broadcast arrays: the vectorised
    :func:`mm1_sojourn`, returning inf (not raising) where a queue is unstable (lam/mu >= 1, lam = inf too)."""
    lam, mu = np.broadcast_arrays(np.asarray(lam, float), np.asarray(mu, float))
    if np.any(np.isnan(lam)) or np.any(lam < 0):
        raise ValueError(f"arrival rates must be >= 0 (inf counts as unstable), got {lam}")
    if not np.all(np.isfinite(mu)) or np.any(mu <= 0):
        raise ValueError(f"service rates must be finite and > 0, got {mu}")
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = lam / mu
        t = 1.0 / (mu - lam)
    return np.where(rho < 1, t, np.inf)


def mmc_sojourn_array(c, lam, mu: float) -> np.ndarray:
    """Mean time in system C(c, a)/(c mu - lam) + 1/mu of M/M/c queues over arrays of server counts and loads:
    the vectorised :func:`mmc_sojourn`, returning inf (not raising) where a queue is unstable or has no server."""
    c = _servers(c, "server counts")
    lam = np.asarray(lam, float)
    pc = erlang_c_array(c, lam, mu)  # validates; nan where c mu <= lam or c = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        w = pc / (c * mu - lam) + 1.0 / mu
    return np.where(np.isnan(pc), np.inf, w)


def mmc_wait(c: int, lam: float, mu: float) -> float:
    """Mean waiting time in queue of an M/M/c queue: C(c, a) / (c mu - lam)."""
    return erlang_c(c, lam, mu) / (c * mu - lam)


def mmc_sojourn(c: int, lam: float, mu: float) -> float:
    """Mean time in system of an M/M/c queue: W_q + 1/mu."""
    return mmc_wait(c, lam, mu) + 1.0 / mu


def mg1_wait(lam, mean_s, scv):
    """Mean wait of an M/G/1 queue (Pollaczek-Khinchine): rho E[S] (1 + scv) / (2 (1 - rho)).

    ``scv`` is the squared coefficient of variation of service time (1 = exponential, 0 = deterministic).
    """
    mean_s = np.asarray(mean_s, float)
    if not np.all(np.isfinite(mean_s)) or np.any(mean_s <= 0):
        raise ValueError(f"mean service time must be finite and > 0, got {mean_s}")
    lam, _, rho = _check(lam, 1.0 / mean_s)
    if not np.all(np.isfinite(scv)) or np.any(np.asarray(scv) < 0):
        raise ValueError(f"squared coefficient of variation must be finite and >= 0, got {scv}")
    return _out(rho * np.asarray(mean_s) * (1 + np.asarray(scv)) / (2 * (1 - rho)))


def mg1_sojourn(lam, mean_s, scv):
    """Mean time in system of an M/G/1 queue: P-K wait + E[S]."""
    return _out(mg1_wait(lam, mean_s, scv) + np.asarray(mean_s, float))


def little_L(lam, W):
    """Little's law: mean number in system L = lam W."""
    lam, W = np.asarray(lam, float), np.asarray(W, float)
    if not (np.all(np.isfinite(lam)) and np.all(np.isfinite(W))) or np.any(lam < 0) or np.any(W < 0):
        raise ValueError(f"Little's law L = lam W needs finite lam >= 0 and W >= 0, got lam={lam}, W={W}")
    return _out(lam * W)


def little_W(L, lam):
    """Little's law solved for the mean time in system: W = L / lam."""
    lam, L = np.asarray(lam, float), np.asarray(L, float)
    if not (np.all(np.isfinite(lam)) and np.all(np.isfinite(L))) or np.any(lam <= 0) or np.any(L < 0):
        raise ValueError(f"Little's law W = L/lam needs finite lam > 0 and L >= 0, got L={L}, lam={lam}")
    return _out(L / lam)
