"""Notebook parameters: read the ``parameters`` cell, check and coerce ``-p NAME=VALUE`` overrides, expand sweeps.

``-p seed=0,1,2`` is a sweep: one run per value (per combination when several are swept). Two kinds of
parameter take the whole ``-p`` text as one value, with no split on ",": a list, tuple or dict (a Python
literal, ``workloads=['trees','lru']``), and a string whose default contains "," (10's ``budgets``, 13's
``gpu_batches``). Sweep those with ``--grid``. Repeated values are dropped, keeping the first. ``-p`` and
``--grid`` values follow one rule (:func:`conform`): the default's type, an int given for a float becoming
that float; a list's items the type of the default's items.
"""

from __future__ import annotations

import ast
import hashlib
import io
import itertools
import json
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.claims import SCALES
from support.validate import ParameterError, check_int, is_int
from support.xp import BACKENDS


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
    return _cell_parameters(cells[0].source)


def notebook_defaults(notebook: bytes) -> dict[str, Any]:
    """The defaults of a notebook's single ``parameters`` cell, read from the notebook's JSON bytes (for the
    cache key); ``{}`` when there is no such cell or the bytes are not a notebook (nothing to merge)."""
    try:
        cells = json.loads(notebook).get("cells", [])
        tagged = [c for c in cells if c.get("cell_type") == "code"
                  and "parameters" in c.get("metadata", {}).get("tags", [])]
        if len(tagged) != 1:
            return {}
        source = tagged[0]["source"]
        specs = _cell_parameters(source if isinstance(source, str) else "".join(source))
    except (ValueError, SyntaxError, AttributeError, KeyError, TypeError):
        return {}
    return {name: spec.default for name, spec in specs.items()}


def _cell_parameters(source: str) -> dict[str, ParamSpec]:
    """Each ``name = literal  # comment`` of a parameters cell's ``source`` as a :class:`ParamSpec`."""
    specs: dict[str, ParamSpec] = {}
    tree = ast.parse(source)
    comments = {t.start[0]: t.string[1:].strip() for t in tokenize.generate_tokens(io.StringIO(source).readline)
                if t.type == tokenize.COMMENT}  # by line; a "#" inside a string literal is no comment
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if not isinstance(target, ast.Name) or node.value is None:
                continue
            default = ast.literal_eval(node.value)
            specs[target.id] = ParamSpec(target.id, default, type(default), comments.get(node.lineno, ""))
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
            value = int(raw)
        elif t is float:
            try:
                value = int(raw)  # "1" is the int 1, made a float by conform (exactly, or refused)
            except ValueError:
                value = float(raw)
        elif t is str:
            return raw
        else:
            value = ast.literal_eval(raw)
            if not isinstance(value, t):
                raise ValueError  # turned into the ParameterError below, like every bad value
    except (ValueError, SyntaxError):
        raise ParameterError(f"parameter {spec.name!r} expects {t.__name__} (default {spec.default!r}), "
                             f"got {raw!r}") from None
    return conform(value, spec)


def splits(spec: ParamSpec) -> bool:
    """Whether a ``-p`` value for ``spec`` is split on "," into a sweep.

    Not for a list/tuple/dict (one Python literal) nor a string whose default itself contains ",".
    """
    if spec.type is str:
        return "," not in spec.default
    return spec.type in (bool, int, float)


def unique(values: list[Any]) -> list[Any]:
    """``values`` without repeats, first occurrence kept; ``1``, ``1.0`` and ``True`` count as different."""
    out: list[Any] = []
    for v in values:
        if not any(type(u) is type(v) and u == v for u in out):
            out.append(v)
    return out


def params_hint(notebook: str) -> str:
    """The pointer to ``paper-repro params`` for ``notebook`` (a file name or a stem), ending every message about a
    parameter the user gave: an unknown name (-p or grid), a value the notebook refused (support.runner)."""
    return f"`paper-repro params {Path(notebook).stem}` describes them"


