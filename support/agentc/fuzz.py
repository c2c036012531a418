"""Random traces for comparing the SMT monitor with the reference evaluator (property tests).

Values are drawn from small pools so that the equalities the rules test happen often; returned
values carry the fields the policies read (status, payment_history, payment_methods, ...), sometimes
missing or replaced by an error string. ``KITCHEN_SINK`` is a policy over a toy domain that uses every
operator of the DSL (After, Seq, AtMost with k > 1, without, arithmetic, string order, len, in).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from support.agentc import reference_eval as ref
from support.agentc.dsl import Event, Policy, parse_policy
from support.agentc.smt import SmtMonitor
from support.progress import progress

TOY_TOOLS = {
    "login": {"properties": {"name": {"type": "string"}}, "required": ["name"]},
    "read": {"properties": {"key": {"type": "string"}}, "required": ["key"]},
    "pay": {"properties": {"key": {"type": "string"}, "amount": {"type": "number"}, "method": {"type": "string"}},
            "required": ["key", "amount", "method"]},
    "ship": {"properties": {"key": {"type": "string"}, "items": {"type": "array"}}, "required": ["key"]},
    "close": {"properties": {"key": {"type": "string"}}, "required": ["key"]},
}

KITCHEN_SINK = r"""
let WRITE = pay | ship | close
rule login_first: Before(login(*) -> u, read | WRITE(*) where not startswith(u, "Error"))
rule confirm: Before(user(yes=true), WRITE(*), without user | WRITE(*))
rule read_before_pay: Forall pay(key=k, amount=a, method=m):
    Exists read(key=k) -> d: a <= d.limit * 2 - 1 and (m == d.method or startswith(m, "gift"))
rule seq_ship: Seq(login(*), read(*), ship(*))
rule two_payments: AtMost(2, pay(key=k))
rule not_after_close: Forall WRITE(key=k): not (Exists close(key=k))
rule small_ship: Never(ship(items=it) where len(it) > 2 or "bad" in it)
rule ordered_keys: Forall close(key=k): Exists read(key=j) -> d: j <= k and d.tag != null
rule owner: Forall ship(key=k): Exists read(key=k) -> d: Exists login(name=n) -> u: d.owner == u and n != "x"
rule closes_answered: After(close(*), respond(*))
"""

POOLS = {
    "order_id": ["#W1", "#W2", "#W3"], "user_id": ["u1", "u2"], "reservation_id": ["R1", "R2"],
    "payment_method_id": ["gift_card_1", "credit_card_1", "paypal_1"], "payment_id": ["gift_card_1", "credit_card_1",
                                                                                       "certificate_1"],
    "reason": ["no longer needed", "ordered by mistake", "other"], "amount": [50, 100, 150, 200, 2.5],
    "key": ["a", "b", "c"], "method": ["gift", "card", "cash"], "name": ["u1", "u2", "x"],
    "email": ["e1@x", "e2@x"],
}


def _val(key: str, rng: np.random.Generator):
    if key in POOLS:
        p = POOLS[key]
        return p[int(rng.integers(len(p)))]
    if key in ("passengers", "item_ids", "new_item_ids", "flights", "items"):
        n = int(rng.integers(0, 7 if key == "passengers" else 4))
        pool = ["p", "q", "bad"] if key == "items" else ["1", "2", "3"]
        return [pool[int(rng.integers(len(pool)))] for _ in range(n)]
    if key in ("total_baggages", "nonfree_baggages"):
        return int(rng.integers(0, 4))
    return ["s", "t"][int(rng.integers(2))]


def _ret(name: str, rng: np.random.Generator):
    r = rng.random()
    if r < 0.1:
        return "Error: not found"
    if name.startswith("find_user_id") or name == "login":
        return ["u1", "u2"][int(rng.integers(2))]
    d = {
        "status": ["pending", "delivered"][int(rng.integers(2))],
        "user_id": ["u1", "u2"][int(rng.integers(2))],
        "owner": ["u1", "u2"][int(rng.integers(2))],
        "payment_history": [{"payment_method_id": POOLS["payment_method_id"][int(rng.integers(3))]}],
        "payment_methods": {k: {} for k in POOLS["payment_method_id"] + ["certificate_1"] if rng.random() < 0.5},
        "reservation_id": ["R1", "R2"][int(rng.integers(2))],
        "passengers": [{}] * int(rng.integers(1, 4)),
        "cabin": ["economy", "business"][int(rng.integers(2))],
        "insurance": ["yes", "no"][int(rng.integers(2))],
        "membership": ["regular", "silver", "gold"][int(rng.integers(3))],
        "email": "e@x", "limit": int(rng.integers(0, 120)), "method": ["gift", "card"][int(rng.integers(2))],
        "tag": None if rng.random() < 0.3 else "t",
    }
    for k in list(d):
        if rng.random() < 0.08:
            del d[k]
    return d


def random_trace(policy: Policy, rng: np.random.Generator, max_len: int = 10) -> list[Event]:
    """A random trace over the policy's tools (+ user/respond turns), with data arguments and returns."""
    names = sorted(policy.tools)
    n = int(rng.integers(1, max_len + 1))
    out = []
    for _ in range(n):
        name = names[int(rng.integers(len(names)))]
        if name == "user":
            out.append(Event("user", {"text": "", "yes": bool(rng.random() < 0.6)}))
            continue
        if name == "respond":
            out.append(Event("respond", {"text": ""}))
            continue
        props = policy.tools[name].get("properties", {})
        args = {k: _val(k, rng) for k in props if rng.random() < 0.93}
        out.append(Event(name, args, _ret(name, rng)))
    return out


