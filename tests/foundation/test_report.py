"""The report from hand-written run folders: failed runs flagged with partial verdicts, sweeps aggregated."""

import json
import statistics
from collections import Counter
from pathlib import Path

import pytest

from support.claims import AtLeast, Claim, ClaimRecorder, ClaimSet, IsTrue
from support.report import NO_RUNS, aggregate, build_index, collect, text_summary

CLAIMS = ClaimSet("00_tour", [
    Claim("p23", "23 people share a birthday with p > 1/2", 0.5, "", "§1", AtLeast(0.5)),
    Claim("n_half", "n for p = 1/2 is 23", 23, "", "§2", AtLeast(23)),
    Claim("mc_z", "Monte Carlo agrees", 1.0, "", "§3", AtLeast(1.0)),
])


def _run(folder: Path, status: str = "ok", error: str = "", params: dict | None = None, claims: ClaimSet = CLAIMS,
         meta: dict | None = None, **measured: float) -> ClaimRecorder:
    """A run folder as the runner leaves it: run.json (``params``: the command line's; ``meta``: other run.json
    keys), and results.json from the real recorder (of ``claims``, at the params' scale, smoke if none)."""
    folder.mkdir(parents=True, exist_ok=True)  # a main run may be added beside a sweep
    (folder / "run.json").write_text(json.dumps({"stem": "00_tour", "params": params or {"scale": "smoke"},
                                                 "status": status, "error": error, "wall_s": 1.5,
                                                 "versions": {}, **(meta or {})}))
    scale = (params or {}).get("scale", "smoke")
    rec = ClaimRecorder(claims, scale, folder, params={"scale": scale})
    for name, value in measured.items():
        rec.record(name, value)
    return rec


def _row(page: str, statement: str) -> str:
    return next(r for r in page.split("<tr>") if statement in r).split("</tr>")[0]


def test_failed_run_page_names_the_failure_and_shows_unreached_claims_as_not_measured(reports_dir):
    rec = _run(reports_dir / "00_tour", "failed", "cell 5: RuntimeError: crash after p23", p23=0.51)
    rec.not_applicable("mc_z", "needs a GPU")  # declared not applicable: stays so
    page = build_index(reports_dir).read_text()
    section = page.split('id="00_tour"')[1]
    assert "This run failed" in section and "cell 5: RuntimeError: crash after p23" in section
    assert "verdicts below are partial" in section
    assert ">reproduced<" in _row(section, "23 people")
    assert ">not measured<" in _row(section, "n for p = 1/2")
    assert ">not applicable here<" in _row(section, "Monte Carlo")

    summary = text_summary(reports_dir)
    assert "1 reproduced, 1 not applicable here, 1 not measured" in summary  # Verdict order, as the sweep row
    assert "run failed: cell 5: RuntimeError: crash after p23; verdicts are partial" in summary


def test_ok_run_has_no_failure_banner_and_keeps_unrecorded_claims_not_applicable(reports_dir):
    _run(reports_dir / "00_tour", p23=0.51)
    section = build_index(reports_dir).read_text().split('id="00_tour"')[1]
    assert "failed" not in section
    assert ">not applicable here<" in _row(section, "n for p = 1/2")
    assert ">not measured<" not in section
    assert "run failed" not in text_summary(reports_dir)


def _sweep(reports_dir: Path, runs: dict[str, dict], planned: int | None = None, swept: str = "seed") -> None:
    for name, kw in runs.items():
        _run(reports_dir / "00_tour/runs" / name, **kw)
    (reports_dir / "00_tour/runs/sweep.json").write_text(json.dumps(
        {"swept": [swept], "runs": [f"00_tour/runs/{n}" for n in runs], "planned": planned or len(runs)}))


def test_two_run_sweep_counts_the_runs_that_reproduced_and_averages_the_measurements(reports_dir):
    _sweep(reports_dir, {"seed=0": {"p23": 0.4}, "seed=1": {"p23": 0.6}})  # AtLeast(0.5): no, then yes
    rows = {r["name"]: r for r in aggregate(collect(reports_dir)[0].sweep)}
    assert rows["p23"]["reproduced"] == 1 and rows["p23"]["n"] == 2
    assert rows["p23"]["mean"] == pytest.approx(0.5)
    assert rows["p23"]["std"] == pytest.approx(statistics.stdev([0.4, 0.6]))
    assert rows["n_half"]["reproduced"] == 0 and rows["n_half"]["mean"] is None  # never measured
    row = _row(build_index(reports_dir).read_text(), "23 people")
    assert "<td class=num>1/2</td>" in row and "<td class=num>0.5</td>" in row


