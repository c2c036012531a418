"""The policy DSL: temporal, data-dependent rules over a trace of agent events, parsed from text.

A trace is a list of :class:`Event` (a tool call with its arguments and returned value, or the
pseudo-events ``user(text, yes)`` and ``respond(text)``). A policy is a list of rules::

    let WRITE = cancel_pending_order | return_delivered_order_items
    rule confirm: Before(user(yes=true), WRITE(*), without user|WRITE(*))
    rule refund:  Forall return_delivered_order_items(order_id=o, payment_method_id=p):
                    Exists get_order_details(order_id=o) -> d:
                      p == d.payment_history[0].payment_method_id or startswith(p, "gift_card_")

Operators: ``Forall``/``Exists`` over events (nested ones range over events *before* the enclosing
event; ``Exists ... without Q`` = "and no Q since"), ``Before``, ``After``, ``Seq``, ``Never``,
``AtMost``, ``not``/``and``/``or``/``implies``, comparisons, ``in``, ``startswith``, ``len``,
integer/decimal ``+ - *``. Sugar is expanded into the kernel (Forall, Exists, CountLess) here, and the
SMT translation (:mod:`support.agentc.smt`) implements only the kernel; a rule written with a shorthand at
its top also keeps it as written (:class:`Sugar`), and the reference evaluator
(:mod:`support.agentc.reference_eval`) applies the shorthand's definition directly, so a wrong expansion
here shows up as a disagreement between the two.

Semantics (both evaluators implement exactly this):

* A pattern ``n1|n2(k=t, ...) -> d`` matches event i when its name is one of the names (``*`` = any)
  and, for each ``k=t``: the event has argument k and, if t is a variable not yet bound, binds it to
  that value, otherwise the value equals t. ``-> d`` binds d to the event's returned value.
* A rule is a *safety* rule when it is a top-level ``Forall`` with no future quantifier: it is checked
  at every event (the "step" of that event, seeing only events up to it; the event's own return value
  is not visible, so the trigger pattern may not bind ``->``). Otherwise (``After``, top-level
  ``Exists``) it is a *liveness* rule, judged on complete traces only.
* A term is a JSON value or undefined (missing key, index out of range, arithmetic on non-numbers);
  an atom with an undefined operand is false. A number is the exact decimal it is written as and ``+ - *``
  are exact (no rounding: 1 + 1e-16 > 1, 0.1 + 0.2 == 0.3). ``==`` is structural (numbers by exact decimal value,
  booleans are not numbers); ``<`` compares two numbers or two strings; ``x in y`` is list
  membership, dict-key membership or substring; ``len`` of list, dict or string.

Shorthands (variables bound by one pattern are shared by the others, so a repeated variable means an equal
value; in Before the ``where`` clause constrains a, in After it constrains b):

* ``Before(a, b where g, without w)``: every event matching b has an earlier event matching a with g, and no
  event matching w strictly between the two;
* ``After(a, b where g)``: every event matching a has a later event matching b with g (liveness);
* ``Seq(p1, ..., pn)``: every event matching pn has earlier events matching p1, ..., p(n-1) at strictly
  increasing positions, in that order;
* ``Never(p where g)``: no event matches p with g;
* ``AtMost(k, p where g)``: at every event matching p with g, at most k events so far (itself included) match
  p with g and the same values for p's variables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from support.policy.numbers import decimal_value

PSEUDO_TOOLS: dict[str, dict[str, Any]] = {
    "user": {"type": "object", "properties": {"text": {"type": "string"}, "yes": {"type": "boolean"}}},
    "respond": {"type": "object", "properties": {"text": {"type": "string"}}},
}


# ----------------------------------------------------------------------------------------------------------
# Events
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Event:
    """One step of an agent trace: a tool call ``name(args) -> ret`` or a ``user``/``respond`` turn."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    ret: Any = None

    @property
    def is_call(self) -> bool:
        return self.name not in PSEUDO_TOOLS

    def __hash__(self) -> int:  # events hold dicts; hash by canonical JSON
        return hash((self.name, json.dumps(self.args, sort_keys=True, default=str)))

    def short(self) -> str:
        a = ", ".join(f"{k}={json.dumps(v)[:40]}" for k, v in self.args.items())
        return f"{self.name}({a})"


# ----------------------------------------------------------------------------------------------------------
# AST
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lit:
    value: Any


@dataclass(frozen=True)
class Var:
    name: str
    path: tuple = ()  # str keys and int indices
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class Len:
    term: Any


