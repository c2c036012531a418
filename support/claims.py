"""Claims: what a paper says, what we measured, and a verdict computed by a declared rule.

Each paper declares its claims once (``support/<slug>/claims.py``) as a :class:`ClaimSet`. Its
notebook records measured values through a :class:`ClaimRecorder`; the verdict comes from the
claim's :class:`Rule`, never typed by hand. Results land in ``results.json`` and as a table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from support.paths import write_text_atomic

SCALES = ("smoke", "default", "paper")


class Verdict(str, Enum):
    REPRODUCED = "reproduced"
    PARTLY = "partly"
    NOT_REPRODUCED = "not reproduced"
    NOT_APPLICABLE = "not applicable here"


def _num(x: Any) -> float:
    """``x`` as a float for a numeric rule; a bool is refused (True would pass ``AtLeast(1.0)``), as
    :class:`IsTrue` refuses counts."""
    if isinstance(x, bool):
        raise TypeError(f"expected a number, got the boolean {x!r}")
    if isinstance(x, (int, float)):
        return float(x)
    raise TypeError(f"expected a number, got {x!r}")


@dataclass(frozen=True)
class Rule:
    """Turns a measured value (and the paper's value) into a verdict."""

    def verdict(self, measured: Any, paper_value: Any) -> Verdict:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self, paper_value: Any) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def bounds(self, paper_value: Any) -> tuple[float, ...]:
        """The values where this rule's verdict changes (none for an exact check); a table shows a measured
        value with enough digits to tell which side of each it lies on."""
        return ()


# relative slack at an inclusive bar for rounding alone: the decimals of a value and a bar are not binary fractions, so
# a value exactly on the bar computes a few ulps off it (1.3 beside "within ±30% of 1.0" gives an error of 0.3 + 4e-17,
# a 10% reduction 1 - 0.9 gives 0.1 - 2e-17); a value on the bar counts as on it, a relative 1e-12 beyond stays out.
# Within, AtLeast and AtMost use it; the strict Above and Below do not (a tie is no gain), nor does a bar of 0
ROUNDING = 1e-12


def at_most(value, bar: float):
    """``value <= bar`` with a value on the bar included, float rounding aside (:data:`ROUNDING`); elementwise on
    arrays and Series, for claim values computed outside a rule (a share of instances within a bar)."""
    return value <= bar + ROUNDING * abs(bar)


def at_least(value, bar: float):
    """``value >= bar`` with a value on the bar included, float rounding aside (:data:`ROUNDING`)."""
    return value >= bar - ROUNDING * abs(bar)


@dataclass(frozen=True)
class Within(Rule):
    """Reproduced when ``|measured - paper| <= rel * |paper|`` (a value on the bar included, float rounding aside:
    :data:`ROUNDING`); partly within ``partly_rel``."""

    rel: float
    partly_rel: float | None = None

    def verdict(self, measured: Any, paper_value: Any) -> Verdict:
        m, p = _num(measured), _num(paper_value)
        if not math.isfinite(m):
            return Verdict.NOT_REPRODUCED
        err = abs(m - p) / abs(p) if p != 0 else abs(m)
        if at_most(err, self.rel):
            return Verdict.REPRODUCED
        if self.partly_rel is not None and at_most(err, self.partly_rel):
            return Verdict.PARTLY
        return Verdict.NOT_REPRODUCED

    def describe(self, paper_value: Any) -> str:
        if _num(paper_value) == 0:  # no relative error around 0: the bound is absolute (see verdict)
            s = f"within ±{self.rel:g} of 0"
            return s + (f" (partly: ±{self.partly_rel:g})" if self.partly_rel is not None else "")
        s = f"within ±{self.rel:.0%} of {paper_value}"
        return s + (f" (partly: ±{self.partly_rel:.0%})" if self.partly_rel is not None else "")

    def bounds(self, paper_value: Any) -> tuple[float, ...]:
        p = _num(paper_value)
        half = abs(p) if p != 0 else 1.0  # around 0 the band is absolute (see verdict)
        rels = (self.rel,) if self.partly_rel is None else (self.rel, self.partly_rel)
        return tuple(b for r in rels for b in (p - r * half, p + r * half))


