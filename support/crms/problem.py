"""The CRMS MINLP: apps, server, allocation, objective and a feasibility diagnosis.

App i receives Poisson requests at rate ``lam_i`` (req/s), runs ``n_i`` identical containers with
``c_i`` CPUs and ``m_i`` GB each, and splits its load evenly: each container is an M/M/1 queue with
arrival rate ``lam_i/n_i`` and mean service time ``d_i(c_i, m_i)`` (the fitted latency model). The
server has ``cpu`` CPUs and ``mem`` GB and draws modeled power
``P = p_idle + (p_max - p_idle) * sum(n c)/cpu + beta_mem * sum(n m)``.

Objective: ``w_lat * (mean sojourn over all requests, s) + w_pow * P (W)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from support.crms.latency_model import MonotoneLatency
from support.opt import InfeasibleError, bisect_boundary
from support.power import LinearPowerModel
from support.queueing import mm1_sojourn_array
from support.validate import check_range


@dataclass(frozen=True)
class App:
    name: str
    model: MonotoneLatency
    lam: float  # req/s


@dataclass(frozen=True)
class Server:
    cpu: float = 8.0  # CPUs
    mem: float = 4.0  # GB
    c_min: float = 0.15  # CPUs per container
    c_max: float = 1.0
    m_min: float = 0.125  # GB per container
    m_max: float = 0.5
    n_max: int = 8  # containers per app
    p_idle: float = 30.0  # W
    p_max: float = 90.0  # W
    beta_mem: float = 0.5  # W per GB allocated

    def __post_init__(self):
        if not (0 < self.c_min <= self.c_max) or not (0 < self.m_min <= self.m_max):
            raise ValueError(f"need 0 < c_min <= c_max and 0 < m_min <= m_max, got {self}")
        if self.cpu <= 0 or self.mem <= 0 or self.n_max < 1:
            raise ValueError("server cpu, mem must be > 0 and n_max >= 1")

    @property
    def power_model(self) -> LinearPowerModel:
        return LinearPowerModel(self.p_idle, self.p_max, self.cpu, self.beta_mem)


DEFAULT_W_POW = 0.002  # weight of power (per W): 1 W is worth 2 ms of mean latency


@dataclass(frozen=True)
class Problem:
    apps: tuple[App, ...]
    server: Server = field(default_factory=Server)
    w_lat: float = 1.0  # weight of mean latency (per s)
    w_pow: float = DEFAULT_W_POW
    stability_margin: float = 1e-3  # require lam d / n <= 1 - margin

    def __post_init__(self):
        check_range(self.w_lat, "w_lat", low=0.0)  # a negative weight would reward latency or power
        check_range(self.w_pow, "w_pow", low=0.0)
        check_range(self.stability_margin, "stability_margin", low=0.0, high=1.0, high_open=True)
        if not self.apps:
            raise ValueError("a problem needs at least one app")
        for a in self.apps:
            if not (np.isfinite(a.lam) and a.lam > 0):
                raise ValueError(f"app {a.name!r}: arrival rate must be > 0, got {a.lam}")

    @property
    def N(self) -> int:
        return len(self.apps)

    @property
    def lam(self) -> np.ndarray:
        return np.array([a.lam for a in self.apps])

    def stable(self, rho):
        """The one stability rule (boundary included): per-container load rho = lam d / n <= 1 - margin.

        :func:`evaluate` (so every method is scored by it), the heuristics, CRMS's move screening and the grid DP call
        it; stage 1, SCIP and diagnose write the same <=."""
        return np.asarray(rho) <= 1 - self.stability_margin

    def per_app(self, x, name: str) -> np.ndarray:
        """``x`` as one float per app; a length other than N is an error (zip would drop apps, NumPy would
        broadcast one app's value to all)."""
        a = np.asarray(x, float)
        if a.shape != (self.N,):
            raise ValueError(f"{name} needs one value per app ({self.N}); got shape {a.shape}")
        return a

    def with_rates(self, lam) -> Problem:
        lam = self.per_app(lam, "lam")
        return replace(self, apps=tuple(replace(a, lam=float(x)) for a, x in zip(self.apps, lam)))

    def d(self, c, m) -> np.ndarray:
        c, m = self.per_app(c, "c"), self.per_app(m, "m")
        return np.array([a.model(ci, mi) for a, ci, mi in zip(self.apps, c, m)], float)


@dataclass
class Allocation:
    """n (containers), c (CPUs/container), m (GB/container) per app, with its evaluation."""

    n: np.ndarray
    c: np.ndarray
    m: np.ndarray
    latency: float = np.nan  # mean sojourn over all requests, s
    power: float = np.nan  # W
    objective: float = np.nan
    per_app_latency: np.ndarray | None = None
    utilization: np.ndarray | None = None
    method: str = ""
    seconds: float = 0.0
    info: dict = field(default_factory=dict)

    @property
    def cpu_used(self) -> float:
        return float(np.sum(self.n * self.c))

    @property
    def mem_used(self) -> float:
        return float(np.sum(self.n * self.m))


def evaluate(p: Problem, n, c, m, method: str = "", seconds: float = 0.0, strict: bool = False) -> Allocation:
    """Objective of an allocation. Unstable (by :meth:`Problem.stable`, the margin included) or over-capacity
    allocations get ``inf`` latency/objective (or raise :class:`InfeasibleError` with ``strict``, which also refuses
    counts, CPUs or memory outside the server's per-container bounds with a ValueError)."""
    n, c, m = p.per_app(n, "n"), p.per_app(c, "c"), p.per_app(m, "m")
    s = p.server
    if strict:
        tol = 1e-9
        for name, x, lo, hi in (("n", n, 1, s.n_max), ("c", c, s.c_min, s.c_max), ("m", m, s.m_min, s.m_max)):
            if np.any(x < lo - tol * max(1.0, abs(lo))) or np.any(x > hi + tol * max(1.0, abs(hi))):
                raise ValueError(f"{name} must lie in [{lo}, {hi}] per container; got {x.tolist()}")
        if np.any(n != np.round(n)):
            raise ValueError(f"n must be whole container counts; got {n.tolist()}")
    d = p.d(c, m)
    rho = p.lam * d / n
    over = []
    if np.sum(n * c) > s.cpu * (1 + 1e-6):
        over.append(f"CPU capacity ({np.sum(n * c):.3f} > {s.cpu} CPUs)")
    if np.sum(n * m) > s.mem * (1 + 1e-6):
        over.append(f"memory capacity ({np.sum(n * m):.3f} > {s.mem} GB)")
    if not np.all(p.stable(rho)):  # the one rule, so baselines and SCIP's answers are judged as CRMS is
        i = int(np.argmax(rho))
        over.append(f"stability of app {p.apps[i].name!r} (utilization {rho[i]:.6g} > "
                    f"1 - stability_margin = {1 - p.stability_margin:.6g})")
    if over and strict:
        raise InfeasibleError("allocation infeasible: " + "; ".join(over), binding=over[0].split(" (")[0])
    with np.errstate(divide="ignore"):
        T = mm1_sojourn_array(p.lam / n, 1 / d)  # each container an M/M/1 queue; inf where unstable
    lat = float(np.sum(p.lam * T) / np.sum(p.lam))
    cpu_used = min(float(np.sum(n * c)), s.cpu)
    pw = float(s.power_model.power(cpu_used, float(np.sum(n * m))))
    obj = p.w_lat * lat + p.w_pow * pw if not over else np.inf
    if over:
        lat = np.inf
    return Allocation(n.astype(int), c, m, lat, pw, obj, T, rho, method, seconds, {"infeasible": over})


def min_cpu_need(p: Problem, app: App, m: float | None = None):
    """Least total CPU (n*c over n <= n_max, c in [c_min, c_max]) that keeps ``app`` stable at memory ``m``
    (default m_max), and the count achieving it; ``(inf, None)`` if no count is stable.

    d is decreasing in c, so per count the least stable c is the root of ``lam d(c, m) / n = 1 - margin``,
    found by bisection (all counts at once) to 1e-15 on the stable side. A grid's first stable point
    overestimates it, and :func:`diagnose` then rejected feasible problems near the capacity."""
    s = p.server
    m = s.m_max if m is None else m
    ns = np.arange(1, s.n_max + 1)
    cap = 1 - p.stability_margin

    def stable(c):
        return app.lam * app.model(c, m) / ns <= cap

    # (c_max - c_min) / 2**50 wide
    lo, hi = bisect_boundary(stable, np.full(ns.size, s.c_min), np.full(ns.size, s.c_max), iters=50)
    c = np.where(stable(lo), lo, hi)  # lo stays c_min when c_min itself is stable
    tot = np.where(stable(np.full(ns.size, s.c_max)), ns * c, np.inf)
    k = int(np.argmin(tot))
    return (float(tot[k]), int(ns[k])) if np.isfinite(tot[k]) else (np.inf, None)


def diagnose(p: Problem) -> None:
    """Raise :class:`InfeasibleError` naming the binding constraint if the problem has no feasible point.

    Checks, in order: per-app stability with every resource at its maximum; total CPU needed with
    memory at its maximum; total memory needed at the per-app counts; container minimums.
    """
    s = p.server
    for a in p.apps:
        dmin = float(a.model(s.c_max, s.m_max))
        if a.lam * dmin / s.n_max > 1 - p.stability_margin:
            raise InfeasibleError(
                f"stability of app {a.name!r}: arrival rate {a.lam:.3g} req/s exceeds what {s.n_max} containers "
                f"at c_max={s.c_max} CPUs, m_max={s.m_max} GB can serve ({(1 - p.stability_margin) * s.n_max / dmin:.3g} req/s)",
                binding=f"stability:{a.name}")
    needs = [min_cpu_need(p, a) for a in p.apps]
    cpu_need = sum(x for x, _ in needs)
    if cpu_need > s.cpu:
        raise InfeasibleError(f"CPU capacity: the apps need at least {cpu_need:.3f} CPUs to be stable, the server "
                              f"has {s.cpu}", binding="cpu_capacity")
    n_min = [next(n for n in range(1, s.n_max + 1)
                  if a.lam * float(a.model(s.c_max, s.m_max)) / n <= 1 - p.stability_margin) for a in p.apps]
    mem_need = sum(n_min) * s.m_min
    if mem_need > s.mem:
        raise InfeasibleError(f"memory capacity: the stable container counts need at least {mem_need:.3f} GB at "
                              f"m_min={s.m_min} GB each, the server has {s.mem} GB", binding="memory_capacity")
    if p.N * s.c_min > s.cpu:
        raise InfeasibleError(f"CPU capacity: {p.N} apps x c_min={s.c_min} exceeds {s.cpu} CPUs",
                              binding="cpu_capacity")