@dataclass(frozen=True)
class Arith:
    op: str  # + - *
    left: Any
    right: Any


@dataclass(frozen=True)
class ListLit:
    items: tuple


@dataclass(frozen=True)
class Pattern:
    names: frozenset | None  # None: any event
    args: tuple  # ((key, term), ...)
    ret: str | None = None
    line: int = 0
    column: int = 0

    def matches_name(self, name: str) -> bool:
        return self.names is None or name in self.names


@dataclass(frozen=True)
class TrueF:
    pass


@dataclass(frozen=True)
class FalseF:
    pass


@dataclass(frozen=True)
class Not:
    f: Any


@dataclass(frozen=True)
class And:
    fs: tuple


@dataclass(frozen=True)
class Or:
    fs: tuple


@dataclass(frozen=True)
class Cmp:
    op: str  # == != < <= > >= in
    left: Any
    right: Any


@dataclass(frozen=True)
class StartsWith:
    s: Any
    prefix: Any


@dataclass(frozen=True)
class Quant:
    """``Forall``/``Exists`` over events: past (before the enclosing event) or future (after it)."""

    kind: str  # "forall" | "exists"
    pat: Pattern
    guard: Any = None
    body: Any = None
    without: Pattern | None = None  # Exists only: no event matching this strictly between
    future: bool = False


@dataclass(frozen=True)
class CountLess:
    """Fewer than ``k`` earlier events match ``pat`` (with ``guard``)."""

    pat: Pattern
    guard: Any
    k: int


@dataclass(frozen=True)
class Sugar:
    """A shorthand at the top of a rule as written (patterns resolved, not expanded), so that an evaluator can
    apply its definition (module docstring, "Shorthands") instead of trusting the kernel expansion."""

    op: str  # before | after | seq | never | atmost
    pats: tuple  # resolved Patterns, in the order written
    guard: Any = None  # the ``where`` formula (kernel)
    without: Pattern | None = None
    k: int = 0  # AtMost only


@dataclass(frozen=True)
class Rule:
    name: str
    formula: Any  # kernel formula
    text: str
    line: int
    liveness: bool
    sugar: Sugar | None = None  # the shorthand the rule is written with (top level only), for the reference


@dataclass
class Policy:
    """A parsed, checked policy for one domain: rules plus the tool schemas they refer to."""

    domain: str
    rules: list[Rule]
    tools: dict[str, dict]  # name -> JSON schema of the parameters (pseudo tools included)
    writes: frozenset = frozenset()  # tools declared as consequential (``writes:`` line)
    readonly: frozenset = frozenset()  # tools declared DB-neutral (``readonly:`` line)

    @property
    def safety(self) -> list[Rule]:
        return [r for r in self.rules if not r.liveness]

    @property
    def liveness(self) -> list[Rule]:
        return [r for r in self.rules if r.liveness]

    def rule(self, name: str) -> Rule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(f"policy {self.domain!r} has no rule {name!r}")


class PolicyError(ValueError):
    """A policy text does not parse or does not type-check; the message shows the offending token."""

    def __init__(self, msg: str, text: str = "", line: int = 0, column: int = 0, token: str = ""):
        self.msg, self.line, self.column, self.token = msg, line, column, token
        where = ""
        if line:
            src = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
            where = f"\n  line {line}, column {column}:\n    {src}\n    {' ' * max(column - 1, 0)}^"
        super().__init__(f"{msg}{where}")


