"""Translation of the policy DSL to first-order logic, decided by z3 (quantifier-free per check).

At decision time the trace prefix is known and finite, so every event quantifier is unrolled over
the prefix positions: ``Forall`` becomes a conjunction, ``Exists`` a disjunction, ``CountLess`` a
pseudo-boolean sum. Values live in one algebraic datatype ``Val = undef | s(String) | n(Real) |
b(Bool) | null | o(Int)`` (``o`` = an interned list/object), so dynamic JSON typing and the
"undefined makes an atom false" rule are part of the formula. Prefix facts (arguments and returned
values, at the paths the policy reads) enter as ground terms; the *candidate* call is asserted only
as far as it is known: its tool name and each argument may be open (free constants). Then

* ``sat``  -> some completion of the candidate complies; the model is a witness (compliant values),
* ``unsat`` -> no completion complies; the unsat core over one assumption literal per rule names the
  violated rules.

One :class:`SmtMonitor` per episode keeps one incremental solver (push/pop per check).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import z3

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
    TrueF,
    Var,
)
from support.policy.numbers import decimal_value

# ------------------------------------------------------------------------------------------------ sorts
_V = z3.Datatype("Val")
_V.declare("undef")
_V.declare("s", ("sv", z3.StringSort()))
_V.declare("n", ("nv", z3.RealSort()))
_V.declare("b", ("bv", z3.BoolSort()))
_V.declare("null")
_V.declare("o", ("ov", z3.IntSort()))
Val = _V.create()
_MEM = z3.Function("mem", Val, Val, z3.BoolSort())  # membership in a container the candidate has not fixed

_ESCAPE = re.compile(r"\\u\{([0-9a-fA-F]{1,6})\}")


def _zstr(v: str) -> z3.ExprRef:
    """z3 string literal of ``v`` taken literally: z3 reads escape sequences in StringVal, so a trace value
    "\\u{41}" compared equal to "A"; a backslash is written as its own escape first."""
    return z3.StringVal(v.replace("\\", "\\u{5c}"))


def _unzstr(text: str) -> str:
    """The Python string of z3's ``as_string()``, which writes non-ASCII characters (and backslashes) as
    \\u{hex} escapes (a witness '日本' came back as '\\u{65e5}\\u{672c}')."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


class _Missing:
    pass


MISSING = _Missing()  # a path that does not exist in a concrete value
PREFER_RLIMIT = 2_000_000  # z3 resource units for the preferred-witness query (deterministic, unlike a timeout)


