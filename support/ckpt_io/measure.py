"""How we time I/O: fsync inside every timed write and the written pages dropped after the clock stops
(so buffered engines are not charged for emptying the page cache), cold reads (pages dropped before the
clock starts), cases interleaved round-robin with a rotated order, a
discarded warm-up round where the caller asks for one, medians of the measured rounds (as many as the caller
asks: :func:`~support.ckpt_io.experiments.plan` gives F1-F4 2-3 rounds after one warm-up at smoke, 3 at
default and 5 at paper, and T1 a single round with no warm-up at smoke, 5 at default and 7 at paper, each
after one warm-up), and the disk limit from large O_DIRECT writes.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from support.ckpt_io import posix, uring
from support.ckpt_io.uring import Request
from support.validate import check_int

MiB, GiB = 1 << 20, 1 << 30


def files_under(d: Path) -> list[Path]:
    if d.is_file():
        return [d]
    return sorted(p for p in d.rglob("*") if p.is_file())


def make_durable(d: Path) -> int:
    """fsync every file and directory under ``d``; returns bytes on disk.

    Only durability: dropping the cached pages is left to :func:`drop_caches`, outside the clock."""
    total = 0
    for p in files_under(d):
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            total += os.fstat(fd).st_size
        finally:
            os.close(fd)
    for sub in [d, *(q for q in d.rglob("*") if q.is_dir())]:
        posix.fsync_dir(sub)
    return total


def drop_caches(d: Path) -> None:
    for p in files_under(d):
        posix.drop_cache(p)


def fresh_dir(root: Path, name: str) -> Path:
    d = root / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


def timed_write(fn: Callable[[Path], None], d: Path) -> tuple[float, int]:
    """Seconds for ``fn(d)`` plus fsync of everything it wrote; bytes on disk. The written pages are dropped
    after the clock stops: only buffered engines have pages to drop, and that is not checkpoint time."""
    t0 = time.perf_counter()
    fn(d)
    size = make_durable(d)
    seconds = time.perf_counter() - t0
    drop_caches(d)
    return seconds, size


def timed_read(fn: Callable[[Path], object], d: Path) -> tuple[float, object]:
    """Seconds for a cold ``fn(d)`` (the files' pages dropped first)."""
    drop_caches(d)
    t0 = time.perf_counter()
    out = fn(d)
    return time.perf_counter() - t0, out


def rounds(names: Sequence[str], repeats: int, warmup: int = 1) -> list[tuple[int, bool, str]]:
    """Interleaved schedule: (round, is_warmup, case) with the case order rotated every round."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats}, {warmup}")
    out, n = [], len(names)
    for r in range(warmup + repeats):
        order = [names[(i + r) % n] for i in range(n)]
        out += [(r, r < warmup, c) for c in order]
    return out


def medians(df: pd.DataFrame, by: str | list[str], value: str) -> pd.Series:
    """Median of ``value`` over the measured (non-warm-up) rounds."""
    return df[~df.warmup].groupby(by, sort=False)[value].median()


# ------------------------------------------------------------------------------------------ raw requests
LAYOUTS = ("new", "fallocate", "overwrite")


def check_request_size(size: object, *, direct: bool, alignment: int = 512) -> int:
    """``size`` as a request size in bytes: a positive int and, for O_DIRECT, a multiple of ``alignment``.

    Checked before any I/O: a size of 0 or less would write nothing and report a made-up throughput."""
    size = check_int(size, "request size", minimum=1, what="a positive integer number of bytes")
    if direct and size % alignment:
        raise ValueError(f"O_DIRECT request size must be a multiple of {alignment} B here, got {size} B")
    return size


def write_pattern(path: Path, src: np.ndarray, size: int, *, direct: bool, backend: str, queue_depth: int,
                  ring: uring.Ring | None = None, layout: str = "new", total: int | None = None) -> float:
    """Write ``total`` bytes (default: all of ``src``) as consecutive ``size``-byte requests, cycling
    through ``src`` when it is shorter (its size must then be a multiple of ``size``); fsync; seconds.
    The file's pages are dropped after the clock stops, as in :func:`timed_write`.

    ``layout``: ``new`` truncates and writes a fresh file (what a checkpoint does: block allocation
    included); ``fallocate`` preallocates the file first (inside the timed region); ``overwrite``
    rewrites an existing, already written file (what fio measures: the device, not the allocator).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}; got {layout!r}")
    size = check_request_size(size, direct=direct)
    n = src.nbytes if total is None else int(total)
    if n > src.nbytes and src.nbytes % size:
        raise ValueError(f"a source of {src.nbytes} B cannot be cycled in {size}-byte requests")
    base, m = posix.address(src), src.nbytes
    flags = os.O_WRONLY | (os.O_DIRECT if direct else 0)
    if layout != "overwrite":
        flags |= os.O_CREAT | os.O_TRUNC
    elif not path.exists() or path.stat().st_size < n:
        raise FileNotFoundError(f"overwrite layout needs {path} with at least {n} bytes written first")
    t0 = time.perf_counter()
    fd = os.open(path, flags, 0o644)
    try:
        if layout == "fallocate":
            os.posix_fallocate(fd, 0, n)
        reqs = (Request(o, [(base + o % m, min(size, n - o))], src) for o in range(0, n, size))
        posix.run(backend, "write", fd, reqs, queue_depth, ring)
        os.fsync(fd)
        seconds = time.perf_counter() - t0
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return seconds


def precondition(path: Path, nbytes: int) -> None:
    """Write ``nbytes`` of zeros to ``path`` and fsync (so later overwrites find allocated blocks)."""
    block = np.zeros(16 * MiB, np.uint8)
    with open(path, "wb") as f:
        f.writelines(memoryview(block)[:min(block.nbytes, nbytes - o)] for o in range(0, nbytes, block.nbytes))
        f.flush()
        os.fsync(f.fileno())


def disk_limit(directory: Path, total: int = 1 * GiB, block: int = 16 * MiB, queue_depth: int = 4,
               repeats: int = 3, layout: str = "new") -> dict:
    """The physical write limit: large aligned O_DIRECT writes (io_uring QD4 when available) into a new
    file + fsync (``layout="overwrite"``: into an existing file, the device alone), median GB/s.

    Falls back to buffered writes + fsync (and says so) where O_DIRECT is refused.
    """
    direct, why = posix.o_direct_support(directory)
    be = "uring" if uring.availability()[0] else "threads"
    src = posix.aligned_buffer(min(total, 256 * MiB) // block * block or block)
    src[:] = 0x5A
    path = Path(directory) / ".disk-limit.bin"
    times = []
    try:
        if layout == "overwrite":
            precondition(path, total)
        for _ in range(repeats):
            times.append(write_pattern(path, src, block, direct=direct, backend=be, queue_depth=queue_depth,
                                       layout=layout, total=total))
    finally:
        path.unlink(missing_ok=True)
    t = float(np.median(times))
    return {"gbps": total / t / 1e9, "seconds": t, "bytes": total, "direct": direct, "backend": be,
            "block": block, "queue_depth": queue_depth, "layout": layout, "note": why}
