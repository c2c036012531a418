"""Capture what native solver code writes straight to file descriptors 1 and 2.

HiGHS prints a banner and SoPlex (inside SCIP) writes warnings with ``std::cerr`` while holding the GIL. In a
Jupyter kernel those descriptors are pipes drained by a Python thread, which needs the GIL: a long burst (over
64 KB, e.g. SoPlex's "Cannot set feasibility tolerance to small value" at every LP of a hard SCIP solve) fills
the pipe and the kernel deadlocks. Inside :func:`native_output_to_file` the descriptors point at a temporary file.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

_LOCK = threading.Lock()  # descriptors are process-wide: one redirection at a time


@dataclass
class NativeOutput:
    """What the native code wrote inside the block (filled when it ends)."""

    text: str = ""
    lines: list[str] = field(default_factory=list)

    def summary(self, limit: int = 3) -> str:
        """``"<n> lines, e.g. <first distinct lines>"``, or ``""`` when nothing was written."""
        if not self.lines:
            return ""
        distinct = list(dict.fromkeys(line.strip() for line in self.lines if line.strip()))
        return f"{len(self.lines)} lines, e.g. " + " | ".join(distinct[:limit])


@contextlib.contextmanager
def native_output_to_file(fds: tuple[int, ...] = (1, 2)) -> Iterator[NativeOutput]:
    """Point ``fds`` at one temporary file for the block, restore them after (also on error), and return what was
    written as a :class:`NativeOutput`. Python-level ``sys.stdout``/``sys.stderr`` are flushed first."""
    out = NativeOutput()
    with _LOCK, tempfile.TemporaryFile() as sink:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        saved = [os.dup(fd) for fd in fds]
        try:
            for fd in fds:
                os.dup2(sink.fileno(), fd)
            yield out
        finally:
            for fd, s in zip(fds, saved):
                os.dup2(s, fd)
                os.close(s)
        sink.seek(0)
        out.text = sink.read().decode(errors="replace")
        out.lines = out.text.splitlines()
