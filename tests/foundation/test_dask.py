"""--scheduler sends notebook runs to an existing Dask cluster (scheduler + worker on 127.0.0.1)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 60) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise TimeoutError(f"nothing listens on port {port}")


def _wait_until_serving(addr: str, timeout: float = 120) -> None:
    """Until the scheduler answers a client and has a worker: a listening port is not yet a serving scheduler, and
    on a loaded machine the CLI's 10 s connect timeout could otherwise run out against a cluster still starting."""
    from distributed import Client

    with Client(addr, timeout=f"{timeout}s") as c:
        c.wait_for_workers(1, timeout=timeout)


@pytest.fixture
def dask_cluster(tmp_path):
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if dask is None:
        pytest.fail("the dask command is missing (it comes with the dask[distributed] dependency)")
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PAPER_REPRO_QUIET": "1"}
    with open(tmp_path / "dask.log", "w") as log:
        procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--dashboard-address", ":0", "--no-show"], stdout=log, stderr=log, env=env,
                                  start_new_session=True)]
        try:
            _wait_for_port(port)
            procs.append(subprocess.Popen([dask, "worker", addr, "--nworkers", "1", "--nthreads", "1",
                                           "--dashboard-address", ":0", "--local-directory", str(tmp_path / "w")],
                                          stdout=log, stderr=log, env=env, start_new_session=True))
            _wait_until_serving(addr)
            yield addr
        finally:
            for p in reversed(procs):
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                    p.wait(timeout=20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(p.pid, signal.SIGKILL)


def test_tour_runs_on_a_dask_cluster_and_results_come_back(cli, reports_dir, dask_cluster):
    r = cli(["run", "tour", "--scale", "smoke", "--scheduler", dask_cluster], timeout=300)
    assert r.returncode == 0, r.stderr
    meta = json.loads((reports_dir / "00_tour/run.json").read_text())
    assert meta["status"] == "ok" and meta["executor"] == dask_cluster
    assert (reports_dir / "00_tour/figures/birthday_curve.png").is_file()
    first = _kernel_reply_time(reports_dir)
    # a repeated identical run is not served by Dask's own cache of pure tasks: --force re-executes
    r = cli(["run", "tour", "--scale", "smoke", "--scheduler", dask_cluster, "--force"], timeout=300)
    assert r.returncode == 0 and "ok     00_tour" in r.stderr
    assert _kernel_reply_time(reports_dir) > first  # stamped by the worker's kernel, not by the client


def _kernel_reply_time(reports_dir) -> str:
    """When the kernel answered the first code cell (its reply's header date, microseconds, in the executed
    notebook): a result Dask served from its cache would carry the first execution's stamp."""
    nb = json.loads((reports_dir / "00_tour/00_tour.ipynb").read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    return cell["metadata"]["execution"]["shell.execute_reply"]


def test_a_dask_run_records_the_commit_and_versions_of_the_worker_not_the_client(monkeypatch, reports_dir):
    """run.json's commit and versions say where the notebook ran: ``execute`` takes them on the worker (an
    in-process LocalCluster; each records "worker" or "client" by where it is called)."""
    import nbformat
    import papermill
    from distributed import LocalCluster, get_worker

    from support import runner

    def where() -> str:
        try:
            get_worker()
        except ValueError:  # not in a Dask worker's task
            return "client"
        return "worker"

    monkeypatch.setattr(runner, "git_commit", lambda: {"commit": where(), "dirty": False})
    monkeypatch.setattr(runner, "versions", lambda: {"python": where()})
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **kw: None)  # no kernel: provenance is the point
    monkeypatch.setattr(runner, "cache_key", lambda spec: "key")
    spec = runner.RunSpec("00_tour", nbformat.writes(nbformat.v4.new_notebook()).encode(), {}, "00_tour")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        [r] = runner.run_all([spec], scheduler=cluster.scheduler_address, force=True, reports=reports_dir)
    meta = json.loads((reports_dir / "00_tour/run.json").read_text())
    assert r.status == "ok" and meta["executor"] == cluster.scheduler_address
    assert meta["commit"] == "worker" and meta["versions"] == {"python": "worker"}
