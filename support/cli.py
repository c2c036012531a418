"""``paper-repro``: list papers and their parameters, run notebooks headless (locally or on Dask), build the report.

Bad input (unknown paper or parameter, bad value or scale, malformed grid file, a parameter set twice
to different values, unreachable scheduler, ``--gpu`` or ``-p backend=cupy`` without a GPU, ``--timeout``
below 1) prints one line and exits 2; so does a value the notebook itself refuses (a ``ParameterError`` in its
kernel), after the other runs. A failed notebook exits 1 after the others ran.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, no usage dump
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="paper-repro", description="Reproduce the papers' figures and claims from notebooks.")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="papers, notebooks and the status of their last run")
    params = sub.add_parser("params", help="a paper's notebook parameters: name, type, default and meaning")
    params.add_argument("paper", metavar="SLUG", help="the paper (slug, NN_slug or number)")
    run = sub.add_parser("run", help="execute notebooks headless (papermill) into reports/")
    run.add_argument("papers", nargs="*", metavar="SLUG", help="papers to run (slug, NN_slug or number); "
                                                              "default: every paper with a notebook")
    run.add_argument("--scale", choices=None, help="smoke | default | paper (sets the 'scale' parameter)")
    run.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                     help="set a notebook parameter; comma-separated values sweep (seed=0,1,2). "
                          "A list parameter takes one Python literal (workloads=['trees','lru']) and a "
                          "string parameter whose default holds commas takes the whole text "
                          "(budgets=1,1,0.5 is one value); sweep those with --grid. A parameter given "
                          "twice (with -p, or -p scale= with --scale) must have the same value")
    run.add_argument("--grid", type=Path, help="JSON/YAML file mapping parameter names to lists of values, "
                                               "every combination runs ({\"budgets\": [\"1,1\", \"1,0.5\"]}); "
                                               "-p, --scale and --gpu replace the grid's values for their parameter")
    run.add_argument("--jobs", "-j", type=int, default=1, help="notebooks run at once in local processes")
    run.add_argument("--scheduler", metavar="ADDRESS", help="run on an existing Dask cluster (tcp://host:8786)")
    run.add_argument("--gpu", action="store_true", help="run with backend=cupy (needs a CUDA GPU here, "
                                                         "or --scheduler)")
    run.add_argument("--force", action="store_true", help="re-execute even when a cached result matches")
    run.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds, at least 1 "
                                                                "(default: no timeout)")
    run.add_argument("--no-report", action="store_true", help="do not rebuild reports/index.html afterwards")
    run.add_argument("--dry-run", action="store_true", help="list the runs (folder, parameters, whether a cached "
                                                             "result would be reused) and exit without running")
    sub.add_parser("report", help="build reports/index.html from the runs on disk")
    return ap


def cmd_list() -> int:
    from support.papers import PAPERS, rounded_time
    from support.paths import REPORTS_DIR

    times = {p.stem: " / ".join(rounded_time(t) or "?" for t in p.typical_s) for p in PAPERS}
    head = "time (2 cores): smoke / default / paper"  # typical wall times; ? = no run recorded
    w = max(len(head), *map(len, times.values()))
    print(f"{'#':>2}  {'slug':<16} {'arXiv':<11} {'notebook':<9} {'last run':<9} {head:<{w}}  title")
    for p in PAPERS:
        status = "—"
        try:
            status = json.loads((REPORTS_DIR / p.stem / "run.json").read_text())["status"]
        except (OSError, ValueError, KeyError):
            pass
        print(f"{p.number:>2}  {p.slug:<16} {p.arxiv or '—':<11} {'yes' if p.notebook.is_file() else 'no':<9} "
              f"{status:<9} {times[p.stem]:<{w}}  {p.title}")
    return EXIT_OK


def cmd_params(slug: str) -> int:
    """One line per parameter of ``slug``'s notebook: name, type, default and the comment that explains it."""
    from support import params as P
    from support.papers import UnknownPaper, resolve

    try:
        paper = resolve(slug)
    except UnknownPaper as e:
        raise UsageError(str(e)) from None
    if not paper.notebook.is_file():
        raise UsageError(f"no notebook yet for {paper.stem}")
    specs = P.notebook_parameters(paper.notebook)
    rows = [(s.name, s.type.__name__, repr(s.default), s.help) for s in specs.values()]
    widths = [max(len(r[i]) for r in [("name", "type", "default", ""), *rows]) for i in range(3)]
    print(f"{paper.stem}: -p NAME=VALUE sets one (comma-separated values sweep, see `paper-repro run --help`)")
    for row in [("name", "type", "default", "meaning"), *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[3])
    return EXIT_OK