def unknown_parameter(name: str, specs: dict[str, ParamSpec], notebook: str) -> ParameterError:
    """The error for a parameter ``name`` that ``notebook`` does not declare, from ``-p`` or a grid file: a close
    match if any, the known names and :func:`params_hint`."""
    import difflib

    close = difflib.get_close_matches(name, specs, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ParameterError(f"{notebook} has no parameter {name!r}{hint} (known: {', '.join(specs)}; "
                          f"{params_hint(notebook)})")


def parse_overrides(items: list[str], specs: dict[str, ParamSpec], notebook: str) -> dict[str, list[Any]]:
    """``["seed=0,1", "scale=smoke"]`` -> ``{"seed": [0, 1], "scale": ["smoke"]}``, checked against ``specs``.

    A name given twice must have the same values both times; a different value is refused, not last-wins.
    """
    out: dict[str, list[Any]] = {}
    raws: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ParameterError(f"-p expects NAME=VALUE, got {item!r}")
        name, raw = item.split("=", 1)
        name = name.strip()
        if name not in specs:
            raise unknown_parameter(name, specs, notebook)
        parts = raw.split(",") if splits(specs[name]) else [raw]
        vals = unique([coerce(v, specs[name]) for v in parts])
        if name in out and out[name] != vals:
            raise ParameterError(f"parameter {name!r} is given twice with -p ({name}={raws[name]} and "
                                 f"{name}={raw}); give it once")
        out[name], raws[name] = vals, raw
    return out


def load_grid(path: Path) -> dict[str, list[Any]]:
    """A sweep grid file: a JSON or YAML mapping of parameter name to a list of values (repeats dropped).

    A file that is not valid JSON/YAML raises ``ParameterError`` naming the file and the problem, on one line.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except ValueError as e:  # UnicodeDecodeError; a missing file is an OSError, reported by the caller
        raise ParameterError(f"{path}: not a text file: {e}") from None
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            problem = getattr(e, "problem", None) or str(e)
            raise ParameterError(f"{path}: not valid YAML: {' '.join(problem.split())}{where}") from None
    else:
        try:
            data = json.loads(text)
        except ValueError as e:  # json.JSONDecodeError
            raise ParameterError(f"{path}: not valid JSON: {e}") from None
    if not isinstance(data, dict) or not all(isinstance(v, list) and v for v in data.values()):
        raise ParameterError(f"{path}: a grid maps each parameter name to a non-empty list of values")
    return {name: unique(vals) for name, vals in data.items()}


def _type_ok(v: Any, t: type) -> bool:
    """``v`` fits the declared type ``t``: an int is a float, but a bool is neither an int nor a float."""
    if t is int:
        return is_int(v)
    if t is float:
        return isinstance(v, float) or is_int(v)
    return isinstance(v, t)


def _fit(v: Any, t: type, what: str) -> Any:
    """``v`` as a ``t``: an int given for a float becomes that float when exactly representable; anything
    else that does not fit raises ``ParameterError`` naming ``what`` (the parameter, and the item)."""
    if not _type_ok(v, t):
        raise ParameterError(f"{what} expects {t.__name__}, got {v!r}")
    if t is float and is_int(v):
        try:
            exact = float(v) == v
        except OverflowError:
            exact = False
        if not exact:
            raise ParameterError(f"{what} expects float, got {v!r} (not exactly a float)")
        return float(v)
    return v


def item_type(default: Any) -> type | None:
    """The type of every item of a non-empty list/tuple default whose items share one type, else None."""
    if isinstance(default, (list, tuple)) and default and len({type(x) for x in default}) == 1:
        return type(default[0])
    return None


def conform(v: Any, spec: ParamSpec) -> Any:
    """The one rule for a ``-p`` or grid value: the default's type, an int given for a float becoming that
    float; a list's items held to the type of the default's items (:func:`item_type`) by the same rule."""
    v = _fit(v, spec.type, f"parameter {spec.name!r}")
    t = item_type(spec.default)
    if t is not None:
        v = type(v)(_fit(x, t, f"parameter {spec.name!r} item {i}") for i, x in enumerate(v))
    return v


def check_values(values: dict[str, list[Any]], specs: dict[str, ParamSpec],
                 notebook: str) -> dict[str, list[Any]]:
    """Names known, types right (:func:`conform`), ``scale`` a declared scale, ``backend`` one of
    ``support.xp.BACKENDS``, ``seed`` >= 0; returns the conformed values, repeats dropped.

    Runs before any kernel starts, so a bad value is one usage error rather than a failed notebook.
    """
    out: dict[str, list[Any]] = {}
    for name, vals in values.items():
        if name not in specs:
            raise unknown_parameter(name, specs, notebook)
        out[name] = unique([conform(v, specs[name]) for v in vals])
        for v in out[name]:
            check_standard(name, v)
    return out


def check_standard(name: str, value: Any) -> None:
    """Refuse a bad value of a standard parameter (``scale``, ``backend``, ``seed``) with a ParameterError naming it;
    any other name passes. The CLI checks before a kernel starts, ``start`` inside the notebook."""
    if name == "scale" and value not in SCALES:
        raise ParameterError(f"scale must be one of {', '.join(SCALES)}; got {value!r}")
    if name == "backend" and value not in BACKENDS:
        raise ParameterError(f"backend must be one of {', '.join(BACKENDS)}; got {value!r}")
    if name == "seed":
        check_int(value, "seed", minimum=0, error=ParameterError)


def expand(values: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """All combinations of the swept values, in a stable order."""
    names = list(values)
    return [dict(zip(names, combo)) for combo in itertools.product(*(values[n] for n in names))]


_SAFE_ITEM = re.compile(r"[A-Za-z0-9_.+]+")
TAG_LIST_MAX = 40  # a longer list name becomes "<n>items-<hash>"


def _tag_value(v: Any) -> str:
    """A list/tuple as ``trees-lru`` (items of one type, each ``[A-Za-z0-9_.+]``, at most ``TAG_LIST_MAX``
    characters), else ``5items-<12 hex of its JSON>``; any other value as ``str`` (old folder names kept)."""
    if not isinstance(v, (list, tuple)):
        return str(v)
    joined = "-".join(map(str, v))
    if (v and len({type(x) for x in v}) == 1 and len(joined) <= TAG_LIST_MAX
            and all(isinstance(x, (str, int, float)) and _SAFE_ITEM.fullmatch(str(x)) for x in v)):
        return joined
    digest = hashlib.sha256(json.dumps(v, sort_keys=True, default=repr).encode()).hexdigest()[:12]
    return f"{len(v)}items-{digest}"


def tag(params: dict[str, Any], swept: list[str]) -> str:
    """A folder name for one run of a sweep: ``seed=1,n=10`` (only the swept parameters); a list reads
    ``workloads=trees-lru`` (:func:`_tag_value`)."""
    return ",".join(f"{n}={_tag_value(params[n])}" for n in swept).replace("/", "_") or "main"