# ----------------------------------------------------------------------------------------------------------
# Grammar
# ----------------------------------------------------------------------------------------------------------
GRAMMAR = r"""
start: decl*
?decl: let_decl | rule_decl | writes_decl | readonly_decl
let_decl: "let" NAME "=" names
writes_decl: "writes" ":" names
readonly_decl: "readonly" ":" names
rule_decl: "rule" NAME ":" formula

?formula: quant | implies
quant: FORALL pattern [where] ":" formula                          -> forall
     | EXISTS pattern [where] [without] [":" formula]               -> exists
where: "where" implies
without: "without" pattern

?implies: disj ("implies" implies)?
?disj: conj ("or" conj)*
?conj: neg ("and" neg)*
?neg: "not" neg                                     -> not_
    | primary
?primary: "(" formula ")"
        | sugar
        | cmp
        | "true"                                    -> true_f
        | "false"                                   -> false_f
sugar: "Before" "(" pattern "," pattern [where] ["," without] ")"  -> before
     | "After" "(" pattern "," pattern [where] ")"                   -> after
     | "Seq" "(" pattern ("," pattern)+ ")"                          -> seq
     | "Never" "(" pattern [where] ")"                               -> never
     | "AtMost" "(" INT "," pattern [where] ")"                      -> atmost

cmp: term CMPOP term                                -> compare
   | term "in" term                                 -> member
   | "startswith" "(" term "," term ")"             -> startswith

pattern: names "(" [pargs] ")" ["->" NAME]
names: pname ("|" pname)*
pname: NAME | STAR
pargs: STAR | parg ("," parg)* ["," STAR]
parg: NAME "=" term

?term: sum
?sum: product | sum ADDOP product                   -> arith
?product: unary | product MULOP unary               -> arith
?unary: "-" unary                                   -> neg_t
      | atom_t
?atom_t: NUMBER                                     -> number
       | STRING                                     -> string
       | "null"                                     -> null
       | "true"                                     -> true_t
       | "false"                                    -> false_t
       | "len" "(" term ")"                         -> len_t
       | "[" [term ("," term)*] "]"                 -> list_t
       | path
path: NAME ("." NAME | "[" INT "]")*

FORALL: "Forall"
EXISTS: "Exists"
STAR: "*"
CMPOP: "==" | "!=" | "<=" | ">=" | "<" | ">"
ADDOP: "+" | "-"
MULOP: "*"
NAME: /[A-Za-z_][A-Za-z0-9_]*/
INT: /[0-9]+/
NUMBER: /[0-9]+(\.[0-9]+)?/
STRING: /"(\\.|[^"\\])*"/
COMMENT: /#[^\n]*/
%import common.WS
%ignore WS
%ignore COMMENT
"""

_PARSER = Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=True)
_KEYWORDS = {"let", "rule", "where", "without", "and", "or", "not", "implies", "in", "true", "false", "null",
             "len", "startswith", "Forall", "Exists", "Before", "After", "Seq", "Never", "AtMost", "writes",
             "readonly"}


@dataclass(frozen=True)
class _RawPattern:  # before name macros are resolved
    names: tuple  # Token names, "*" for any
    args: tuple
    ret: Token | None
    line: int
    column: int


@dataclass(frozen=True)
class _RawSugar:  # a shorthand as written: its parts (for Sugar) and the DSL's kernel expansion (for Rule.formula)
    op: str
    pats: tuple  # _RawPattern, in the order written
    guard: Any
    without: Any
    k: int
    kernel: tuple


@dataclass(frozen=True)
class _Decl:
    kind: str
    name: Any
    value: Any
    line: int
    column: int


