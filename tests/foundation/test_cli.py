"""paper-repro's command line: one clear line and exit 2 on bad input; list shows every paper."""

import json

import pytest

from support.claims import SCALES
from support.cli import UsageError


@pytest.mark.parametrize("args,needle", [
    (["run", "nosuch"], "unknown paper 'nosuch'"),
    (["run", "tuor"], "did you mean 'tour'"),
    (["run", "tour", "-p", "nosuch=1"], "no parameter 'nosuch'"),
    (["run", "tour", "-p", "seed=abc"], "expects int"),
    (["run", "tour", "--scale", "huge"], "--scale must be one of"),
    (["run", "tour", "-p", "scale=huge"], "scale must be one of"),
    (["run", "tour", "--jobs", "0"], "--jobs must be at least 1"),
    (["run", "tour", "--bogus"], "unrecognized arguments"),
    (["run", "tour", "--timeout", "0"], "--timeout must be at least 1 second; got 0"),
    (["run", "tour", "--timeout", "-5"], "--timeout must be at least 1 second; got -5"),
    (["run", "tour", "-p", "dayz=1"], "`paper-repro params 00_tour` describes them"),
    (["params", "tuor"], "did you mean 'tour'"),
])
def test_bad_input_exits_2_with_one_line(cli, args, needle):
    r = cli(args, timeout=60)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr


def test_gpu_flag_without_gpu_exits_2():
    from support.xp import gpu_available

    if gpu_available():
        pytest.skip("a GPU is present")
    from support.cli import main

    assert main(["run", "tour", "--gpu"]) == 2


@pytest.mark.parametrize("how", ["p", "grid"])
def test_backend_cupy_without_gpu_or_scheduler_exits_2_like_gpu(tmp_path, capsys, how):
    from support.xp import gpu_available

    if gpu_available():
        pytest.skip("a GPU is present")
    from support.cli import main

    grid = tmp_path / "g.json"
    grid.write_text(json.dumps({"backend": ["numpy", "cupy"]}))
    argv = ["-p", "backend=cupy"] if how == "p" else ["--grid", str(grid)]
    assert main(["run", "tour", *argv, "--dry-run"]) == 2
    assert "backend=cupy: no CUDA GPU found here" in capsys.readouterr().err
    assert main(["run", "tour", "-p", "backend=numpy", "--dry-run"]) == 0  # only cupy needs the GPU