def test_sweep_with_a_failed_run_says_how_many_failed_and_why(reports_dir):
    failed = {"status": "failed", "error": "cell 2: OSError: disk"}
    _sweep(reports_dir, {"seed=0": {"p23": 0.6}, "seed=1": failed})
    page = build_index(reports_dir).read_text()
    assert "1 of 2 runs failed" in page and "seed=1: cell 2: OSError: disk" in page
    assert ("sweep: 2 of 2 runs ended, 1 failed (left out of the counts); 3 claim verdicts over 1 run: 1 reproduced, "
            "2 not applicable here" in text_summary(reports_dir))


def test_corrupt_sweep_manifest_leaves_the_sweep_out_but_shows_the_main_run(reports_dir):
    _run(reports_dir / "00_tour", p23=0.51)
    (reports_dir / "00_tour/runs").mkdir()
    (reports_dir / "00_tour/runs/sweep.json").write_text('{"swept": ["se')  # an interrupted write
    (view,) = collect(reports_dir)
    assert view.main is not None and view.sweep == []
    assert "Sweep over" not in build_index(reports_dir).read_text()


def test_index_claims_table_shows_each_claims_rule_and_the_digits_that_tell_its_side(reports_dir):
    """Audit user finding 2: the index had no rule column, and showed 0.4999999 beside ">= 0.5" as 0.5."""
    _run(reports_dir / "00_tour", p23=0.49999991)
    row = _row(build_index(reports_dir).read_text(), "23 people")
    assert "<td class=rule>&gt;= 0.5</td>" in row
    assert "<td class=val>0.4999999</td>" in row and ">not reproduced<" in row


def test_sweep_mean_shows_the_digits_that_tell_its_side_of_the_rule_bound(reports_dir):
    _sweep(reports_dir, {"seed=0": {"p23": 0.49999991}, "seed=1": {"p23": 0.49999991}})
    row = _row(build_index(reports_dir).read_text(), "23 people")
    assert "<td class=num>0.4999999</td>" in row and "<td class=num>0/2</td>" in row


def _summary(page: str) -> str:
    return _row(page, "Tour: the notebook template")


def test_index_shows_the_parameters_a_run_was_given_other_than_scale(reports_dir):
    """Audit user finding 1: `run tour -p days=100` read as the default result, its two claims not reproduced."""
    _run(reports_dir / "00_tour", params={"scale": "smoke", "days": 100, "seed": 3}, p23=0.51)
    page = build_index(reports_dir).read_text()
    assert "<code>days=100, seed=3</code>" in _summary(page) and "scale=" not in page
    assert "parameters other than the notebook's defaults: <code>days=100, seed=3</code>" in page.split(
        'id="00_tour"')[1]


def test_index_says_nothing_of_parameters_for_a_run_at_the_defaults(reports_dir):
    _run(reports_dir / "00_tour", params={"scale": "smoke"}, p23=0.51)
    assert "parameters other than" not in build_index(reports_dir).read_text()


def test_sweep_shows_the_parameters_its_runs_share_but_not_the_swept_one(reports_dir):
    _sweep(reports_dir, {f"seed={i}": {"params": {"scale": "smoke", "days": 100, "seed": i}, "p23": 0.6}
                         for i in (0, 1)})
    page = build_index(reports_dir).read_text()
    assert "<code>days=100</code>" in _summary(page) and "seed=0</code>" not in page
    assert "every run also with <code>days=100</code>" in page


FAILURE = "cell 3: ValueError: margin_quantile must be in (0, 1)"


def test_ok_run_with_a_later_failed_run_beside_it_keeps_its_verdicts_and_links_the_failure(reports_dir):
    """Audit user finding 1 and the runner's contract: a failed run beside an OK one lands in <run>/failed/; run with
    other parameters, the note names them, so it does not read as a failure of the OK run's parameters."""
    _run(reports_dir / "00_tour", p23=0.51)
    _run(reports_dir / "00_tour/failed", "failed", FAILURE, params={"scale": "smoke", "margin": 1.0})
    (reports_dir / "00_tour/failed/00_tour.html").write_text("<html></html>")
    page = build_index(reports_dir).read_text()
    note = f'a later run, with margin=1.0, failed ({FAILURE}): <a href="00_tour/failed/00_tour.html">see failed/</a>'
    assert note in _summary(page) and "s-ok" in _summary(page)
    section = page.split('id="00_tour"')[1]
    assert note in section and "This run failed" not in section
    assert ">reproduced<" in _row(section, "23 people")  # the verdicts are the OK run's
    summary = text_summary(reports_dir)
    assert f"a later run, with margin=1.0, failed ({FAILURE}): see {reports_dir / '00_tour/failed'}" in summary
    assert "run failed:" not in summary