@v_args(meta=True)
class _Build(Transformer):
    def start(self, meta, decls):
        return list(decls)

    def let_decl(self, meta, c):
        return _Decl("let", c[0], c[1], c[0].line, c[0].column)

    def writes_decl(self, meta, c):
        return _Decl("writes", None, c[0], meta.line, meta.column)

    def readonly_decl(self, meta, c):
        return _Decl("readonly", None, c[0], meta.line, meta.column)

    def rule_decl(self, meta, c):
        return _Decl("rule", c[0], c[1], c[0].line, c[0].column)

    def names(self, meta, c):
        return tuple(c)

    def pname(self, meta, c):
        return c[0]

    def pargs(self, meta, c):
        return tuple(x for x in c if x is not None and not (isinstance(x, Token) and x.type == "STAR"))

    def parg(self, meta, c):
        return (c[0], c[1])

    def pattern(self, meta, c):
        names, args, ret = c
        return _RawPattern(names, args or (), ret, meta.line, meta.column)

    def where(self, meta, c):
        return c[0]

    def without(self, meta, c):
        return c[0]

    def forall(self, meta, c):
        return ("forall", c[1], c[2], c[3], None, meta)

    def exists(self, meta, c):
        return ("exists", c[1], c[2], c[4], c[3], meta)

    def before(self, meta, c):
        a, b, w, wo = c
        return _RawSugar("before", (a, b), w, wo, 0,
                         ("forall", b, None, ("exists", a, w, None, wo, meta), None, meta))

    def after(self, meta, c):
        a, b, w = c
        return _RawSugar("after", (a, b), w, None, 0,
                         ("forall", a, None, ("exists_future", b, w, None, None, meta), None, meta))

    def seq(self, meta, c):
        pats = list(c)
        body = None
        for p in pats[:-1]:  # innermost: first pattern (earliest event)
            body = ("exists", p, None, body, None, meta)
        return _RawSugar("seq", tuple(pats), None, None, 0, ("forall", pats[-1], None, body, None, meta))

    def never(self, meta, c):
        p, w = c
        return _RawSugar("never", (p,), w, None, 0, ("forall", p, w, FalseF(), None, meta))

    def atmost(self, meta, c):
        k, p, w = c
        return _RawSugar("atmost", (p,), w, None, int(k),
                         ("forall", p, w, ("count", p, w, int(k), None, meta), None, meta))

    def implies(self, meta, c):
        return Or((Not(c[0]), c[1]))

    def disj(self, meta, c):
        return Or(tuple(c))

    def conj(self, meta, c):
        return And(tuple(c))

    def not_(self, meta, c):
        return Not(c[0])

    def true_f(self, meta, c):
        return TrueF()

    def false_f(self, meta, c):
        return FalseF()

    def compare(self, meta, c):
        return Cmp(str(c[1]), c[0], c[2])

    def member(self, meta, c):
        return Cmp("in", c[0], c[1])

    def startswith(self, meta, c):
        return StartsWith(c[0], c[1])

    def arith(self, meta, c):
        return Arith(str(c[1]), c[0], c[2])

    def neg_t(self, meta, c):
        return Arith("-", Lit(0), c[0])

    def number(self, meta, c):
        s = str(c[0])
        if "." not in s:
            return Lit(int(s))
        x = float(s)
        if decimal_value(x) != Fraction(s):  # a number is the decimal it is written as: never round it silently
            raise PolicyError(f"number {s} has more significant digits than a float keeps (it would be read as "
                              f"{x!r}); write it with at most 17", "", c[0].line, c[0].column, s)
        return Lit(x)

    def string(self, meta, c):
        return Lit(json.loads(str(c[0])))

    def null(self, meta, c):
        return Lit(None)

    def true_t(self, meta, c):
        return Lit(True)

    def false_t(self, meta, c):
        return Lit(False)

    def len_t(self, meta, c):
        return Len(c[0])

    def list_t(self, meta, c):
        return ListLit(tuple(x for x in c if x is not None))

    def path(self, meta, c):
        head, rest = c[0], c[1:]
        path = tuple(int(t) if t.type == "INT" else str(t) for t in rest)
        return Var(str(head), path, head.line, head.column)


