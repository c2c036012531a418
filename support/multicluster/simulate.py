"""Closed-loop simulation of the federation at the HPA sync period (15 s) over the held-back interval.

Demand moves linearly between trace points (one per 300 s interval), or, for a fine-grained trace
(``Federation.fine``), follows the recorded rate of each sync step. Pods become ready ``startup_s`` after
they are requested; a scale-down removes pending pods first. Two controllers:

* :func:`run_hpa` — the reactive baseline: one exact Kubernetes HPA per cluster (support.control.hpa) on the
  CPU utilisation of its pods, traffic split by static Karmada-style weights.
* :func:`run_proactive` — the paper's loop: telemetry -> forecast (per origin cluster) -> policy-aware MILP
  (replicas + traffic shares) -> actuation, with feedback (safety margin from recent forecast residuals,
  pre-warming for the next interval, kept through that interval even if its plan asks for fewer, and a guard
  that scales up at once when the observed load breaks the SLO). Every action of it (plan, pre-warm, guard)
  passes the HPA's two anti-flapping mechanisms (:class:`AntiFlap`: tolerance and scale-down window).

Both return a :class:`Trajectory`; the metrics live in :mod:`support.multicluster.metrics`.
Paper 11 (arXiv 2512.24914), closed loop of the abstract.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from support.control.forecast import Forecaster
from support.control.hpa import HPA, HPAConfig, utilization_percent, whole_percent
from support.multicluster.decision import decide, static_weights
from support.multicluster.federation import Federation, hpa_can_scale_up
from support.multicluster.latency import mean_latency, min_replicas_for, slo_load
from support.multicluster.policies import PolicyAudit
from support.progress import progress


@dataclass
class Trajectory:
    """Per sub-step (``sync_s``) arrays ``[S, K]``: requested replicas ``spec``, ``ready`` replicas, ``load``
    (req/s), mean ``latency`` (s); ``t`` in s; ``bursts`` are the boundaries (s) where demand jumps."""

    name: str
    t: np.ndarray
    spec: np.ndarray
    ready: np.ndarray
    load: np.ndarray
    latency: np.ndarray
    audit: PolicyAudit
    info: dict = field(default_factory=dict)


class _Pods:
    """Requested pods of one cluster: ready count + pending (ready_time, count) launches."""

    def __init__(self, n: int):
        self.ready, self.pending = int(n), []

    @property
    def spec(self) -> int:
        return self.ready + sum(c for _, c in self.pending)

    def advance(self, now: float) -> None:
        due = [p for p in self.pending if p[0] <= now + 1e-9]
        self.ready += sum(c for _, c in due)
        self.pending = [p for p in self.pending if p[0] > now + 1e-9]

    def set(self, target: int, now: float, startup: float) -> None:
        d = target - self.spec
        if d > 0:
            self.pending.append((now + startup, d))
        while d < 0 and self.pending:  # cancel the newest pending launches first
            t, c = self.pending.pop()
            take = min(c, -d)
            if c > take:
                self.pending.append((t, c - take))
            d += take
        if d < 0:
            self.ready += d


class AntiFlap:
    """The HPA's anti-flapping for one cluster of the proactive controller: tolerance and scale-down window.

    Mirrors horizontal.go / replica_calculator.go: a proposal within ``tolerance`` x current replicas is not
    made, either way (a proposal is already a whole number of replicas, as the HPA's ceil(current x ratio) is:
    at 5 replicas and ratio 0.8 the HPA cuts to 4, so a one-replica cut below 10 replicas is made); a
    scale-down goes no lower than the highest recommendation of the last ``window_s`` seconds (inclusive: a
    plan made one 300 s interval ago held for all of the last 300 s); a scale-up past the tolerance is made at once. ``tolerance = 0`` and
    ``window_s = 0`` switch it off. Pre-warm and guard are scale-ups only (``up_only``); the guard acts when the
    observed load already breaks the SLO, so it skips the tolerance (``slo_at_risk``), like an HPA whose metric
    has left its band; both are recorded, so the next plans cannot cut them within the window.
    """

    def __init__(self, tolerance: float, window_s: float):
        if not 0 <= tolerance < 1 or window_s < 0:
            raise ValueError(f"anti-flap tolerance must be in [0, 1) and window_s >= 0, got {tolerance}, {window_s}")
        self.tolerance, self.window_s = float(tolerance), float(window_s)
        self.history: list[tuple[float, int]] = []  # (time, recommended replicas)

    def step(self, now: float, current: int, proposal: int, up_only: bool = False,
             slo_at_risk: bool = False) -> int:
        """Replicas to set at ``now`` for a ``proposal`` when ``current`` are requested (``current`` = no change)."""
        current, proposal = int(current), int(proposal)
        if up_only and proposal <= current:
            return current
        self.history = [(ts, r) for ts, r in self.history if ts >= now - self.window_s - 1e-9]
        self.history.append((now, proposal))
        if proposal > current:
            held = not slo_at_risk and proposal - current <= self.tolerance * current
            return current if held else proposal
        stabilised = max(r for _, r in self.history)
        if stabilised >= current or current - stabilised <= self.tolerance * current:
            return current
        return stabilised


def _demand(fed: Federation, t: int, j: int, steps: int) -> np.ndarray:
    if fed.fine is not None:  # fine-grained trace: the recorded rate of sync step j of interval t
        return fed.fine[t * steps + j]
    return fed.rates[t] + (fed.rates[t + 1] - fed.rates[t]) * (j / steps)


def _setup(fed: Federation, start: int | None, stop: int | None):
    cfg = fed.cfg
    start = fed.t0 if start is None else start
    stop = fed.rates.shape[0] - 1 if stop is None else stop
    if not fed.t0 <= start < stop <= fed.rates.shape[0] - 1:
        raise ValueError(f"simulated intervals must lie in the held-back part [{fed.t0}, {fed.rates.shape[0] - 1}]")
    steps = cfg.interval_s // cfg.sync_s
    curve = slo_load(max(fed.policy.capacity) + 2, cfg.mu, cfg.slo_s)
    return start, stop, steps, curve


def _finish(name, fed, t, spec, ready, load, audit, info) -> Trajectory:
    cfg = fed.cfg
    lat = mean_latency(ready, load, cfg.mu, cfg.latency_cap_s)
    return Trajectory(name, np.asarray(t), spec, ready, load, lat, audit, info)


def run_hpa(fed: Federation, start: int | None = None, stop: int | None = None,
            target: float | None = None, audit: PolicyAudit | None = None) -> Trajectory:
    """Reactive baseline: per-cluster Kubernetes HPA (defaults: target ``cfg.hpa_target``, 80 % as Kubernetes'
    DefaultCPUUtilization; tolerance 0.1, 15 s sync, 300 s scale-down window, scale-up max(100 %, 4 pods)/15 s,
    scale-down 100 %/15 s), static traffic weights."""
    cfg, pol = fed.cfg, fed.policy
    start, stop, steps, _curve = _setup(fed, start, stop)
    tgt = cfg.hpa_target if target is None else target
    tgt_pct = whole_percent(tgt)  # averageUtilization of the HPA spec is an integer percent
    if tgt_pct is None or not 0 < tgt_pct <= 100:
        raise ValueError(f"the HPA target utilisation must be a whole percent in (0, 1], got {tgt}")
    if not hpa_can_scale_up(tgt):
        raise ValueError(f"an HPA at target {tgt} can never scale up (utilisation cannot exceed 100 %, so its ratio "
                         f"stays within the tolerance); use a target below {1 / (1 + HPAConfig.tolerance):.3f}")
    W = static_weights(pol)
    K = fed.k
    load0 = fed.rates[start] @ W
    n0 = np.clip(np.ceil(load0 / (cfg.mu * tgt)).astype(int), pol.ha_min, pol.capacity)
    hpas = [HPA(HPAConfig(tgt_pct, pol.ha_min[k], pol.capacity[k], sync_s=cfg.sync_s)) for k in range(K)]
    pods = [_Pods(int(n)) for n in n0]
    audit = audit or PolicyAudit(pol)
    S = (stop - start) * steps
    spec, ready, load = np.zeros((S, K), int), np.zeros((S, K), int), np.zeros((S, K))
    ts = np.zeros(S)
    i = 0
    for t in progress(range(start, stop), desc="HPA", total=stop - start):
        base = [p.spec for p in pods]
        for j in range(steps):
            now = t * cfg.interval_s + j * cfg.sync_s
            lam = _demand(fed, t, j, steps) @ W
            for k in range(K):
                p = pods[k]
                p.advance(now)
                used = min(lam[k] / cfg.mu, p.ready)
                # integer percent of the requests (one replica requests 1000m), as the metrics client reports it;
                # pods not yet ready count as 0 % (K8s scale-up rule; on a scale-down K8s averages over ready pods
                # only, which changed no replica count in the paper-11 runs)
                metric = utilization_percent(round(1000 * used), 1000 * max(p.spec, 1))
                new = hpas[k].step(now, p.spec, metric)
                if new != p.spec:
                    audit.check(k, base[k], new, W[k, k], _specs(pods, k, new), kind="hpa")
                    p.set(new, now, cfg.startup_s)
                    p.advance(now)
                spec[i, k], ready[i, k], load[i, k] = p.spec, p.ready, lam[k]
            ts[i] = now
            i += 1
    return _finish(f"HPA (target {tgt:.0%})", fed, ts, spec, ready, load, audit, {"weights": W})


def forecasts_for(fed: Federation, forecaster_factory, start: int) -> tuple[np.ndarray, list[Forecaster]]:
    """Fit one forecaster per origin cluster on the training part; rolling H-step forecasts ``F[T, H, K]``
    where ``F[t, h]`` forecasts ``rates[t + h]`` from ``rates[:t]`` (rows before the residual window are nan)."""
    cfg = fed.cfg
    T, K = fed.rates.shape
    H = cfg.horizon
    F = np.full((T, H, K), np.nan)
    s0 = max(start - cfg.margin_window, 0)
    models = []
    for k in range(K):
        m = forecaster_factory().fit(fed.rates[:fed.t0, k])
        lo = max(s0, getattr(m, "period", 0) + getattr(m, "lags", 0) + 1)
        F[lo:, :, k] = m.rolling(fed.rates[:, k], lo, H)
        models.append(m)
    return F, models


def run_proactive(fed: Federation, forecaster_factory, start: int | None = None, stop: int | None = None,
                  name: str | None = None, audit: PolicyAudit | None = None, guard: bool = True) -> Trajectory:
    """Predict-decide-act loop with feedback (see module docstring); one MILP per control interval."""
    cfg, pol = fed.cfg, fed.policy
    start, stop, steps, curve = _setup(fed, start, stop)
    K, H = fed.k, cfg.horizon
    F, models = forecasts_for(fed, forecaster_factory, start)
    R = fed.rates
    audit = audit or PolicyAudit(pol)

    n_prev = np.clip(min_replicas_for(R[start], curve), pol.ha_min, pol.capacity).astype(int)
    pods = [_Pods(int(n)) for n in n_prev]
    shares = np.eye(K)
    S = (stop - start) * steps
    spec, ready, load = np.zeros((S, K), int), np.zeros((S, K), int), np.zeros((S, K))
    ts = np.zeros(S)
    i, n_milp, n_guard = 0, 0, 0
    prewarm_j = steps - cfg.startup_s // cfg.sync_s
    prewarmed = np.zeros(K, int)  # replicas pre-warmed for the next interval, which its plan keeps at least
    prewarms: list[tuple[int, int, int]] = []  # (sub-step, cluster, replicas)
    guards: list[tuple[int, int, int]] = []  # (sub-step, cluster, replicas)
    flap = [AntiFlap(cfg.tolerance, cfg.downscale_stabilisation_s) for _ in range(K)]
    n_released = 0
    for t in progress(range(start, stop), desc="proactive", total=stop - start):
        mg = safety_margin(F, R, t, cfg.margin_window, cfg.margin_quantile, floor=cfg.mu)
        # forecasts made at boundary t (data R[:t+1]): row t+1 holds R[t+1], R[t+2]
        fc = F[t + 1] * (1 + mg) if t + 1 < F.shape[0] else np.tile(R[t], (H, 1))
        need = np.maximum(R[t], fc[0])  # demand moves from R[t] to R[t+1] during the interval
        base = np.array([p.spec for p in pods])
        d = decide(need[None, :], base, pol, curve, cfg.weights, refine=True)
        n_milp += 1
        shares = d.shares
        now = t * cfg.interval_s
        prop = np.maximum(d.n[0], prewarmed).astype(int)  # hold a pre-warm for the interval it was made for
        n_new = np.array([flap[k].step(now, base[k], prop[k]) for k in range(K)])
        if float(np.dot(pol.cost, n_new)) > pol.budget + 1e-9:  # the budget policy overrides a held scale-down
            n_new = np.minimum(n_new, prop)
            n_released += 1
        for k in range(K):
            pods[k].advance(now)
        # the plan is one action: its scale-downs are made before its scale-ups, so an increase is audited (the
        # budget) with the other clusters' decreases already in, not against counts the plan is about to lower
        for k in sorted(range(K), key=lambda k: int(n_new[k]) - pods[k].spec):
            n_k = int(n_new[k])
            if n_k != pods[k].spec:
                audit.check(k, base[k], n_k, shares[k, k], _specs(pods, k, n_k), kind="plan")
                pods[k].set(n_k, now, cfg.startup_s)
        prewarmed[:] = 0
        for j in range(steps):
            now = t * cfg.interval_s + j * cfg.sync_s
            lam = _demand(fed, t, j, steps) @ shares
            for k in range(K):
                pods[k].advance(now)
            if j == prewarm_j and t + 2 < F.shape[0]:  # pre-warm for the next interval (2-step forecast)
                nxt = np.maximum(fc[0], fc[1]) @ shares
                want = min_replicas_for(nxt, curve)
                for k in range(K):
                    tgt = flap[k].step(now, pods[k].spec, int(min(want[k], pol.capacity[k],
                                                                  base[k] + pol.max_change[k])), up_only=True)
                    if tgt > pods[k].spec and _budget_ok(pol, pods, k, tgt):
                        audit.check(k, base[k], tgt, shares[k, k], _specs(pods, k, tgt), kind="prewarm")
                        pods[k].set(tgt, now, cfg.startup_s)
                        prewarmed[k] = tgt
                        prewarms.append((i, k, tgt))
            if guard:
                for k in range(K):
                    p = pods[k]
                    if lam[k] > curve[min(p.spec, curve.size - 1)]:
                        tgt = int(min(min_replicas_for(lam[k] * (1 + cfg.guard_margin), curve),
                                      pol.capacity[k], base[k] + pol.max_change[k]))
                        tgt = flap[k].step(now, p.spec, tgt, up_only=True, slo_at_risk=True)
                        if tgt > p.spec and _budget_ok(pol, pods, k, tgt):
                            audit.check(k, base[k], tgt, shares[k, k], _specs(pods, k, tgt), kind="guard")
                            p.set(tgt, now, cfg.startup_s)
                            n_guard += 1
                            guards.append((i, k, tgt))
            for k in range(K):
                spec[i, k], ready[i, k], load[i, k] = pods[k].spec, pods[k].ready, lam[k]
            ts[i] = now
            i += 1
    label = name or f"proactive ({getattr(models[0], 'name', 'forecaster')})"
    return _finish(label, fed, ts, spec, ready, load, audit, {"milp_solves": n_milp, "guard_actions": n_guard,
                                                              "prewarms": prewarms, "guards": guards,
                                                              "antiflap_budget_releases": n_released})


def safety_margin(F: np.ndarray, R: np.ndarray, t: int, window: int, quantile: float, floor: float,
                  min_points: int = 12) -> np.ndarray:
    """Feedback margin ``[H, K]`` at boundary ``t``: per horizon step and cluster, the ``quantile`` of the relative
    residuals ``(R - F) / max(F, floor)`` of the forecasts whose truth is known at ``t`` (last ``window``
    boundaries), clipped at 0; 0 with fewer than ``min_points`` residuals.

    ``F[s, h]`` is the forecast of ``R[s + h]``. The denominator's ``floor`` (one replica's service rate) keeps a
    forecast near zero from giving an unbounded margin: with a floor of 1e-9, a seasonal-naive forecast of an idle
    minute gave a margin of 1e12 and a demand no MILP could be solved for."""
    H, K = F.shape[1], F.shape[2]
    out = np.zeros((H, K))
    for h in range(H):
        rows = np.arange(max(t - window, 0), t + 1 - h)
        f = F[rows, h]
        ok = np.isfinite(f).all(1)
        if ok.sum() >= min_points:
            res = (R[rows + h][ok] - f[ok]) / np.maximum(f[ok], floor)
            out[h] = np.maximum(np.quantile(res, quantile, axis=0), 0.0)
    return out


def _specs(pods, k, tgt) -> np.ndarray:
    s = np.array([p.spec for p in pods])
    s[k] = tgt
    return s


def _budget_ok(pol, pods, k, tgt) -> bool:
    return float(np.dot(pol.cost, _specs(pods, k, tgt))) <= pol.budget + 1e-9
