"""Compile rule ASTs to z3 terms and to a Rego module (one source of truth, two engines).

Numbers follow :mod:`support.policy.numbers` (exact decimals) in both: z3 rationals, and in Rego integers
scaled by a power of ten that each input carries (``num.unit`` = 10**E for 1, see :func:`to_rego`)."""

from __future__ import annotations

import ast
import json
from fractions import Fraction

import z3

from support.policy.language import PolicyError, Rule, Schema, dotted
from support.policy.numbers import decimal_places, decimal_value, scaled

# ------------------------------------------------------------------------------------------------ z3


def z3_var(f) -> z3.ExprRef:
    mk = {"int": z3.Int, "real": z3.Real, "bool": z3.Bool, "enum": z3.String}[f.type]
    return mk(f.name)


def _z3_rational(q: Fraction) -> z3.ExprRef:
    return z3.Q(q.numerator, q.denominator) if q.denominator != 1 else z3.RealVal(q.numerator)


def z3_value(f, v) -> z3.ExprRef:
    """Exact z3 literal for a Python value of field ``f`` (a float is the rational of its shortest decimal)."""
    if f.type == "int":
        return z3.IntVal(int(v))
    if f.type == "real":
        return _z3_rational(decimal_value(v))  # NumPy scalars (np.float32) included
    if f.type == "bool":
        return z3.BoolVal(bool(v))
    return z3.StringVal(str(v))


def _z3_const(v):
    if isinstance(v, bool):
        return z3.BoolVal(v)
    if isinstance(v, int):
        return z3.IntVal(v)
    if isinstance(v, float):
        return _z3_rational(decimal_value(v))
    return z3.StringVal(v)


def to_z3(node: ast.expr, schema: Schema, vars_: dict[str, z3.ExprRef]) -> z3.ExprRef:
    """z3 term of an expression (derived ``next.*`` fields expanded in place)."""
    rec = lambda n: to_z3(n, schema, vars_)
    if isinstance(node, ast.Constant):
        return _z3_const(node.value)
    name = dotted(node)
    if name is not None:
        if name in ("true", "false"):
            return z3.BoolVal(name == "true")
        if name in vars_:
            return vars_[name]
        return rec(schema.derived[name])
    if isinstance(node, ast.BoolOp):
        parts = [rec(v) for v in node.values]
        return z3.And(*parts) if isinstance(node.op, ast.And) else z3.Or(*parts)
    if isinstance(node, ast.UnaryOp):
        x = rec(node.operand)
        return z3.Not(x) if isinstance(node.op, ast.Not) else -x
    if isinstance(node, ast.BinOp):
        a, b = rec(node.left), rec(node.right)
        return {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b}[type(node.op)]()
    if isinstance(node, ast.Compare):
        op, rhs = node.ops[0], node.comparators[0]
        a = rec(node.left)
        if isinstance(op, (ast.In, ast.NotIn)):
            inside = z3.Or(*[a == z3.StringVal(e.value) for e in rhs.elts])
            return inside if isinstance(op, ast.In) else z3.Not(inside)
        b = rec(rhs)
        return {ast.Lt: lambda: a < b, ast.LtE: lambda: a <= b, ast.Gt: lambda: a > b, ast.GtE: lambda: a >= b,
                ast.Eq: lambda: a == b, ast.NotEq: lambda: a != b}[type(op)]()
    if isinstance(node, ast.Call):
        args = [rec(a) for a in node.args]
        if node.func.id == "abs":
            return z3.If(args[0] >= 0, args[0], -args[0])
        a, b = args
        return z3.If(a <= b, a, b) if node.func.id == "min" else z3.If(a >= b, a, b)
    raise PolicyError(f"cannot compile {ast.dump(node)} to z3")  # pragma: no cover - parser rejects it first


# ---------------------------------------------------------------------------------------------- Rego


def literal_places(schema: Schema, rules: list[Rule]) -> int:
    """Decimal places of the finest decimal literal in the rules and derived fields (0 when there is none)."""
    roots = [r.when for r in rules] + [r.require for r in rules] + list(schema.derived.values())
    return max([decimal_places(decimal_value(n.value)) for root in roots for n in ast.walk(root)
                if isinstance(n, ast.Constant) and isinstance(n.value, float)], default=0)