def test_a_later_failure_of_the_same_parameters_reads_as_a_later_failure_of_the_ok_run(reports_dir):
    """``days=365`` is the notebook's default: the failed run ran the OK run's parameters, so no "with" is named."""
    _run(reports_dir / "00_tour", p23=0.51)
    _run(reports_dir / "00_tour/failed", "failed", FAILURE, params={"scale": "smoke", "days": 365})
    assert f"a later run failed ({FAILURE}): " in _summary(build_index(reports_dir).read_text())
    assert f"a later run failed ({FAILURE}): see" in text_summary(reports_dir)


def test_a_failed_run_without_an_error_says_none_was_recorded(reports_dir):
    _run(reports_dir / "00_tour", "failed", "", p23=0.51)
    assert "<strong>This run failed</strong>: no error recorded." in build_index(reports_dir).read_text()
    assert "run failed: no error recorded; verdicts are partial" in text_summary(reports_dir)


def test_sweep_run_with_a_later_failed_run_links_it_and_its_run_json_when_no_page_was_written(reports_dir):
    _sweep(reports_dir, {"seed=0": {"p23": 0.6}, "seed=1": {"p23": 0.4}})
    _run(reports_dir / "00_tour/runs/seed=1/failed", "failed", FAILURE)
    page = build_index(reports_dir).read_text()
    assert f'seed=1</a> (<span class=later-failed>a later run failed ({FAILURE}): ' \
           '<a href="00_tour/runs/seed=1/failed/run.json">see failed/</a>' in page


def test_report_with_no_runs_says_how_to_make_one(reports_dir):
    """Audit user finding 10: `paper-repro report` with no runs printed an empty line and an empty table."""
    page = build_index(reports_dir).read_text()
    assert "no runs yet; try <code>paper-repro run tour</code>" in page and "<table>" not in page
    assert text_summary(reports_dir) == NO_RUNS == "no runs yet; try `paper-repro run tour`"


# Audit s12 findings 2 and 3: a claim with a partly band, one checked only at paper scale, an exact check.
SWEEP_CLAIMS = ClaimSet("00_tour", [
    Claim("p23", "claim A", 0.5, "", "s1", AtLeast(0.5, partly=0.4)),
    Claim("big", "claim only at paper scale", 1.0, "", "s2", AtLeast(1.0), scales=("paper",)),
    Claim("holds", "an exact check", "holds", "", "s3", IsTrue()),
])


def _sweep_row(reports_dir: Path, statement: str) -> str:
    return _row(build_index(reports_dir).read_text().split('id="00_tour"')[1], f"<td>{statement}</td>")


def test_sweep_cell_shows_a_partly_verdict_beside_the_reproduced_one(reports_dir):
    _sweep(reports_dir, {"seed=0": {"claims": SWEEP_CLAIMS, "p23": 0.6}, "seed=1": {"claims": SWEEP_CLAIMS, "p23": 0.45}})
    assert _sweep_row(reports_dir, "claim A") == ("<td>claim A</td><td>0.5</td><td class=num>0.525</td>"
                                                  "<td class=num>0.1061</td><td class=num>1/2</td>"
                                                  "<td>1 reproduced · 1 partly</td>")


def test_sweep_leaves_a_claim_not_applicable_at_its_scale_out_of_n_and_the_mean(reports_dir):
    _sweep(reports_dir, {f"seed={i}": {"claims": SWEEP_CLAIMS, "big": 2.0} for i in (0, 1)})  # stored, not judged
    assert _sweep_row(reports_dir, "claim only at paper scale") == (
        "<td>claim only at paper scale</td><td>1</td><td class=num>—</td><td class=num>—</td><td class=num>—</td>"
        "<td>2 not applicable here</td>")


