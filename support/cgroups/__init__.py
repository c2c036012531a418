"""Run work under CPU quotas and memory limits with Linux cgroups (v1 or v2, detected).

* :func:`detect` — which cgroup version is mounted, where this process's groups live, and whether we
  may create child groups with a CPU quota and a memory limit.
* :func:`limited` — a context manager that creates a child group with the given quota/limit, yields it
  (run processes in it with :meth:`Group.popen_kwargs` or move a pid with :meth:`Group.add_pid`) and
  always removes what it made, even on error.
* :func:`run_limited` — run one command in a fresh group; returns its output, wall and CPU time and
  the group's throttling counters.
* :func:`limited_worker` — a long-lived process in a fresh group that answers one request per line
  (:class:`Worker`), so requests are timed without the interpreter's start-up.
* :mod:`support.cgroups.profile` — the recorded-profile fallback (CSV written by our own profiler).
"""

from support.cgroups.core import (
    CgroupError,
    CgroupInfo,
    Group,
    RunResult,
    Worker,
    detect,
    limited,
    limited_worker,
    run_limited,
)

__all__ = ["CgroupError", "CgroupInfo", "Group", "RunResult", "Worker", "detect", "limited", "limited_worker",
           "run_limited"]
