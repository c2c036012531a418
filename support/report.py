"""``reports/index.html``: one row per paper (status, time, scale, device, commit, versions) and its claims.

Sweeps (``reports/<stem>/runs/sweep.json``) are aggregated per claim: mean, spread, how many runs
reproduced it and the breakdown of their verdicts; a run not applicable at its scale counts in neither. A sweep
run whose latest attempt failed (itself, or a later run kept in its ``failed/``) is named in a banner and left
out of the aggregate; an unfinished sweep says how many of its planned runs ended. A failed run is flagged
with its error, its verdicts marked partial, and the claims it never reached shown as "not measured"; a failed
run kept beside an OK one (``<run>/failed/``) is a note on the OK run, naming the parameters it ran with where they
differ from the OK run's. Parameters other than the notebook's defaults are shown. A paper with only a sweep has a
summary row for the sweep (its runs, verdict counts, total wall time; provenance "mixed" where its runs differ), not
for one of its runs. The page is plain HTML and CSS: no scripts, nothing fetched from a network.
"""

from __future__ import annotations

import html
import json
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from support.claims import UNRECORDED_NOTE, Verdict, format_value
from support.papers import PAPERS, Paper
from support.paths import REPORTS_DIR, write_text_atomic
from support.runner import FAILED_SUBDIR, RUNS_SUBDIR
from support.wording import count

NOT_MEASURED = "not measured"
NO_RUNS = "no runs yet; try `paper-repro run tour`"


@dataclass
class RunView:
    folder: Path
    meta: dict[str, Any]
    results: dict[str, Any] | None
    later_failure: RunView | None = None  # <folder>/failed/: a later run into the same folder that failed

    @property
    def html_name(self) -> str:
        return f"{self.meta.get('stem', self.folder.name)}.html"

    def overrides(self, shown_elsewhere: Iterable[str] = ()) -> str:
        """The parameters given on the command line (run.json "params"), as ``name=value``, except ``scale``
        (a column of its own) and ``shown_elsewhere``; "" for a run at the notebook's defaults."""
        skip = {"scale", *shown_elsewhere}
        return _param_text((k, v) for k, v in (self.meta.get("params") or {}).items() if k not in skip)

    @property
    def error_text(self) -> str:
        """The one-line error run.json records, or "no error recorded" where it has none."""
        return self.meta.get("error") or "no error recorded"

    @property
    def failed(self) -> bool:
        return self.meta.get("status") == "failed"

    @property
    def latest_failed(self) -> bool:
        """Whether this run's latest attempt failed: the run itself, or a later run kept in its ``failed/``
        (whose folder still holds an earlier OK result, perhaps of older code or other parameters)."""
        return self.failed or self.later_failure is not None

    def claims(self) -> list[dict[str, Any]]:
        """The recorded claims; in a failed run, those it never reached have the verdict "not measured"
        (rather than "not applicable here", which would read as a finished run's verdict)."""
        claims = (self.results or {}).get("claims", [])
        if not self.failed:
            return claims
        return [{**c, "verdict": NOT_MEASURED}
                if c.get("measured") is None and c.get("note") == UNRECORDED_NOTE else c for c in claims]


def _param_text(items: Iterable[tuple[str, Any]]) -> str:
    """``name=value`` pairs, comma-separated: a string as it is, any other value as its repr."""
    return ", ".join(f"{k}={v if isinstance(v, str) else repr(v)}" for k, v in items)


@dataclass
class PaperView:
    paper: Paper
    main: RunView | None
    sweep: list[RunView] = field(default_factory=list)
    swept: list[str] = field(default_factory=list)
    planned: int | None = None  # sweep.json's "planned": the runs the sweep was started with


def _read_run(folder: Path) -> RunView | None:
    try:
        meta = json.loads((folder / "run.json").read_text())
    except (OSError, ValueError):
        return None
    try:
        results = json.loads((folder / "results.json").read_text())
    except (OSError, ValueError):
        results = None
    later = _read_run(folder / FAILED_SUBDIR) if (folder / FAILED_SUBDIR / "run.json").is_file() else None
    return RunView(folder, meta, results, later if later is not None and later.failed else None)