def _specs(args) -> tuple[list, dict[str, list[str]]]:
    from support import params as P
    from support.papers import UnknownPaper, resolve, with_notebooks
    from support.runner import RUNS_SUBDIR, RunSpec

    try:
        papers = [resolve(n) for n in args.papers] if args.papers else with_notebooks()
    except UnknownPaper as e:
        raise UsageError(str(e)) from None
    missing = [p.stem for p in papers if not p.notebook.is_file()]
    if missing:
        raise UsageError(f"no notebook yet for {', '.join(missing)}")
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.timeout is not None and args.timeout < 1:
        raise UsageError(f"--timeout must be at least 1 second; got {args.timeout} (leave it out for no timeout)")
    papers = list({p.stem: p for p in papers}.values())  # a paper named twice runs once
    specs, sweeps = [], {}
    for paper in papers:
        try:
            specs_nb = P.notebook_parameters(paper.notebook)
            values = P.load_grid(args.grid) if args.grid else {}
            overrides = P.parse_overrides(args.param, specs_nb, paper.notebook.name)
            for name, flag, value in (("scale", f"--scale {args.scale}", args.scale),
                                      ("backend", "--gpu", "cupy" if args.gpu else None)):
                if value is None:
                    continue
                if overrides.get(name, [value]) != [value]:
                    given = ",".join(map(str, overrides[name]))
                    raise P.ParameterError(f"{flag} conflicts with -p {name}={given}; give one")
                overrides[name] = [value]
            values.update(overrides)
            values = P.check_values(values, specs_nb, paper.notebook.name)
        except (P.ParameterError, OSError) as e:
            raise UsageError(str(e)) from None
        swept = [n for n, v in values.items() if len(v) > 1]
        nb_bytes = paper.notebook.read_bytes()
        folders: dict[str, dict] = {}
        for combo in P.expand(values):
            run_dir = f"{paper.stem}/{RUNS_SUBDIR}/{P.tag(combo, swept)}" if swept else paper.stem
            if run_dir in folders:  # values are already unique, so these are two different runs
                raise UsageError(f"runs {folders[run_dir]} and {combo} would share the folder {run_dir}")
            folders[run_dir] = combo
            specs.append(RunSpec(paper.stem, nb_bytes, combo, run_dir, args.timeout))
        if swept:
            sweeps[paper.stem] = swept
    return specs, sweeps


def _dry_run(specs: list, force: bool) -> int:
    """One line per run that ``run`` would start: cached or to run, its folder under reports/ and its parameters."""
    from support.runner import cache_key, cached

    for s in specs:
        state = "run" if force or cached(s, cache_key(s)) is None else "cached"
        print(f"{state:<6} {s.run_dir:<40} " + " ".join(f"{k}={v!r}" for k, v in s.params.items()))
    print(f"{len(specs)} run(s); nothing was executed")
    return EXIT_OK


def _check_gpu(args, specs: list) -> None:
    """``--gpu`` or ``-p backend=cupy`` (also from a grid) without ``--scheduler`` needs a GPU here: else a
    usage error now, not a ``BackendUnavailable`` in cell 3 of every run."""
    from support.xp import gpu_available

    if args.scheduler or not any(s.params.get("backend") == "cupy" for s in specs) or gpu_available():
        return
    flag = "--gpu" if args.gpu else "backend=cupy"
    raise UsageError(f"{flag}: no CUDA GPU found here (CuPy and a device are needed; pip install -e .[gpu])")


