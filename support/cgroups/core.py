"""cgroup v1/v2 detection, quota and limit setters, a cleaning context manager, a runner."""

from __future__ import annotations

import contextlib
import os
import resource
import select
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


class CgroupError(RuntimeError):
    """cgroups are unavailable or an operation on them failed; the message names the file involved."""


@dataclass(frozen=True)
class CgroupInfo:
    """What :func:`detect` found."""

    version: int | None  # 1, 2 or None (no usable cgroup filesystem)
    cpu_parent: Path | None  # where child groups with a CPU quota are created
    memory_parent: Path | None  # where child groups with a memory limit are created (v1: own memory cgroup)
    writable: bool
    reason: str = ""
    controllers_enabled: bool = True  # v2: cpu and memory listed in the parent's cgroup.subtree_control

    @property
    def usable(self) -> bool:
        return self.version is not None and self.writable and self.controllers_enabled


def _own_paths(proc_cgroup: str) -> dict[str, str]:
    out = {}
    for line in proc_cgroup.strip().splitlines():
        _, ctrls, path = line.split(":", 2)
        for c in (ctrls.split(",") if ctrls else [""]):
            out[c] = path
    return out


def detect(root: Path = CGROUP_ROOT, proc_self: Path = Path("/proc/self/cgroup")) -> CgroupInfo:
    """Detect the cgroup layout and whether child groups can be created here (needs root). ``proc_self`` is
    this process's cgroup membership file (tests point both paths at a fake tree)."""
    root = Path(root)
    try:
        own = _own_paths(Path(proc_self).read_text())
    except OSError as e:
        return CgroupInfo(None, None, None, False, f"cannot read {proc_self}: {e}")
    # v2: a unified hierarchy with cpu.max / memory.max available to children
    if (root / "cgroup.controllers").is_file():
        ctrls = (root / "cgroup.controllers").read_text().split()
        if "cpu" in ctrls and "memory" in ctrls:
            parent = root / own.get("", "/").lstrip("/")
            if not os.access(parent, os.W_OK):
                return CgroupInfo(2, parent, parent, False, f"{parent} not writable")
            # a child group has cpu.max / memory.max only if the parent hands those controllers down
            sub = parent / "cgroup.subtree_control"
            try:
                enabled = sub.read_text().split()
            except OSError:
                enabled = []
            missing = [c for c in ("cpu", "memory") if c not in enabled]
            if missing:
                return CgroupInfo(2, parent, parent, True,
                                  f"the {' and '.join(missing)} controller{'s are' if len(missing) > 1 else ' is'} not "
                                  f"enabled for child groups of {parent} ({sub} lists {' '.join(enabled) or 'none'}); "
                                  f"as root: echo '+cpu +memory' > {sub} (a group holding processes itself cannot "
                                  "enable them: run from a child group)", controllers_enabled=False)
            return CgroupInfo(2, parent, parent, True)
    cpu_dir, mem_dir = root / "cpu", root / "memory"
    if (cpu_dir / "cpu.cfs_quota_us").is_file():
        cpu_parent = cpu_dir / own.get("cpu", "/").lstrip("/")
        mem_parent = None
        if (mem_dir / "memory.limit_in_bytes").is_file():
            mem_parent = mem_dir / own.get("memory", "/").lstrip("/")  # nest under our own memory group
        writable = os.access(cpu_parent, os.W_OK) and (mem_parent is None or os.access(mem_parent, os.W_OK))
        return CgroupInfo(1, cpu_parent, mem_parent, writable,
                          "" if writable else f"{cpu_parent} or {mem_parent} not writable (need root)")
    return CgroupInfo(None, None, None, False, f"no cgroup v2 cpu/memory controllers and no v1 cpu hierarchy under {root}")


def _write(path: Path, value) -> None:
    try:
        path.write_text(str(value))
    except OSError as e:
        raise CgroupError(f"cannot write {value!r} to {path}: {e}") from None