@dataclass(frozen=True)
class _Bound(Rule):
    """Reproduced when ``measured`` is on the right side of ``threshold``; partly past ``partly``."""

    threshold: float
    partly: float | None = None
    _symbol = ""

    def _ok(self, m: float, bound: float) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def verdict(self, measured: Any, paper_value: Any) -> Verdict:
        m = _num(measured)
        if not math.isfinite(m):  # nan fails every comparison, but inf would pass one side
            return Verdict.NOT_REPRODUCED
        if self._ok(m, self.threshold):
            return Verdict.REPRODUCED
        if self.partly is not None and self._ok(m, self.partly):
            return Verdict.PARTLY
        return Verdict.NOT_REPRODUCED

    def describe(self, paper_value: Any) -> str:
        s = f"{self._symbol} {self.threshold:g}"
        return s + (f" (partly: {self._symbol} {self.partly:g})" if self.partly is not None else "")

    def bounds(self, paper_value: Any) -> tuple[float, ...]:
        return (self.threshold,) if self.partly is None else (self.threshold, self.partly)


@dataclass(frozen=True)
class AtLeast(_Bound):
    """Reproduced when ``measured >= threshold``; partly when ``measured >= partly`` (a value on the bar included, float
    rounding aside: :data:`ROUNDING`)."""

    _symbol = ">="

    def _ok(self, m: float, bound: float) -> bool:
        return at_least(m, bound)


@dataclass(frozen=True)
class AtMost(_Bound):
    """Reproduced when ``measured <= threshold``; partly when ``measured <= partly`` (a value on the bar included, float
    rounding aside: :data:`ROUNDING`)."""

    _symbol = "<="

    def _ok(self, m: float, bound: float) -> bool:
        return at_most(m, bound)


@dataclass(frozen=True)
class Above(_Bound):
    """Reproduced when ``measured > threshold`` (strict: a tie is no gain); partly when ``measured > partly``.

    For claims stated as "higher", "faster" or "lower energy" whose threshold is the no-change point."""

    _symbol = ">"

    def _ok(self, m: float, bound: float) -> bool:
        return m > bound


@dataclass(frozen=True)
class Below(_Bound):
    """Reproduced when ``measured < threshold`` (strict: a tie is no gain); partly when ``measured < partly``."""

    _symbol = "<"

    def _ok(self, m: float, bound: float) -> bool:
        return m < bound


@dataclass(frozen=True)
class IsTrue(Rule):
    """Reproduced when the measured value is True (an exact check that held).

    Only a real ``bool`` is accepted (the recorder turns ``numpy.bool_`` into one); a count such as 7 is refused."""

    def verdict(self, measured: Any, paper_value: Any) -> Verdict:
        if not isinstance(measured, bool):
            raise TypeError(f"IsTrue expects a boolean measurement, got {measured!r} ({type(measured).__name__})")
        return Verdict.REPRODUCED if measured else Verdict.NOT_REPRODUCED

    def describe(self, paper_value: Any) -> str:
        return "holds"


@dataclass(frozen=True)
class Claim:
    """One headline statement of a paper, with where it is stated and how it is judged."""

    name: str
    statement: str
    paper_value: Any
    unit: str
    source: str
    rule: Rule
    scales: tuple[str, ...] = SCALES  # scales at which the claim can be checked

    def judge(self, measured: Any) -> Verdict:
        """The rule's verdict on ``measured``; a measurement of the wrong type is a TypeError naming this claim."""
        try:
            return self.rule.verdict(measured, self.paper_value)
        except TypeError as e:
            raise TypeError(f"claim {self.name!r}: {e}") from None


