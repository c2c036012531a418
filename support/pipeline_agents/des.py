"""Discrete-event simulation (simpy) of a batch DAG and a streaming pipeline under faults, governed either
by static orchestration (Airflow-like retries, then on-call humans) or by policy-bounded agents.

Reconstruction of the architecture in the paper's abstract (no algorithm is published). One
:class:`World` holds both pipelines, the price process, the fault injectors and the controller. Every
billing change, fault episode, run and window is written to the event log; :mod:`.metrics` recomputes
all results from that log alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import simpy

from support.control.agents import AuditLog, PolicyGate
from support.pipeline_agents import agents as A
from support.pipeline_agents.params import Params
from support.sim import Fault, FaultInjector, Recorder

CONTROLLERS = ("static", "agentic")
PIPELINES = ("batch", "stream")


@dataclass
class Scenario:
    """Inputs shared by both controllers (common random numbers): work per stage (worker-seconds), streaming arrivals
    (events per window), fault schedules, and one human time and one upstream delay per fault (by pipeline and idx)."""

    stage_work: np.ndarray
    stage_names: tuple[str, ...]
    arrivals: np.ndarray  # events per streaming window
    batch_faults: list[Fault]
    stream_faults: list[Fault]
    spikes: list[Fault]
    drift_table: list[dict]  # real reconciliation outcomes, one per drift kind
    # on-call response + fix time and upstream delay of each fault: {pipeline: draws indexed by the fault's idx in that
    # pipeline's schedule}, so a fault that pages (or is delayed) under both controllers takes the same draw in both
    human_s: Mapping[str, np.ndarray]
    upstream_s: Mapping[str, np.ndarray]
    static_stream_workers: int

    def __post_init__(self):
        for pipe, faults in (("batch", self.batch_faults), ("stream", self.stream_faults)):
            need = 1 + max((f.idx for f in faults), default=-1)
            for name in ("human_s", "upstream_s"):
                draws = getattr(self, name)
                if not isinstance(draws, Mapping) or set(draws) != set(PIPELINES):
                    raise ValueError(f"Scenario.{name} must map {PIPELINES} to one draw per fault, got {draws!r}")
                if len(draws[pipe]) < need:
                    raise ValueError(f"Scenario.{name}[{pipe!r}] holds {len(draws[pipe])} draws, but the {pipe} "
                                     f"schedule has a fault with idx {need - 1}: one draw per fault is needed")


def per_fault(seconds: float, n: int = 16) -> dict[str, np.ndarray]:
    """The same ``seconds`` for the faults with idx below ``n`` in either pipeline, as :class:`Scenario`'s ``human_s``
    or ``upstream_s`` of a hand-computed scenario."""
    return {pipe: np.full(n, float(seconds)) for pipe in PIPELINES}


class _Stage:
    def __init__(self, work: float):
        self.work, self.progress, self.mem, self.skew = work, 0.0, 1.0, 1.0
        self.hits: list[Fault] = []
        self.skew_episode: int | None = None
        self.failed_tries = 0  # static: failed tries of this task instance since it was (re)started or cleared


class World:
    """One simulation run. ``controller`` is ``"static"`` or ``"agentic"``."""

    def __init__(self, p: Params, sc: Scenario, controller: str, policy=None, stream: bool = True):
        if controller not in CONTROLLERS:
            raise ValueError(f"controller must be one of {CONTROLLERS}, got {controller!r}")
        if controller == "agentic" and policy is None:
            raise ValueError("the agentic controller needs a policy")
        self.p, self.sc, self.ctl = p, sc, controller
        self.env = simpy.Environment()
        self.rec = Recorder()
        self.audit = AuditLog()
        self.gate = PolicyGate(policy, self.audit) if policy is not None else None
        self.horizon = p.horizon_h * 3600.0
        self._ep = 0
        self.bill = {"batch": (0, 0.0), "stream": (0, 0.0)}
        self.cost = {"batch": 0.0, "stream": 0.0}
        self._bill_t = {"batch": 0.0, "stream": 0.0}
        self.spiked = 0  # cost spikes in progress (they may overlap)
        self.tier = {"batch": "spot", "stream": "spot"}
        self.changes: dict[str, list[float]] = {"batch": [], "stream": []}
        self.manual = 0
        # batch state
        self.stage: _Stage | None = None
        self.attempt = False
        self.pending: list[Fault] = []
        # stream state
        self.s_workers = sc.static_stream_workers
        self.s_down = 0
        self.s_stalled = 0
        self.s_skew = 1.0
        self.s_skews = 0  # hot-key episodes in progress (they may overlap)
        self.s_mem = 1.0
        self.s_mem_raises = 0  # a later raise restarts the clock of stream_memory_raise_h
        self.s_deferred = 0.0
        self.s_defer_until = 0.0
        self.s_backlog = 0.0
        self.s_done = not stream
        self.batch_proc = self.env.process(self._batch())
        if stream:
            self.env.process(self._stream())
            FaultInjector(self.env, sc.stream_faults, self._on_stream_fault, self.rec)
            if controller == "agentic":
                self.env.process(self._autoscaler())
        FaultInjector(self.env, sc.batch_faults, self._on_batch_fault, self.rec)
        FaultInjector(self.env, sc.spikes, self._on_spike, self.rec)

    # ------------------------------------------------------------------------------ billing + prices
    def base_price(self, pipe: str) -> float:
        p = self.p
        return p.on_demand_price if self.tier[pipe] == "on_demand" else p.spot_price * (
            p.spike_mult if self.spiked > 0 else 1.0)

    def memory(self, pipe: str) -> float:
        """Current per-worker memory (and price) factor of ``pipe``: 1, or ``memory_factor`` after a raise."""
        return (self.stage.mem if self.stage is not None else 1.0) if pipe == "batch" else self.s_mem

    def unit_price(self, pipe: str) -> float:
        return self.base_price(pipe) * self.memory(pipe)

    def _set_bill(self, pipe: str, workers: int) -> None:
        now = self.env.now
        w0, pr0 = self.bill[pipe]
        self.cost[pipe] += w0 * pr0 * (now - self._bill_t[pipe]) / 3600.0
        self._bill_t[pipe] = now
        pr = self.unit_price(pipe) if workers > 0 else 0.0
        if (workers, pr) != (w0, pr0):
            self.rec.log(now, "bill", pipeline=pipe, workers=int(workers), price=float(pr))
        self.bill[pipe] = (workers, pr)

    def _rebill(self) -> None:
        self._set_bill("batch", self.bill["batch"][0])
        self._set_bill("stream", self.bill["stream"][0])

    def _stream_bill(self) -> None:
        if not self.s_done:
            self._set_bill("stream", max(0, self.s_workers - self.s_down))

    # -------------------------------------------------------------------------------------- episodes
    def _ep_start(self, f: Fault, pipe: str) -> int:
        self._ep += 1
        self.rec.log(self.env.now, "episode_start", ep=self._ep, fault=f.kind, pipeline=pipe, idx=f.idx)
        return self._ep

    def _ep_end(self, ep: int) -> None:
        self.rec.log(self.env.now, "episode_end", ep=ep)

    def _human(self, why: str, pipe: str, f: Fault, rules: tuple[str, ...] = ()):
        """An on-call human responds and fixes fault ``f`` of ``pipe`` (its own pre-drawn lognormal time, the same under
        both controllers); counted as a manual intervention, logged with the fault and the rules that refused the agent."""
        self.manual += 1
        d = float(self.sc.human_s[pipe][f.idx])
        self.rec.log(self.env.now, "manual", pipeline=pipe, why=why, seconds=d, fault=f.kind, idx=f.idx,
                     rules=tuple(rules))
        yield self.env.timeout(d)

    def _state(self, pipe: str, configured: bool = False) -> dict:
        """The policy-visible state of ``pipe``; the stream's ``workers`` is the live count, or the configured size
        when ``configured`` (the autoscaler sizes, checks and applies its step on the configured size)."""
        now = self.env.now
        self.changes[pipe] = [t for t in self.changes[pipe] if now - t < 3600.0]
        workers = self.p.batch_workers if pipe == "batch" else self.s_workers - (0 if configured else self.s_down)
        return {"workers": int(workers), "price_per_worker_hour": float(self.unit_price(pipe)),
                "region": self.p.region, "changes_last_hour": len(self.changes[pipe]),
                "sink_pii_certified": bool(self.p.sink_pii_certified)}

    def _obs(self, pipe: str, signal: str, configured: bool = False, **kw) -> dict:
        st = self._state(pipe, configured)
        return {"signal": signal, "pipeline": pipe, "workers": st["workers"], "region": self.p.region,
                "price_now": self.base_price(pipe), "on_demand_price": self.p.on_demand_price,
                "spot_price": self.p.spot_price, "replacement_delta": self.p.stream_replacement_delta,
                # an OOM fix raises memory to memory_factor x the base, for both controllers (no compounding): a
                # proposal asks for what is still missing, so the policy checks the price that will be billed
                "memory_factor": self.p.memory_factor / self.memory(pipe), **kw}

    def _agent(self, pipe: str, signal: str, configured: bool = False, **kw):
        """Detect, let the agents propose, gate every proposal; returns (proposal or None, verdict, violated rules)."""
        yield self.env.timeout(self.p.detect_s)
        props = A.propose(self._obs(pipe, signal, configured, **kw))
        if not props:
            return None, "none", ()
        prop = props[0]
        d = self.gate.submit(self.env.now, prop, self._state(pipe, configured))
        self.rec.log(self.env.now, "proposal", pipeline=pipe, agent=prop.agent, action=prop.kind, verdict=d.verdict)
        if d.allowed:
            if prop.kind not in ("noop", "restart_checkpoint", "retry"):  # configuration changes only
                self.changes[pipe].append(self.env.now)
            yield self.env.timeout(self.p.actuate_s)
        return prop, d.verdict, d.violated + d.uncertain

    # ----------------------------------------------------------------------------------------- batch
    def _on_batch_fault(self, f: Fault) -> None:
        if f.kind in ("oom", "schema_drift", "upstream_delay"):
            if self.attempt and f.kind == "oom":
                self.batch_proc.interrupt(f)
            else:
                self.pending.append(f)  # hits the next stage start / validate stage / next ingest
        elif self.attempt:  # worker loss, transient, skew only matter while a task runs
            self.batch_proc.interrupt(f)
        else:
            self.rec.log(self.env.now, "absorbed", pipeline="batch", fault=f.kind, idx=f.idx)

    def _take_pending(self, i: int) -> list[Fault]:
        name = self.sc.stage_names[i]
        hit = [f for f in self.pending if (f.kind == "oom") or (f.kind == "schema_drift" and name == "schema_validate")
               or (f.kind == "upstream_delay" and i == 0)]
        self.pending = [f for f in self.pending if f not in hit]
        return hit

    def _batch(self):
        p = self.p
        r = 0
        while r * p.batch_period_s < self.horizon:
            sched = r * p.batch_period_s
            if self.env.now < sched:
                yield self.env.timeout(sched - self.env.now)
            start = self.env.now
            for i in range(len(self.sc.stage_work)):
                yield from self._run_stage(i)
            self.rec.log(self.env.now, "run", run=r, scheduled=sched, started=start, done=self.env.now)
            r += 1

    def _run_stage(self, i: int):
        p = self.p
        st = self.stage = _Stage(float(self.sc.stage_work[i]))
        st.hits = self._take_pending(i)
        w = p.batch_workers
        while st.progress < st.work - 1e-9:
            if st.hits:
                yield from self._batch_failure(st.hits.pop(0), st, w)
                continue
            rate = w / st.skew
            self.attempt = True
            self._set_bill("batch", w)
            t0 = self.env.now
            try:
                yield self.env.timeout((st.work - st.progress) / rate)
                st.progress = st.work
            except simpy.Interrupt as it:
                st.progress = min(st.work, st.progress + (self.env.now - t0) * rate)
                cause = it.cause
                if isinstance(cause, Fault) and cause.kind == "skew":
                    if st.skew == 1.0:
                        st.skew = p.skew_factor
                        st.skew_episode = self._ep_start(cause, "batch")
                        if self.ctl == "agentic":
                            self.env.process(self._batch_unskew(st, cause))
                elif isinstance(cause, Fault):
                    st.hits.append(cause)
                elif cause == "unskew":
                    st.skew = 1.0
                    self._ep_end(st.skew_episode)
                    st.skew_episode = None
            finally:
                self.attempt = False
                self._set_bill("batch", 0)
        if st.skew_episode is not None:  # static: the straggler ends with the stage
            self._ep_end(st.skew_episode)
        self.stage = None

    def _batch_unskew(self, st: _Stage, f: Fault):
        _prop, verdict, rules = yield from self._agent("batch", "skew")
        if verdict == "allow":
            yield self.env.timeout(self.p.repartition_s)
        else:
            yield from self._human("skew: repartition", "batch", f, rules)
        if self.stage is st and st.skew != 1.0:
            if self.attempt:
                self.batch_proc.interrupt("unskew")
            else:  # the stage is between attempts (failure handling): its next attempt runs repartitioned
                st.skew = 1.0
                self._ep_end(st.skew_episode)
                st.skew_episode = None

    def _ckpt(self, st: _Stage, w: int) -> float:
        g = self.p.checkpoint_s * w
        return math.floor(st.progress / g + 1e-9) * g

    def _batch_failure(self, f: Fault, st: _Stage, w: int):
        _p, ep = self.p, self._ep_start(f, "batch")
        if f.kind == "upstream_delay":
            d = float(self.sc.upstream_s["batch"][f.idx])
            t_end = self.env.now + d
            if self.ctl == "agentic":
                yield from self._agent("batch", "upstream_delay")
            yield self.env.timeout(max(0.0, t_end - self.env.now))
            self._ep_end(ep)
            return
        if self.ctl == "static":
            yield from self._static_batch(f, st, w)
        else:
            yield from self._agentic_batch(f, st, w)
        self._ep_end(ep)

    def _doomed_attempt(self, seconds: float, w: int):
        self._set_bill("batch", w)
        yield self.env.timeout(seconds)
        self._set_bill("batch", 0)

    def _static_batch(self, f: Fault, st: _Stage, w: int):
        """Airflow's retries, counted per task instance (the stage of this run): every failed try (lost worker,
        transient error, OOM, schema mismatch) uses one of ``retries``; its ``retries`` + 1-th failed try fails the
        task for good and pages a human, whose clear grants ``retries`` again (max_tries = try_number + retries - 1)."""
        p = self.p
        st.failed_tries += 1  # the try this fault failed
        if f.kind in ("worker_loss", "transient"):  # the retry runs clean (the stage restarts from scratch)
            if st.failed_tries <= p.retries:
                yield self.env.timeout(p.retry_delay(st.failed_tries))
                st.progress = 0.0
                return
        else:  # oom / schema drift: every remaining retry fails the same way
            fail_after = max(p.fail_fast_s, st.progress / w) if f.kind == "oom" else p.fail_fast_s
            while st.failed_tries <= p.retries:
                yield self.env.timeout(p.retry_delay(st.failed_tries))
                yield from self._doomed_attempt(fail_after, w)
                st.failed_tries += 1
        yield from self._human(f"{f.kind} after {p.retries} retries", "batch", f)
        st.failed_tries = 0  # the human clears the task instance
        if f.kind == "oom":
            st.mem = p.memory_factor
        st.progress = 0.0

    def _drift(self, f: Fault) -> dict:
        return self.sc.drift_table[int(f.u * len(self.sc.drift_table)) % len(self.sc.drift_table)]

    def _agentic_batch(self, f: Fault, st: _Stage, w: int):
        kw = {"drift": self._drift(f)} if f.kind == "schema_drift" else {}
        prop, verdict, rules = yield from self._agent("batch", f.kind, **kw)
        ok = verdict == "allow"
        fixed = ok and (f.kind != "schema_drift" or prop.payload.get("fixed", False))
        if f.kind == "transient" and ok:
            yield self.env.timeout(self.p.agent_backoff_s)
        if not fixed:
            yield from self._human(f"{f.kind}: " + ("denied/escalated" if prop else "no agent action"), "batch",
                                   f, rules)
        if f.kind == "oom":
            st.mem = self.p.memory_factor
        st.progress = self._ckpt(st, w)

    # ---------------------------------------------------------------------------------------- stream
    def _stream(self):
        p = self.p
        backlog = 0.0
        k = 0
        self._stream_bill()
        while k < len(self.sc.arrivals) and self.env.now < self.horizon:
            t = self.env.now
            arr = float(self.sc.arrivals[k])
            if t < self.s_defer_until:  # upstream delay: events are held back, then arrive in a burst
                self.s_deferred += arr
                arr = 0.0
            elif self.s_deferred:
                arr += self.s_deferred
                self.s_deferred = 0.0
            live = max(0, self.s_workers - self.s_down)
            cap = 0.0 if self.s_stalled else live * p.worker_rate * p.window_s / self.s_skew
            backlog = max(0.0, backlog + arr - cap)
            drain = live * p.worker_rate / self.s_skew if not self.s_stalled else 0.0
            lag = backlog / drain if drain > 0 else (0.0 if backlog == 0 else float("inf"))
            self.rec.log(t, "window", arrivals=arr, backlog=backlog, lag=lag, workers=live)
            self.s_backlog = backlog
            k += 1
            yield self.env.timeout(p.window_s)
        self._set_bill("stream", 0)
        self.s_done = True

    def _rate_history(self) -> float:
        """Max per-second arrival rate over the last cadence window (what the resource agent sees)."""
        p = self.p
        k1 = int(self.env.now // p.window_s)
        k0 = max(0, k1 - max(1, math.ceil(p.autoscale_every_s / p.window_s - 1e-9)))
        seg = self.sc.arrivals[k0:k1] if k1 > k0 else self.sc.arrivals[:1]
        return float(np.max(seg)) / p.window_s

    def _autoscaler(self):
        p = self.p
        while self.env.now + p.autoscale_every_s < self.horizon:
            yield self.env.timeout(p.autoscale_every_s)
            backlog = getattr(self, "s_backlog", 0.0)
            need = self._rate_history() * p.headroom + backlog / p.autoscale_every_s
            desired = int(min(p.max_stream_workers, max(1, math.ceil(need / (p.worker_rate * p.target_util)))))
            # the step is sized, checked and applied on the configured size (a lost worker is the recovery
            # agent's to replace), so the configured size is the checked one and never exceeds the quota
            if desired == self.s_workers:
                continue
            # optional optimisation: dry-run against the policy with `change_reserve` changes kept back for
            # remediation, so autoscaling never spends the whole change budget
            dry = A.propose(self._obs("stream", "autoscale", configured=True, desired=desired))
            st = self._state("stream", configured=True)
            st["changes_last_hour"] += p.change_reserve
            if not dry or not self.gate.policy.check(st, dict(dry[0].action)).allowed:
                continue
            prop, verdict, _rules = yield from self._agent("stream", "autoscale", configured=True, desired=desired)
            if prop is not None and verdict == "allow":  # optional change: if refused, retry next cadence
                self.s_workers += int(prop.action["delta_workers"])
                self._stream_bill()

    def _on_stream_fault(self, f: Fault) -> None:
        self.env.process(self._stream_episode(f))

    def _stream_episode(self, f: Fault):
        p = self.p
        ep = self._ep_start(f, "stream")
        if f.kind == "upstream_delay":
            d = float(self.sc.upstream_s["stream"][f.idx])
            self.s_defer_until = max(self.s_defer_until, self.env.now + d)
            if self.ctl == "agentic":
                yield from self._agent("stream", "upstream_delay")
            yield self.env.timeout(max(0.0, self.s_defer_until - self.env.now))
            self._ep_end(ep)
            return
        if f.kind == "worker_loss":
            self.s_down += 1
            self._stream_bill()
        elif f.kind == "skew":
            self.s_skews += 1
            self.s_skew = p.skew_factor
        else:
            self.s_stalled += 1
        if self.ctl == "static":
            yield from self._static_stream(f)
        else:
            kw = {"drift": self._drift(f)} if f.kind == "schema_drift" else {}
            prop, verdict, rules = yield from self._agent("stream", f.kind, **kw)
            ok = verdict == "allow"
            fixed = ok and (f.kind != "schema_drift" or prop.payload.get("fixed", False))
            if f.kind == "transient" and ok:
                yield self.env.timeout(p.agent_backoff_s)
            if f.kind == "skew" and ok:
                yield self.env.timeout(p.repartition_s)
            if not fixed:
                yield from self._human(f"{f.kind}: " + ("denied/escalated" if prop else "no agent action"), "stream",
                                       f, rules)
        if f.kind == "oom" and p.stream_memory_raise_h > 0:  # the fix (agent's or human's) raises memory, billed
            self.s_mem = p.memory_factor
            self.s_mem_raises += 1
            if math.isfinite(p.stream_memory_raise_h):
                self.env.process(self._lower_stream_memory(self.s_mem_raises))
        if f.kind == "worker_loss":
            self.s_down -= 1
            self._stream_bill()
        elif f.kind == "skew":
            self.s_skews -= 1
            self.s_skew = p.skew_factor if self.s_skews > 0 else 1.0
        else:
            self.s_stalled -= 1
            self._stream_bill()  # picks up a memory raise
        self._ep_end(ep)

    def _lower_stream_memory(self, raise_no: int):
        """Back to the normal memory ``stream_memory_raise_h`` after the last raise (a sensitivity knob)."""
        yield self.env.timeout(self.p.stream_memory_raise_h * 3600.0)
        if self.s_mem_raises == raise_no:
            self.s_mem = 1.0
            self._stream_bill()

    def _static_stream(self, f: Fault):
        p = self.p
        if f.kind in ("worker_loss", "transient"):
            yield self.env.timeout(p.retry_delay(1))  # replacement pod / task retry after the fixed delay
        elif f.kind == "skew":
            yield self.env.timeout(p.skew_s)  # the hot-key burst passes by itself
        else:  # oom / schema drift: retries fail, then a human
            for k in range(1, p.retries + 1):
                yield self.env.timeout(p.retry_delay(k) + p.fail_fast_s)
            yield from self._human(f"{f.kind} after {p.retries} retries", "stream", f)

    # ---------------------------------------------------------------------------------------- spikes
    def _on_spike(self, f: Fault) -> None:
        self.env.process(self._spike())

    def _spike(self):
        p = self.p
        self.spiked += 1
        self._rebill()
        if self.ctl == "agentic":
            for pipe in ("batch", "stream"):
                self.env.process(self._tier(pipe, "cost_spike", "on_demand"))
        yield self.env.timeout(p.spike_s)
        self.spiked -= 1
        self._rebill()
        # the spot price is back to normal only when no other (overlapping) spike is still on: before, the end of
        # the first of two moved the agents back to spot at the spiked price, above on-demand
        if self.ctl == "agentic" and self.spiked == 0:
            for pipe in ("batch", "stream"):
                self.env.process(self._tier(pipe, "spike_end", "spot"))

    def _tier(self, pipe: str, signal: str, tier: str):
        _prop, verdict, _rules = yield from self._agent(pipe, signal)
        if verdict == "allow":
            self.tier[pipe] = tier
            self._rebill()

    # ------------------------------------------------------------------------------------------- run
    def run(self):
        self.env.run()
        for pipe in ("batch", "stream"):
            self._set_bill(pipe, 0)
        return self