@dataclass
class Agreement:
    traces: int
    checks: int
    disagreements: int
    core_not_subset: int
    examples: list
    seconds: float
    smt_seconds: float
    ref_seconds: float


def compare(policies: list[Policy], n: int, seed: int, max_len: int = 10, every_prefix: bool = False) -> Agreement:
    """z3 verdicts vs reference verdicts on ``n`` random traces in all, split as evenly as possible over the
    policies, at the last position (or every position when ``every_prefix``); also checks that each unsat
    core names only violated rules."""
    if n < len(policies):
        raise ValueError(f"need at least one random trace per policy; got n={n} for {len(policies)} policies")
    counts = [n // len(policies) + (i < n % len(policies)) for i in range(len(policies))]
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    dis = bad_core = checks = 0
    ex = []
    t_smt = t_ref = 0.0
    for pol, n_pol in zip(policies, counts):
        mon = SmtMonitor(pol)
        for _ in progress(range(n_pol), desc=f"fuzz z3 vs reference ({pol.domain})"):
            tr = random_trace(pol, rng, max_len)
            positions = range(len(tr)) if every_prefix else [len(tr) - 1]
            for j in positions:
                mon.reset(tr[:j])
                a = time.perf_counter()
                res = mon.check(tr[j])
                b = time.perf_counter()
                viol = ref.violated_at(pol, tr, j)
                t_ref += time.perf_counter() - b
                t_smt += b - a
                checks += 1
                if res.ok != (not viol):
                    dis += 1
                    if len(ex) < 5:
                        ex.append((pol.domain, [e.short() for e in tr[: j + 1]], res.core, viol))
                elif not res.ok and not set(res.core) <= set(viol):
                    bad_core += 1
            if pol.liveness:
                checks += 1
                if sorted(mon.liveness_violations(tr)) != sorted(r.name for r in pol.liveness
                                                                 if not ref.liveness_ok(r, tr)):
                    dis += 1
    return Agreement(sum(counts), checks, dis, bad_core, ex, time.perf_counter() - t0, t_smt, t_ref)


def toy_policy() -> Policy:
    return parse_policy(KITCHEN_SINK, TOY_TOOLS, "toy")
