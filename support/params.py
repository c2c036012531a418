"""Notebook parameters: read the ``parameters`` cell, check and coerce ``-p NAME=VALUE`` overrides, expand sweeps.

``-p seed=0,1,2`` is a sweep: one run per value (per combination when several are swept).
"""

from __future__ import annotations

import ast
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.claims import SCALES


class ParameterError(ValueError):
    """A bad ``-p`` override: unknown name, wrong type, bad value."""


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: Any
    type: type
    help: str


def notebook_parameters(notebook: Path) -> dict[str, ParamSpec]:
    """The names, defaults and types declared in a notebook's ``parameters`` cell."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ParameterError(f"{notebook.name}: expected exactly one cell tagged 'parameters', found {len(cells)}")
    specs: dict[str, ParamSpec] = {}
    tree = ast.parse(cells[0].source)
    lines = cells[0].source.splitlines()
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if not isinstance(target, ast.Name) or node.value is None:
                continue
            default = ast.literal_eval(node.value)
            line = lines[node.lineno - 1]
            comment = line.split("#", 1)[1].strip() if "#" in line else ""
            specs[target.id] = ParamSpec(target.id, default, type(default), comment)
    return specs


def coerce(raw: str, spec: ParamSpec) -> Any:
    """Turn the command-line text ``raw`` into a value of the parameter's declared type."""
    t = spec.type
    try:
        if t is bool:
            low = raw.strip().lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no"):
                return False
            raise ValueError
        if t is int:
            return int(raw)
        if t is float:
            return float(raw)
        if t is str:
            return raw
        value = ast.literal_eval(raw)
        if not isinstance(value, t):
            raise ValueError  # noqa: TRY004 - turned into the ParameterError below, like every bad value
        return value
    except (ValueError, SyntaxError):
        raise ParameterError(f"parameter {spec.name!r} expects {t.__name__} (default {spec.default!r}), "
                             f"got {raw!r}") from None


def parse_overrides(items: list[str], specs: dict[str, ParamSpec], notebook: str) -> dict[str, list[Any]]:
    """``["seed=0,1", "scale=smoke"]`` -> ``{"seed": [0, 1], "scale": ["smoke"]}``, checked against ``specs``."""
    out: dict[str, list[Any]] = {}
    for item in items:
        if "=" not in item:
            raise ParameterError(f"-p expects NAME=VALUE, got {item!r}")
        name, raw = item.split("=", 1)
        name = name.strip()
        if name not in specs:
            import difflib

            close = difflib.get_close_matches(name, specs, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ParameterError(f"{notebook} has no parameter {name!r}{hint} "
                                 f"(known: {', '.join(specs)})")
        out[name] = [coerce(v, specs[name]) for v in raw.split(",")]
    return out


def load_grid(path: Path) -> dict[str, list[Any]]:
    """A sweep grid file: a JSON or YAML mapping of parameter name to a list of values."""
    text = Path(path).read_text()
    if path.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict) or not all(isinstance(v, list) and v for v in data.values()):
        raise ParameterError(f"{path}: a grid maps each parameter name to a non-empty list of values")
    return data


def check_values(values: dict[str, list[Any]], specs: dict[str, ParamSpec], notebook: str) -> None:
    """Names known, types right, and ``scale`` one of the declared scales."""
    for name, vals in values.items():
        if name not in specs:
            raise ParameterError(f"{notebook} has no parameter {name!r} (known: {', '.join(specs)})")
        for v in vals:
            t = specs[name].type
            ok = isinstance(v, t) and not (t is int and isinstance(v, bool)) or (t is float and isinstance(v, int))
            if not ok:
                raise ParameterError(f"parameter {name!r} expects {t.__name__}, got {v!r}")
            if name == "scale" and v not in SCALES:
                raise ParameterError(f"scale must be one of {', '.join(SCALES)}; got {v!r}")


def expand(values: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """All combinations of the swept values, in a stable order."""
    names = list(values)
    return [dict(zip(names, combo)) for combo in itertools.product(*(values[n] for n in names))]


def tag(params: dict[str, Any], swept: list[str]) -> str:
    """A folder name for one run of a sweep: ``seed=1,n=10`` (only the swept parameters)."""
    return ",".join(f"{n}={params[n]}" for n in swept).replace("/", "_") or "main"
