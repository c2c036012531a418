"""The rule language: typed schema, rule files, and a safe expression parser (a subset of Python syntax).

Expressions are parsed with :mod:`ast` and checked node by node; anything outside the subset (calls other
than ``abs/min/max``, attribute access on non-fields, division, ...) raises :class:`PolicyError`.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

TYPES = ("int", "real", "bool", "enum")
EFFECTS = ("deny", "approval")
ROOTS = ("state", "action", "next")
_CMP = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq, ast.In, ast.NotIn)
_ARITH = (ast.Add, ast.Sub, ast.Mult)
_FUNCS = ("abs", "min", "max")


class PolicyError(ValueError):
    """A policy directory, rule file, expression or input is malformed; the message names it."""


@dataclass(frozen=True)
class Field:
    """One typed input field (``state.workers``) with its sampling domain for differential tests."""

    name: str
    type: str
    lo: float = 0.0
    hi: float = 1.0
    step: float = 1.0  # sampling grid lo, lo + step, ..., hi (exact decimals: a step of 0.1 gives 0.3)
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Schema:
    name: str
    fields: dict[str, Field]
    derived: dict[str, ast.expr]  # next.* -> expression over state/action fields
    derived_src: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """A rule is violated when ``when`` holds and ``require`` does not."""

    id: str
    effect: str
    description: str
    when: ast.expr
    require: ast.expr
    source: str  # file it came from
    when_src: str = "true"
    require_src: str = ""


def dotted(node: ast.expr) -> str | None:
    """``state.workers`` for an Attribute chain on a Name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def parse_expr(src: str, schema: Schema, where: str) -> ast.expr:
    """Parse and type-check one expression; returns the AST with derived fields still by name."""
    if isinstance(src, bool):
        src = "True" if src else "False"
    if not isinstance(src, str) or not src.strip():
        raise PolicyError(f"{where}: expression must be a non-empty string, got {src!r}")
    try:
        tree = ast.parse(src.strip(), mode="eval").body
    except SyntaxError as e:
        raise PolicyError(f"{where}: cannot parse {src!r}: {e.msg}") from None
    kind = type_of(tree, schema, where)
    if kind != "bool":
        raise PolicyError(f"{where}: {src!r} is a {kind} expression, a condition must be boolean")
    return tree


def type_of(node: ast.expr, schema: Schema, where: str) -> str:
    """Type of an expression node: ``num``, ``bool``, ``str`` or ``strlist``; raises on anything else."""
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, (int, float)):
            too_big = abs(v) > 1e300 if isinstance(v, int) else not math.isfinite(v)  # 1e400 parses as inf
            if too_big:
                raise PolicyError(f"{where}: constant {v!r} is not a finite number of moderate size")
            return "num"
        if isinstance(v, str):
            return "str"
        raise PolicyError(f"{where}: unsupported constant {v!r}")
    name = dotted(node)
    if name is not None:
        if name in ("true", "false"):
            return "bool"
        if name in schema.fields:
            t = schema.fields[name].type
            return {"int": "num", "real": "num", "bool": "bool", "enum": "str"}[t]
        if name in schema.derived:
            return type_of(schema.derived[name], schema, f"{where} (derived {name})")
        raise PolicyError(f"{where}: unknown field {name!r}; known: {sorted(schema.fields) + sorted(schema.derived)}")
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            if type_of(v, schema, where) != "bool":
                raise PolicyError(f"{where}: operands of and/or must be boolean")
        return "bool"
    if isinstance(node, ast.UnaryOp):
        t = type_of(node.operand, schema, where)
        if isinstance(node.op, ast.Not) and t == "bool":
            return "bool"
        if isinstance(node.op, ast.USub) and t == "num":
            return "num"
        raise PolicyError(f"{where}: bad unary operator on a {t}")
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, _ARITH):
            raise PolicyError(f"{where}: only + - * are allowed (no division), got {type(node.op).__name__}")
        if type_of(node.left, schema, where) != "num" or type_of(node.right, schema, where) != "num":
            raise PolicyError(f"{where}: arithmetic needs numbers")
        return "num"
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1:
            raise PolicyError(f"{where}: chained comparisons are not allowed; use 'and'")
        op = node.ops[0]
        if not isinstance(op, _CMP):
            raise PolicyError(f"{where}: unsupported comparison {type(op).__name__}")
        lt = type_of(node.left, schema, where)
        if isinstance(op, (ast.In, ast.NotIn)):
            rhs = node.comparators[0]
            if lt != "str" or not isinstance(rhs, (ast.List, ast.Tuple)) or not rhs.elts or not all(
                    isinstance(e, ast.Constant) and isinstance(e.value, str) for e in rhs.elts):
                raise PolicyError(f"{where}: 'in' needs an enum field and a non-empty list of string literals")
            _check_enum_literals(node.left, rhs.elts, schema, where)
            return "bool"
        rt = type_of(node.comparators[0], schema, where)
        if lt != rt:
            raise PolicyError(f"{where}: cannot compare {lt} with {rt}")
        if lt != "num" and not isinstance(op, (ast.Eq, ast.NotEq)):
            raise PolicyError(f"{where}: only == and != apply to {lt} values")
        if lt == "str":
            _check_enum_literals(node.left, [node.comparators[0]], schema, where)
            _check_enum_literals(node.comparators[0], [node.left], schema, where)
        return "bool"
    if isinstance(node, ast.Call):
        fn = node.func.id if isinstance(node.func, ast.Name) else None
        if fn not in _FUNCS or node.keywords:
            raise PolicyError(f"{where}: only the functions {_FUNCS} are allowed")
        n = len(node.args)
        if (fn == "abs" and n != 1) or (fn != "abs" and n != 2):
            raise PolicyError(f"{where}: {fn} takes {'1' if fn == 'abs' else '2'} argument(s)")
        if any(type_of(a, schema, where) != "num" for a in node.args):
            raise PolicyError(f"{where}: {fn} needs numbers")
        return "num"
    raise PolicyError(f"{where}: unsupported syntax {type(node).__name__}")