def test_sweep_gives_an_exact_check_no_mean_but_counts_its_verdicts(reports_dir):
    _sweep(reports_dir, {f"seed={i}": {"claims": SWEEP_CLAIMS, "holds": True} for i in (0, 1)})
    assert _sweep_row(reports_dir, "an exact check") == (
        "<td>an exact check</td><td>holds</td><td class=num>—</td><td class=num>—</td><td class=num>2/2</td>"
        "<td>2 reproduced</td>")


def _demo_sweep(reports_dir: Path, planned: int = 2) -> None:
    """Audit s12's sweep_demo: seed=0 ran with days=100; seed=1's latest run (days=100) failed, and its folder
    keeps an OK run of an earlier invocation with days=365."""
    _sweep(reports_dir, {"seed=0": {"claims": SWEEP_CLAIMS, "params": {"scale": "smoke", "seed": 0, "days": 100},
                                    "p23": 0.45},
                         "seed=1": {"claims": SWEEP_CLAIMS, "params": {"scale": "smoke", "seed": 1, "days": 365},
                                    "p23": 0.51}}, planned)
    _run(reports_dir / "00_tour/runs/seed=1/failed", "failed", "cell 4: MemoryError", claims=SWEEP_CLAIMS,
         params={"scale": "smoke", "seed": 1, "days": 100})


def test_a_sweep_run_whose_latest_attempt_failed_is_in_the_banner_and_out_of_the_aggregate(reports_dir):
    _demo_sweep(reports_dir)
    section = build_index(reports_dir).read_text().split('id="00_tour"')[1]
    assert ("<strong>1 of 2 runs failed</strong>; their verdicts are left out of the table below: "
            "seed=1: cell 4: MemoryError (its folder keeps an earlier OK result)") in section
    rows = {r["name"]: r for r in aggregate(collect(reports_dir)[0].sweep)}
    assert rows["p23"]["n"] == 1 and rows["p23"]["counts"] == {"partly": 1}  # seed=1's days=365 result is not counted
    assert "<td class=num>0/1</td><td>1 partly</td>" in _row(section, "<td>claim A</td>")
    assert ("sweep: 2 of 2 runs ended, 1 failed (left out of the counts); 3 claim verdicts over 1 run: 1 partly, "
            "2 not applicable here" in text_summary(reports_dir))


def test_an_unfinished_sweep_says_how_many_of_its_planned_runs_finished(reports_dir):
    _sweep(reports_dir, {f"seed={i}": {"p23": 0.6} for i in (0, 1)}, planned=5)
    page = build_index(reports_dir).read_text()
    assert "<h4>Sweep over seed (2 of 5 runs ended)</h4>" in page and "sweep: 2 of 5 runs ended<" in _summary(page)
    assert "sweep: 2 of 5 runs ended; " in text_summary(reports_dir)
    _run(reports_dir / "00_tour", p23=0.51)  # beside a main run, the sweep is a note on the main run's line
    assert "(+ sweep: 2 of 5 runs ended)" in text_summary(reports_dir)


def test_a_finished_sweep_says_only_how_many_runs_it_has(reports_dir):
    _sweep(reports_dir, {f"seed={i}": {"p23": 0.6} for i in (0, 1)}, planned=2)
    assert "<h4>Sweep over seed (2 runs)</h4>" in build_index(reports_dir).read_text()
    assert "sweep: 2 of 2 runs ended; " in text_summary(reports_dir)
    _run(reports_dir / "00_tour", p23=0.51)
    assert "(+ sweep of 2)" in text_summary(reports_dir)


def test_sweep_runs_whose_other_parameters_differ_are_each_listed(reports_dir):
    _demo_sweep(reports_dir)
    page = build_index(reports_dir).read_text()
    assert ("the runs' other parameters differ: seed=0: <code>days=100</code>; seed=1: <code>days=365</code>"
            in page) and "every run also with" not in page


def test_parameters_line_leaves_out_values_equal_to_the_notebooks_defaults(reports_dir):
    """Audit s12 finding 10: `run tour -p days=365` (the default) read as a parameter other than the defaults."""
    _run(reports_dir / "00_tour", params={"scale": "smoke", "days": 365, "seed": 4}, p23=0.51)
    section = build_index(reports_dir).read_text().split('id="00_tour"')[1]
    assert "parameters other than the notebook's defaults: <code>seed=4</code>" in section


