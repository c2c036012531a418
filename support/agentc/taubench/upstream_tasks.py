"""Safe reader for tau-bench's upstream ``tasks_*.py`` modules: parsed with :mod:`ast`, never imported or executed.

Yields the mirror's ``tasks_*.json`` structure ``[{annotator, user_id, instruction, actions: [{name, kwargs}], outputs}]``.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

# The constructors a tasks module may call, with their keyword fields in output order (the mirror JSON's key order).
CONSTRUCTORS = {"Task": ("annotator", "user_id", "instruction", "actions", "outputs"),
                "Action": ("name", "kwargs")}
_JSON_SCALARS = (str, int, float, bool, type(None))


def _error(filename: str, node: ast.AST, what: str) -> ValueError:
    snippet = ast.unparse(node)
    snippet = snippet if len(snippet) <= 60 else snippet[:57] + "..."
    return ValueError(f"{filename}:{getattr(node, 'lineno', '?')}: {what} is not supported in a tau-bench tasks file "
                      f"(only Task(...)/Action(...) calls and JSON-like literals): {snippet}")


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return f"the name {node.id!r}"
    if isinstance(node, ast.Call):
        return f"a call to {ast.unparse(node.func)!r}"
    if isinstance(node, ast.JoinedStr):
        return "an f-string"
    if isinstance(node, ast.Constant):
        return f"a {type(node.value).__name__} constant"
    return f"a {type(node).__name__} expression"


def _literal(node: ast.expr, filename: str) -> Any:
    """A JSON-like literal: str, int, float, bool, None, a list of these or a dict with str keys."""
    if isinstance(node, ast.Constant) and isinstance(node.value, _JSON_SCALARS):
        return node.value
    if isinstance(node, ast.List):
        return [_literal(e, filename) for e in node.elts]
    if isinstance(node, ast.Dict):
        out = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                raise _error(filename, v, "a ** unpacking")
            if not (isinstance(k, ast.Constant) and isinstance(k.value, str)):
                raise _error(filename, k, f"{_describe(k)} as a dict key")
            out[k.value] = _literal(v, filename)  # a repeated key keeps its last value, as Python does
        return out
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float)):
        return ast.literal_eval(node)
    raise _error(filename, node, _describe(node))


def _call(node: ast.expr, constructor: str, filename: str) -> dict:
    """``Task(...)`` or ``Action(...)`` with exactly its keyword fields, as a dict in field order."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == constructor):
        raise _error(filename, node, f"{_describe(node)} where {constructor}(...) is expected")
    if node.args:
        raise _error(filename, node.args[0], f"a positional argument to {constructor}")
    fields = CONSTRUCTORS[constructor]
    given = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise _error(filename, kw.value, f"a ** unpacking in {constructor}")
        if kw.arg not in fields:
            raise _error(filename, kw.value, f"the keyword {kw.arg!r} of {constructor} (expected {', '.join(fields)})")
        given[kw.arg] = kw.value
    missing = [f for f in fields if f not in given]
    if missing:
        raise _error(filename, node, f"a {constructor} without {', '.join(missing)}")
    out = {}
    for f in fields:
        v = given[f]
        if constructor == "Task" and f == "actions":
            if not isinstance(v, ast.List):
                raise _error(filename, v, f"{_describe(v)} as Task actions (expected a list of Action(...))")
            out[f] = [_call(a, "Action", filename) for a in v.elts]
        else:
            out[f] = _literal(v, filename)
    return out


def parse_tasks(source: str, filename: str = "<tasks>") -> list[dict]:
    """The task list of an upstream ``tasks_*.py`` source: imports, then one ``TASKS... = [Task(...), ...]``.

    Anything else (a name, an unknown call, an f-string, a second statement) raises ValueError naming file and line.
    """
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as e:
        raise ValueError(f"{filename}:{e.lineno}: not valid Python: {e.msg}") from None
    assigns = []
    for i, stmt in enumerate(tree.body):
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            continue  # never executed; the names it would bind are matched by text
        if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
                and isinstance(stmt.value.value, str):
            continue  # module docstring
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and stmt.targets[0].id.startswith("TASKS")):
            assigns.append(stmt)
            continue
        raise _error(filename, stmt, f"the {type(stmt).__name__} statement")
    if len(assigns) != 1:
        where = f"{filename}:{assigns[1].lineno}" if assigns else filename
        raise ValueError(f"{where}: a tau-bench tasks file assigns exactly one TASKS... list, found {len(assigns)}")
    value = assigns[0].value
    if not isinstance(value, ast.List):
        raise _error(filename, value, f"{_describe(value)} as the task list (expected [Task(...), ...])")
    return [_call(t, "Task", filename) for t in value.elts]


def load_tasks(path: Path) -> list[dict]:
    """:func:`parse_tasks` of the file at ``path`` (errors name the path)."""
    return parse_tasks(Path(path).read_text(encoding="utf-8"), filename=str(path))