def _enum_field(node: ast.expr, schema: Schema) -> Field | None:
    """The enum field a string expression reads (through derived fields), or None for a literal."""
    name = dotted(node)
    if name in schema.fields and schema.fields[name].type == "enum":
        return schema.fields[name]
    if name in schema.derived:
        return _enum_field(schema.derived[name], schema)
    return None


def _check_enum_literals(node: ast.expr, others: list[ast.expr], schema: Schema, where: str) -> None:
    """Refuse a string literal compared with an enum field that cannot take it (the rule would be constant)."""
    f = _enum_field(node, schema)
    if f is None:
        return
    for e in others:
        if isinstance(e, ast.Constant) and isinstance(e.value, str) and e.value not in f.values:
            raise PolicyError(f"{where}: {e.value!r} is not a value of enum {f.name} (one of {list(f.values)})")


def fields_used(node: ast.expr, schema: Schema) -> set[str]:
    """Input fields an expression depends on (derived fields expanded)."""
    out: set[str] = set()
    for sub in ast.walk(node):
        name = dotted(sub) if isinstance(sub, (ast.Attribute, ast.Name)) else None
        if name in schema.fields:
            out.add(name)
        elif name in schema.derived:
            out |= fields_used(schema.derived[name], schema)
    return out


def _read_yaml(path: Path) -> dict:
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise PolicyError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(doc, dict):
        raise PolicyError(f"{path}: expected a mapping at the top level")
    return doc


def load_schema(path: Path) -> Schema:
    """Read ``schema.yaml``: ``name``, ``fields: {state.x: {type, min, max, step | values}}``, ``derived``."""
    doc = _read_yaml(path)
    fields = {}
    for name, spec in (doc.get("fields") or {}).items():
        root = name.split(".")[0]
        if root not in ("state", "action") or name.count(".") != 1:
            raise PolicyError(f"{path}: field {name!r} must be named state.<x> or action.<x>")
        if not isinstance(spec, dict) or spec.get("type") not in TYPES:
            raise PolicyError(f"{path}: field {name!r} needs a type in {TYPES}")
        t = spec["type"]
        if t == "enum":
            vals = tuple(str(v) for v in spec.get("values") or ())
            if not vals:
                raise PolicyError(f"{path}: enum field {name!r} needs values")
            fields[name] = Field(name, t, values=vals)
        elif t == "bool":
            fields[name] = Field(name, t)
        else:
            lo, hi = float(spec.get("min", 0)), float(spec.get("max", 1))
            step = float(spec.get("step", 1 if t == "int" else 0.125))
            if hi < lo or step <= 0 or (t == "int" and (step != int(step) or lo != int(lo))):
                raise PolicyError(f"{path}: field {name!r} has a bad domain (min {lo}, max {hi}, step {step})")
            fields[name] = Field(name, t, lo, hi, step)
    if not fields:
        raise PolicyError(f"{path}: no fields declared")
    schema = Schema(str(doc.get("name", path.parent.name)), fields, {}, {})
    for name, src in (doc.get("derived") or {}).items():
        if not name.startswith("next.") or name.count(".") != 1:
            raise PolicyError(f"{path}: derived field {name!r} must be named next.<x>")
        try:
            node = ast.parse(str(src), mode="eval").body
        except SyntaxError as e:
            raise PolicyError(f"{path}: derived {name}: cannot parse {src!r}: {e.msg}") from None
        type_of(node, schema, f"{path}: derived {name}")  # checked before it is stored: earlier derived only
        schema.derived[name] = node
        schema.derived_src[name] = str(src)
    return schema


def load_rule(path: Path, schema: Schema) -> Rule:
    doc = _read_yaml(path)
    rid = doc.get("id")
    if not isinstance(rid, str) or not rid.isidentifier() or not rid.isascii():
        raise PolicyError(f"{path}: 'id' must be an ASCII identifier (Rego names are ASCII), got {rid!r}")
    effect = doc.get("effect", "deny")
    if effect not in EFFECTS:
        raise PolicyError(f"{path}: effect must be one of {EFFECTS}, got {effect!r}")
    if "require" not in doc:
        raise PolicyError(f"{path}: rule {rid} has no 'require' expression")
    when_src = doc.get("when", "true")
    when = parse_expr(when_src, schema, f"{path}: when")
    require = parse_expr(doc["require"], schema, f"{path}: require")
    return Rule(rid, effect, str(doc.get("description", "")), when, require, str(path), str(when_src),
                str(doc["require"]))
