"""Bounded-action agents and the policy gate they act through (shared core, papers 05 and 11).

An agent maps an observation (telemetry + metadata) to proposals drawn from a *finite* action menu; it
never actuates anything itself. :class:`PolicyGate` validates each proposal with a
:class:`support.policy.Policy` and records proposal, verdict and outcome in an :class:`AuditLog`:
``allow`` -> executed, ``escalate``/``deny`` -> handed to a human (counted as a manual intervention).
"Agent" here means a deterministic bounded policy, not a language model.

Stable API: ``Proposal``, ``BoundedAgent``, ``AuditEntry``, ``AuditLog``, ``PolicyGate``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Proposal:
    """An action from an agent's menu, with the policy-visible fields of the action and a reason."""

    agent: str
    kind: str
    action: Mapping  # fields of the policy schema's ``action.*`` (``kind`` included)
    reason: str = ""
    payload: Mapping = field(default_factory=dict)  # what the executor needs beyond the policy fields


class BoundedAgent(ABC):
    """Base class: subclasses set ``name`` and ``menu`` and implement :meth:`decide`."""

    name: str = "agent"
    menu: tuple[str, ...] = ()

    def propose(self, obs: Mapping) -> list[Proposal]:
        """Proposals for this observation; raises ValueError if :meth:`decide` leaves the menu."""
        out = list(self.decide(obs))
        for p in out:
            if p.kind not in self.menu:
                raise ValueError(f"agent {self.name!r} proposed {p.kind!r}, which is not in its menu {self.menu}")
            if p.action.get("kind", p.kind) != p.kind:
                raise ValueError(f"agent {self.name!r}: proposal kind {p.kind!r} != action kind {p.action['kind']!r}")
        return out

    def make(self, kind: str, reason: str = "", payload: Mapping | None = None, **action) -> Proposal:
        """Helper for subclasses: a proposal of ``kind`` with the given action fields."""
        return Proposal(self.name, kind, {"kind": kind, **action}, reason, dict(payload or {}))

    @abstractmethod
    def decide(self, obs: Mapping) -> list[Proposal]:
        """Map telemetry to zero or more proposals from ``self.menu``."""


@dataclass(frozen=True)
class AuditEntry:
    t: float
    agent: str
    kind: str
    state: Mapping
    action: Mapping
    verdict: str
    violated: tuple[str, ...]
    executed: bool
    reason: str


class AuditLog:
    """Every proposal, its verdict and whether it was executed, in order."""

    def __init__(self):
        self.entries: list[AuditEntry] = []

    def add(self, entry: AuditEntry) -> None:
        self.entries.append(entry)

    def executed(self) -> list[AuditEntry]:
        return [e for e in self.entries if e.executed]

    def escalated(self) -> list[AuditEntry]:
        return [e for e in self.entries if not e.executed]

    def __len__(self) -> int:
        return len(self.entries)

    def revalidate(self, policy, engine: str = "rego") -> list[AuditEntry]:
        """Executed entries that the policy does NOT allow when re-checked (should be empty)."""
        ex = self.executed()
        if not ex:
            return []
        pairs = [(dict(e.state), dict(e.action)) for e in ex]
        ds = policy.check_rego_many(pairs) if engine == "rego" else policy.check_many(pairs)
        return [e for e, d in zip(ex, ds) if d.verdict != "allow"]


class PolicyGate:
    """Validates proposals against a policy; only ``allow`` executes."""

    def __init__(self, policy, audit: AuditLog | None = None):
        self.policy = policy
        self.audit = audit if audit is not None else AuditLog()
        self.check_seconds: list[float] = []  # wall-clock time of every policy check (actuation overhead)

    def submit(self, t: float, proposal: Proposal, state: Mapping):
        """Returns the :class:`support.policy.Decision`; the audit log records the outcome."""
        t0 = time.perf_counter()
        d = self.policy.check(dict(state), dict(proposal.action))
        self.check_seconds.append(time.perf_counter() - t0)
        self.audit.add(AuditEntry(float(t), proposal.agent, proposal.kind, dict(state), dict(proposal.action),
                                  d.verdict, d.violated + d.uncertain, d.allowed, proposal.reason))
        return d
