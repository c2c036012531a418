"""Reference monitor: direct evaluation of the DSL semantics over a concrete trace (no solver).

Written separately from :mod:`support.agentc.smt` and used as its oracle (tests, property test) and as
the "brute-force evaluator" peer in the latency benchmark. It enumerates positions and bindings
literally, exactly as the semantics in :mod:`support.agentc.dsl` are stated. A rule written with a
shorthand (Before, After, Seq, Never, AtMost; :class:`support.agentc.dsl.Sugar`) is evaluated from the
shorthand's definition here, not from the DSL's kernel expansion that z3 checks.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from support.agentc.dsl import (
    And,
    Arith,
    Cmp,
    CountLess,
    Event,
    FalseF,
    Len,
    ListLit,
    Lit,
    Not,
    Or,
    Pattern,
    Policy,
    Quant,
    Rule,
    StartsWith,
    Sugar,
    TrueF,
    Var,
)
from support.policy.numbers import decimal_value


class _Undef:
    def __repr__(self) -> str:
        return "UNDEF"


UNDEF = _Undef()


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float, Fraction)) and not isinstance(x, bool)


def _num(x: Any) -> Fraction:
    """Exact value of a number: a float is its shortest decimal; an arithmetic result is kept as a Fraction."""
    return x if isinstance(x, Fraction) else decimal_value(x)


def values_equal(a: Any, b: Any) -> bool:
    """Structural JSON equality; numbers by exact decimal value, booleans distinct from numbers."""
    if a is UNDEF or b is UNDEF:
        return False
    if _is_num(a) and _is_num(b):
        return _num(a) == _num(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    return False


def eval_term(t: Any, env: dict[str, Any]) -> Any:
    if isinstance(t, Lit):
        return t.value
    if isinstance(t, Var):
        v = env.get(t.name, UNDEF)
        for step in t.path:
            if isinstance(step, int):
                if isinstance(v, list) and 0 <= step < len(v):
                    v = v[step]
                else:
                    return UNDEF
            else:
                if isinstance(v, dict) and step in v:
                    v = v[step]
                else:
                    return UNDEF
        return v
    if isinstance(t, Len):
        v = eval_term(t.term, env)
        return len(v) if isinstance(v, (list, dict, str)) else UNDEF
    if isinstance(t, Arith):
        a, b = eval_term(t.left, env), eval_term(t.right, env)
        if not (_is_num(a) and _is_num(b)):
            return UNDEF
        x, y = _num(a), _num(b)
        r = x + y if t.op == "+" else x - y if t.op == "-" else x * y
        return int(r) if r.denominator == 1 else r  # exact: a float would round 1 + 1e-16 to 1
    if isinstance(t, ListLit):
        items = [eval_term(x, env) for x in t.items]
        return UNDEF if any(x is UNDEF for x in items) else items
    raise TypeError(f"not a term: {t!r}")


def _cmp(op: str, a: Any, b: Any) -> bool:
    if a is UNDEF or b is UNDEF:
        return False
    if op == "==":
        return values_equal(a, b)
    if op == "!=":
        return not values_equal(a, b)
    if op == "in":
        if isinstance(b, list):
            return any(values_equal(a, x) for x in b)
        if isinstance(b, dict):
            return isinstance(a, str) and a in b
        if isinstance(b, str):
            return isinstance(a, str) and a in b
        return False
    if _is_num(a) and _is_num(b):
        x, y = _num(a), _num(b)
    elif isinstance(a, str) and isinstance(b, str):
        x, y = a, b
    else:
        return False
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def match(p: Pattern, ev: Event, env: dict[str, Any], with_ret: bool = True) -> dict[str, Any] | None:
    """The environment extended by matching ``ev`` against ``p``, or None when it does not match."""
    if p.names is not None and ev.name not in p.names:
        return None
    out = dict(env)
    for key, term in p.args:
        if key not in ev.args:
            return None
        val = ev.args[key]
        if isinstance(term, Var) and not term.path and term.name not in out:
            out[term.name] = val
        elif not _cmp("==", val, eval_term(term, out)):
            return None
    if p.ret is not None:
        out[p.ret] = ev.ret if with_ret else UNDEF
    return out


def holds(f: Any, env: dict[str, Any], trace: list[Event], pos: int) -> bool:
    """Truth of kernel formula ``f`` with the enclosing event at ``pos`` (``len(trace)`` = after the end)."""
    if isinstance(f, TrueF) or f is None:
        return True
    if isinstance(f, FalseF):
        return False
    if isinstance(f, Not):
        return not holds(f.f, env, trace, pos)
    if isinstance(f, And):
        return all(holds(g, env, trace, pos) for g in f.fs)
    if isinstance(f, Or):
        return any(holds(g, env, trace, pos) for g in f.fs)
    if isinstance(f, Cmp):
        return _cmp(f.op, eval_term(f.left, env), eval_term(f.right, env))
    if isinstance(f, StartsWith):
        a, b = eval_term(f.s, env), eval_term(f.prefix, env)
        return isinstance(a, str) and isinstance(b, str) and a.startswith(b)
    if isinstance(f, CountLess):
        n = 0
        for i in range(pos):
            e2 = match(f.pat, trace[i], env)
            if e2 is not None and holds(f.guard, e2, trace, i):
                n += 1
        return n < f.k
    if isinstance(f, Quant):
        rng = range(pos + 1, len(trace)) if f.future else range(pos)
        for i in rng:
            e2 = match(f.pat, trace[i], env)
            if e2 is None or not holds(f.guard, e2, trace, i):
                if f.kind == "forall":
                    continue
                continue
            if f.kind == "exists":
                if f.without is not None:
                    lo, hi = (i, pos) if not f.future else (pos, i)
                    if any(match(f.without, trace[k], e2) is not None for k in range(lo + 1, hi)):
                        continue
                if holds(f.body, e2, trace, i):
                    return True
            else:
                if not holds(f.body, e2, trace, i):
                    return False
        return f.kind == "forall"
    raise TypeError(f"not a formula: {f!r}")


def _bound_vars(p: Pattern) -> list[str]:
    """The variables a pattern binds from its arguments (plain variable terms)."""
    return [t.name for _, t in p.args if isinstance(t, Var) and not t.path]


def _chain(pats: list[Pattern], env: dict[str, Any], trace: list[Event], hi: int) -> bool:
    """Events matching ``pats[-1]``, ``pats[-2]``, ... at strictly decreasing positions below ``hi``."""
    if not pats:
        return True
    for i in range(hi - 1, -1, -1):
        e2 = match(pats[-1], trace[i], env)
        if e2 is not None and _chain(pats[:-1], e2, trace, i):
            return True
    return False


def sugar_step_ok(s: Sugar, trace: list[Event], j: int) -> bool:
    """A safety shorthand at step ``j``, from its definition (:mod:`support.agentc.dsl`, "Shorthands"), judged
    against the events before ``j``; the event's own return value is not visible."""
    trig = match(s.pats[-1], trace[j], {}, with_ret=False)
    if trig is None:
        return True
    if s.op == "never":
        return not holds(s.guard, trig, trace, j)
    if s.op == "atmost":
        if not holds(s.guard, trig, trace, j):
            return True
        names = _bound_vars(s.pats[0])
        same = 0
        for i in range(j + 1):  # the trigger itself included
            e = match(s.pats[0], trace[i], {}, with_ret=i < j)
            if e is not None and all(values_equal(e[v], trig[v]) for v in names) and holds(s.guard, e, trace, i):
                same += 1
        return same <= s.k
    if s.op == "before":
        a = s.pats[0]
        for i in range(j):
            e = match(a, trace[i], trig)
            if e is None or not holds(s.guard, e, trace, i):
                continue
            if s.without is not None and any(match(s.without, trace[m], e) is not None for m in range(i + 1, j)):
                continue
            return True
        return False
    if s.op == "seq":
        return _chain(list(s.pats[:-1]), trig, trace, j)
    raise ValueError(f"{s.op!r} is not a safety shorthand")