class _RegoWriter:
    """Emits helper functions ``b<k>(s)`` for every boolean sub-expression (Rego has no and/or operators).

    Numeric terms are Rego integers: a term of *degree* d stands for value * unit**d (``unit`` = ``s.num.unit``),
    real fields have degree 1, int fields and int literals 0, a decimal literal c is ``c * 10**places`` times
    ``s.num.lit`` (degree 1); sums, min, max and comparisons first lift both sides to the same degree."""

    def __init__(self, schema: Schema, places: int):
        self.schema = schema
        self.places = places
        self.lines: list[str] = []
        self.k = 0

    def _new(self) -> str:
        self.k += 1
        return f"b{self.k}"

    def term(self, node: ast.expr) -> str:
        """A Rego term for a string expression (an enum field, a string literal or a derived one)."""
        if isinstance(node, ast.Constant):
            return json.dumps(node.value)
        name = dotted(node)
        if name is not None and name in self.schema.fields:
            return "s." + name
        if name is not None:
            return self.term(self.schema.derived[name])
        raise PolicyError(f"cannot compile {ast.dump(node)} to a Rego string term")  # pragma: no cover

    def num(self, node: ast.expr) -> tuple[str, int]:
        """A Rego integer term for a numeric expression and its degree (see the class docstring)."""
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, float):
                return f"({scaled(decimal_value(v), self.places)} * s.num.lit)", 1
            return str(int(v)), 0
        name = dotted(node)
        if name is not None:
            if name in self.schema.fields:
                return "s." + name, int(self.schema.fields[name].type == "real")
            return self.num(self.schema.derived[name])
        if isinstance(node, ast.UnaryOp):
            t, d = self.num(node.operand)
            return f"(0 - {t})", d
        if isinstance(node, ast.BinOp):
            (a, da), (b, db) = self.num(node.left), self.num(node.right)
            if isinstance(node.op, ast.Mult):
                return f"({a} * {b})", da + db
            (a, b), d = self._align((a, da), (b, db))
            return f"({a} {'+' if isinstance(node.op, ast.Add) else '-'} {b})", d
        if isinstance(node, ast.Call):
            if node.func.id == "abs":
                t, d = self.num(node.args[0])
                return f"abs({t})", d
            # our own two-argument helpers: regopy's built-in min/max order negative numbers wrongly
            # (max([-3, -1]) gave -3), while its comparisons are right
            (a, b), d = self._align(self.num(node.args[0]), self.num(node.args[1]))
            return f"{'mn' if node.func.id == 'min' else 'mx'}({a}, {b})", d
        raise PolicyError(f"cannot compile {ast.dump(node)} to a Rego term")  # pragma: no cover

    @staticmethod
    def _align(*terms: tuple[str, int]) -> tuple[list[str], int]:
        """The terms lifted to their highest degree (multiplied by ``s.num.unit`` as often as needed)."""
        top = max(d for _, d in terms)
        out = []
        for t, d in terms:
            for _ in range(top - d):
                t = f"({t} * s.num.unit)"
            out.append(t)
        return out, top

    def cond(self, node: ast.expr) -> str:
        """Name of a helper function ``b<k>(s)`` that is true exactly when the condition holds."""
        b = self._new()
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            for v in node.values:
                self.lines.append(f"{b}(s) if {{ " + "; ".join(self.lits(v)) + " }")
        else:
            self.lines.append(f"{b}(s) if {{ " + "; ".join(self.lits(node)) + " }")
        return b

    def atom(self, node: ast.expr) -> str:
        """One Rego literal for the condition (usable after ``not``)."""
        if isinstance(node, ast.Compare) and not self._is_bool(node.left):
            op, rhs = node.ops[0], node.comparators[0]
            if isinstance(op, (ast.In, ast.NotIn)):
                members = "{" + ", ".join(json.dumps(e.value) for e in rhs.elts) + "}"
                if isinstance(op, ast.In):
                    return f"{self.term(node.left)} in {members}"
                return f"{self.cond(node)}(s)"
            sym = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}[type(op)]
            if self._type(node.left) == "num":
                (a, b), _ = self._align(self.num(node.left), self.num(rhs))
                return f"{a} {sym} {b}"
            return f"{self.term(node.left)} {sym} {self.term(rhs)}"
        name = dotted(node)
        if name is not None and name in self.schema.fields:
            return f"s.{name} == true"
        lits = self.lits(node)
        return lits[0] if len(lits) == 1 and not lits[0].startswith("not ") else f"{self.cond(node)}(s)"

    def lits(self, node: ast.expr) -> list[str]:
        """A conjunction of Rego literals that holds exactly when the condition holds."""
        name = dotted(node)
        if isinstance(node, ast.Constant) or name in ("true", "false"):
            val = node.value if isinstance(node, ast.Constant) else name == "true"
            return ["true" if val else "false"]
        if name is not None:
            if name in self.schema.fields:
                return [f"s.{name} == true"]
            return self.lits(self.schema.derived[name])
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return [x for v in node.values for x in self.lits(v)]
            return [f"{self.cond(node)}(s)"]
        if isinstance(node, ast.UnaryOp):
            return [f"not {self.atom(node.operand)}"]
        if isinstance(node, ast.Compare):
            op, rhs = node.ops[0], node.comparators[0]
            if isinstance(op, ast.NotIn):
                members = "{" + ", ".join(json.dumps(e.value) for e in rhs.elts) + "}"
                return [f"not {self.term(node.left)} in {members}"]
            if self._is_bool(node.left):  # bool == bool: compare truth values via helpers
                x, y = self.cond(node.left), self.cond(rhs)
                eq = self._new()
                self.lines.append(f"{eq}(s) if {{ {x}(s); {y}(s) }}")
                self.lines.append(f"{eq}(s) if {{ not {x}(s); not {y}(s) }}")
                return [f"{'' if isinstance(op, ast.Eq) else 'not '}{eq}(s)"]
            return [self.atom(node)]
        raise PolicyError(f"cannot compile {ast.dump(node)} to a Rego condition")  # pragma: no cover

    def _type(self, node: ast.expr) -> str:
        from support.policy.language import type_of
        return type_of(node, self.schema, "rego")

    def _is_bool(self, node: ast.expr) -> bool:
        return self._type(node) == "bool"


