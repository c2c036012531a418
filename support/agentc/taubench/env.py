"""Environment core: a copy-on-write database, the tool registry, episode state and the reward.

Reward (tau-bench v1 definition): 1 iff the final database equals the database obtained by replaying
the task's gold actions on a fresh copy, and every string of ``task["outputs"]`` occurs (lower-cased,
commas removed) in some agent ``respond`` message. Databases share one read-only base; records are
copied on first write, so two databases are equal iff every record written in either is equal.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from support.agentc.taubench.data import base_db, tool_schemas

ToolFn = Callable[..., str]
_REGISTRY: dict[str, dict[str, ToolFn]] = {"retail": {}, "airline": {}}


def tool(domain: str):
    """Register ``fn(db, **kwargs) -> str`` as a tool of ``domain``."""

    def deco(fn: ToolFn) -> ToolFn:
        _REGISTRY[domain][fn.__name__] = fn
        return fn

    return deco


def tools(domain: str) -> dict[str, ToolFn]:
    if domain == "retail":
        import support.agentc.taubench.retail  # registers the retail tools
    elif domain == "airline":
        import support.agentc.taubench.airline  # noqa: F401
    else:
        raise ValueError(f"unknown domain {domain!r}")
    return _REGISTRY[domain]


_ABSENT = object()


class Table:
    """One table (``users``, ``orders`` ...) over a shared read-only base; ``mut`` copies a record."""

    def __init__(self, base: dict[str, Any]):
        self.base = base
        self.over: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        v = self.over.get(key, _ABSENT)
        if v is _ABSENT:
            return self.base.get(key, default)
        return default if v is _ABSENT else v

    def __contains__(self, key: str) -> bool:
        v = self.over.get(key, _ABSENT)
        return key in self.base if v is _ABSENT else True

    def __getitem__(self, key: str) -> Any:
        if key not in self:
            raise KeyError(key)
        return self.get(key)

    def mut(self, key: str) -> Any:
        """The record, copied into this database first (mutate the returned object freely)."""
        if key not in self.over:
            self.over[key] = copy.deepcopy(self.base[key])
        return self.over[key]

    def put(self, key: str, value: Any) -> None:
        self.over[key] = value

    def values(self):
        for k in self.base:
            yield self.get(k)
        for k in self.over:
            if k not in self.base:
                yield self.over[k]

    def items(self):
        for k in self.base:
            yield k, self.get(k)
        for k in self.over:
            if k not in self.base:
                yield k, self.over[k]

    def keys(self):
        return [k for k, _ in self.items()]


class DB(dict):
    """``{"users": Table, ...}``."""

    @classmethod
    def fresh(cls, domain: str) -> DB:
        return cls({name: Table(t) for name, t in base_db(domain).items()})

    def clone(self) -> DB:
        """An independent database with the same state (shares the read-only base)."""
        out = DB()
        for name, tab in self.items():
            t = Table(tab.base)
            t.over = copy.deepcopy(tab.over)
            out[name] = t
        return out

    def touched(self) -> set[tuple[str, str]]:
        return {(t, k) for t, tab in self.items() for k in tab.over}

    def record_json(self, table: str, key: str) -> str:
        return json.dumps(self[table].get(key, None), sort_keys=True)


def same_state(a: DB, b: DB) -> bool:
    """Are the two databases equal (record-wise over everything either one wrote)?"""
    for t, k in a.touched() | b.touched():
        if a.record_json(t, k) != b.record_json(t, k):
            return False
    return True


def parse_ret(s: str) -> Any:
    """A tool's string output as the event's returned value: JSON when it parses, else the string."""
    if isinstance(s, str) and s[:1] in "[{":
        try:
            return json.loads(s)
        except json.JSONDecodeError:
            return s
    return s


class Env:
    """One episode of a tau-bench domain: call tools, collect agent messages, compute the reward."""

    def __init__(self, domain: str, task: dict | None = None):
        self.domain = domain
        self.tools = tools(domain)
        self.schemas = {s["function"]["name"]: s["function"] for s in tool_schemas(domain)}
        self.task = task
        self.db = DB.fresh(domain)
        self.responses: list[str] = []
        self.calls: list[tuple[str, dict, str]] = []

    def call(self, name: str, kwargs: dict) -> str:
        """Run one tool call; errors come back as ``"Error: ..."`` strings (as in tau-bench)."""
        fn = self.tools.get(name)
        if fn is None:
            out = f"Unknown action {name}"
        else:
            try:
                out = fn(self.db, **kwargs)
            except Exception as e:  # noqa: BLE001 - wrong/missing arguments, bad types: tau-bench returns the error text
                out = f"Error: {e}"
        self.calls.append((name, kwargs, out))
        return out

    def respond(self, text: str) -> None:
        self.responses.append(text or "")

    def reward(self) -> float:
        if self.task is None:
            raise ValueError("reward needs the task (Env(domain, task))")
        gold = gold_state(self.domain, self.task)
        if not same_state(self.db, gold):
            return 0.0
        for out in self.task.get("outputs") or []:
            needle = str(out).lower().replace(",", "")
            if not any(needle in r.lower().replace(",", "") for r in self.responses):
                return 0.0
        return 1.0


def gold_state(domain: str, task: dict) -> DB:
    """The database after replaying the task's gold actions on a fresh copy."""
    env = Env(domain, None)
    for a in task["actions"]:
        env.call(a["name"], copy.deepcopy(a["kwargs"]))
    return env.db


def gold_replay_reward(domain: str, task: dict) -> float:
    """Replay the gold actions as the agent (and say the required outputs): reward must be 1.0."""
    env = Env(domain, task)
    for a in task["actions"]:
        env.call(a["name"], copy.deepcopy(a["kwargs"]))
    for out in task.get("outputs") or []:
        env.respond(str(out))
    return env.reward()