def collect(reports: Path = REPORTS_DIR) -> list[PaperView]:
    """Every paper that has a main run or a sweep under ``reports``."""
    views = []
    for paper in PAPERS:
        folder = reports / paper.stem
        main = _read_run(folder)
        sweep, swept, planned = [], [], None
        manifest = folder / RUNS_SUBDIR / "sweep.json"
        try:
            m = json.loads(manifest.read_text()) if manifest.is_file() else {}
        except ValueError:
            m = {}  # corrupt (an interrupted write): the sweep is left out, the main run still shows
        if m:
            swept = m.get("swept", [])
            planned = m.get("planned")
            sweep = [r for r in (_read_run(reports / d) for d in m.get("runs", [])) if r is not None]
        if main or sweep:
            views.append(PaperView(paper, main, sweep, swept, planned))
    return views


def _num(v: Any) -> float | None:
    if v in ("nan", "inf", "-inf"):  # results.json stores a non-finite measurement as its string
        return float(v)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


NOT_APPLICABLE = Verdict.NOT_APPLICABLE.value
VERDICT_ORDER = (*(v.value for v in Verdict), NOT_MEASURED)


def aggregate(runs: list[RunView]) -> list[dict[str, Any]]:
    """Per claim over the runs of a sweep whose latest attempt did not fail: mean and standard deviation of the
    numeric (not bool) values, ``n`` runs that judged it, how many reproduced it, and ``counts`` per verdict.

    A run where the claim is not applicable (its scale, say) is left out of ``n`` and of the mean."""
    rows: dict[str, dict[str, Any]] = {}
    for run in runs:
        if run.latest_failed:
            continue
        for c in run.claims():
            row = rows.setdefault(c["name"], {**{k: c[k] for k in ("name", "statement", "paper_value", "unit",
                                                                    "source", "rule")}, "bounds": c.get("bounds", []),
                                              "values": [], "verdicts": []})
            if c["measured"] is not None and c["verdict"] != NOT_APPLICABLE:
                row["values"].append(c["measured"])
            row["verdicts"].append(c["verdict"])
    out = []
    for row in rows.values():
        nums = [x for x in map(_num, row["values"]) if x is not None]
        row["mean"] = statistics.fmean(nums) if nums else None
        if not all(map(math.isfinite, nums)):  # a NaN / inf run: the spread is undefined (and stdev fails on NaN)
            row["std"] = math.nan
        else:
            row["std"] = statistics.stdev(nums) if len(nums) > 1 else 0.0 if nums else None
        row["n"] = sum(v != NOT_APPLICABLE for v in row["verdicts"])
        row["reproduced"] = sum(v == "reproduced" for v in row["verdicts"])
        row["counts"] = _verdict_counts(row["verdicts"])
        out.append(row)
    return out


def _verdict_counts(verdicts: list[str]) -> dict[str, int]:
    """How many of ``verdicts`` are each verdict, in the order of ``Verdict`` (then "not measured", then any other)."""
    return {v: verdicts.count(v) for v in (*VERDICT_ORDER, *sorted(set(verdicts) - set(VERDICT_ORDER)))
            if v in verdicts}