def step_ok(rule: Rule, trace: list[Event], j: int) -> bool:
    """Does safety rule ``rule`` hold at step ``j`` (the event at j judged against events before it)?"""
    if rule.sugar is not None:
        return sugar_step_ok(rule.sugar, trace, j)
    f = rule.formula
    env = match(f.pat, trace[j], {}, with_ret=False)
    if env is None or not holds(f.guard, env, trace, j):
        return True
    return holds(f.body, env, trace, j)


def liveness_ok(rule: Rule, trace: list[Event]) -> bool:
    """Truth of a liveness rule on a complete trace (After from its definition: every a has a later b)."""
    s = rule.sugar
    if s is not None and s.op == "after":
        a, b = s.pats
        for j, ev in enumerate(trace):
            env = match(a, ev, {})
            if env is not None and not any((e := match(b, trace[i], env)) is not None and holds(s.guard, e, trace, i)
                                           for i in range(j + 1, len(trace))):
                return False
        return True
    f = rule.formula
    if isinstance(f, Quant) and f.kind == "forall":
        for j, ev in enumerate(trace):
            env = match(f.pat, ev, {})
            if env is not None and holds(f.guard, env, trace, j) and not holds(f.body, env, trace, j):
                return False
        return True
    if isinstance(f, Quant) and f.kind == "exists":
        # a top-level Exists ranges over the whole trace
        return holds(Quant("exists", f.pat, f.guard, f.body, f.without, False), {}, trace, len(trace))
    return holds(f, {}, trace, len(trace))


def violated_at(policy: Policy, trace: list[Event], j: int) -> list[str]:
    """Names of the safety rules that the event at ``j`` violates."""
    return [r.name for r in policy.safety if not step_ok(r, trace, j)]


def check_candidate(policy: Policy, prefix: list[Event], cand: Event) -> list[str]:
    """Safety rules the candidate call would violate after ``prefix`` (empty list = compliant)."""
    return violated_at(policy, list(prefix) + [cand], len(prefix))


def trace_violations(policy: Policy, trace: list[Event], final: bool = True) -> list[tuple[int, str]]:
    """All (position, rule) safety violations, plus (-1, rule) for failed liveness rules when ``final``."""
    out = [(j, n) for j in range(len(trace)) for n in violated_at(policy, trace, j)]
    if final:
        out += [(-1, r.name) for r in policy.liveness if not liveness_ok(r, trace)]
    return out


def compliant(policy: Policy, trace: list[Event], final: bool = True) -> bool:
    return not trace_violations(policy, trace, final)
