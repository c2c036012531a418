"""Enforcement at tool-call granularity: check each call with the SMT monitor, replace a non-compliant
call by a compliant alternative.

Alternatives, tried in this order on the rules of the unsat core:

1. **confirm**: the rule needs an earlier ``user(yes=true)``: the agent lists the call and asks; a
   deterministic :class:`UserOracle` answers. The default oracle (``"always-yes"``) is neutral: it
   confirms every call the agent lists, so the enforcer only adds the missing confirmation turn.
   The ``"gold-aware"`` oracle knows the task's gold actions and confirms only those (an optimistic
   user; reported beside the neutral figure, never as the claim). A "no" drops the call.
2. **lookup**: the rule needs an earlier read-only call (declared ``readonly:`` in the policy): it is
   inserted, with its required arguments filled by name from the candidate, the trace, or the user
   oracle (identity facts such as the e-mail for authentication). Reads do not change the database.
3. **witness**: an argument of the call is re-opened and z3 is asked for a compliant value, preferring
   values already seen in the trace (e.g. the original payment method instead of a PayPal refund), then
   the policy's literal constants and the tool schemas' enum values, sorted (e.g. a cancel reason), so
   the choice never falls to z3's arbitrary first model while one of those complies. A witness the
   reference evaluator rejects is not proposed and counts as a monitor disagreement.
4. **block**: nothing works: the call is not issued; the agent tells the user instead.

Every call the enforcer issues is re-checked by the independent reference evaluator first; a call it
rejects is never issued (counted as a monitor disagreement, expected 0).
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from typing import Any

from support.agentc import reference_eval as ref
from support.agentc.dsl import Event, ListLit, Lit, Policy, Quant
from support.agentc.smt import Candidate, SmtMonitor
from support.agentc.taubench.env import Env, parse_ret
from support.agentc.traces import describe_call, execute, respond_event, user_event


def _canon(x: Any) -> str:
    return json.dumps(x, sort_keys=True)


ORACLES = ("always-yes", "gold-aware")


def check_oracle(kind: str) -> str:
    """``kind`` if it names a user oracle (:data:`ORACLES`), else one ValueError listing them."""
    if kind not in ORACLES:
        raise ValueError(f"unknown user oracle {kind!r}: expected one of {ORACLES}")
    return kind


class UserOracle:
    """A deterministic user that knows its own identity facts (user id, e-mail, name, zip).
    ``kind="always-yes"`` confirms every listed call (neutral); ``kind="gold-aware"`` confirms a write
    iff it has the effect the task wants (the same database change as one of the task's gold actions of
    that tool, applied to the current state), i.e. it knows the answer."""

    def __init__(self, domain: str, task: dict | None, db=None, kind: str = "always-yes"):
        self.domain, self.kind = domain, check_oracle(kind)
        self.gold_actions = list((task or {}).get("actions", []))
        self.gold = {(a["name"], _canon(a["kwargs"])) for a in self.gold_actions}
        self.facts: dict[str, Any] = {}
        uid = (task or {}).get("user_id")
        if uid and db is not None and uid in db["users"]:
            u = db["users"][uid]
            self.facts = {"user_id": uid, "email": u.get("email"),
                          "first_name": u.get("name", {}).get("first_name"),
                          "last_name": u.get("name", {}).get("last_name"),
                          "zip": u.get("address", {}).get("zip")}

    def confirms(self, ev: Event, env: Env | None = None) -> bool:
        """Whether the user answers "yes" when the agent lists ``ev`` (see the class docstring)."""
        if self.kind == "always-yes":
            return True
        if (ev.name, _canon(ev.args)) in self.gold:
            return True
        if env is None:
            return False
        from support.agentc.taubench.env import same_state

        mine = env.db.clone()
        out = env.tools[ev.name](mine, **copy.deepcopy(ev.args)) if ev.name in env.tools else "Error"
        if str(out).startswith("Error") or not mine.touched() - env.db.touched() and same_state(mine, env.db):
            return False
        for a in self.gold_actions:
            if a["name"] != ev.name:
                continue
            theirs = env.db.clone()
            env.tools[a["name"]](theirs, **copy.deepcopy(a["kwargs"]))
            if same_state(mine, theirs):
                return True
        return False

    def fact(self, key: str) -> Any:
        return self.facts.get(key)


@dataclass
class Intervention:
    position: int  # index in the output trace where the original call would have gone
    call: str
    rules: list[str]
    action: str  # confirm-yes | confirm-no | lookup | witness | block
    detail: str = ""


@dataclass
class EnforcedRun:
    events: list[Event]
    env: Env
    interventions: list[Intervention] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds per SMT check
    disagreements: int = 0  # calls (or witness completions) the SMT monitor accepted but the reference rejected

    @property
    def reward(self) -> float:
        return self.env.reward()


def _exists_patterns(f: Any, out: list) -> list:
    """Existential patterns in a rule (what the rule needs to have happened earlier)."""
    if isinstance(f, Quant):
        if f.kind == "exists":
            out.append(f.pat)
        for g in (f.guard, f.body):
            if g is not None:
                _exists_patterns(g, out)
    elif hasattr(f, "fs"):
        for g in f.fs:
            _exists_patterns(g, out)
    elif hasattr(f, "f"):
        _exists_patterns(f.f, out)
    return out


def _trace_values(events: list[Event]) -> list[Any]:
    """Scalar values seen in the trace (arguments and returned values, and dict keys of returns)."""
    seen: dict[str, Any] = {}

    def walk(x, depth=0):
        if depth > 4:
            return
        if isinstance(x, (str, int, float)) and not isinstance(x, bool):
            if isinstance(x, str) and len(x) > 80:
                return
            seen.setdefault(_canon(x), x)
        elif isinstance(x, list):
            for y in x[:50]:
                walk(y, depth + 1)
        elif isinstance(x, dict):
            for k, y in list(x.items())[:80]:
                walk(k, depth + 1)
                walk(y, depth + 1)

    for e in events:
        if e.is_call:
            walk(e.args)
            walk(e.ret)
    return list(seen.values())


def _literals(x: Any, out: list) -> list:
    """Scalar literal constants anywhere in a (kernel) formula or term, in no particular order."""
    if isinstance(x, Lit):
        if isinstance(x.value, (str, int, float)) and not isinstance(x.value, bool):
            out.append(x.value)
    elif isinstance(x, ListLit):
        for t in x.items:
            _literals(t, out)
    elif isinstance(x, (tuple, list)):
        for y in x:
            _literals(y, out)
    elif hasattr(x, "__dataclass_fields__"):
        for name in x.__dataclass_fields__:
            _literals(getattr(x, name), out)
    return out


def _enums(schema: Any, out: list) -> list:
    """Scalar ``enum`` values anywhere in a JSON schema."""
    if isinstance(schema, dict):
        for v in schema.get("enum", []) if isinstance(schema.get("enum"), list) else []:
            if isinstance(v, (str, int, float)) and not isinstance(v, bool):
                out.append(v)
        for v in schema.values():
            _enums(v, out)
    elif isinstance(schema, list):
        for v in schema:
            _enums(v, out)
    return out


def fallback_values(policy: Policy) -> list[Any]:
    """The policy's literal constants and its tools' schema enum values, deduplicated and sorted (by type, then
    value), tried after the trace's values for a witness so that no choice is left to z3's search history."""
    vals = _literals([r.formula for r in policy.rules], []) + _enums(policy.tools, [])
    uniq = {_canon(v): v for v in vals}
    return [uniq[k] for k in sorted(uniq, key=lambda k: (type(uniq[k]).__name__, k))]


class Enforcer:
    """Runs a sequence of intended agent events through the monitor and the environment."""

    def __init__(self, policy: Policy, domain: str, task: dict | None, *, allow_witness: bool = True,
                 max_repairs: int = 6, max_alternatives: int = 3, oracle: str = "always-yes"):
        if domain not in ("retail", "airline"):  # it executes the calls, so it needs that domain's environment
            raise ValueError(f"unknown domain {domain!r}: the Enforcer runs calls in a tau-bench environment "
                             f"(retail, airline); SmtMonitor alone checks any domain's policy")
        self.policy, self.domain, self.task = policy, domain, task
        self.max_alternatives = max_alternatives
        self.allow_witness = allow_witness
        self.max_repairs = max_repairs
        self.oracle = check_oracle(oracle)  # at construction, before any run
        self.fallback = fallback_values(policy)

    def run(self, intended: list[Event]) -> EnforcedRun:
        env = Env(self.domain, self.task)
        oracle = UserOracle(self.domain, self.task, env.db, kind=self.oracle)
        mon = SmtMonitor(self.policy)
        out = EnforcedRun([], env)
        for e in intended:
            if not e.is_call:
                self._emit_text(e, mon, out)
                continue
            self._call(Event(e.name, dict(e.args)), mon, out, oracle, depth=0)
        return out

    # -- plumbing
    def _emit_text(self, e: Event, mon: SmtMonitor, out: EnforcedRun) -> None:
        if e.name == "respond":
            out.env.respond(e.args.get("text", ""))
        out.events.append(e)
        mon.append(e)

    def _check(self, mon: SmtMonitor, cand: Candidate | Event, prefer=None):
        res = mon.check(cand, prefer=prefer)
        return res

    def _issue(self, ev: Event, mon: SmtMonitor, out: EnforcedRun) -> bool:
        if ref.check_candidate(self.policy, out.events, ev):  # independent re-check before issuing
            out.disagreements += 1
            return False
        ret = out.env.call(ev.name, copy.deepcopy(ev.args))
        done = Event(ev.name, ev.args, parse_ret(ret))
        out.events.append(done)
        mon.append(done)
        return True

    def _call(self, ev: Event, mon: SmtMonitor, out: EnforcedRun, oracle: UserOracle, depth: int) -> bool:
        pos = len(out.events)
        t0 = time.perf_counter()
        res = self._check(mon, ev)
        out.latencies.append(time.perf_counter() - t0)
        tried: set[str] = set()
        for _ in range(self.max_repairs):
            if res.ok:
                return self._issue(ev, mon, out)
            rules = [self.policy.rule(n) for n in res.core]
            action = self._repair(ev, rules, mon, out, oracle, depth, tried)
            if action is None:
                break
            kind, new_ev, detail = action
            out.interventions.append(Intervention(pos, ev.short(), [r.name for r in rules], kind, detail))
            if kind == "confirm-no":
                self._emit_text(respond_event(f"Understood, I will not perform {ev.name}."), mon, out)
                return False
            ev = new_ev
            t0 = time.perf_counter()
            res = self._check(mon, ev)
            out.latencies.append(time.perf_counter() - t0)
        if res.ok:  # the last allowed repair made the call compliant
            return self._issue(ev, mon, out)
        out.interventions.append(Intervention(pos, ev.short(), list(res.core), "block"))
        self._emit_text(respond_event(f"I'm sorry, policy does not allow {ev.name} here "
                                      f"({', '.join(res.core)})."), mon, out)
        return False

    def _repair(self, ev, rules, mon, out, oracle, depth, tried):
        pats = [p for r in rules for p in _exists_patterns(r.formula, [])]
        # 1. confirmation
        if any(p.names is not None and "user" in p.names for p in pats) and "confirm" not in tried:
            tried.add("confirm")
            self._emit_text(respond_event(describe_call(ev.name, ev.args)), mon, out)
            if oracle.confirms(ev, out.env):
                self._emit_text(user_event("yes"), mon, out)
                return "confirm-yes", ev, ""
            self._emit_text(user_event("no, do not do that"), mon, out)
            return "confirm-no", ev, ""
        # 2. insert a missing read-only lookup
        if depth < 3:
            for p in pats:
                for name in sorted(p.names or ()):
                    if name not in self.policy.readonly or f"lookup:{name}" in tried:
                        continue
                    args = self._fill_args(name, p, ev, out.events, oracle)
                    if args is None:
                        continue
                    tried.add(f"lookup:{name}")
                    if self._call(Event(name, args), mon, out, oracle, depth + 1):
                        return "lookup", ev, Event(name, args).short()
        # 3. witness for one argument (a write's alternative is proposed to the user first)
        if self.allow_witness and "witness" not in tried:
            tried.add("witness")
            seen = _trace_values(out.events)
            known = {_canon(x) for x in seen}
            prefer = seen + [v for v in self.fallback if _canon(v) not in known]
            keys = [k for r in rules for k, _ in r.formula.pat.args if k in ev.args]
            for k in dict.fromkeys(keys):
                refused: list[Any] = [ev.args[k]]
                for _ in range(self.max_alternatives):
                    partial = Candidate(ev.name, {a: v for a, v in ev.args.items() if a != k}, complete=False)
                    res = mon.check(partial, prefer=prefer, exclude={k: refused})
                    if not (res.ok and k in res.witness):
                        break
                    new = Event(ev.name, {**ev.args, k: res.witness[k]})
                    if ref.check_candidate(self.policy, out.events, new):
                        out.disagreements += 1  # z3 called it compliant, the reference evaluator does not
                        break  # never propose what the reference evaluator rejects
                    if ev.name not in self.policy.writes:
                        return "witness", new, f"{k}={res.witness[k]!r}"
                    self._emit_text(respond_event(describe_call(new.name, new.args)), mon, out)
                    if oracle.confirms(new, out.env):
                        self._emit_text(user_event("yes"), mon, out)
                        return "witness", new, f"{k}={res.witness[k]!r}"
                    self._emit_text(user_event("no, not that"), mon, out)
                    refused.append(res.witness[k])
        return None

    def _fill_args(self, name: str, pat, ev: Event, events: list[Event], oracle: UserOracle) -> dict | None:
        schema = self.policy.tools.get(name, {})
        required = schema.get("required", list(schema.get("properties", {})))
        args: dict[str, Any] = {}
        for key, term in pat.args:  # a pattern argument naming a candidate argument of the same key
            if key in ev.args:
                args[key] = ev.args[key]
        for key in required:
            if key in args:
                continue
            val = ev.args.get(key)
            if val is None:
                val = oracle.fact(key) if name in self.policy.readonly and _is_identity(key) else None
            if val is None:
                for e in reversed(events):
                    if e.is_call and key in e.args:
                        val = e.args[key]
                        break
                    if e.is_call and isinstance(e.ret, dict) and key in e.ret:
                        val = e.ret[key]
                        break
            if val is None:
                val = oracle.fact(key)
            if val is None:
                return None
            args[key] = val
        return args


def _is_identity(key: str) -> bool:
    return key in ("email", "first_name", "last_name", "zip")


def unrestricted(domain: str, task: dict, intended: list[Event]) -> EnforcedRun:
    """The same events without a monitor: executed as they are (the baseline), by :func:`traces.execute`."""
    events, env = execute(domain, task, intended)
    return EnforcedRun(events, env)