class ClaimSet(Mapping[str, Claim]):
    """The claims of one paper, declared once next to its implementation."""

    def __init__(self, paper: str, claims: Iterable[Claim]):
        self.paper = paper
        self._claims: dict[str, Claim] = {}
        for c in claims:
            if c.name in self._claims:
                raise ValueError(f"{paper}: claim {c.name!r} declared twice")
            bad = set(c.scales) - set(SCALES)
            if bad:
                raise ValueError(f"{paper}: claim {c.name!r} has unknown scales {sorted(bad)}")
            self._claims[c.name] = c

    def __getitem__(self, name: str) -> Claim:
        try:
            return self._claims[name]
        except KeyError:
            raise KeyError(f"{self.paper} declares no claim {name!r}; known: {', '.join(self._claims)}") from None

    def __iter__(self):
        return iter(self._claims)

    def __len__(self) -> int:
        return len(self._claims)


@dataclass
class Measurement:
    """A claim as measured in one run."""

    name: str
    statement: str
    paper_value: Any
    unit: str
    source: str
    rule: str
    measured: Any
    verdict: str
    note: str = ""
    bounds: list[float] = field(default_factory=list)  # Rule.bounds for this paper value: where the verdict changes


def _plain(x: Any) -> Any:
    """A NumPy / CuPy scalar as the Python scalar it holds (``numpy.bool_`` -> ``bool``); anything else as is."""
    if hasattr(x, "item") and callable(x.item) and getattr(x, "ndim", 1) == 0:
        return x.item()
    return x


def _jsonable(x: Any) -> Any:
    """``x`` as plain JSON: scalars unwrapped, and nan / inf / -inf stored as the strings "nan", "inf", "-inf",
    also inside dicts, lists and tuples (a nested metric must not write the non-JSON token ``NaN``)."""
    x = _plain(x)
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


UNRECORDED_NOTE = "not measured in this run"  # the note of a declared claim a run never recorded


def _measurement(c: Claim, measured: Any, verdict: Verdict, note: str) -> Measurement:
    return Measurement(c.name, c.statement, _jsonable(c.paper_value), c.unit, c.source, c.rule.describe(c.paper_value),
                       measured, verdict.value, note, _jsonable(c.rule.bounds(c.paper_value)))


