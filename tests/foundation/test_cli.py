"""paper-repro's command line: one clear line and exit 2 on bad input; list shows every paper."""

import json

import pytest

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