# ----------------------------------------------------------------------------------------------------------
# Resolution and checks
# ----------------------------------------------------------------------------------------------------------
class _Resolver:
    def __init__(self, text: str, tools: dict[str, dict], lets: dict[str, frozenset]):
        self.text, self.tools, self.lets = text, tools, lets

    def err(self, msg: str, tok: Any) -> PolicyError:
        line = getattr(tok, "line", 0) or 0
        col = getattr(tok, "column", 0) or 0
        return PolicyError(msg, self.text, line, col, str(tok))

    def names(self, toks) -> frozenset | None:
        out: set[str] = set()
        for t in toks:
            s = str(t)
            if s == "*":
                return None
            if s in self.lets:
                out |= self.lets[s]
            elif s in self.tools:
                out.add(s)
            else:
                import difflib

                close = difflib.get_close_matches(s, list(self.tools) + list(self.lets), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise self.err(f"unknown tool or name set {s!r}{hint}", t)
        return frozenset(out)

    def pattern(self, rp: _RawPattern, scope: set[str], trigger: bool, ret_visible: bool) -> tuple[Pattern, set]:
        names = self.names(rp.names)
        bound = set(scope)
        args = []
        for key, term in rp.args:
            k = str(key)
            if names is not None:
                known = set().union(*(self.tools[n].get("properties", {}).keys() for n in names))
                if k not in known:
                    raise self.err(f"no tool in {sorted(names)} has an argument {k!r}", key)
            if isinstance(term, Var) and not term.path and term.name not in bound:
                self._check_name(term)
                bound.add(term.name)  # binds
            else:
                self.term(term, bound)
            args.append((k, term))
        ret = None
        if rp.ret is not None:
            if trigger and not ret_visible:
                raise self.err("the triggering event of a rule is checked before it runs: its return value "
                               "cannot be bound here (bind '->' only on earlier events)", rp.ret)
            self._check_name(rp.ret)
            ret = str(rp.ret)
            bound.add(ret)
        return Pattern(names, tuple(args), ret, rp.line, rp.column), bound

    def _check_name(self, tok) -> None:
        if str(getattr(tok, "name", tok)) in _KEYWORDS:
            raise self.err(f"{tok!s} is a keyword, not a variable name", tok)

    def term(self, t, scope: set[str]) -> None:
        if isinstance(t, Var):
            if t.name not in scope:
                raise PolicyError(f"unbound variable {t.name!r}", self.text, t.line, t.column, t.name)
        elif isinstance(t, Len):
            self.term(t.term, scope)
        elif isinstance(t, Arith):
            self.term(t.left, scope)
            self.term(t.right, scope)
        elif isinstance(t, ListLit):
            for x in t.items:
                self.term(x, scope)

    def formula(self, f, scope: set[str], top: bool) -> Any:
        """Resolve a raw formula into the kernel; returns (kernel formula, has_future)."""
        if isinstance(f, _RawSugar):
            return self.formula(f.kernel, scope, top)
        if isinstance(f, tuple):
            kind, rp, guard, body, without, _meta = f
            if kind == "count":
                pat, _ = self.pattern(rp, scope, False, True)
                g = self.formula(guard, _, False)[0] if guard is not None else None
                return CountLess(pat, g, body), False
            future = kind == "exists_future"
            qkind = "exists" if kind.startswith("exists") else "forall"
            trigger = top and qkind == "forall"
            pat, inner = self.pattern(rp, scope, trigger, ret_visible=not trigger)
            g, fut_g = self.formula(guard, inner, False) if guard is not None else (None, False)
            b, fut_b = self.formula(body, inner, False) if body is not None else (None, False)
            wo = self.pattern(without, inner, False, True)[0] if without is not None else None
            return Quant(qkind, pat, g, b, wo, future), (future or fut_g or fut_b or (top and qkind == "exists"))
        if isinstance(f, (TrueF, FalseF)):
            return f, False
        if isinstance(f, Not):
            g, fu = self.formula(f.f, scope, False)
            return Not(g), fu
        if isinstance(f, (And, Or)):
            parts = [self.formula(x, scope, False) for x in f.fs]
            return type(f)(tuple(p[0] for p in parts)), any(p[1] for p in parts)
        if isinstance(f, Cmp):
            self.term(f.left, scope)
            self.term(f.right, scope)
            return f, False
        if isinstance(f, StartsWith):
            self.term(f.s, scope)
            self.term(f.prefix, scope)
            return f, False
        raise TypeError(f"unexpected node {f!r}")


    def sugar(self, s: _RawSugar) -> Sugar:
        """The shorthand's patterns resolved in its own scope order (trigger first: the event the rule is
        checked at; then each earlier or later event it needs), without the kernel expansion."""
        if s.op == "before":  # b triggers; a (with the where clause) and the without pattern see b's variables
            a, b = s.pats
            pb, sb = self.pattern(b, set(), True, False)
            pa, sa = self.pattern(a, sb, False, True)
            g = self.formula(s.guard, sa, False)[0] if s.guard is not None else None
            wo = self.pattern(s.without, sa, False, True)[0] if s.without is not None else None
            return Sugar("before", (pa, pb), g, wo)
        if s.op == "after":  # a triggers; b (with the where clause) sees a's variables
            a, b = s.pats
            pa, sa = self.pattern(a, set(), True, False)
            pb, sb = self.pattern(b, sa, False, True)
            g = self.formula(s.guard, sb, False)[0] if s.guard is not None else None
            return Sugar("after", (pa, pb), g)
        if s.op == "seq":  # the last pattern triggers; each earlier one sees the variables of those after it
            scope: set[str] = set()
            out = []
            for i, rp in enumerate(reversed(s.pats)):
                p, scope = self.pattern(rp, scope, i == 0, i != 0)
                out.append(p)
            return Sugar("seq", tuple(reversed(out)))
        p, sp = self.pattern(s.pats[0], set(), True, False)  # never, atmost
        g = self.formula(s.guard, sp, False)[0] if s.guard is not None else None
        return Sugar(s.op, (p,), g, None, s.k)


def _terminal_text(name: str) -> str:
    try:
        pat = _PARSER.get_terminal(name).pattern
        return repr(pat.value) if pat.type == "str" else name.lower()
    except (KeyError, AttributeError):
        return name.lower()


def parse_policy(text: str, tools: dict[str, dict] | list | None = None, domain: str = "policy") -> Policy:
    """Parse and check a policy text against tool schemas (name -> parameters schema, or an OpenAI
    ``[{"type": "function", "function": {...}}]`` list). Raises :class:`PolicyError` on any error."""
    schemas = dict(PSEUDO_TOOLS)
    schemas.update(normalize_tools(tools or {}))
    try:
        decls = _Build().transform(_PARSER.parse(text))
    except UnexpectedCharacters as e:
        raise PolicyError(f"unexpected character {text[e.pos_in_stream]!r}", text, e.line, e.column,
                          text[e.pos_in_stream]) from None
    except UnexpectedToken as e:
        tok = e.token
        exp = ", ".join(sorted(_terminal_text(t) for t in e.expected)[:10])
        if tok.type == "$END":
            lines = text.rstrip().splitlines() or [""]
            raise PolicyError(f"policy ends too early (expected one of: {exp})", text, len(lines),
                              len(lines[-1]) + 1, "") from None
        raise PolicyError(f"unexpected token {str(tok)!r} (expected one of: {exp})", text, tok.line or 0,
                          tok.column or 0, str(tok)) from None
    except UnexpectedEOF as e:
        lines = text.rstrip().splitlines() or [""]
        raise PolicyError(f"policy ends too early (expected one of: {', '.join(sorted(e.expected)[:8])})", text,
                          len(lines), len(lines[-1]) + 1, "") from None
    except UnexpectedInput as e:  # pragma: no cover - other lark errors
        raise PolicyError(str(e), text, getattr(e, "line", 0), getattr(e, "column", 0)) from None
    except VisitError as e:
        o = e.orig_exc
        if isinstance(o, PolicyError):  # raised while building, with its position: show the line
            raise PolicyError(o.msg, text, o.line, o.column, o.token) from None
        raise PolicyError(str(o), text) from None  # pragma: no cover
    lets: dict[str, frozenset] = {}
    res = _Resolver(text, schemas, lets)
    rules: list[Rule] = []
    writes: set[str] = set()
    readonly: set[str] = set()
    lines = text.splitlines()
    for d in decls:
        if d.kind == "let":
            if str(d.name) in schemas or str(d.name) in lets:
                raise res.err(f"name set {d.name!s} shadows a tool or an earlier let", d.name)
            ns = res.names(d.value)
            lets[str(d.name)] = ns if ns is not None else frozenset(schemas)
        elif d.kind in ("writes", "readonly"):
            ns = res.names(d.value) or frozenset()
            (writes if d.kind == "writes" else readonly).update(ns)
        else:
            name = str(d.name)
            if any(r.name == name for r in rules):
                raise res.err(f"rule {name!r} declared twice", d.name)
            kernel, live = res.formula(d.value, set(), True)
            if not (isinstance(kernel, Quant) and kernel.kind == "forall") and not live:
                raise res.err("a rule must be a Forall (or Before/Seq/Never/AtMost) or a liveness rule "
                              "(After, top-level Exists)", d.name)
            sugar = res.sugar(d.value) if isinstance(d.value, _RawSugar) else None
            rules.append(Rule(name, kernel, lines[d.line - 1].strip() if d.line else "", d.line, live, sugar))
    if not rules:
        raise PolicyError("policy declares no rule", text)
    return Policy(domain, rules, schemas, frozenset(writes), frozenset(readonly))


def normalize_tools(tools) -> dict[str, dict]:
    """Tool schemas as ``{name: parameters-schema}`` from either that form or OpenAI function specs."""
    if isinstance(tools, dict):
        return {k: (v.get("parameters", v) if isinstance(v, dict) else {}) for k, v in tools.items()}
    out = {}
    for spec in tools:
        fn = spec.get("function", spec)
        out[fn["name"]] = fn.get("parameters", {"type": "object", "properties": {}})
    return out


def load_policy(path: str | Path, tools, domain: str | None = None) -> Policy:
    """Parse a policy file (``support/agentc/policies/<domain>.txt`` or any path)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"policy file {p} does not exist")
    return parse_policy(p.read_text(), tools, domain or p.stem)


POLICY_DIR = Path(__file__).resolve().parent / "policies"


def builtin_policy(domain: str) -> Policy:
    """The shipped policy for ``retail`` or ``airline`` with that domain's tau-bench tool schemas."""
    from support.agentc.taubench.data import tool_schemas

    if domain not in ("retail", "airline"):
        raise ValueError(f"no built-in policy for domain {domain!r}; expected 'retail' or 'airline'")
    return load_policy(POLICY_DIR / f"{domain}.txt", tool_schemas(domain), domain)
