"""Recorded GPU runs: found, labelled with where they come from, and their test logs read strictly."""

import json

import pytest

from support import gpu_runs


def _run(tmp_path, log: str, selected: int):
    d = tmp_path / "2030-01-01_x"
    d.mkdir()
    (d / "meta.json").write_text(json.dumps({
        "date": "2030-01-01", "device": "Some GPU", "script": "benchmarks/gpu_check.sh",
        "runs": [{"rev": "abc1234", "kept": ["tests.log", "result.json"]}],
        "tests": {"log": "tests.log", "selected": "selected.txt"}}))
    (d / "tests.log").write_text(log)
    (d / "selected.txt").write_text("\n".join(f"tests/t.py::test_{i}" for i in range(selected)))
    (d / "result.json").write_text('{"x": 1}')
    return tmp_path


def test_the_committed_h200_run_is_found_and_labelled_as_recorded():
    rec = gpu_runs.find("packkv_benchmark.json")
    assert rec is not None
    label = rec.label("packkv_benchmark.json")
    assert "recorded on NVIDIA H200" in label and "not re-measured" in label and "rev 7f798bf" in label
    assert rec.path.name == "2026-11-30_h200"  # the newest folder holding the file wins
    assert rec.tests()["all_passed"] and len(rec.tests()["selected"]) == 56
    # the 2026-11-30 HERO-Sign re-timing is kept as repeat_*: the fuller 2026-11-29 study stays the one read
    assert gpu_runs.find("herosign_sha2-128f.json").path.name == "2026-11-29_h200"
    old = next(r for r in gpu_runs.recorded_runs() if r.path.name == "2026-11-28_h200")
    assert "revs " in old.label("packkv_benchmark.json", "herosign_sha2-128f.json")  # two runs, both named


def test_a_file_no_run_holds_gives_none_and_load_raises(tmp_path):
    root = _run(tmp_path, "3 passed in 1s", 3)
    assert gpu_runs.find("missing.json", root) is None
    rec = gpu_runs.find("result.json", root)
    assert rec.load("result.json") == {"x": 1} and rec.rev("result.json") == "abc1234"
    with pytest.raises(FileNotFoundError, match="not in the recorded GPU run"):
        rec.load("missing.json")


@pytest.mark.parametrize(("log", "selected", "ok"), [
    ("24 passed in 70.17s", 24, True),
    ("23 passed, 1 failed in 70s", 24, False),
    ("24 passed, 1 error in 70s", 24, False),
    ("23 passed in 70s", 24, False),  # a test that never ran is not a pass
    ("collected 0 items", 24, False),
])
def test_the_test_log_counts_as_passed_only_when_every_selected_test_passed(tmp_path, log, selected, ok):
    rec = gpu_runs.find("tests.log", _run(tmp_path, log, selected))
    assert rec.tests()["all_passed"] is ok


def test_every_file_of_a_committed_run_is_named_by_exactly_one_of_its_runs():
    # meta.json is the only record of which revision and command made a file: an unlisted file would be labelled
    # "rev unknown", a listed missing one would be claimed as evidence that is not there
    for rec in gpu_runs.recorded_runs():
        kept = [name for run in rec.meta["runs"] for name in run["kept"]]
        files = sorted(p.name for p in rec.path.iterdir() if p.name != "meta.json")
        assert sorted(kept) == files, rec.path.name
