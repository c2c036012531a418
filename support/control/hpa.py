"""The Kubernetes HorizontalPodAutoscaler (autoscaling/v2) replica algorithm, step for step.

Mirrors ``pkg/controller/podautoscaler`` (horizontal.go, replica_calculator.go) as of Kubernetes v1.33 and later:
the ratio rule ``desired = ceil(current * metric / target)`` with a tolerance band (0.1), the per-HPA recommendation history
used for stabilisation windows (scale-down default 300 s, scale-up 0 s), the scale-event history used by
the rate policies (default scale-up ``max(100 %, 4 pods) per 15 s``, scale-down ``100 % per 15 s``) and
min/max replicas. The controller is called once per sync period (default 15 s). All pods are assumed
ready and reporting metrics (the missing-pod / unready-pod corrections are not modelled).
Reactive baseline of paper 11 (arXiv 2512.24914).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


class HPAConfigError(ValueError):
    """An HPA spec that Kubernetes would reject (bad policy type, negative window, min > max ...)."""


@dataclass(frozen=True)
class ScalingPolicy:
    """One HPAScalingPolicy: ``kind`` "Pods" or "Percent", ``value`` > 0 per ``period_s`` (1..1800 s)."""

    kind: str
    value: int
    period_s: int

    def __post_init__(self):
        if self.kind not in ("Pods", "Percent"):
            raise HPAConfigError(f"policy type must be 'Pods' or 'Percent', got {self.kind!r}")
        if self.value <= 0:
            raise HPAConfigError(f"policy value must be > 0, got {self.value}")
        if not 0 < self.period_s <= 1800:
            raise HPAConfigError(f"policy periodSeconds must be in (0, 1800], got {self.period_s}")


@dataclass(frozen=True)
class ScalingRules:
    """HPAScalingRules: stabilisation window, policies and ``select`` ("Max", "Min" or "Disabled")."""

    window_s: int
    policies: tuple[ScalingPolicy, ...]
    select: str = "Max"

    def __post_init__(self):
        if not 0 <= self.window_s <= 3600:
            raise HPAConfigError(f"stabilizationWindowSeconds must be in [0, 3600], got {self.window_s}")
        if self.select not in ("Max", "Min", "Disabled"):
            raise HPAConfigError(f"selectPolicy must be Max, Min or Disabled, got {self.select!r}")
        if not self.policies and self.select != "Disabled":
            raise HPAConfigError("at least one scaling policy is needed unless selectPolicy is Disabled")


def default_scale_up() -> ScalingRules:
    """Kubernetes default: no window; max(100 % , 4 pods) every 15 s."""
    return ScalingRules(0, (ScalingPolicy("Percent", 100, 15), ScalingPolicy("Pods", 4, 15)), "Max")


def default_scale_down() -> ScalingRules:
    """Kubernetes default: 300 s window; 100 % every 15 s."""
    return ScalingRules(300, (ScalingPolicy("Percent", 100, 15),), "Max")


@dataclass(frozen=True)
class HPAConfig:
    """An HPA spec: utilisation ``target`` (0.7 = 70 %), min/max replicas, tolerance, sync period, behaviour."""

    target: float
    min_replicas: int = 1
    max_replicas: int = 10
    tolerance: float = 0.1
    sync_s: int = 15
    scale_up: ScalingRules = field(default_factory=default_scale_up)
    scale_down: ScalingRules = field(default_factory=default_scale_down)

    def __post_init__(self):
        if not self.target > 0:
            raise HPAConfigError(f"target metric value must be > 0, got {self.target}")
        if self.min_replicas < 1 or self.max_replicas < self.min_replicas:
            raise HPAConfigError(f"need 1 <= minReplicas <= maxReplicas, got {self.min_replicas}, {self.max_replicas}")
        if not 0 <= self.tolerance < 1:
            raise HPAConfigError(f"tolerance must be in [0, 1), got {self.tolerance}")
        if self.sync_s <= 0:
            raise HPAConfigError(f"sync period must be > 0 s, got {self.sync_s}")


def whole_percent(target: float) -> int | None:
    """``target`` (a fraction) as the integer percent an HPA spec's ``averageUtilization`` holds, or None where it
    is not a whole percent (within 1e-9)."""
    pct = round(100 * target)
    return pct if abs(100 * target - pct) <= 1e-9 else None


def utilization_percent(usage_milli: int, request_milli: int) -> int:
    """Average resource utilisation as the HPA sees it: an integer percent of the requests, truncated
    (metrics/utilization.go, GetResourceUtilizationRatio: ``int32(usage * 100 / requests)``, integer milli-units)."""
    if request_milli <= 0 or usage_milli < 0:
        raise ValueError(f"need requests > 0 and usage >= 0 (milli-units), got {usage_milli}, {request_milli}")
    return int(usage_milli) * 100 // int(request_milli)


def replica_recommendation(current: int, metric: float, target: float, tolerance: float = 0.1) -> int:
    """Replica calculator: ``ceil(current * metric / target)``, or ``current`` when the usage ratio is
    within ``tolerance`` of 1 (replica_calculator.go, GetResourceReplicas with all pods ready).

    The band test is that of ``Tolerances.isWithin`` (v1.33+), ``1 - tolerance <= ratio <= 1 + tolerance`` in
    floating point, so both edges are inside: 88 % and 72 % of an 80 % target keep the replicas. The form of
    v1.32 and earlier, ``abs(ratio - 1) <= tolerance``, put 88/80 outside, as 88/80 - 1 rounds to 0.10000000000000009."""
    if current < 0:
        raise ValueError(f"current replicas must be >= 0, got {current}")
    if target <= 0 or metric < 0 or not math.isfinite(metric):
        raise ValueError(f"need target > 0 and a finite metric >= 0, got metric={metric}, target={target}")
    ratio = metric / target
    if 1.0 - tolerance <= ratio <= 1.0 + tolerance:
        return current
    return math.ceil(ratio * current)


class HPA:
    """One HorizontalPodAutoscaler with its controller state (recommendations and scale events).

    ``step(now_s, current, metric)`` is one reconcile at time ``now_s`` and returns the replica count the
    controller writes to the scale subresource.
    """

    def __init__(self, config: HPAConfig):
        self.cfg = config
        self.recommendations: list[list[float]] = []  # [timestamp, recommendation]
        self.up_events: list[tuple[float, int]] = []
        self.down_events: list[tuple[float, int]] = []
        self._initialised = False

    # ---- horizontal.go: reconcileAutoscaler ----
    def step(self, now_s: float, current: int, metric: float) -> int:
        cfg = self.cfg
        if not self._initialised:  # maybeInitScaleDownStabilizationWindow
            if cfg.scale_down.window_s > 0:
                self.recommendations.append([now_s, current])
            self._initialised = True
        if current == 0 and cfg.min_replicas != 0:
            return 0  # autoscaling disabled for a scaled-to-zero target
        if current > cfg.max_replicas:
            desired = cfg.max_replicas
        elif current < cfg.min_replicas:
            desired = cfg.min_replicas
        else:
            proposal = replica_recommendation(current, metric, cfg.target, cfg.tolerance)
            desired = self._normalize(now_s, current, proposal)
        if desired != current:
            self._store_event(now_s, current, desired)
        return desired

    # ---- normalizeDesiredReplicasWithBehaviors ----
    def _normalize(self, now: float, current: int, proposal: int) -> int:
        stabilized = self._stabilize(now, current, proposal)
        return self._rate_limit(now, current, stabilized)

    def _stabilize(self, now: float, current: int, proposal: int) -> int:
        up_cut = now - self.cfg.scale_up.window_s
        down_cut = now - self.cfg.scale_down.window_s
        up_rec, down_rec = proposal, proposal
        old_index = None
        for i, (ts, rec) in enumerate(self.recommendations):
            if ts > up_cut:
                up_rec = min(rec, up_rec)
            if ts > down_cut:
                down_rec = max(rec, down_rec)
            if ts < up_cut and ts < down_cut:
                old_index = i
        recommendation = current
        recommendation = max(recommendation, up_rec)
        recommendation = min(recommendation, down_rec)
        if old_index is not None:
            self.recommendations[old_index] = [now, proposal]
        else:
            self.recommendations.append([now, proposal])
        return int(recommendation)

    @staticmethod
    def _changes(period_s: float, now: float, events) -> int:
        cut = now - period_s
        return sum(change for ts, change in events if ts > cut)

    def _scale_up_limit(self, now: float, current: int) -> int:
        rules = self.cfg.scale_up
        if rules.select == "Disabled":
            return current
        pick, result = (min, math.inf) if rules.select == "Min" else (max, -math.inf)
        for p in rules.policies:
            start = current - self._changes(p.period_s, now, self.up_events) + self._changes(p.period_s, now,
                                                                                              self.down_events)
            proposed = start + p.value if p.kind == "Pods" else math.ceil(start * (1 + p.value / 100))
            result = pick(result, proposed)
        return int(result)

    def _scale_down_limit(self, now: float, current: int) -> int:
        rules = self.cfg.scale_down
        if rules.select == "Disabled":
            return current
        pick, result = (max, -math.inf) if rules.select == "Min" else (min, math.inf)
        for p in rules.policies:
            start = current - self._changes(p.period_s, now, self.up_events) + self._changes(p.period_s, now,
                                                                                              self.down_events)
            proposed = start - p.value if p.kind == "Pods" else int(start * (1 - p.value / 100))
            result = pick(result, proposed)
        return int(result)

    def _rate_limit(self, now: float, current: int, desired: int) -> int:
        cfg = self.cfg
        if desired > current:
            limit = max(self._scale_up_limit(now, current), current)
            return min(desired, min(cfg.max_replicas, limit))
        if desired < current:
            limit = min(self._scale_down_limit(now, current), current)
            return max(desired, max(cfg.min_replicas, limit))
        return desired

    def _store_event(self, now: float, prev: int, new: int) -> None:
        """storeScaleEvent: the direction's events from before its longest policy period are outdated, and the new
        event takes the last outdated slot (or is appended). Outdated events are not dropped: the other direction's
        rate limits (getReplicasChangePerPeriod reads timestamps only) still count them over their own periods."""
        up = new > prev
        events = self.up_events if up else self.down_events
        longest = max((p.period_s for p in (self.cfg.scale_up if up else self.cfg.scale_down).policies), default=0)
        # markScaleEventsOutdated: timestamp.Before(now - longest); Go keeps the last such index
        old = [i for i, (ts, _) in enumerate(events) if ts < now - longest]
        event = (now, abs(new - prev))
        if old:
            events[old[-1]] = event
        else:
            events.append(event)