@dataclass
class ClaimRecorder:
    """Collects measurements for a notebook run and writes them to ``results.json``."""

    claims: ClaimSet
    scale: str
    out_dir: Path
    params: dict[str, Any] = field(default_factory=dict)
    measurements: dict[str, Measurement] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    def record(self, name: str, measured: Any, note: str = "") -> Verdict:
        """Record the measured value of claim ``name``; the verdict follows from its rule."""
        c = self.claims[name]
        measured = _plain(measured)  # judged as a number: only the stored copy turns nan / inf into strings
        if self.scale not in c.scales:
            v = Verdict.NOT_APPLICABLE
            note = (note + "; " if note else "") + f"checked only at scale {'/'.join(c.scales)}"
        else:
            v = c.judge(measured)
        self.measurements[name] = _measurement(c, _jsonable(measured), v, note)
        self.save()
        return v

    def not_applicable(self, name: str, reason: str) -> None:
        """Mark claim ``name`` as not checkable in this run, with the reason (required: a claim is never set aside
        without saying why)."""
        c = self.claims[name]
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"claim {name!r} marked not applicable without a reason; say why it cannot be judged")
        self.measurements[name] = _measurement(c, None, Verdict.NOT_APPLICABLE, reason)
        self.save()

    def record_unless(self, reason: str | None, name: str, measured: Any, note: str = "") -> Verdict:
        """Record ``measured`` for claim ``name`` unless ``reason`` says why this run cannot judge it (another grid
        or protocol than the statement's): then not applicable, with the reason and the value measured. At a
        scale the claim excludes, the usual treatment of :meth:`record`."""
        if reason and self.scale in self.claims[name].scales:
            self.not_applicable(name, f"{reason}; measured {format_value(measured)} ({note})")
            return Verdict.NOT_APPLICABLE
        return self.record(name, measured, note)

    def record_all(self, values: Mapping[str, tuple[Any, str]]) -> None:
        """Record each claim of ``values`` (name -> (measured, note)) as :meth:`record` does; a measured value of
        None marks the claim not applicable, with ``note`` as the reason (:meth:`not_applicable`), so a function
        that builds ``values`` must write a reason, not a measurement note, beside each None it returns."""
        for name, (measured, note) in values.items():
            if measured is None:
                self.not_applicable(name, note)
            else:
                self.record(name, measured, note)

    def metric(self, name: str, value: Any) -> None:
        """Record an extra measured number (a timing, a size) that is not itself a claim."""
        self.metrics[name] = _jsonable(value)
        self.save()

    def rows(self) -> list[Measurement]:
        """Every declared claim, in declaration order; unrecorded ones say so."""
        out = []
        for name, c in self.claims.items():
            m = self.measurements.get(name)
            if m is None:
                m = _measurement(c, None, Verdict.NOT_APPLICABLE, UNRECORDED_NOTE)
            out.append(m)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"paper": self.claims.paper, "scale": self.scale, "params": _jsonable(self.params),
                "claims": [asdict(m) for m in self.rows()], "metrics": self.metrics}

    def save(self) -> Path:
        """Write ``results.json`` atomically (a reader never sees half a file)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return write_text_atomic(self.out_dir / "results.json",
                                 json.dumps(self.as_dict(), indent=2, default=str, allow_nan=False))

    def table(self):
        """The claims table as a pandas DataFrame (also saved to results.json)."""
        import pandas as pd

        self.save()
        rows = [{"claim": m.statement, "source": m.source, "paper": format_value(m.paper_value, m.unit),
                 "ours": format_value(m.measured, m.unit, m.bounds), "rule": m.rule, "verdict": m.verdict,
                 "note": m.note} for m in self.rows()]
        return pd.DataFrame(rows)


def _side(x: float, bound: float) -> int:
    return (x > bound) - (x < bound)


def worst_of(*values: Any) -> float:
    """The largest of ``values`` (scalars or arrays, e.g. the errors behind an AtMost claim), NaN if any is NaN: the
    worst case a claim is judged on. Python's ``max`` drops a NaN that is not first and pandas' ``max`` skips it, so
    a failed measurement could pass unseen."""
    import numpy as np  # this module stays importable without NumPy otherwise

    flat = [np.ravel(np.asarray(v, dtype=float)) for v in values]
    if not flat or not sum(a.size for a in flat):
        raise ValueError("worst_of() needs at least one value")
    return float(np.max(np.concatenate(flat)))


def format_value(v: Any, unit: str = "", bounds: Iterable[Any] = ()) -> str:
    """A value for a claims table (notebook and report): a float to 4 significant digits, or more where 4 would
    put it on the other side of, or onto, one of its rule's ``bounds`` (0.0999999 beside ">= 0.1": 0.0999999); a NaN
    is "n/a", as support.wording writes a missing number."""
    if v is None:
        return "—"
    if (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and v == "nan"):  # results.json: "nan"
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        edges = [float(b) for b in bounds if isinstance(b, (int, float)) and not isinstance(b, bool)]
        s = next((t for t in (f"{v:.{d}g}" for d in range(4, 18))
                  if all(_side(float(t), b) == _side(v, b) for b in edges)), repr(v))
    else:
        s = str(v)
    return f"{s} {unit}".strip()


_TABLE_CSS = ("<style>#claims-table th,#claims-table td{text-align:left;vertical-align:top;white-space:normal;"
              "overflow-wrap:break-word}#claims-table td:nth-child(3),#claims-table td:nth-child(4),"
              "#claims-table td:nth-child(6){white-space:nowrap}</style>")  # paper, ours, verdict: one line


class ClaimsTable:
    """The claims table as a notebook shows it: every text in full, wrapped (a DataFrame's display cuts text at
    pandas' ``max_colwidth``, 50 characters). ``frame`` is the DataFrame itself."""

    def __init__(self, frame):
        self.frame = frame

    def _repr_html_(self) -> str:
        return _TABLE_CSS + self.frame.to_html(index=False, table_id="claims-table", justify="left")  # cuts nothing

    def __repr__(self) -> str:
        return self.frame.to_string(index=False)


def load_results(path: Path) -> dict[str, Any]:
    """Read a ``results.json`` written by :class:`ClaimRecorder`."""
    return json.loads(Path(path).read_text())
