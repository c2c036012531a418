"""Our own small io_uring binding: ``io_uring_setup``/``io_uring_enter`` through ctypes, mmap'd rings.

No liburing is needed. The SQ ring, CQ ring and SQE array are mapped with :mod:`mmap`; SQEs are
filled with ``struct.pack_into`` (64-byte layout of ``<linux/io_uring.h>``). Buffers are passed by
address, so writes go straight from NumPy / torch memory (zero copy) and O_DIRECT works from
page-aligned staging buffers. :meth:`Ring.run` keeps up to ``queue_depth`` requests in flight and
**resubmits short transfers** for the remainder (the kernel may complete a write partially).

Memory ordering: the kernel reads the SQ tail inside ``io_uring_enter`` (a full barrier) and we read
the CQ tail after ``io_uring_enter`` returns, so plain loads/stores suffice (no SQPOLL is used).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import mmap
import os
import platform
import struct
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Self

# Syscall numbers: 425/426 on every architecture that uses the generic table (x86-64, arm64, riscv).
SYS_IO_URING_SETUP = 425
SYS_IO_URING_ENTER = 426

IORING_OFF_SQ_RING = 0
IORING_OFF_CQ_RING = 0x8000000
IORING_OFF_SQES = 0x10000000
IORING_FEAT_SINGLE_MMAP = 1 << 0
IORING_ENTER_GETEVENTS = 1 << 0

OP_READV, OP_WRITEV, OP_FSYNC = 1, 2, 3
OP_READ, OP_WRITE = 22, 23

_SQE = struct.Struct("<BBHiQQIIQ")  # opcode, flags, ioprio, fd, off, addr, len, rw_flags, user_data (40 B)
_CQE = struct.Struct("<QiI")  # user_data, res, flags (16 B)
_U32 = struct.Struct("<I")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _IoVec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


def _syscall(*args: int) -> int:
    r = _libc.syscall(*[ctypes.c_long(a) for a in args])
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def io_uring_disabled_sysctl() -> int | None:
    """``/proc/sys/kernel/io_uring_disabled`` (0 enabled, 1 privileged only, 2 off); None if absent."""
    try:
        with open("/proc/sys/kernel/io_uring_disabled") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def availability() -> tuple[bool, str]:
    """Whether io_uring can be used here, and why not when it cannot (never raises)."""
    if platform.system() != "Linux":
        return False, f"io_uring is Linux-only (this is {platform.system()})"
    if platform.machine() not in ("x86_64", "aarch64", "riscv64"):
        return False, f"syscall numbers not verified on {platform.machine()}"
    sysctl = io_uring_disabled_sysctl()
    if sysctl == 2:
        return False, "kernel.io_uring_disabled = 2 (io_uring switched off)"
    try:
        Ring(2).close()
    except OSError as e:
        why = {errno.ENOSYS: "kernel without io_uring (ENOSYS)", errno.EPERM: "io_uring not permitted (EPERM)"}
        extra = f"; kernel.io_uring_disabled = {sysctl}" if sysctl else ""
        return False, why.get(e.errno, f"io_uring_setup failed: {e}") + extra
    return True, f"raw io_uring via syscalls (kernel {platform.release()}, io_uring_disabled={sysctl})"


@dataclass
class Request:
    """One transfer: ``segs`` (address, length) pairs laid out back to back starting at file ``offset``.

    ``keep`` holds whatever owns the memory until completion; ``on_done`` runs after the whole
    request (all resubmissions) completed.
    """

    offset: int
    segs: list[tuple[int, int]]
    keep: Any = None
    on_done: Callable[[], None] | None = None
    nbytes: int = field(init=False)

    def __post_init__(self):
        self.nbytes = sum(n for _, n in self.segs)

    def advance(self, done: int) -> Request:
        """The rest of this request after ``done`` bytes were transferred."""
        segs, skip = [], done
        for a, n in self.segs:
            if skip >= n:
                skip -= n
                continue
            segs.append((a + skip, n - skip))
            skip = 0
        return Request(self.offset + done, segs, self.keep, self.on_done)


class Ring:
    """A minimal io_uring instance: setup, mmap'd rings, SQE filling, submit-and-reap.

    ``clamp`` is a testing aid: when set, each SQE transfers at most that many bytes, so a request
    completes short and the resubmission path is exercised against the real kernel.
    """

    def __init__(self, entries: int = 128, clamp: int | None = None):
        entries = 1 << max(0, int(entries) - 1).bit_length()
        params = bytearray(120)
        self.fd = _syscall(SYS_IO_URING_SETUP, entries, ctypes.addressof(ctypes.c_char.from_buffer(params)))
        self.clamp = clamp
        try:
            (self.sq_entries, self.cq_entries, _flags, _cpu, _idle, self.features) = struct.unpack_from("<6I", params, 0)
            sq = struct.unpack_from("<7I", params, 40)  # head tail mask entries flags dropped array
            cq = struct.unpack_from("<6I", params, 80)  # head tail mask entries overflow cqes
            self._sq_head, self._sq_tail, sq_mask, _, _, _, self._sq_array = sq
            self._cq_head, self._cq_tail, cq_mask, _, _, self._cqes = cq
            sq_size = self._sq_array + self.sq_entries * 4
            cq_size = self._cqes + self.cq_entries * _CQE.size
            prot = mmap.PROT_READ | mmap.PROT_WRITE
            flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
            if self.features & IORING_FEAT_SINGLE_MMAP:
                size = max(sq_size, cq_size)
                self.sq_ring = mmap.mmap(self.fd, size, flags, prot, offset=IORING_OFF_SQ_RING)
                self.cq_ring = self.sq_ring
            else:
                self.sq_ring = mmap.mmap(self.fd, sq_size, flags, prot, offset=IORING_OFF_SQ_RING)
                self.cq_ring = mmap.mmap(self.fd, cq_size, flags, prot, offset=IORING_OFF_CQ_RING)
            self.sqes = mmap.mmap(self.fd, self.sq_entries * 64, flags, prot, offset=IORING_OFF_SQES)
            self.sq_mask = _U32.unpack_from(self.sq_ring, sq_mask)[0]
            self.cq_mask = _U32.unpack_from(self.cq_ring, cq_mask)[0]
        except Exception:
            os.close(self.fd)
            raise
        self._pending = 0  # SQEs queued but not yet passed to io_uring_enter
        self._iovecs: dict[int, Any] = {}

    # ------------------------------------------------------------------ low level
    def close(self) -> None:
        if self.fd < 0:
            return
        for m in {id(self.sq_ring): self.sq_ring, id(self.cq_ring): self.cq_ring, id(self.sqes): self.sqes}.values():
            m.close()
        os.close(self.fd)
        self.fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):  # pragma: no cover - best effort
        with contextlib.suppress(Exception):
            self.close()

    def prep(self, opcode: int, fd: int, addr: int, length: int, offset: int, user_data: int) -> None:
        """Fill the next free SQE and publish it in the SQ array (submitted by :meth:`enter`)."""
        tail = _U32.unpack_from(self.sq_ring, self._sq_tail)[0]
        head = _U32.unpack_from(self.sq_ring, self._sq_head)[0]
        if (tail - head) & 0xFFFFFFFF >= self.sq_entries:
            raise RuntimeError("submission queue full")
        idx = tail & self.sq_mask
        base = idx * 64
        self.sqes[base:base + 64] = bytes(64)
        _SQE.pack_into(self.sqes, base, opcode, 0, 0, fd, offset, addr, length, 0, user_data)
        _U32.pack_into(self.sq_ring, self._sq_array + 4 * idx, idx)
        _U32.pack_into(self.sq_ring, self._sq_tail, (tail + 1) & 0xFFFFFFFF)
        self._pending += 1

    def enter(self, min_complete: int = 0) -> int:
        """Submit the queued SQEs and optionally wait for ``min_complete`` completions."""
        flags = IORING_ENTER_GETEVENTS if min_complete else 0
        while True:
            try:
                n = _syscall(SYS_IO_URING_ENTER, self.fd, self._pending, min_complete, flags, 0, 0)
            except InterruptedError:
                continue
            except OSError as e:
                if e.errno in (errno.EINTR, errno.EAGAIN, errno.EBUSY):
                    continue
                raise
            self._pending -= n
            return n

    def reap(self) -> list[tuple[int, int]]:
        """All available completions as (user_data, res)."""
        head = _U32.unpack_from(self.cq_ring, self._cq_head)[0]
        tail = _U32.unpack_from(self.cq_ring, self._cq_tail)[0]
        out = []
        while head != tail:
            ud, res, _ = _CQE.unpack_from(self.cq_ring, self._cqes + (head & self.cq_mask) * _CQE.size)
            out.append((ud, res))
            head = (head + 1) & 0xFFFFFFFF
        _U32.pack_into(self.cq_ring, self._cq_head, head)
        return out

    # ------------------------------------------------------------------ requests
    def _prep_request(self, op: str, fd: int, req: Request, ud: int) -> None:
        if len(req.segs) == 1:
            addr, n = req.segs[0]
            if self.clamp:
                n = min(n, self.clamp)
            self.prep(OP_WRITE if op == "write" else OP_READ, fd, addr, n, req.offset, ud)
        else:
            segs = req.segs
            if self.clamp:  # keep only the first ``clamp`` bytes
                segs, left = [], self.clamp
                for a, n in req.segs:
                    if left <= 0:
                        break
                    segs.append((a, min(n, left)))
                    left -= n
            iov = (_IoVec * len(segs))(*[_IoVec(a, n) for a, n in segs])
            self._iovecs[ud] = iov
            self.prep(OP_WRITEV if op == "write" else OP_READV, fd, ctypes.addressof(iov), len(segs), req.offset, ud)

    def run(self, op: str, fd: int, requests: Iterable[Request], queue_depth: int = 32) -> int:
        """Execute ``requests`` (``op`` = "write" or "read") with at most ``queue_depth`` in flight.

        Short transfers are resubmitted for the remainder; a negative result raises ``OSError``
        with the kernel's errno; a read that returns 0 before the request is complete raises
        ``EOFError`` (the file is shorter than expected). Returns the bytes transferred.
        """
        if op not in ("write", "read"):
            raise ValueError(f"op must be 'write' or 'read', got {op!r}")
        qd = max(1, min(int(queue_depth), self.sq_entries))
        it: Iterator[Request] = iter(requests)
        inflight: dict[int, Request] = {}
        retry: deque[Request] = deque()
        next_ud, total, exhausted = 1, 0, False
        try:
            while True:
                while len(inflight) < qd:
                    if retry:
                        req = retry.popleft()
                    elif not exhausted:
                        req = next(it, None)
                        if req is None:
                            exhausted = True
                            continue
                        if req.nbytes == 0:
                            if req.on_done:
                                req.on_done()
                            continue
                    else:
                        break
                    self._prep_request(op, fd, req, next_ud)
                    inflight[next_ud] = req
                    next_ud += 1
                if not inflight:
                    return total
                self.enter(min_complete=1)
                # take every reaped completion out of ``inflight`` first: if one of them raises, the
                # others are already consumed from the CQ and must not be waited for again
                reaped = [(res, inflight.pop(ud), self._iovecs.pop(ud, None)) for ud, res in self.reap()]
                for res, req, _iov in reaped:
                    if res < 0:
                        if -res in (errno.EAGAIN, errno.EINTR):
                            retry.append(req)
                            continue
                        raise OSError(-res, f"io_uring {op} of {req.nbytes} B at offset {req.offset}: "
                                            f"{os.strerror(-res)}")
                    if res == 0 and op == "read":
                        raise EOFError(f"io_uring read hit end of file at offset {req.offset} "
                                       f"({req.nbytes} B still expected)")
                    if res == 0:
                        raise OSError(errno.EIO, f"io_uring write made no progress at offset {req.offset}")
                    total += res
                    if res < req.nbytes:
                        retry.append(req.advance(res))  # short transfer: resubmit the rest
                    elif req.on_done:
                        req.on_done()
        finally:
            if inflight:  # an error: drain what the kernel still owns before buffers go away
                while inflight:
                    try:
                        self.enter(min_complete=1)
                    except OSError:
                        break
                    for ud, _ in self.reap():
                        inflight.pop(ud, None)
                        self._iovecs.pop(ud, None)

    def fsync(self, fd: int) -> None:
        """fsync through the ring (IORING_OP_FSYNC)."""
        self.prep(OP_FSYNC, fd, 0, 0, 0, 0)
        self.enter(min_complete=1)
        for _, res in self.reap():
            if res < 0:
                raise OSError(-res, f"io_uring fsync: {os.strerror(-res)}")