def to_rego(schema: Schema, rules: list[Rule], package: str) -> str:
    """A self-contained Rego v1 module: ``decision`` / ``violated`` for ``input = {state, action, num}`` and
    ``decisions`` for ``input = {cases: [...]}`` (batch). Numbers are exact decimals on integers: a real field
    x arrives as the integer x * 10**E and ``num = {unit: 10**E, lit: 10**(E - K)}``, where E is at least the
    decimal places of every real in that input and K = :func:`literal_places` (written into the module)."""
    k = literal_places(schema, rules)
    w = _RegoWriter(schema, k)
    checks = {"int": "is_number", "real": "is_number", "bool": "is_boolean", "enum": "is_string"}
    body = "; ".join([f"{checks[f.type]}(s.{n})" for n, f in sorted(schema.fields.items())]
                     + ["is_number(s.num.unit)", "is_number(s.num.lit)"])
    out = [f"package {package}", "", "import rego.v1", "",
           "# Numbers are exact decimals, computed on integers only. A real field x arrives as the integer",
           "# x * num.unit with num.unit = 10^E, E at least the decimal places of every real in the input and at",
           f"# least K = {k}, those of the finest decimal literal below; num.lit = 10^(E - K). Ints arrive as they are.",
           "",
           f"complete(s) if {{ {body} }}", "",
           "mn(a, b) := a if { a <= b } else := b", "mx(a, b) := a if { a >= b } else := b", ""]
    for r in rules:
        w.lines.append(f"v_{r.id}(s) if {{ " + "; ".join(w.lits(r.when) + ["not " + w.atom(r.require)]) + " }")
        w.lines.append(f'vio("{r.id}", s) if v_{r.id}(s)')
    out += w.lines
    deny = json.dumps([r.id for r in rules if r.effect == "deny"])
    appr = json.dumps([r.id for r in rules if r.effect == "approval"])
    ids = json.dumps([r.id for r in rules])
    out += ["", f"deny_ids := {deny}", f"approval_ids := {appr}", f"rule_ids := {ids}", "",
            "violations(s) := [r | some r in rule_ids; vio(r, s)]",
            ('verdict(s, vs) := "deny" if { not complete(s) } '
            'else := "deny" if { some r in vs; r in deny_ids } '
            'else := "escalate" if { count(vs) > 0 } '
            'else := "allow"'),
            "decision := verdict(input, violations(input))",
            "violated := violations(input) if complete(input)",
            "decisions := [[verdict(c, vs), vs] | some c in input.cases; vs := violations(c)]", ""]
    return "\n".join(out)
