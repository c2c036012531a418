"""The runner end to end on the tour: outputs, cache, --force determinism, sweeps, failures."""

import json

import nbformat
import pytest

from support.report import build_index
from support.runner import RunSpec, cache_key, run_all


def test_run_writes_report_folder_then_serves_from_cache_then_force_reruns_identically(cli, reports_dir):
    r = cli(["run", "tour", "--scale", "smoke"])
    assert r.returncode == 0, r.stderr
    folder = reports_dir / "00_tour"
    for name in ("00_tour.ipynb", "00_tour.html", "results.json", "run.json", "figures/birthday_curve.png",
                 "figures/birthday_curve.svg"):
        assert (folder / name).is_file(), name
    assert (reports_dir / "index.html").is_file()
    meta = json.loads((folder / "run.json").read_text())
    assert meta["status"] == "ok" and meta["params"] == {"scale": "smoke"} and "numpy" in meta["versions"]
    figures = {p.name: p.read_bytes() for p in (folder / "figures").iterdir()}

    r = cli(["run", "tour", "--scale", "smoke"])
    assert r.returncode == 0 and "cached 00_tour" in r.stderr
    assert json.loads((folder / "run.json").read_text())["finished_at"] == meta["finished_at"]

    r = cli(["run", "tour", "--scale", "smoke", "--force"])
    assert r.returncode == 0 and "ok     00_tour" in r.stderr
    assert json.loads((folder / "run.json").read_text())["finished_at"] >= meta["finished_at"]
    assert {p.name: p.read_bytes() for p in (folder / "figures").iterdir()} == figures


def test_seed_sweep_runs_each_seed_in_its_own_folder_and_the_report_aggregates(cli, reports_dir):
    r = cli(["run", "tour", "-p", "seed=0,1", "--jobs", "2"])
    assert r.returncode == 0, r.stderr
    for seed in (0, 1):
        res = json.loads((reports_dir / f"00_tour/runs/seed={seed}/results.json").read_text())
        assert res["params"]["seed"] == seed
    sweep = json.loads((reports_dir / "00_tour/runs/sweep.json").read_text())
    assert sweep["swept"] == ["seed"] and len(sweep["runs"]) == 2
    page = (reports_dir / "index.html").read_text()
    assert "Sweep over seed (2 runs)" in page and "seed=0" in page and "seed=1" in page


def _broken_notebook() -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    p = nbformat.v4.new_code_cell("x = 1")
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell("raise ValueError('planted failure')")]
    return nbformat.writes(nb).encode()


def test_a_failing_notebook_is_reported_in_one_line_and_the_others_still_run(reports_dir):
    from support.papers import by_stem

    good = RunSpec("00_tour", by_stem("00_tour").notebook.read_bytes(), {"scale": "smoke"}, "00_tour")
    bad = RunSpec("99_broken", _broken_notebook(), {}, "99_broken")
    results = {r.stem: r for r in run_all([bad, good], reports=reports_dir)}
    assert results["00_tour"].status == "ok"
    assert results["99_broken"].status == "failed"
    assert results["99_broken"].error == "cell 2: ValueError: planted failure"
    assert "\n" not in results["99_broken"].error
    meta = json.loads((reports_dir / "99_broken/run.json").read_text())
    assert meta["status"] == "failed" and (reports_dir / "99_broken/99_broken.html").is_file()
    build_index(reports_dir)  # a report with a failed run still builds


def test_cache_key_changes_with_parameters_and_notebook_but_not_other_papers_sources():
    nb = b"{}"
    a = RunSpec("00_tour", nb, {"seed": 0}, "00_tour")
    assert cache_key(a) == cache_key(RunSpec("00_tour", nb, {"seed": 0}, "x"))
    assert cache_key(a) != cache_key(RunSpec("00_tour", nb, {"seed": 1}, "00_tour"))
    assert cache_key(a) != cache_key(RunSpec("00_tour", b"{ }", {"seed": 0}, "00_tour"))


def test_cache_key_covers_the_papers_own_data_dir_and_rule_files_but_not_other_papers():
    from support.paths import PACKAGE_DIR, REPO_ROOT
    from support.runner import _source_files

    files = {str(p.relative_to(REPO_ROOT)) for p in _source_files("05_pipeline_agents")}
    own_data = [p for p in (REPO_ROOT / "data" / "pipeline_agents").rglob("*") if p.is_file()]
    assert own_data and {str(p.relative_to(REPO_ROOT)) for p in own_data} <= files
    assert not any(f.startswith("support/multicluster/") for f in files)
    rule_files = sorted((PACKAGE_DIR / "multicluster").rglob("*.yaml"))
    mine = {str(p.relative_to(REPO_ROOT)) for p in _source_files("11_multicluster")}
    assert rule_files and {str(p.relative_to(REPO_ROOT)) for p in rule_files} <= mine


def test_unknown_paper_via_api_names_it():
    from support.papers import UnknownPaper, resolve

    with pytest.raises(UnknownPaper):
        resolve("nope")
