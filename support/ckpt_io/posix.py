"""POSIX I/O paths and what the machine supports: ``pwrite`` (QD1), ``pwritev`` (iovec coalescing),
a thread pool of ``pwrite`` (queue depth by threads), page-aligned buffers, O_DIRECT detection
(tmpfs and others may refuse it), io_uring detection, and ``posix_fadvise(DONTNEED)``.

The runners take the same :class:`~support.ckpt_io.uring.Request` objects as the io_uring ring, so
the engine chooses a backend by name and every path writes identical bytes.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import platform
import tempfile
import threading
import weakref
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from support.ckpt_io import uring
from support.ckpt_io.uring import Request

PAGE = mmap.PAGESIZE
IOV_MAX = os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024
BACKENDS = ("uring", "pwrite", "pwritev", "threads")


# ------------------------------------------------------------------------------------------ buffers
def aligned_buffer(nbytes: int) -> np.ndarray:
    """A zero-filled, page-aligned uint8 array backed by an anonymous mmap (O_DIRECT-legal)."""
    n = max(PAGE, -(-int(nbytes) // PAGE) * PAGE)
    m = mmap.mmap(-1, n, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return np.frombuffer(m, dtype=np.uint8)[:nbytes] if nbytes else np.frombuffer(m, dtype=np.uint8)[:0]


class BufferPool:
    """Page-aligned host buffers handed out as leases and taken back when the last view dies.

    A restore reads into a leased buffer; NumPy / torch views keep the lease alive; once they are
    gone the mapping returns to the pool, so the next restore reuses memory whose pages are already
    faulted in (what a preallocated pinned pool does for a GPU engine). ``max_cached`` bounds the
    memory kept for reuse.
    """

    GRAIN = 2 << 20

    def __init__(self, max_cached: int = 4 << 30):
        self.max_cached = max_cached
        self._free: list[mmap.mmap] = []
        self._lock = threading.Lock()

    def lease(self, nbytes: int) -> np.ndarray:
        n = max(self.GRAIN, -(-int(nbytes) // self.GRAIN) * self.GRAIN)
        with self._lock:
            fits = [m for m in self._free if len(m) >= n]
            m = min(fits, key=len) if fits else None
            if m is not None:
                self._free.remove(m)
        if m is None:
            m = mmap.mmap(-1, n, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        holder = (ctypes.c_char * len(m)).from_buffer(m)
        weakref.finalize(holder, self._give_back, m)
        return np.frombuffer(holder, dtype=np.uint8)[:nbytes]

    def _give_back(self, m: mmap.mmap) -> None:
        with self._lock:
            if sum(len(x) for x in self._free) + len(m) <= self.max_cached:
                self._free.append(m)

    def clear(self) -> None:
        with self._lock:
            self._free.clear()

    @property
    def cached_bytes(self) -> int:
        return sum(len(x) for x in self._free)


RESTORE_POOL = BufferPool()


def address(arr: np.ndarray) -> int:
    return arr.__array_interface__["data"][0]


def _view(addr: int, n: int):
    return (ctypes.c_char * n).from_address(addr)


# ------------------------------------------------------------------------------------------ runners
def _pwrite_full(fd: int, req: Request) -> int:
    """pwrite one request completely (loop over short writes)."""
    done = 0
    while done < req.nbytes:
        r = req.advance(done) if done else req
        a, n = r.segs[0]
        w = os.pwrite(fd, _view(a, n), r.offset)
        if w == 0:
            raise OSError(errno.EIO, f"pwrite made no progress at offset {r.offset}")
        done += w
    return done


def _pread_full(fd: int, req: Request) -> int:
    done = 0
    while done < req.nbytes:
        r = req.advance(done) if done else req
        a, n = r.segs[0]
        got = os.preadv(fd, [memoryview(_view(a, n)).cast("B")], r.offset)
        if got == 0:
            raise EOFError(f"read hit end of file at offset {r.offset} ({r.nbytes} B still expected)")
        done += got
    return done


def _one(op: str, fd: int, req: Request) -> int:
    # a single segment goes through plain pwrite/pread: the QD1 POSIX baseline the paper measures
    if op == "write":
        n = _pwrite_full(fd, req) if len(req.segs) == 1 else _pwritev_full(fd, req)
    else:
        n = _pread_full(fd, req) if len(req.segs) == 1 else _preadv_full(fd, req)
    if req.on_done:
        req.on_done()
    return n


def _pwritev_full(fd: int, req: Request) -> int:
    done = 0
    while done < req.nbytes:
        r = req.advance(done) if done else req
        w = os.pwritev(fd, [_view(a, n) for a, n in r.segs[:IOV_MAX]], r.offset)
        if w == 0:
            raise OSError(errno.EIO, f"pwritev made no progress at offset {r.offset}")
        done += w
    return done


def _preadv_full(fd: int, req: Request) -> int:
    done = 0
    while done < req.nbytes:
        r = req.advance(done) if done else req
        got = os.preadv(fd, [memoryview(_view(a, n)).cast("B") for a, n in r.segs[:IOV_MAX]], r.offset)
        if got == 0:
            raise EOFError(f"read hit end of file at offset {r.offset} ({r.nbytes} B still expected)")
        done += got
    return done


def run_sync(op: str, fd: int, requests: Iterable[Request]) -> int:
    """QD1: one ``pwrite``/``pwritev`` (or read) after the other."""
    return sum(_one(op, fd, r) for r in requests)


def run_pwritev(op: str, fd: int, requests: Iterable[Request], max_batch: int = 1 << 30) -> int:
    """Coalesce consecutive requests (at most ``max_batch``, up to IOV_MAX segments) into one
    ``pwritev``/``preadv`` each."""
    total, batch = 0, []

    def flush():
        nonlocal total, batch
        if batch:
            segs = [s for r in batch for s in r.segs]
            total += _one(op, fd, Request(batch[0].offset, segs))
            for r in batch:
                if r.on_done:
                    r.on_done()
            batch = []

    for r in requests:
        contiguous = batch and batch[-1].offset + batch[-1].nbytes == r.offset
        if batch and (not contiguous or len(batch) >= max_batch
                      or sum(len(b.segs) for b in batch) + len(r.segs) > IOV_MAX):
            flush()
        batch.append(r)
    flush()
    return total


def run_threads(op: str, fd: int, requests: Iterable[Request], workers: int = 4) -> int:
    """A thread pool of ``pwrite``s (threads release the GIL): queue depth = ``workers``."""
    total = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as ex:
        pending = set()
        for r in requests:
            if len(pending) >= workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                total += sum(f.result() for f in done)
            pending.add(ex.submit(_one, op, fd, r))
        done, _ = wait(pending)
        total += sum(f.result() for f in done)
    return total


def run(backend: str, op: str, fd: int, requests: Iterable[Request], queue_depth: int = 1,
        ring: uring.Ring | None = None) -> int:
    """Execute requests with ``backend`` in {uring, pwrite, pwritev, threads}; ``queue_depth`` is the
    ring depth, the thread count, or the number of requests one ``pwritev`` coalesces."""
    if backend == "uring":
        if ring is not None:
            return ring.run(op, fd, requests, queue_depth)
        with uring.Ring(max(queue_depth, 2)) as r:
            return r.run(op, fd, requests, queue_depth)
    if backend == "pwrite":
        return run_sync(op, fd, requests)
    if backend == "pwritev":
        return run_pwritev(op, fd, requests, queue_depth)
    if backend == "threads":
        return run_threads(op, fd, requests, queue_depth)
    raise ValueError(f"unknown I/O backend {backend!r}; choose one of {', '.join(BACKENDS)}")


# ------------------------------------------------------------------------------------------ caches
def drop_cache(path_or_fd) -> None:
    """Ask the kernel to drop this file's clean pages (posix_fadvise DONTNEED; no root needed)."""
    if isinstance(path_or_fd, int):
        os.posix_fadvise(path_or_fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return
    fd = os.open(path_or_fd, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def fsync_dir(path: str | os.PathLike) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------------------ detection
def fs_type(path: str | os.PathLike) -> str:
    """File-system type of the mount holding ``path`` (longest mount-point prefix in /proc/mounts)."""
    p = os.path.realpath(path)
    best, kind = "", "unknown"
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    mnt = parts[1].replace("\\040", " ")
                    if (p == mnt or p.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                        best, kind = mnt, parts[2]
    except OSError:
        pass
    return kind


def o_direct_support(directory: str | os.PathLike, block: int = 4096) -> tuple[bool, str]:
    """Try an aligned O_DIRECT write of ``block`` bytes in ``directory``; (supported, reason)."""
    if not hasattr(os, "O_DIRECT"):
        return False, "this platform has no O_DIRECT"
    fd, probe = tempfile.mkstemp(prefix=".odirect-probe-", dir=directory)
    os.close(fd)
    try:
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_DIRECT)
        except OSError as e:
            return False, f"open(O_DIRECT) refused on {fs_type(directory)}: {e.strerror}"
        try:
            os.pwrite(fd, aligned_buffer(block), 0)
        except OSError as e:
            return False, f"O_DIRECT write refused on {fs_type(directory)}: {e.strerror}"
        finally:
            os.close(fd)
        return True, f"O_DIRECT works on {fs_type(directory)}"
    finally:
        os.unlink(probe)


def min_direct_alignment(directory: str | os.PathLike) -> int | None:
    """The smallest power-of-two size (512 .. 4096) an O_DIRECT write accepts here; None if none."""
    if not o_direct_support(directory)[0]:
        return None
    fd, probe = tempfile.mkstemp(prefix=".odirect-probe-", dir=directory)
    os.close(fd)
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_DIRECT)
        try:
            buf = aligned_buffer(4096)
            for size in (512, 1024, 2048, 4096):
                try:
                    os.pwrite(fd, buf[:size], size)
                    return size
                except OSError:
                    continue
        finally:
            os.close(fd)
    finally:
        os.unlink(probe)
    return 4096


@dataclass(frozen=True)
class Environment:
    """What the target directory and kernel allow, and why (shown in the notebook)."""

    directory: str
    fs_type: str
    fs_block: int
    o_direct: bool
    o_direct_reason: str
    direct_alignment: int | None
    io_uring: bool
    io_uring_reason: str
    io_uring_disabled_sysctl: int | None
    kernel: str
    free_bytes: int

    def as_dict(self) -> dict:
        return asdict(self)


def detect(directory: str | os.PathLike) -> Environment:
    """Probe ``directory`` and the kernel: O_DIRECT, its alignment, io_uring; never raises for a no."""
    d = Path(directory)
    if not d.is_dir():
        raise FileNotFoundError(f"checkpoint directory {str(d)!r} does not exist")
    od, why = o_direct_support(d)
    ur, uwhy = uring.availability()
    st = os.statvfs(d)
    return Environment(str(d), fs_type(d), st.f_bsize, od, why, min_direct_alignment(d) if od else None, ur, uwhy,
                       uring.io_uring_disabled_sysctl(), platform.release(), st.f_bavail * st.f_frsize)