def verdict_breakdown(counts: dict[str, int], sep: str = " · ") -> str:
    """``{"reproduced": 1, "partly": 1}`` as "1 reproduced · 1 partly" (a sweep table's cell; ``sep`` ", " in text)."""
    return sep.join(f"{n} {v}" for v, n in counts.items())


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem;color:#222;max-width:1200px}
h1{margin-bottom:.2rem} .sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:.6rem 0 1.4rem 0;width:100%;font-size:.92rem}
th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4} .num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.v-reproduced{color:#17692a;font-weight:600} .v-partly{color:#9a6700;font-weight:600}
.v-not-reproduced{color:#b3261e;font-weight:600} .v-not-applicable-here,.v-not-measured{color:#666}
.failed{border-left:4px solid #b3261e;background:#fdf0ef;padding:.4rem .7rem}
.s-ok,.s-cached,.s-sweep{color:#17692a} .s-failed{color:#b3261e;font-weight:600}
details{font-size:.85rem;color:#444} code{font-size:.85rem}
.figs{display:flex;gap:.6rem;flex-wrap:wrap} .thumb{height:180px;border:1px solid #ddd}
.later-failed{color:#b3261e} .params{font-size:.85rem} .val{white-space:nowrap} .rule{min-width:6rem}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _fmt(v: Any, unit: str = "", bounds: Iterable[Any] = ()) -> str:
    return _e(format_value(v, unit, bounds))


def _verdict(v: str) -> str:
    return f'<span class="v-{v.replace(" ", "-")}">{_e(v)}</span>'


def _failed_banner(run: RunView) -> str:
    if not run.failed:
        return ""
    return (f"<p class=failed><strong>This run failed</strong>: {_e(run.error_text)}. The verdicts below are partial: "
            "claims the run never reached are marked <em>not measured</em>.</p>")


def _defaults(paper: Paper) -> dict[str, Any]:
    """The defaults of the paper's notebook's parameters cell; ``{}`` when the notebook cannot be read (every
    parameter a run was given is then shown)."""
    from support.params import notebook_defaults

    try:
        return notebook_defaults(paper.notebook.read_bytes())
    except OSError:
        return {}


def _other_parameters(run: RunView, bad: RunView, defaults: dict[str, Any]) -> str:
    """The parameters ``bad`` ran with that differ from ``run``'s (each merged with the notebook's ``defaults``), as
    ``name=value``; "" for a run of the same parameters. Type-strict, as ``_non_default``: days=100.0 is not 100."""
    ours = {**defaults, **(run.meta.get("params") or {})}
    theirs = {**defaults, **(bad.meta.get("params") or {})}
    return _param_text((k, v) for k, v in theirs.items()
                       if k not in ours or ours[k] != v or type(ours[k]) is not type(v))


def _later_failure_text(run: RunView, defaults: dict[str, Any]) -> str:
    """"a later run failed (ERROR)" for a later failure of the same parameters; "a later run, with days=100, failed
    (ERROR)" for one with other parameters, so it does not read as a failure of this run's."""
    bad = run.later_failure
    other = _other_parameters(run, bad, defaults)
    return f"a later run{f', with {other},' if other else ''} failed ({bad.error_text})"


def _later_failure(run: RunView, reports: Path, defaults: dict[str, Any]) -> str:
    """The note on an OK run whose later run failed and was kept in ``failed/``: its error (and its parameters where
    they differ from the OK run's), linking its page."""
    bad = run.later_failure
    if bad is None:
        return ""
    page = bad.folder / bad.html_name
    target = page if page.is_file() else bad.folder / "run.json"
    link = f'<a href="{_e(target.relative_to(reports).as_posix())}">see {FAILED_SUBDIR}/</a>'
    return f"<span class=later-failed>{_e(_later_failure_text(run, defaults))}: {link}</span>"


def _non_default(run: RunView, defaults: dict[str, Any], shown_elsewhere: Iterable[str] = ()) -> str:
    """The run's parameters (run.json "params") that differ from its notebook's ``defaults``, as ``name=value``,
    except ``scale`` and ``shown_elsewhere``; every parameter given when ``defaults`` is empty."""
    same = [k for k, v in (run.meta.get("params") or {}).items()
            if k in defaults and v == defaults[k] and type(v) is type(defaults[k])]
    return run.overrides([*same, *shown_elsewhere])


def _params_line(run: RunView, reports: Path, defaults: dict[str, Any]) -> str:
    """Above a run's claims: the parameters it was given other than the defaults, and a later failed run."""
    parts = [f"parameters other than the notebook's defaults: <code>{_e(o)}</code>"
             if (o := _non_default(run, defaults)) else "", _later_failure(run, reports, defaults)]
    return "".join(f"<p class=params>{p}</p>" for p in parts if p)


def _claims_table(run: RunView, reports: Path, defaults: dict[str, Any]) -> str:
    claims = run.claims()
    if not claims:
        return _failed_banner(run) + _params_line(run, reports, defaults) + (
            "<p><em>No claims recorded (the run failed before its claims table).</em></p>")
    rows = "".join(
        f"<tr><td>{_e(c['statement'])}</td><td>{_e(c['source'])}</td><td class=val>{_fmt(c['paper_value'], c['unit'])}"
        f"</td><td class=val>{_fmt(c['measured'], c['unit'], c.get('bounds', ()))}</td><td class=rule>"
        f"{_e(c.get('rule', ''))}</td><td class=val>{_verdict(c['verdict'])}</td><td>{_e(c.get('note', ''))}</td></tr>"
        for c in claims)
    return (_failed_banner(run) + _params_line(run, reports, defaults) + "<table><tr><th>claim</th><th>where</th>"
            f"<th>paper</th><th>ours</th><th>rule</th><th>verdict</th><th>note</th></tr>{rows}</table>")


def _figures(run: RunView, limit: int = 3) -> str:
    """Thumbnails of a run's first figures, each linking to the full notebook report."""
    pngs = sorted((run.folder / "figures").glob("*.png"))[:limit]
    if not pngs:
        return ""
    stem = run.meta.get("stem", run.folder.name)
    imgs = "".join(f'<a href="{_e(stem)}/{_e(run.html_name)}"><img src="{_e(stem)}/figures/{_e(p.name)}" '
                   f'alt="{_e(p.stem)}" class=thumb></a>' for p in pngs)
    return f"<div class=figs>{imgs}</div>"


def _tables(run: RunView) -> str:
    """Links to the raw-measurement tables a run saved (``tables/*.csv``, :meth:`NotebookRun.table`)."""
    csvs = sorted((run.folder / "tables").glob("*.csv"))
    if not csvs:
        return ""
    stem = run.meta.get("stem", run.folder.name)
    links = ", ".join(f'<a href="{_e(stem)}/tables/{_e(p.name)}">{_e(p.name)}</a>' for p in csvs)
    return f"<p class=sub>Raw measurements (CSV): {links}</p>"


def _unfinished(view: PaperView) -> bool:
    """Whether the sweep stopped (Ctrl-C) before all the runs sweep.json planned had ended."""
    return isinstance(view.planned, int) and len(view.sweep) < view.planned


def _runs_ended(view: PaperView) -> str:
    """"2 runs", or "2 of 5 runs ended" for a sweep stopped before all its planned runs ended (ok or failed)."""
    k = len(view.sweep)
    return f"{k} of {view.planned} runs ended" if _unfinished(view) else count(k, "run")


def _common_params(view: PaperView) -> str:
    """The parameters other than the swept ones and ``scale``: "every run also with" those all runs share, or,
    where the runs differ, each run's (an OK result kept from an earlier invocation, say)."""
    over = {r.folder.name: r.overrides(view.swept) for r in view.sweep}
    if len(set(over.values())) > 1:
        each = "; ".join(f"{_e(name)}: <code>{_e(o) if o else 'none'}</code>" for name, o in over.items())
        return f"<p class=params>the runs' other parameters differ: {each}</p>"
    common = next(iter(over.values()), "")
    return f"<p class=params>every run also with <code>{_e(common)}</code></p>" if common else ""


def _sweep_failures(view: PaperView) -> str:
    """The banner naming the runs whose latest attempt failed (each with its error); their verdicts, and any
    earlier OK result their folder keeps, are left out of the table."""
    failed = [r for r in view.sweep if r.latest_failed]
    if not failed:
        return ""
    errors = "; ".join(
        f"{_e(r.folder.name)}: {_e(r.error_text)}" if r.failed else
        f"{_e(r.folder.name)}: {_e(r.later_failure.error_text)} (its folder keeps an "
        "earlier OK result)" for r in failed)
    return (f"<p class=failed><strong>{len(failed)} of {len(view.sweep)} runs failed</strong>; their verdicts are "
            f"left out of the table below: {errors}</p>")


def _reproduced_of_n(row: dict[str, Any]) -> str:
    """"1/2": runs that reproduced the claim of those that judged it; "—" when it was not applicable in any."""
    return f"{row['reproduced']}/{row['n']}" if row["n"] else "—"


def _sweep_table(view: PaperView, reports: Path, defaults: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{_e(r['statement'])}</td><td>{_fmt(r['paper_value'], r['unit'])}</td>"
        f"<td class=num>{_fmt(r['mean'], r['unit'], r['bounds'])}</td><td class=num>{_fmt(r['std'])}</td>"
        f"<td class=num>{_reproduced_of_n(r)}</td>"
        f"<td>{_e(verdict_breakdown(r['counts']))}</td></tr>" for r in aggregate(view.sweep))
    links = " · ".join(f'<a href="{_e(view.paper.stem)}/{RUNS_SUBDIR}/{_e(r.folder.name)}/{_e(r.html_name)}">'
                       f'{_e(r.folder.name)}</a>'
                       + (f" ({_later_failure(r, reports, defaults)})" if r.later_failure else "") for r in view.sweep)
    return (f"<h4>Sweep over {_e(', '.join(view.swept))} ({_runs_ended(view)})</h4><p>{links}</p>"
            f"{_common_params(view)}{_sweep_failures(view)}"
            "<table><tr><th>claim</th><th>paper</th><th>mean</th><th>std</th><th>runs reproduced</th>"
            f"<th>verdicts</th></tr>{rows}</table>")


def _sweep_counts(view: PaperView) -> dict[str, int]:
    """Per verdict, over every claim of the sweep's runs whose latest attempt did not fail: the sweep table's
    counts, summed over its claims."""
    return _verdict_counts([v for row in aggregate(view.sweep) for v in row["verdicts"]])


def _sweep_status(view: PaperView) -> str:
    """The status of a paper with only a sweep: "sweep: 2 of 5 runs ended", and how many of them failed (left out
    of the counts)."""
    planned = view.planned if isinstance(view.planned, int) else 0
    n_failed = sum(r.latest_failed for r in view.sweep)
    return (f"sweep: {len(view.sweep)} of {count(max(planned, len(view.sweep)), 'run')} ended"
            + (f", {n_failed} failed (left out of the counts)" if n_failed else ""))


def _sweep_counts_text(view: PaperView, sep: str) -> str:
    """The sweep's verdict counts with their unit (a claim in a run): "6 claim verdicts over 2 runs: 1 reproduced"
    and the rest joined by ``sep``; "no verdicts" where no run that did not fail recorded a claim."""
    counts = _sweep_counts(view)
    if not counts:
        return "no verdicts"
    runs = count(sum(not r.latest_failed for r in view.sweep), "run")
    return (f"{count(sum(counts.values()), 'claim verdict')} over {runs}: "
            + verdict_breakdown(counts, sep))


def _one_or_mixed(values: Iterable[Any]) -> Any:
    """The value the runs that record one share; "mixed" where they differ; None where none records one."""
    distinct: list[Any] = []
    for v in values:
        if v is not None and v not in distinct:
            distinct.append(v)
    return "mixed" if len(distinct) > 1 else next(iter(distinct), None)


def _commit_text(meta: dict[str, Any]) -> str | None:
    """run.json's commit, with " (dirty)" for a working tree with changes; None where it records none."""
    return f"{meta['commit']}{' (dirty)' if meta.get('dirty') else ''}" if meta.get("commit") else None


def _provenance_cells(runs: list[RunView], wall: str, scale: str) -> str:
    """The summary row's cells from wall time to versions: ``wall`` and ``scale`` (HTML) as given; backend / device,
    commit and versions the value the ``runs`` share, "mixed" where they differ."""
    backend, device = (_one_or_mixed((r.results or {}).get("metrics", {}).get(k) for r in runs) or "—"
                       for k in ("backend", "device"))
    commit = _one_or_mixed(_commit_text(r.meta) for r in runs) or "?"
    vers = _one_or_mixed(r.meta.get("versions") for r in runs) or {}
    vtxt = vers if isinstance(vers, str) else ", ".join(f"{k} {v}" for k, v in vers.items())
    return (f"<td class=num>{wall}</td><td>{scale}</td><td>{_e(backend)} / {_e(device)}</td>"
            f"<td><code>{_e(commit)}</code></td><td><details><summary>versions</summary>{_e(vtxt)}</details></td>")


def _run_scale(run: RunView) -> Any:
    """The scale a run ran at: its results.json's, else the one its run.json was given (a run failed early)."""
    return (run.results or {}).get("params", {}).get("scale") or (run.meta.get("params") or {}).get("scale")


def _sweep_cells(view: PaperView) -> tuple[str, str]:
    """A sweep-only row's wall time (the sum over its runs, "total") and scale: the first run's, or every scale
    the runs ran at where ``scale`` is swept."""
    walls = [w for w in (_num(r.meta.get("wall_s")) for r in view.sweep) if w is not None]
    wall = f"{_fmt(sum(walls))} s total" if walls else "—"
    scales = [_run_scale(r) for r in (view.sweep if "scale" in view.swept else view.sweep[:1])]
    return wall, _e(", ".join(dict.fromkeys(str(s) for s in scales if s is not None)) or "—")


def _summary_row(view: PaperView, reports: Path, defaults: dict[str, Any]) -> str:
    """The paper's row: its main run's status, parameters other than the defaults, provenance; for a paper with
    only a sweep, the sweep's status and labelled verdict counts, its total wall time and its runs' provenance."""
    p, run = view.paper, view.main or (view.sweep[0] if view.sweep else None)
    meta = run.meta if run else {}
    title = (f'<a href="{_e(p.arxiv_url)}">{_e(p.title)}</a>' if p.arxiv_url else _e(p.title))
    nb_link = f'<a href="{_e(p.stem)}/{_e(run.html_name)}">notebook</a>' if view.main else ""
    over = _non_default(run, defaults, () if run is view.main else view.swept) if run else ""
    over = f"<br><small><code>{_e(over)}</code></small>" if over else ""
    if view.main is None and view.sweep:  # not the first run's status: it would read as the paper's
        status = _sweep_status(view)
        s_class = "failed" if any(r.latest_failed for r in view.sweep) else "sweep"
        err = f"<br><small>{_e(_sweep_counts_text(view, ' · '))}</small>"
        wall, scale = _sweep_cells(view)
        cells = _provenance_cells(view.sweep, wall, scale + over)
    else:
        status = s_class = meta.get("status", "—")
        err = f"<br><small>{_e(meta['error'])}</small>" if meta.get("error") else ""
        if run is not None and run.later_failure is not None:
            err += f"<br><small>{_later_failure(run, reports, defaults)}</small>"
        cells = _provenance_cells([run] if run else [], f"{_fmt(meta.get('wall_s'))} s",
                                  _e((_run_scale(run) if run else None) or "—") + over)
    return (f"<tr><td class=num>{p.number:02d}</td><td>{title}</td><td class='s-{_e(s_class)}'>{_e(status)}{err}</td>"
            f"{cells}<td>{nb_link}</td></tr>")


def build_index(reports: Path = REPORTS_DIR) -> Path:
    """Write ``reports/index.html`` from whatever runs are on disk; return its path."""
    views = collect(reports)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = ("<tr><th>#</th><th>paper</th><th>status</th><th>wall time</th><th>scale (other parameters)</th>"
            "<th>backend / device</th><th>commit</th><th>packages</th><th>report</th></tr>")
    defaults = {v.paper.stem: _defaults(v.paper) for v in views}
    summary = "".join(_summary_row(v, reports, defaults[v.paper.stem]) for v in views)
    sections = []
    for v in views:
        body = (_figures(v.main) + _tables(v.main) + _claims_table(v.main, reports, defaults[v.paper.stem])
                if v.main else "")
        if v.sweep:
            body += _sweep_table(v, reports, defaults[v.paper.stem])
        sections.append(f'<h2 id="{_e(v.paper.stem)}">{v.paper.number:02d} · {_e(v.paper.title)}</h2>{body}')
    prefix, cmd = NO_RUNS.split("`")[:2]
    index = f"<table>{head}{summary}</table>" if views else f"<p><em>{_e(prefix)}<code>{_e(cmd)}</code></em></p>"
    page = (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>paper-repro report</title>"
            f"<style>{_CSS}</style></head><body><h1>paper-repro: reproduction report</h1>"
            f"<p class=sub>Generated {now}. Verdicts are computed from measured values by each claim's rule.</p>"
            f"{index}{''.join(sections)}</body></html>")
    reports.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(reports / "index.html", page)


def text_summary(reports: Path = REPORTS_DIR) -> str:
    """A plain-text version of the index for terminals and CI logs."""
    lines = []
    for v in collect(reports):
        if v.main is None:  # a sweep only: its counts, not one run's verdicts
            lines.append(f"{v.paper.stem:<22} {_sweep_status(v)}; {_sweep_counts_text(v, ', ')}")
            continue
        run = v.main
        verdicts = verdict_breakdown(_verdict_counts([c["verdict"] for c in run.claims()]), ", ") or "no claims"
        n_failed = sum(r.latest_failed for r in v.sweep)
        size = f": {_runs_ended(v)}" if _unfinished(v) else f" of {len(v.sweep)}"
        sweep = (f"  (+ sweep{size}{f', {n_failed} failed, left out of its aggregate' if n_failed else ''})"
                 if v.sweep else "")
        lines.append(f"{v.paper.stem:<22} {run.meta.get('status', '?'):<7} {run.meta.get('wall_s', 0):>7.1f} s  "
                     f"{verdicts}{sweep}")
        if run.failed:
            lines.append(f"{'':<22} run failed: {run.error_text}; verdicts are partial")
        if run.later_failure is not None:
            lines.append(f"{'':<22} {_later_failure_text(run, _defaults(v.paper))}: see {run.later_failure.folder}")
    return "\n".join(lines) or NO_RUNS
