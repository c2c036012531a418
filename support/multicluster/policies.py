"""Policy audit of every executed scaling action: a direct check and the declarative rules of
``support/multicluster/policies/`` (compiled by :mod:`support.policy` to z3, and to Rego for regopy).

The MILP already carries the policies as constraints; the audit checks what was *executed* (plan,
pre-warm, guard, and the HPA baseline's actions) independently, the "policy-aware" layer of paper 11.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from support.multicluster.decision import FederationPolicy

POLICY_DIR = Path(__file__).with_name("policies")
TOL = 1e-9


def direct_violations(state: dict, action: dict) -> tuple[str, ...]:
    """The rules ``action`` breaks in ``state``, by plain comparisons (same rule ids as the YAML files)."""
    out = []
    n = action["replicas"]
    if n > state["capacity"]:
        out.append("capacity")
    if n < state["ha_min"]:
        out.append("ha_minimum")
    if action["home_share"] < state["residency"] - TOL:
        out.append("residency")
    if n > state["base"] and state["other_cost"] + state["cost_per_replica"] * n > state["budget"] + TOL:
        out.append("budget")
    if abs(n - state["base"]) > state["max_change"]:
        out.append("max_change")
    return tuple(sorted(out))


@dataclass
class PolicyAudit:
    """Collects (state, action) pairs of executed actions; ``finish()`` runs the declarative engines."""

    policy: FederationPolicy
    pairs: list = field(default_factory=list)
    kinds: list = field(default_factory=list)
    direct: list = field(default_factory=list)

    def check(self, k: int, base: int, new: int, home_share: float, specs_after, kind: str = "") -> bool:
        """Record one executed action of cluster ``k``: ``base`` = replicas at the interval start, ``new`` the
        replicas it sets, ``specs_after`` all clusters' replicas after it. Returns True when allowed."""
        p = self.policy
        specs_after = np.asarray(specs_after)
        other = float(np.dot(p.cost, specs_after) - p.cost[k] * specs_after[k])
        state = {"capacity": int(p.capacity[k]), "ha_min": int(p.ha_min[k]), "base": int(base),
                 "max_change": int(p.max_change[k]), "residency": float(p.residency[k]),
                 "cost_per_replica": float(p.cost[k]), "other_cost": other, "budget": float(p.budget)}
        action = {"replicas": int(new), "home_share": float(min(1.0, home_share + TOL))}
        v = direct_violations(state, action)
        self.pairs.append((state, action))
        self.kinds.append(kind)
        self.direct.append(v)
        return not v

    def summary(self, engine: bool = True, rego_sample: int = 64) -> dict:
        """Counts of executed actions and violations per rule; with ``engine`` also the z3 verdicts of the
        declarative policy (and Rego on a sample), and how often they disagree with the direct check."""
        out = {"actions": len(self.pairs), "violating_actions": sum(bool(v) for v in self.direct),
               "violations_by_rule": dict(Counter(r for v in self.direct for r in v)),
               "actions_by_kind": dict(Counter(self.kinds))}
        if engine and self.pairs:
            from support.policy import PolicyError, load_policy
            pol = load_policy(POLICY_DIR)
            z3d = pol.check_many(self.pairs)
            out["z3_denied"] = sum(d.verdict == "deny" for d in z3d)
            out["z3_disagreements"] = sum(tuple(sorted(d.violated)) != v for d, v in zip(z3d, self.direct))
            idx = np.linspace(0, len(self.pairs) - 1, min(rego_sample, len(self.pairs))).astype(int)
            try:
                rg = pol.check_rego_many([self.pairs[i] for i in idx])
                out["rego_checked"] = len(idx)
                out["rego_disagreements"] = sum(tuple(sorted(r.violated)) != self.direct[i] for r, i in zip(rg, idx))
            except (ImportError, RuntimeError, PolicyError) as e:  # regopy missing or failing: report, do not hide
                out["rego_error"] = f"{type(e).__name__}: {e}"
        return out