def _canon(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        f = decimal_value(v)
        return {"#n": str(f)}
    if isinstance(v, list):
        return [_canon(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _canon(x) for k, x in v.items()}
    return {"#other": repr(v)}


class _Interner:
    """Structurally equal JSON values map to the same ground ``Val`` term (lists/objects to ``o(id)``)."""

    def __init__(self):
        self.ids: dict[str, int] = {}
        self.values: list[Any] = []
        self.cache: dict[str, z3.ExprRef] = {}

    def lit(self, v: Any) -> z3.ExprRef:
        if v is MISSING:
            return Val.undef
        key = json.dumps(_canon(v), sort_keys=True)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        if isinstance(v, bool):
            e = Val.b(z3.BoolVal(v))
        elif v is None:
            e = Val.null
        elif isinstance(v, str):
            e = Val.s(_zstr(v))
        elif isinstance(v, (int, float)):
            f = decimal_value(v)
            e = Val.n(z3.RealVal(f"{f.numerator}/{f.denominator}"))
        else:
            if key not in self.ids:
                self.ids[key] = len(self.values)
                self.values.append(v)
            e = Val.o(z3.IntVal(self.ids[key]))
        self.cache[key] = e
        return e

    def back(self, e: z3.ExprRef) -> Any:
        """Python value of a ground ``Val`` from a model (MISSING for undef)."""
        if z3.is_true(z3.simplify(Val.is_undef(e))):
            return MISSING
        for name, acc in (("s", Val.sv), ("n", Val.nv), ("b", Val.bv), ("o", Val.ov)):
            if z3.is_true(z3.simplify(getattr(Val, "is_" + name)(e))):
                x = z3.simplify(acc(e))
                if name == "s":
                    return _unzstr(x.as_string())
                if name == "n":
                    fr = Fraction(x.as_fraction()) if hasattr(x, "as_fraction") else Fraction(str(x))
                    return int(fr) if fr.denominator == 1 else float(fr)
                if name == "b":
                    return z3.is_true(x)
                idx = x.as_long()
                return self.values[idx] if 0 <= idx < len(self.values) else MISSING
        return None  # null


# ------------------------------------------------------------------------------------------------ terms
@dataclass(frozen=True)
class _Conc:
    """A term whose value is known (from the trace prefix or a literal)."""

    v: Any


@dataclass(frozen=True)
class _Sym:
    """A term rooted in an open argument of the candidate: ``key`` plus a path into it."""

    key: tuple


@dataclass
class Candidate:
    """The call being generated: its name and arguments so far. ``complete``: no more arguments come."""

    name: str | None
    args: dict[str, Any] = field(default_factory=dict)
    complete: bool = True

    @classmethod
    def of(cls, ev: Event) -> Candidate:
        return cls(ev.name, dict(ev.args), True)


@dataclass
class CheckResult:
    ok: bool  # True: some completion of the candidate complies (all of it, when complete)
    core: list[str]  # violated rules (unsat core, minimised) when not ok
    witness: dict[str, Any]  # values for the open arguments from the model, when ok
    seconds: float


def _nav(v: Any, path: tuple) -> Any:
    for step in path:
        if isinstance(step, int):
            if isinstance(v, list) and 0 <= step < len(v):
                v = v[step]
            else:
                return MISSING
        elif isinstance(v, dict) and step in v:
            v = v[step]
        else:
            return MISSING
    return v


class _Translator:
    """Builds the z3 formula of one check: prefix positions are concrete, the candidate is partial."""

    def __init__(self, mon: SmtMonitor, prefix: list[Event], cand: Candidate | None):
        self.m, self.prefix, self.cand = mon, prefix, cand
        self.I = mon.interner
        self.syms: dict[tuple, z3.ExprRef] = {}

    # -- cells
    def sym(self, key: tuple) -> z3.ExprRef:
        c = self.syms.get(key)
        if c is None:
            c = z3.Const("cand_" + "_".join(map(str, key)), Val)
            self.syms[key] = c
        return c

    def val(self, t: Any) -> z3.ExprRef:
        if isinstance(t, _Conc):
            return self.I.lit(t.v)
        return self.sym(t.key)

    def term(self, t: Any, env: dict) -> Any:
        """A term as _Conc (concrete value, navigated in Python), _Sym, or a z3 ``Val`` expression."""
        if isinstance(t, Lit):
            return _Conc(t.value)
        if isinstance(t, Var):
            b = env.get(t.name)
            if b is None:
                return _Conc(MISSING)
            if isinstance(b, _Conc):
                return _Conc(_nav(b.v, t.path))
            return _Sym(b.key + t.path) if t.path else b
        if isinstance(t, Len):
            x = self.term(t.term, env)
            if isinstance(x, _Conc):
                return _Conc(len(x.v) if isinstance(x.v, (list, dict, str)) else MISSING)
            if isinstance(x, _Sym):
                return _Sym(x.key + ("#len",))
            v = x
            return z3.If(Val.is_s(v), Val.n(z3.ToReal(z3.Length(Val.sv(v)))), Val.undef)
        if isinstance(t, Arith):
            a, b = self.z(self.term(t.left, env)), self.z(self.term(t.right, env))
            na, nb = Val.nv(a), Val.nv(b)
            r = na + nb if t.op == "+" else na - nb if t.op == "-" else na * nb
            return z3.If(z3.And(Val.is_n(a), Val.is_n(b)), Val.n(r), Val.undef)
        if isinstance(t, ListLit):
            items = [self.term(x, env) for x in t.items]
            if all(isinstance(x, _Conc) for x in items):
                return _Conc(MISSING if any(x.v is MISSING for x in items) else [x.v for x in items])
            return ("list", items)
        raise TypeError(f"not a term: {t!r}")

    def z(self, x: Any) -> z3.ExprRef:
        if isinstance(x, (_Conc, _Sym)):
            return self.val(x)
        if isinstance(x, tuple) and x and x[0] == "list":
            return self.sym(("#list", id(x)))  # only meaningful as the right side of ``in``
        return x

    # -- atoms
    def eq(self, a: Any, b: Any) -> z3.BoolRef:
        za, zb = self.z(a), self.z(b)
        return z3.And(z3.Not(Val.is_undef(za)), z3.Not(Val.is_undef(zb)), za == zb)

    def atom(self, f: Any, env: dict) -> z3.BoolRef:
        if isinstance(f, StartsWith):
            a, b = self.z(self.term(f.s, env)), self.z(self.term(f.prefix, env))
            return z3.And(Val.is_s(a), Val.is_s(b), z3.PrefixOf(Val.sv(b), Val.sv(a)))
        a, b = self.term(f.left, env), self.term(f.right, env)
        if f.op == "==":
            return self.eq(a, b)
        if f.op == "!=":
            za, zb = self.z(a), self.z(b)
            return z3.And(z3.Not(Val.is_undef(za)), z3.Not(Val.is_undef(zb)), za != zb)
        if f.op == "in":
            za = self.z(a)
            defined = z3.Not(Val.is_undef(za))
            if isinstance(b, _Conc):
                c = b.v
                if isinstance(c, list):
                    return z3.Or([self.eq(a, _Conc(e)) for e in c]) if c else z3.BoolVal(False)
                if isinstance(c, dict):
                    return z3.Or([self.eq(a, _Conc(str(k))) for k in c]) if c else z3.BoolVal(False)
                if isinstance(c, str):
                    return z3.And(Val.is_s(za), z3.Contains(_zstr(c), Val.sv(za)))
                return z3.BoolVal(False)
            if isinstance(b, tuple) and b and b[0] == "list":
                return z3.Or([self.eq(a, x) for x in b[1]]) if b[1] else z3.BoolVal(False)
            zb = self.z(b)
            return z3.And(defined, z3.Not(Val.is_undef(zb)),
                          z3.If(Val.is_s(zb), z3.And(Val.is_s(za), z3.Contains(Val.sv(zb), Val.sv(za))),
                                _MEM(za, zb)))
        za, zb = self.z(a), self.z(b)
        na, nb, sa, sb = Val.nv(za), Val.nv(zb), Val.sv(za), Val.sv(zb)
        num = {"<": na < nb, "<=": na <= nb, ">": na > nb, ">=": na >= nb}[f.op]
        st = {"<": z3.StrLT(sa, sb) if hasattr(z3, "StrLT") else sa < sb,
              "<=": z3.StrLE(sa, sb) if hasattr(z3, "StrLE") else sa <= sb,
              ">": z3.StrLT(sb, sa) if hasattr(z3, "StrLT") else sb < sa,
              ">=": z3.StrLE(sb, sa) if hasattr(z3, "StrLE") else sb <= sa}[f.op]
        return z3.Or(z3.And(Val.is_n(za), Val.is_n(zb), num), z3.And(Val.is_s(za), Val.is_s(zb), st))

    # -- patterns
    def match_prefix(self, p: Pattern, i: int, env: dict) -> tuple[z3.BoolRef, dict] | None:
        """Match at a concrete prefix position; None when the tool name or an argument key rules it out."""
        ev = self.prefix[i]
        if not p.matches_name(ev.name):
            return None
        out = dict(env)
        conds = []
        for key, term in p.args:
            if key not in ev.args:
                return None
            cell = _Conc(ev.args[key])
            if isinstance(term, Var) and not term.path and term.name not in out:
                out[term.name] = cell
            else:
                conds.append(self.eq(cell, self.term(term, out)))
        if p.ret is not None:
            out[p.ret] = _Conc(ev.ret)
        return (z3.And(conds) if conds else z3.BoolVal(True)), out

    def match_candidate(self, p: Pattern, env: dict) -> tuple[z3.BoolRef, dict] | None:
        c = self.cand
        conds = []
        if c.name is not None:
            if not p.matches_name(c.name):
                return None
        elif p.names is not None:
            conds.append(z3.Or([self.m.name_var == self.m.tool_id[n] for n in sorted(p.names)]))
        out = dict(env)
        for key, term in p.args:
            if key in c.args:
                cell: Any = _Conc(c.args[key])
            elif c.complete:
                return None
            else:
                cell = _Sym(("arg", key))
                conds.append(z3.Not(Val.is_undef(self.sym(cell.key))))
            if isinstance(term, Var) and not term.path and term.name not in out:
                out[term.name] = cell
            else:
                conds.append(self.eq(cell, self.term(term, out)))
        if p.ret is not None:  # not reachable for checked rules (the DSL forbids it), kept total
            out[p.ret] = _Conc(MISSING)
        return (z3.And(conds) if conds else z3.BoolVal(True)), out

    # -- formulas
    def formula(self, f: Any, env: dict, pos: int) -> z3.BoolRef:
        if f is None or isinstance(f, TrueF):
            return z3.BoolVal(True)
        if isinstance(f, FalseF):
            return z3.BoolVal(False)
        if isinstance(f, Not):
            return z3.Not(self.formula(f.f, env, pos))
        if isinstance(f, And):
            return z3.And([self.formula(g, env, pos) for g in f.fs])
        if isinstance(f, Or):
            return z3.Or([self.formula(g, env, pos) for g in f.fs])
        if isinstance(f, (Cmp, StartsWith)):
            return self.atom(f, env)
        if isinstance(f, CountLess):
            terms = []
            for i in range(min(pos, len(self.prefix))):
                m = self.match_prefix(f.pat, i, env)
                if m is not None:
                    terms.append(z3.If(z3.And(m[0], self.formula(f.guard, m[1], i)), 1, 0))
            return z3.BoolVal(0 < f.k) if not terms else z3.Sum(terms) < f.k
        if isinstance(f, Quant):
            n = len(self.prefix)
            rng = range(pos + 1, n) if f.future else range(min(pos, n))
            parts = []
            for i in rng:
                m = self.match_prefix(f.pat, i, env)
                if m is None:
                    continue
                cond, e2 = m
                g = self.formula(f.guard, e2, i)
                if f.kind == "forall":
                    parts.append(z3.Implies(z3.And(cond, g), self.formula(f.body, e2, i)))
                else:
                    conj = [cond, g]
                    if f.without is not None:
                        lo, hi = (i, pos) if not f.future else (pos, i)
                        for k in range(lo + 1, min(hi, n)):
                            mk = self.match_prefix(f.without, k, e2)
                            if mk is not None:
                                conj.append(z3.Not(mk[0]))
                    conj.append(self.formula(f.body, e2, i))
                    parts.append(z3.And(conj))
            if f.kind == "forall":
                return z3.And(parts) if parts else z3.BoolVal(True)
            return z3.Or(parts) if parts else z3.BoolVal(False)
        raise TypeError(f"not a formula: {f!r}")

    def step(self, rule: Rule) -> z3.BoolRef | None:
        """The rule's obligation at the candidate's position (None: the candidate cannot trigger it)."""
        f = rule.formula
        m = self.match_candidate(f.pat, {})
        if m is None:
            return None
        cond, env = m
        pos = len(self.prefix)
        return z3.Implies(z3.And(cond, self.formula(f.guard, env, pos)), self.formula(f.body, env, pos))


class SmtMonitor:
    """Incremental z3 monitor for one episode: ``append`` accepted events, ``check`` candidates."""

    def __init__(self, policy: Policy, minimize_core: bool = True):
        self.policy = policy
        self.minimize_core = minimize_core
        self.interner = _Interner()
        names = sorted(policy.tools)
        self.tool_id = {n: i for i, n in enumerate(names)}
        self.name_var = z3.Int("cand_name")
        self.solver = z3.Solver()
        self.solver.add(self.name_var >= 0, self.name_var < len(names))  # base: candidate is some known tool
        self.assume = {r.name: z3.Bool(f"rule__{r.name}") for r in policy.safety}
        self.prefix: list[Event] = []
        self.n_checks = 0
        self.n_prefer_gave_up = 0  # preferred-witness queries that hit PREFER_RLIMIT (first model kept)

    def reset(self, prefix: list[Event] | None = None) -> None:
        self.prefix = list(prefix or [])

    def append(self, ev: Event) -> None:
        self.prefix.append(ev)

    def _encode(self, cand: Candidate) -> tuple[_Translator, dict[str, z3.BoolRef]]:
        tr = _Translator(self, self.prefix, cand)
        obligations = {}
        for r in self.policy.safety:
            ob = tr.step(r)
            if ob is not None:
                obligations[r.name] = ob
        return tr, obligations

    def check(self, cand: Candidate | Event, prefer: list[Any] | None = None,
              exclude: dict[str, list[Any]] | None = None) -> CheckResult:
        """Can the candidate (possibly partial) be completed compliantly after the current prefix?

        ``prefer``: values the witness for open arguments should be drawn from when possible (e.g. the
        values seen in the trace); the unconstrained model is used if none of them works.
        ``exclude``: values an open argument must not take (alternatives already refused)."""
        t0 = time.perf_counter()
        if isinstance(cand, Event):
            cand = Candidate.of(cand)
        self.n_checks += 1
        tr, obs = self._encode(cand)
        s = self.solver
        s.push()
        try:
            for name, ob in obs.items():
                s.add(z3.Implies(self.assume[name], ob))
            lits = [self.assume[n] for n in obs]
            # build the open argument cells the witness reports on
            open_keys = [] if cand.complete else sorted({k for r in self.policy.safety
                                                          for k in _pattern_keys(r.formula)} - set(cand.args))
            if cand.name is not None:  # only arguments the tool has can still come
                props = self.policy.tools.get(cand.name, {}).get("properties", {})
                open_keys = [k for k in open_keys if k in props]
            required = set(self.policy.tools.get(cand.name, {}).get("required", [])) if cand.name else set()
            for k in open_keys:
                cell = tr.sym(("arg", k))
                if k in required:  # the schema says this argument will be there
                    s.add(z3.Not(Val.is_undef(cell)))
                for v in (exclude or {}).get(k, []):
                    s.add(cell != self.interner.lit(v))
            res = s.check(*lits)
            if res == z3.unsat:
                core = [str(c).removeprefix("rule__") for c in s.unsat_core()]
                if self.minimize_core and len(core) > 1:
                    core = self._minimize(core)
                return CheckResult(False, sorted(core), {}, time.perf_counter() - t0)
            if res != z3.sat:  # pragma: no cover - quantifier-free fragments are decidable
                raise RuntimeError(f"z3 returned {res} ({s.reason_unknown()})")
            model = s.model()
            if prefer and open_keys:
                model = self._preferred_model(s, tr, model, open_keys, prefer, lits)
            wit = {}
            for k in open_keys:
                v = self.interner.back(model.eval(tr.syms[("arg", k)], model_completion=True))
                if v is not MISSING:
                    wit[k] = v
            if cand.name is None:
                idx = model.eval(self.name_var, model_completion=True).as_long()
                wit["__name__"] = sorted(self.policy.tools)[idx]
            return CheckResult(True, [], wit, time.perf_counter() - t0)
        finally:
            s.pop()

    def _preferred_model(self, s: z3.Solver, tr: _Translator, model: z3.ModelRef, open_keys: list[str],
                         prefer: list[Any], lits: list) -> z3.ModelRef:
        """The witness drawn from ``prefer``: open argument by open argument (sorted keys), the FIRST preferred
        value of the first model's JSON type that keeps the call compliant, so which of several compliant
        values is chosen is fixed by the preference order, not by z3's search history. A value z3 cannot
        decide within PREFER_RLIMIT (a resource limit, so not the machine's load) counts as not working."""
        s.push()
        try:
            s.set("rlimit", PREFER_RLIMIT)
            chosen = False
            for k in open_keys:
                c = tr.syms[("arg", k)]
                first = self.interner.back(model.eval(c, model_completion=True))
                for v in (v for v in prefer if type(v) is type(first)):
                    s.push()
                    s.add(c == self.interner.lit(v))
                    res = s.check(*lits)
                    s.pop()
                    if res == z3.sat:
                        s.add(c == self.interner.lit(v))
                        chosen = True
                        break
                    if res == z3.unknown:
                        self.n_prefer_gave_up += 1
            if chosen and s.check(*lits) == z3.sat:
                model = s.model()
            return model
        finally:
            s.pop()
            s.set("rlimit", 0)

    def _minimize(self, core: list[str]) -> list[str]:
        keep = list(core)
        for name in list(core):
            trial = [n for n in keep if n != name]
            if trial and self.solver.check(*[self.assume[n] for n in trial]) == z3.unsat:
                keep = trial
        return keep

    def violations(self, cand: Candidate | Event) -> list[str]:
        """Every safety rule the candidate violates, each decided by its own solver call."""
        if isinstance(cand, Event):
            cand = Candidate.of(cand)
        _tr, obs = self._encode(cand)
        out = []
        s = self.solver
        s.push()
        try:
            for name, ob in obs.items():
                s.add(z3.Implies(self.assume[name], ob))
            for name in obs:
                if s.check(self.assume[name]) == z3.unsat:
                    out.append(name)
        finally:
            s.pop()
        return sorted(out)

    def liveness_violations(self, trace: list[Event]) -> list[str]:
        """Liveness rules (After, top-level Exists) that fail on the complete ``trace``."""
        tr = _Translator(self, list(trace), None)
        out = []
        for r in self.policy.liveness:
            f = r.formula
            n = len(trace)
            if isinstance(f, Quant) and f.kind == "forall":
                parts = []
                for j in range(n):
                    m = tr.match_prefix(f.pat, j, {})
                    if m is None:
                        continue
                    cond, env = m
                    parts.append(z3.Implies(z3.And(cond, tr.formula(f.guard, env, j)), tr.formula(f.body, env, j)))
                phi = z3.And(parts) if parts else z3.BoolVal(True)
            elif isinstance(f, Quant):
                phi = tr.formula(Quant("exists", f.pat, f.guard, f.body, f.without, False), {}, n)
            else:
                phi = tr.formula(f, {}, n)
            s = z3.Solver()
            s.add(phi)
            if s.check() == z3.unsat:
                out.append(r.name)
        return out


def _pattern_keys(f: Any) -> set[str]:
    """Argument keys the rule's trigger pattern constrains (the candidate's relevant open slots)."""
    if isinstance(f, Quant):
        return {k for k, _ in f.pat.args}
    return set()


def trace_violations_smt(policy: Policy, trace: list[Event], final: bool = True) -> list[tuple[int, str]]:
    """All (position, rule) violations of a complete trace, decided by z3 (mirror of the reference)."""
    mon = SmtMonitor(policy)
    out = []
    for j, ev in enumerate(trace):
        mon.reset(trace[:j])
        out += [(j, n) for n in mon.violations(ev)]
    if final:
        out += [(-1, n) for n in mon.liveness_violations(trace)]
    return out