def write_sweep(folder: Path, swept: list[str], runs: list[str], planned: int) -> None:
    """``folder/sweep.json``: the swept names and the runs finished so far (of ``planned``); written aside,
    then renamed, after every finished run, so an interrupted sweep still shows its finished runs."""
    from support.paths import write_text_atomic

    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / "sweep.json", json.dumps({"swept": swept, "runs": runs, "planned": planned,
                                                          "at": datetime.now(UTC).isoformat(timespec="seconds")},
                                                         indent=2))  # a reader never sees half a manifest


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else absolute."""
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def cmd_run(args) -> int:
    from support.paths import REPORTS_DIR
    from support.progress import progress_bar, quiet
    from support.runner import FAILED_SUBDIR, RUNS_SUBDIR, SchedulerUnreachable, run_all

    specs, sweeps = _specs(args)
    _check_gpu(args, specs)
    if args.dry_run:
        return _dry_run(specs, args.force)
    bar = progress_bar(len(specs), desc="notebooks", file=sys.stderr)
    failed, refused = [], []  # refused: the notebook raised ParameterError (a bad value), reported at the end
    finished: dict[str, set[str]] = {stem: set() for stem in sweeps}

    def on_done(r) -> None:
        bar.update(1)
        label = _label(r.run_dir)
        if r.parameter_error:
            refused.append(r)
        elif r.status == "failed":
            failed.append(r)
            kept = (f" (the earlier OK result is kept; this run is in {_shown(REPORTS_DIR / r.folder)}/)"
                    if r.folder.endswith(f"/{FAILED_SUBDIR}") else "")
            bar.write(f"FAILED {label}: {r.error}{kept}", file=sys.stderr)
        else:
            bar.write(f"{r.status:<6} {label} ({r.wall_s:.1f} s)", file=sys.stderr)
        if r.stem in sweeps:
            finished[r.stem].add(r.run_dir)
            planned = [s.run_dir for s in specs if s.stem == r.stem]
            write_sweep(REPORTS_DIR / r.stem / RUNS_SUBDIR, sweeps[r.stem],
                        [d for d in planned if d in finished[r.stem]], len(planned))

    unreachable = False
    try:
        run_all(specs, jobs=args.jobs, scheduler=args.scheduler, force=args.force, on_done=on_done,
                cell_progress=args.jobs == 1 and sys.stderr.isatty() and not quiet())
    except SchedulerUnreachable as e:
        unreachable = True
        raise UsageError(str(e)) from None
    finally:
        bar.close()
        if not args.no_report and not unreachable:  # also after Ctrl-C: the report shows the finished runs
            from support.report import build_index

            print(f"report: {build_index(REPORTS_DIR)}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} of {len(specs)} notebook runs failed", file=sys.stderr)
    if refused:
        raise UsageError(_refused(refused))
    return EXIT_FAILED if failed else EXIT_OK


def _label(run_dir: str) -> str:
    """A run as the progress lines name it: ``00_tour``, or ``00_tour [seed=1]`` for a run of a sweep."""
    from support.runner import RUNS_SUBDIR

    return run_dir.replace(f"/{RUNS_SUBDIR}/", " [") + ("]" if f"/{RUNS_SUBDIR}/" in run_dir else "")


def _refused(runs: list) -> str:
    """One line for the runs whose notebook refused a parameter value: each run and the notebook's message, then
    ``paper-repro params`` for each paper (:func:`support.params.params_hint`)."""
    from support.params import params_hint

    stems = list(dict.fromkeys(r.stem for r in runs))
    return ("; ".join(f"{_label(r.run_dir)}: {r.parameter_error}" for r in runs)
            + f" ({'; '.join(params_hint(s) for s in stems)})")


def cmd_report() -> int:
    from support.report import build_index, text_summary

    path = build_index()
    print(text_summary())
    print(f"report: {path}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command == "list":
            return cmd_list()
        if args.command == "params":
            return cmd_params(args.paper)
        if args.command == "run":
            if args.scale is not None:
                from support.claims import SCALES

                if args.scale not in SCALES:
                    raise UsageError(f"--scale must be one of {', '.join(SCALES)}; got {args.scale!r}")
            return cmd_run(args)
        return cmd_report()
    except UsageError as e:
        print(f"paper-repro: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("paper-repro: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `paper-repro list | head`: the reader left; end quietly, as a shell tool does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush cannot fail again
        return 141


if __name__ == "__main__":
    sys.exit(main())