def test_params_lists_each_parameter_with_its_type_default_and_comment(capsys):
    from support.cli import main
    from support.papers import by_stem
    from support.params import notebook_parameters

    assert main(["params", "multicluster"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["name", "type", "default", "meaning"]
    specs = notebook_parameters(by_stem("11_multicluster").notebook)
    rows = {line.split()[0]: line for line in out[2:]}
    assert list(rows) == list(specs)
    for name, spec in specs.items():
        assert rows[name].split()[1:3] == [spec.type.__name__, repr(spec.default)]
        assert spec.help and rows[name].endswith(spec.help)


def test_unreachable_scheduler_exits_2(cli):
    import socket

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = cli(["run", "tour", "--scheduler", f"tcp://127.0.0.1:{port}"], timeout=120)
    assert r.returncode == 2 and "cannot reach Dask scheduler" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_list_shows_all_thirteen_papers_and_the_tour(cli):
    r = cli(["list"], timeout=60)
    assert r.returncode == 0
    rows = r.stdout.strip().splitlines()[1:]
    assert len(rows) == 14
    assert any("2512.23996" in row and "dpor_estimate" in row for row in rows)


def test_list_gives_each_papers_typical_time_per_scale_and_a_question_mark_where_none_is_recorded(cli):
    from support.papers import PAPERS

    rows = cli(["list"], timeout=60).stdout.strip().splitlines()
    assert "smoke / default / paper" in rows[0]
    for p, row in zip(PAPERS, rows[1:]):
        want = [("?" if t is None else p.typical(s).removeprefix("about "))
                for s, t in zip(SCALES, p.typical_s)]
        assert f" {' / '.join(want)} " in row, row


def test_every_paper_with_a_notebook_has_a_measured_time_at_each_scale():
    from support.papers import with_notebooks

    missing = [(p.stem, s) for p in with_notebooks() for s, t in zip(SCALES, p.typical_s)
               if t is None or not t > 0]
    assert not missing, f"run these and record their wall time in support/papers.py: {missing}"


def test_about_rounds_a_wall_time_as_a_reader_plans_with_it():
    from support.papers import about, by_stem

    assert [about(t) for t in (None, 3, 22, 89, 90, 152, 1680)] == [
        "not measured", "about 5 s", "about 20 s", "about 90 s", "about 2 min", "about 3 min", "about 28 min"]
    assert by_stem("06_crms").typical("smoke").startswith("about ")
    with pytest.raises(ValueError, match="scale must be one of"):
        by_stem("06_crms").typical("huge")


def test_a_closed_pipe_ends_the_command_quietly(monkeypatch, capfd):
    from support import cli as C

    def leave():
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(C, "cmd_list", leave)
    assert C.main(["list"]) == 141
    assert "Traceback" not in capfd.readouterr().err


def test_dry_run_lists_every_run_of_a_sweep_and_executes_nothing(cli, reports_dir):
    r = cli(["run", "tour", "-p", "seed=3,4", "--scale", "smoke", "--dry-run"], timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["run", "00_tour/runs/seed=3"] and "seed=3" in lines[0] and "scale='smoke'" in lines[0]
    assert lines[1].split()[:2] == ["run", "00_tour/runs/seed=4"]
    assert lines[-1] == "2 run(s); nothing was executed"
    assert not any(reports_dir.rglob("*.html")) and not any(reports_dir.rglob("sweep.json"))


def _runs(*argv):
    from support.cli import _parser, _specs

    return [(s.run_dir, s.params) for s in _specs(_parser().parse_args(["run", *argv]))[0]]


def test_an_int_for_a_float_parameter_reaches_the_notebook_as_a_float_from_p_and_from_a_grid(tmp_path):
    grid = tmp_path / "g.json"
    grid.write_text(json.dumps({"noise_rate": [1, 0.5]}))
    expected = [("10_bilevel/runs/noise_rate=1.0", {"noise_rate": 1.0}),
                ("10_bilevel/runs/noise_rate=0.5", {"noise_rate": 0.5})]
    for runs in (_runs("bilevel", "--grid", str(grid)), _runs("bilevel", "-p", "noise_rate=1,0.5")):
        assert runs == expected and type(runs[0][1]["noise_rate"]) is float


def test_a_list_parameter_swept_by_a_grid_gets_readable_folders_and_typed_items(tmp_path):
    grid = tmp_path / "g.yaml"
    grid.write_text("workloads: [[trees, lru], [graph]]\n")
    assert [d for d, _ in _runs("vgc", "--grid", str(grid))] == ["03_vgc/runs/workloads=trees-lru",
                                                                 "03_vgc/runs/workloads=graph"]
    grid.write_text("workloads: [[trees, 2], [graph]]\n")
    with pytest.raises(UsageError, match=r"parameter 'workloads' item 1 expects str, got 2"):
        _runs("vgc", "--grid", str(grid))


def test_overrides_equal_to_the_defaults_share_the_cache_key_but_are_recorded_as_given():
    from support.cli import _parser, _specs
    from support.runner import cache_key

    specs = [_specs(_parser().parse_args(["run", "tour", *argv]))[0][0]
             for argv in ([], ["--scale", "smoke"], ["-p", "days=365"])]
    assert [(s.run_dir, s.params) for s in specs] == [("00_tour", {}), ("00_tour", {"scale": "smoke"}),
                                                      ("00_tour", {"days": 365})]
    assert len({cache_key(s) for s in specs}) == 1


def _fake_run_all(results, stop_after: int):
    """A stand-in for ``run_all``: reports ``results`` (status, folder) one by one, then Ctrl-C arrives."""
    from support.runner import RunResult

    def run_all(specs, *, on_done, **kw):
        for spec, (status, folder) in list(zip(specs, results))[:stop_after]:
            on_done(RunResult(spec.stem, spec.run_dir, spec.params, status, 1.0,
                              "cell 3: KeyError: 'x'" if status == "failed" else "", folder=folder))
        raise KeyboardInterrupt

    return run_all


def test_an_interrupted_sweep_lists_its_finished_runs_in_sweep_json(monkeypatch, tmp_path):
    from support import paths, runner
    from support.cli import main

    monkeypatch.setattr(paths, "REPORTS_DIR", tmp_path)
    done = [("ok", "00_tour/runs/seed=0"), ("failed", "00_tour/runs/seed=1")]
    monkeypatch.setattr(runner, "run_all", _fake_run_all(done, stop_after=2))
    assert main(["run", "tour", "-p", "seed=0,1,2", "--no-report"]) == 130
    sweep = json.loads((tmp_path / "00_tour/runs/sweep.json").read_text())
    assert sweep["swept"] == ["seed"] and sweep["planned"] == 3
    assert sweep["runs"] == ["00_tour/runs/seed=0", "00_tour/runs/seed=1"]


def test_an_interrupted_sweep_still_rebuilds_the_report_with_its_finished_runs(monkeypatch, tmp_path, capsys):
    """Audit s12 finding 10: Ctrl-C skipped the report, so it showed none of the finished runs until ``report``."""
    from support import paths, runner
    from support.cli import main

    def run_all(specs, *, on_done, **kw):  # seed=0 finishes and is written, then Ctrl-C arrives
        folder = tmp_path / specs[0].run_dir
        folder.mkdir(parents=True)
        (folder / "run.json").write_text(json.dumps({"stem": "00_tour", "params": specs[0].params, "status": "ok",
                                                     "wall_s": 1.0}))
        on_done(runner.RunResult(specs[0].stem, specs[0].run_dir, specs[0].params, "ok", 1.0,
                                 folder=specs[0].run_dir))
        raise KeyboardInterrupt

    monkeypatch.setenv("PAPER_REPRO_QUIET", "1")
    monkeypatch.setattr(paths, "REPORTS_DIR", tmp_path)
    monkeypatch.setattr(runner, "run_all", run_all)
    assert main(["run", "tour", "-p", "seed=0,1,2"]) == 130
    assert f"report: {tmp_path / 'index.html'}" in capsys.readouterr().err
    assert "<h4>Sweep over seed (1 of 3 runs ended)</h4>" in (tmp_path / "index.html").read_text()


def test_an_interrupted_run_with_no_report_writes_no_report(monkeypatch, tmp_path):
    from support import paths, runner
    from support.cli import main

    monkeypatch.setattr(paths, "REPORTS_DIR", tmp_path)
    monkeypatch.setattr(runner, "run_all", _fake_run_all([("ok", "00_tour")], stop_after=1))
    assert main(["run", "tour", "--no-report"]) == 130
    assert not (tmp_path / "index.html").exists()


def test_the_failure_line_names_the_failed_folder_when_an_ok_result_was_kept(monkeypatch, tmp_path, capsys):
    from support import paths, runner
    from support.cli import main

    monkeypatch.setattr(paths, "REPORTS_DIR", tmp_path)
    monkeypatch.setattr(runner, "run_all", _fake_run_all([("failed", "00_tour/failed")], stop_after=1))
    main(["run", "tour", "-p", "days=100", "--no-report"])
    [line] = [x for x in capsys.readouterr().err.splitlines() if x.startswith("FAILED")]
    assert line == (f"FAILED 00_tour: cell 3: KeyError: 'x' (the earlier OK result is kept; this run is in "
                    f"{tmp_path / '00_tour/failed'}/)")


def test_an_unknown_name_in_a_grid_file_exits_2_with_the_params_hint_like_p(tmp_path, capsys):
    from support.cli import main

    grid = tmp_path / "g.json"
    grid.write_text(json.dumps({"dayz": [1, 2]}))
    assert main(["run", "tour", "--grid", str(grid), "--dry-run"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "no parameter 'dayz'; did you mean 'days'?" in line
    assert line.endswith("`paper-repro params 00_tour` describes them)")


def _finished_runs(results):
    """A stand-in for ``run_all``: each spec finishes as ``results`` says, ``(status, error, parameter_error)``."""
    from support.runner import RunResult

    def run_all(specs, *, on_done, **kw):
        out = [RunResult(s.stem, s.run_dir, s.params, status, 1.0, error, parameter_error=refused)
               for s, (status, error, refused) in zip(specs, results)]
        for r in out:
            on_done(r)
        return out

    return run_all


REFUSED = "order_policy must be one of 'program', 'writers_first'; got 'nope'"


def test_a_value_the_notebook_refuses_exits_2_with_one_line_and_the_params_hint(monkeypatch, tmp_path, capsys):
    """A ``ParameterError`` in the kernel (04's check, right after ``start``) is a usage error like a bad ``-p``."""
    from support import paths, runner
    from support.cli import main

    monkeypatch.setenv("PAPER_REPRO_QUIET", "1")
    monkeypatch.setattr(paths, "REPORTS_DIR", tmp_path)
    monkeypatch.setattr(runner, "run_all", _finished_runs([("failed", f"cell 2: ParameterError: {REFUSED}", REFUSED)]))
    assert main(["run", "dpor_estimate", "-p", "order_policy=nope", "--no-report"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"paper-repro: error: 04_dpor_estimate: {REFUSED} (`paper-repro params 04_dpor_estimate` describes them)"]


def test_a_sweep_with_a_refused_run_and_a_failed_run_reports_both_and_exits_2(monkeypatch, tmp_path, capsys):
    from support import paths, runner
    from support.cli import main

    monkeypatch.setenv("PAPER_REPRO_QUIET", "1")
    monkeypatch.setattr(paths, "REPORTS_DIR", tmp_path)
    monkeypatch.setattr(runner, "run_all", _finished_runs([("ok", "", ""), ("failed", "cell 2: ParameterError: x", "x"),
                                                           ("failed", "cell 3: KeyError: 'y'", "")]))
    assert main(["run", "tour", "-p", "seed=0,1,2", "--no-report"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "ok     00_tour [seed=0] (1.0 s)", "FAILED 00_tour [seed=2]: cell 3: KeyError: 'y'", "1 of 3 notebook runs failed",
        "paper-repro: error: 00_tour [seed=1]: x (`paper-repro params 00_tour` describes them)"]


def _tour_raising(tmp_path, raise_line: str):
    """A stand-in ``notebooks/`` folder whose 00_tour notebook runs ``raise_line`` right after its parameters."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    p = nbformat.v4.new_code_cell('scale = "smoke"  # s\nseed = 0  # s\nbackend = "auto"  # b\ndays = 365  # d')
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell(raise_line)]
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nbformat.write(nb, folder / "00_tour.ipynb")
    return folder


@pytest.mark.parametrize(("raise_line", "code"), [
    ("import cvxpy.error\nraise cvxpy.error.ParameterError('A Parameter does not have a value')", 1),
    ("from support.validate import ParameterError\nraise ParameterError('days must be >= 1, got 0')", 2),
], ids=["cvxpy", "ours"])
def test_only_our_own_parameter_error_in_a_kernel_is_a_usage_error_a_library_one_is_a_failure(
        monkeypatch, tmp_path, capsys, raise_line, code):
    """cvxpy's ``ParameterError`` shares the name of ours: a library bug, reported as a failed run (exit 1, no
    ``paper-repro params`` hint); ours (class ``NotebookParameterError``) is the user's bad value (exit 2)."""
    from functools import partial

    from support import papers, paths, runner
    from support.cli import main

    monkeypatch.setenv("PAPER_REPRO_QUIET", "1")
    monkeypatch.setattr(papers, "NOTEBOOKS_DIR", _tour_raising(tmp_path, raise_line))
    monkeypatch.setattr(paths, "REPORTS_DIR", tmp_path / "reports")
    monkeypatch.setattr(runner, "run_all", partial(runner.run_all, reports=tmp_path / "reports"))
    assert main(["run", "tour", "--no-report", "--force"]) == code
    err = capsys.readouterr().err
    assert ("`paper-repro params 00_tour` describes them" in err) == (code == 2), err