@pytest.mark.parametrize("where", ["main run", "sweep"])
def test_summary_row_leaves_out_parameters_equal_to_the_notebooks_defaults(reports_dir, where):
    """As the claims section does: ``days=365`` is the tour's default, ``seed=4`` is not (and not swept)."""
    params = {"scale": "smoke", "days": 365, "seed": 4}
    if where == "main run":
        _run(reports_dir / "00_tour", params=params, p23=0.51)
    else:
        _sweep(reports_dir, {f"backend={b}": {"params": {**params, "backend": b}, "p23": 0.6} for b in ("numpy", "auto")},
               swept="backend")
    row = _summary(build_index(reports_dir).read_text())
    assert "<code>seed=4</code>" in row and "days=" not in row


def test_a_paper_with_only_a_sweep_has_a_summary_row_for_the_sweep_not_for_its_first_run(reports_dir):
    """The row gives the sweep's size and its verdict counts (the sweep table's, summed), not seed=0's verdicts."""
    _sweep(reports_dir, {"seed=0": {"p23": 0.6}, "seed=1": {"p23": 0.4}})  # AtLeast(0.5): reproduced, then not
    page = build_index(reports_dir).read_text()
    row = _summary(page)
    assert ("<td class='s-sweep'>sweep: 2 of 2 runs ended<br><small>6 claim verdicts over 2 runs: 1 reproduced · "
            "1 not reproduced · 4 not applicable here</small></td>") in row and "s-ok" not in row
    counts = sum((Counter(r["counts"]) for r in aggregate(collect(reports_dir)[0].sweep)), Counter())
    assert counts == {"reproduced": 1, "not reproduced": 1, "not applicable here": 4}
    assert text_summary(reports_dir) == ("00_tour                sweep: 2 of 2 runs ended; 6 claim verdicts over 2 runs: "
                                         "1 reproduced, 1 not reproduced, 4 not applicable here")


def test_sweep_only_row_is_red_when_a_runs_latest_attempt_failed_and_green_otherwise(reports_dir):
    """Its status is the sweep's, not a run's: class s-failed where any run's latest attempt failed (itself or a later
    run in its failed/), else s-sweep, which the stylesheet colours as ok."""
    failed = {"status": "failed", "error": "cell 2: OSError: disk"}
    _sweep(reports_dir, {"seed=0": failed, "seed=1": failed})
    page = build_index(reports_dir).read_text()
    assert "<td class='s-failed'>sweep: 2 of 2 runs ended, 2 failed (left out of the counts)<br><small>no verdicts" \
           in _summary(page) and ".s-failed{color:#b3261e" in page
    _sweep(reports_dir, {"seed=0": {"p23": 0.6}, "seed=1": {"p23": 0.6}})
    assert "<td class='s-sweep'>" in _summary(build_index(reports_dir).read_text())
    assert ".s-ok,.s-cached,.s-sweep{color:#17692a}" in build_index(reports_dir).read_text()
    _run(reports_dir / "00_tour/runs/seed=1/failed", "failed", FAILURE)  # seed=1's latest attempt failed
    assert "<td class='s-failed'>sweep: 2 of 2 runs ended, 1 failed (left out" in _summary(
        build_index(reports_dir).read_text())


def test_sweep_only_row_counts_one_run_in_the_singular(reports_dir):
    _sweep(reports_dir, {"seed=0": {"p23": 0.6}})
    assert "sweep: 1 of 1 run ended<br><small>3 claim verdicts over 1 run: " in _summary(
        build_index(reports_dir).read_text())


def test_sweep_only_row_sums_the_wall_time_of_its_runs(reports_dir):
    _sweep(reports_dir, {"seed=0": {"p23": 0.6, "meta": {"wall_s": 2.0}},
                         "seed=1": {"status": "failed", "error": "cell 2: OSError: disk", "meta": {"wall_s": 3.5}}})
    assert "<td class=num>5.5 s total</td>" in _summary(build_index(reports_dir).read_text())


@pytest.mark.parametrize(("swept", "shown"), [("scale", "smoke, default"), ("seed", "default")])
def test_sweep_only_row_shows_every_scale_of_a_scale_sweep_else_the_first_runs(reports_dir, swept, shown):
    scales = ("smoke", "default") if swept == "scale" else ("default", "default")
    _sweep(reports_dir, {f"{swept}={i}": {"params": {"scale": s, "seed": i}, "p23": 0.6}
                         for i, s in enumerate(scales)}, swept=swept)
    if swept == "seed":  # scale not swept: a second run at another scale (kept from an earlier sweep) is not shown
        _run(reports_dir / "00_tour/runs/seed=1", params={"scale": "smoke", "seed": 1}, p23=0.6)
    assert f"</td><td class=num>3 s total</td><td>{shown}</td>" in _summary(build_index(reports_dir).read_text())


