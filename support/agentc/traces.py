"""Agent traces: the 200 real GPT-4o airline runs, and retail traces expanded from gold actions.

Event abstraction (shared by both domains): an agent text message is ``respond(text)``, a user
message is ``user(text, yes)`` where ``yes`` says the message contains an explicit confirmation, a
tool call is ``name(args) -> ret`` with ``ret`` the parsed JSON output (or the raw string).

Retail has no real trajectories offline: gold action lists are expanded into dialogue traces
(greeting, lookups, a listing + explicit "yes" before every write) and then *mutated* by a seeded
violation policy whose rate is calibrated so that the unrestricted trajectory conformance equals a
target (the paper's Claude Sonnet 4.5 / GPT-5 baselines). That conformance is therefore **calibrated
by construction**, not measured behaviour of any model.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field

import numpy as np

from support.agentc.dsl import Event
from support.agentc.taubench.data import airline_trajectories_raw, tasks
from support.agentc.taubench.env import Env, parse_ret

YES_RE = re.compile(r"\b(yes|yeah|yep|confirm(ed)?|go ahead|proceed)\b", re.IGNORECASE)


def user_event(text: str) -> Event:
    text = text or ""
    return Event("user", {"text": text, "yes": bool(YES_RE.search(text))})


def respond_event(text: str) -> Event:
    return Event("respond", {"text": text or ""})


@dataclass
class Run:
    """One recorded or synthetic episode: the task, its events and (if recorded) the recorded reward."""

    domain: str
    task_id: int
    trial: int
    task: dict
    events: list[Event]
    recorded_reward: float | None = None
    has_reward_info: bool = True
    meta: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.domain}/{self.task_id}/{self.trial}"


def _args(raw: str) -> dict:
    try:
        a = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return {"__unparsable__": raw}
    return a if isinstance(a, dict) else {"__unparsable__": raw}


def airline_runs() -> list[Run]:
    """The 200 recorded GPT-4o airline runs as event traces (returned values as recorded)."""
    runs = []
    for r in airline_trajectories_raw():
        events: list[Event] = []
        pending: dict[str, int] = {}
        for m in r["traj"]:
            role = m.get("role")
            if role == "system":
                continue
            if role == "user":
                events.append(user_event(m.get("content")))
            elif role == "assistant":
                if m.get("content"):
                    events.append(respond_event(m["content"]))
                for tc in m.get("tool_calls") or []:
                    fn = tc["function"]
                    pending[tc["id"]] = len(events)
                    events.append(Event(fn["name"], _args(fn.get("arguments")), None))
            elif role == "tool":
                i = pending.pop(m.get("tool_call_id"), None)
                if i is not None:
                    e = events[i]
                    events[i] = Event(e.name, e.args, parse_ret(m.get("content")))
        info = r.get("info") or {}
        runs.append(Run("airline", int(r["task_id"]), int(r["trial"]), info.get("task") or
                        tasks("airline")[int(r["task_id"])], events, float(r["reward"]),
                        bool(info.get("reward_info"))))
    return runs


@dataclass
class Replay:
    reward: float
    outputs_equal: int  # tool outputs equal (as JSON) to the recorded ones
    outputs_total: int
    env: Env


def replay(run: Run, events: list[Event] | None = None) -> Replay:
    """Re-execute the run's calls in our environment; reward from the final DB and the agent's messages."""
    env = Env(run.domain, run.task)
    eq = tot = 0
    for e in events if events is not None else run.events:
        if e.name == "respond":
            env.respond(e.args.get("text", ""))
        elif e.name == "user":
            continue
        else:
            kwargs = {k: v for k, v in e.args.items() if k != "__unparsable__"}
            out = env.call(e.name, copy.deepcopy(kwargs))
            if e.ret is not None:
                tot += 1
                eq += int(parse_ret(out) == e.ret)
    return Replay(env.reward(), eq, tot, env)


# --------------------------------------------------------------------------------------------------------
# Retail: gold expansion and seeded mutation
# --------------------------------------------------------------------------------------------------------
def retail_tasks(splits: tuple[str, ...] = ("test", "train", "dev")) -> list[tuple[str, int, dict]]:
    return [(s, i, t) for s in splits for i, t in enumerate(tasks("retail", s))]


def describe_call(name: str, args: dict) -> str:
    return f"I will now call {name} with {json.dumps(args, sort_keys=True)}. Shall I proceed?"


def gold_skeleton(task: dict, policy) -> list[Event]:
    """Gold actions as a dialogue: the user asks, the agent performs the gold calls, listing each write
    and getting an explicit yes first. (Returned values are filled in by execution.)"""
    ev = [user_event(task["instruction"])]
    for a in task["actions"]:
        if a["name"] in policy.writes:
            ev.append(respond_event(describe_call(a["name"], a["kwargs"])))
            ev.append(user_event("yes"))
        ev.append(Event(a["name"], copy.deepcopy(a["kwargs"])))
    for out in task.get("outputs") or []:
        ev.append(respond_event(f"The answer is {out}."))
    ev.append(respond_event("Is there anything else I can help with?"))
    return ev


MUTATIONS = ("skip_auth", "skip_confirmation", "skip_lookup", "wrong_refund", "repeat_write", "foreign_order",
             "bad_reason")


def mutate(events: list[Event], rng: np.random.Generator, policy, db_env: Env, kinds=MUTATIONS) -> tuple[list[Event], str]:
    """One seeded policy violation injected into a (compliant) expanded trace; returns (trace, kind).

    Kinds: drop the authentication call, drop the user's "yes" (the agent acts unconfirmed), drop the
    status lookup of the order it writes, refund to a non-original non-gift-card method, repeat a
    once-only write, act on another user's order, or cancel with a reason outside the allowed set.
    The first applicable kind in a random order is used; an empty kind means none applied.
    """
    writes = [i for i, e in enumerate(events) if e.name in policy.writes]
    order = list(kinds)
    rng.shuffle(order)
    for kind in order:
        ev = list(events)
        if kind == "skip_auth":
            idx = [i for i, e in enumerate(ev) if e.name.startswith("find_user_id")]
            if idx:
                del ev[idx[0]]
                return ev, kind
        elif kind == "skip_confirmation" and writes:
            w = writes[int(rng.integers(len(writes)))]
            if ev[w - 1].name == "user":
                ev[w - 1] = user_event("ok")  # no explicit yes
                return ev, kind
        elif kind == "skip_lookup" and writes:
            w = writes[int(rng.integers(len(writes)))]
            oid = ev[w].args.get("order_id")
            idx = [i for i, e in enumerate(ev[:w]) if e.name == "get_order_details" and e.args.get("order_id") == oid]
            if oid and idx:
                for i in reversed(idx):
                    del ev[i]
                return ev, kind
        elif kind == "wrong_refund":
            idx = [i for i, e in enumerate(ev) if e.name == "return_delivered_order_items"]
            if idx:
                i = idx[0]
                user = db_env.db["users"].get(db_env.db["orders"][ev[i].args["order_id"]]["user_id"])
                orig = db_env.db["orders"][ev[i].args["order_id"]]["payment_history"][0]["payment_method_id"]
                bad = [p for p in sorted(user["payment_methods"]) if p != orig and not p.startswith("gift_card")]
                if bad:
                    ev[i] = Event(ev[i].name, {**ev[i].args, "payment_method_id": bad[0]})
                    return ev, kind
        elif kind == "repeat_write":
            idx = [i for i, e in enumerate(ev) if e.name in ("modify_pending_order_items", "exchange_delivered_order_items")]
            if idx:
                i = idx[0]
                ev[i + 1:i + 1] = [respond_event(describe_call(ev[i].name, ev[i].args)), user_event("yes"),
                                   Event(ev[i].name, copy.deepcopy(ev[i].args))]
                return ev, kind
        elif kind == "foreign_order" and writes:
            w = writes[int(rng.integers(len(writes)))]
            oid = ev[w].args.get("order_id")
            if oid:
                orders = db_env.db["orders"]
                owner, status = orders[oid]["user_id"], orders[oid]["status"]
                others = sorted(o for o, rec in orders.items() if rec["user_id"] != owner and rec["status"] == status)
                if others:
                    other = others[int(rng.integers(len(others)))]
                    ev[w] = Event(ev[w].name, {**ev[w].args, "order_id": other})
                    ev.insert(w, Event("get_order_details", {"order_id": other}))  # the agent looks it up
                    return ev, kind
        elif kind == "bad_reason":
            idx = [i for i, e in enumerate(ev) if e.name == "cancel_pending_order"]
            if idx:
                ev[idx[0]] = Event(ev[idx[0]].name, {**ev[idx[0]].args, "reason": "found a better price"})
                return ev, kind
    return list(events), ""


def execute(domain: str, task: dict, events: list[Event]) -> tuple[list[Event], Env]:
    """Run the calls of ``events`` in a fresh environment, filling in each call's returned value."""
    env = Env(domain, task)
    out = []
    for e in events:
        if e.name == "respond":
            env.respond(e.args.get("text", ""))
            out.append(e)
        elif e.name == "user":
            out.append(e)
        else:
            ret = env.call(e.name, copy.deepcopy(e.args))
            out.append(Event(e.name, e.args, parse_ret(ret)))
    return out, env