@dataclass
class Group:
    """A child cgroup (one directory per hierarchy) made by :func:`limited`."""

    name: str
    version: int
    dirs: list[Path] = field(default_factory=list)
    cpus: float | None = None
    mem_bytes: int | None = None

    def _procs_files(self) -> list[Path]:
        return [d / "cgroup.procs" for d in self.dirs]

    def add_pid(self, pid: int) -> None:
        """Move process ``pid`` (all its threads) into this group."""
        for f in self._procs_files():
            _write(f, pid)

    def set_weight(self, weight: int) -> None:
        """Set the group's CPU priority: ``weight`` as v1 ``cpu.shares`` (1024 = one ordinary task), or v2
        ``cpu.weight`` = weight / 10.24, clamped to each file's range."""
        if self.version == 2:
            _write(self.dirs[0] / "cpu.weight", max(1, min(10000, int(weight / 10.24))))
        else:
            _write(self.dirs[0] / "cpu.shares", max(2, min(262144, int(weight))))

    def popen_kwargs(self) -> dict:
        """``subprocess.Popen`` keyword arguments that start the child inside this group."""
        files = [str(f) for f in self._procs_files()]

        def enter():  # runs in the child between fork and exec
            for f in files:
                with open(f, "w") as fh:
                    fh.write("0")

        return {"preexec_fn": enter}

    def cpu_stat(self) -> dict[str, int]:
        """Throttling counters (nr_periods, nr_throttled, throttled time) of the CPU controller."""
        d = self.dirs[0]
        try:
            lines = (d / "cpu.stat").read_text().split("\n")
        except OSError:
            return {}
        return {k: int(v) for k, v in (ln.split() for ln in lines if ln.strip())}

    def memory_peak(self) -> int | None:
        """Peak memory charged to the group in bytes (v1 max_usage_in_bytes, v2 memory.peak)."""
        for d in self.dirs:
            for f in ("memory.max_usage_in_bytes", "memory.peak"):
                if (d / f).is_file():
                    return int((d / f).read_text())
        return None


def _cleanup(dirs: list[Path], parents: list[Path]) -> list[str]:
    errors = []
    for d, parent in zip(reversed(dirs), reversed(parents)):
        if not d.exists():
            continue
        try:  # move any leftover processes out, then remove
            procs = (d / "cgroup.procs").read_text().split()
            for p in procs:
                with contextlib.suppress(OSError):
                    (parent / "cgroup.procs").write_text(p)
        except OSError:
            pass
        for _ in range(50):
            try:
                d.rmdir()
                break
            except OSError as e:
                last = e
                time.sleep(0.02)
        else:
            errors.append(f"{d}: {last}")
    return errors


@contextlib.contextmanager
def limited(cpus: float | None = None, mem_bytes: int | None = None, name: str | None = None,
            info: CgroupInfo | None = None, weight: int | None = None, period_us: int = PERIOD_US):
    """Create a child cgroup with a CPU quota of ``cpus`` CPUs and a memory limit of ``mem_bytes``.

    ``weight`` (v1 ``cpu.shares``, default 1024 = one ordinary task; v2 ``cpu.weight`` = weight/10.24)
    raises the group's priority against other load on a shared machine, so that the quota, not
    contention, is what limits the workload. ``period_us`` is the CFS period (default 100 ms, as
    Docker and Kubernetes use); a shorter period makes short jobs' latency less quantized by throttling.
    Yields a :class:`Group`. Everything created is removed on exit, also when the body raises (then the
    body's error propagates, with any removal failure added as a note).
    Raises :class:`CgroupError` when cgroups are not usable here (callers fall back to a recorded profile).
    """
    info = info or detect()
    if not info.usable:
        raise CgroupError(f"cgroups not usable here: {info.reason}")
    if cpus is not None and not (0.01 <= cpus <= 1024):
        raise ValueError(f"cpus must be in [0.01, 1024], got {cpus}")
    if mem_bytes is not None and mem_bytes < 4 << 20:
        raise ValueError(f"mem_bytes must be >= 4 MiB, got {mem_bytes}")
    name = name or f"paper-repro-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    g = Group(name, info.version, cpus=cpus, mem_bytes=mem_bytes)
    parents: list[Path] = []
    try:
        if info.version == 2:
            d = info.cpu_parent / name
            d.mkdir()
            g.dirs.append(d); parents.append(info.cpu_parent)
            if weight is not None:
                g.set_weight(weight)
            if cpus is not None:
                _write(d / "cpu.max", f"{round(cpus * period_us)} {period_us}")
            if mem_bytes is not None:
                _write(d / "memory.max", int(mem_bytes))
        else:
            d = info.cpu_parent / name
            d.mkdir()
            g.dirs.append(d); parents.append(info.cpu_parent)
            _write(d / "cpu.cfs_period_us", period_us)
            _write(d / "cpu.cfs_quota_us", -1 if cpus is None else round(cpus * period_us))
            if weight is not None:
                g.set_weight(weight)
            if mem_bytes is not None:
                if info.memory_parent is None:
                    raise CgroupError("no v1 memory hierarchy to set a memory limit in")
                dm = info.memory_parent / name
                dm.mkdir()
                g.dirs.append(dm); parents.append(info.memory_parent)
                _write(dm / "memory.limit_in_bytes", int(mem_bytes))
        yield g
    except BaseException as err:
        # the body's (or set-up's) error is the one the caller must see; a failed removal is added to it
        errs = _cleanup(g.dirs, parents)
        if errs:
            err.add_note("also, could not remove cgroup(s): " + "; ".join(errs))
        raise
    errs = _cleanup(g.dirs, parents)
    if errs:
        raise CgroupError("could not remove cgroup(s): " + "; ".join(errs))