def test_sweep_only_row_gives_its_runs_provenance_or_mixed_where_they_differ(reports_dir):
    """Backend, device, commit and versions: the runs' shared value, not the first run's where they differ."""
    same = {"commit": "abc1234", "dirty": False, "versions": {"numpy": "2.1"}}
    _sweep(reports_dir, {f"seed={i}": {"p23": 0.6, "meta": same} for i in (0, 1)})
    for i in (0, 1):
        _run(reports_dir / f"00_tour/runs/seed={i}", p23=0.6, meta=same).metric("backend", "numpy")
    row = _summary(build_index(reports_dir).read_text())
    assert "<td>numpy / —</td><td><code>abc1234</code>" in row
    assert "<summary>versions</summary>numpy 2.1</details>" in row
    rec = _run(reports_dir / "00_tour/runs/seed=1", p23=0.6, meta={**same, "dirty": True, "versions": {"numpy": "2.2"}})
    rec.metric("backend", "cupy")
    row = _summary(build_index(reports_dir).read_text())
    assert "<td>mixed / —</td><td><code>mixed</code>" in row and "<summary>versions</summary>mixed</details>" in row


def test_a_later_failure_with_a_float_where_the_ok_run_had_an_int_names_it(reports_dir):
    """Type-strict, as the parameters line is: days=100.0 is not the OK run's days=100, so the note names it."""
    _run(reports_dir / "00_tour", params={"scale": "smoke", "days": 100}, p23=0.51)
    _run(reports_dir / "00_tour/failed", "failed", FAILURE, params={"scale": "smoke", "days": 100.0})
    assert f"a later run, with days=100.0, failed ({FAILURE}): " in _summary(build_index(reports_dir).read_text())


def test_a_main_run_that_failed_before_its_results_shows_the_scale_it_was_given(reports_dir):
    """A run that fails in its first cells leaves run.json but no results.json: the row names run.json's scale."""
    _run(reports_dir / "00_tour", "failed", "cell 1: ImportError: no module", params={"scale": "default"})
    assert "</td><td class=num>1.5 s</td><td>default</td>" in _summary(build_index(reports_dir).read_text())


def test_index_links_each_raw_measurement_table_a_run_saved_and_no_line_without_one(reports_dir):
    import pandas as pd

    from support.paths import save_table

    _run(reports_dir / "00_tour", p23=0.51)
    assert "Raw measurements" not in build_index(reports_dir).read_text()
    save_table(pd.DataFrame({"x": [1, 2]}), "timings", reports_dir / "00_tour")
    save_table(pd.DataFrame({"y": [3]}), "a_profile", reports_dir / "00_tour")
    section = build_index(reports_dir).read_text().split('id="00_tour"')[1]
    line = section.split("Raw measurements")[1].split("</p>")[0]
    assert line.index("00_tour/tables/a_profile.csv") < line.index("00_tour/tables/timings.csv")  # sorted by name


@pytest.mark.parametrize("bad,mean", [(float("nan"), "n/a"), (float("inf"), "inf")])
def test_sweep_mean_is_not_the_mean_of_the_other_runs_when_one_run_measured_nan_or_inf(reports_dir, bad, mean):
    """results.json stores a non-finite measurement as "nan" / "inf". Skipping it would show the other runs' mean
    (0.6, std 0) beside "1 not reproduced", as Python's max skips a NaN (see claims.worst_of): the mean of {0.6, nan}
    is nan ("n/a"), of {0.6, inf} inf, and their spread is undefined ("n/a")."""
    _sweep(reports_dir, {"seed=0": {"claims": SWEEP_CLAIMS, "p23": 0.6}, "seed=1": {"claims": SWEEP_CLAIMS, "p23": bad}})
    assert _sweep_row(reports_dir, "claim A") == (f"<td>claim A</td><td>0.5</td><td class=num>{mean}</td>"
                                                  "<td class=num>n/a</td><td class=num>1/2</td>"
                                                  "<td>1 reproduced · 1 not reproduced</td>")