@dataclass
class RunResult:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float  # user + system CPU time of this child (and the descendants it waited for)
    throttled: dict[str, int]
    mem_peak: int | None


def run_limited(argv: list[str], cpus: float | None = None, mem_bytes: int | None = None, timeout: float = 120.0,
                env: dict | None = None, info: CgroupInfo | None = None, weight: int | None = None,
                period_us: int = PERIOD_US) -> RunResult:
    """Run ``argv`` in a fresh group (see :func:`limited`) and measure wall and CPU time; ``cpu_s`` is the
    change of RUSAGE_CHILDREN across the run, so children reaped meanwhile by other threads count too."""
    with limited(cpus, mem_bytes, info=info, weight=weight, period_us=period_us) as g:
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             **g.popen_kwargs())
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            raise CgroupError(f"{argv[:3]} exceeded {timeout} s under cpus={cpus}, mem={mem_bytes}") from None
        wall = time.perf_counter() - t0
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)  # cumulative over all reaped children: diff it
        cpu = (ru.ru_utime - ru0.ru_utime) + (ru.ru_stime - ru0.ru_stime)
        return RunResult(p.returncode, out, err, wall, cpu, g.cpu_stat(), g.memory_peak())


class Worker:
    """A long-lived process in its own group (see :func:`limited_worker`): one request per line.

    :meth:`ask` writes one line to the worker's stdin and returns the line it answers; a worker that
    exits instead, or stays silent for ``timeout`` seconds, raises :class:`CgroupError` with its exit
    status and the end of its stderr.
    """

    def __init__(self, group: Group, proc: subprocess.Popen, stderr, timeout: float = 120.0):
        self.group, self.proc, self._stderr, self.timeout = group, proc, stderr, timeout

    def read_line(self) -> str:
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        if not ready:
            self.proc.kill()
            raise CgroupError(f"worker {self.proc.args[1:3]} in {self.group.name} gave no answer in {self.timeout} s")
        line = self.proc.stdout.readline()
        if not line:
            rc = self.proc.wait()
            self._stderr.seek(0)
            raise CgroupError(f"worker {self.proc.args[1:3]} in {self.group.name} exited (rc {rc}; OOM-killed if "
                              f"-9): {self._stderr.read().strip()[-300:]}")
        return line

    def ask(self, line: str) -> str:
        try:
            self.proc.stdin.write(line.rstrip("\n") + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # read_line reports how the worker ended
        return self.read_line()


@contextlib.contextmanager
def limited_worker(argv: list[str], cpus: float | None = None, mem_bytes: int | None = None,
                   info: CgroupInfo | None = None, weight: int | None = None, period_us: int = PERIOD_US,
                   env: dict | None = None, timeout: float = 120.0):
    """Start ``argv`` inside a fresh group (see :func:`limited`) as a worker that serves requests over its
    stdin/stdout, so a request is timed without the interpreter's start-up. Yields a :class:`Worker`; on
    exit its stdin is closed, it is given 10 s to finish (then killed), and the group is removed."""
    with limited(cpus, mem_bytes, info=info, weight=weight, period_us=period_us) as g, \
            tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, env=env,
                             **g.popen_kwargs())
        try:
            yield Worker(g, p, err, timeout)
        finally:
            with contextlib.suppress(OSError):
                p.stdin.close()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            p.stdout.close()
