"""Our checkpoint engine: one file per rank, tensors coalesced into block-aligned regions, written as
few large requests (io_uring or POSIX), crash-safe (temporary name, fsync, rename, fsync directory),
restored by header offsets into zero-copy NumPy / torch views, with random access to one tensor.

Write strategies (``coalesce``):

* ``"stage"`` - file-system-aware aggregation: the data region is cut into ``chunk_bytes`` pieces, each
  staged (memcpy, the stand-in for the GPU-to-pinned-host copy) into a page-aligned buffer and written
  with one request; works with O_DIRECT. Buffers come from a preallocated pool reused across saves.
* ``"iovec"`` - coalescing without a copy: each request is a ``writev`` of tensor memory plus zero
  padding (buffered I/O only: tensor memory is not page-aligned).
* ``"per-tensor"`` - uncoalesced: one request per tensor (the "small-buffer" pattern); with O_DIRECT
  each tensor is staged into its own aligned buffer first.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from support.ckpt_io import format as F
from support.ckpt_io import posix, uring
from support.ckpt_io.uring import Request
from support.validate import check_int, is_int

MiB = 1 << 20
COALESCE = ("stage", "iovec", "per-tensor")


@dataclass
class SaveStats:
    path: str
    n_tensors: int
    tensor_bytes: int
    file_size: int
    requests: int
    seconds: float
    backend: str
    direct: bool
    alignment: int
    coalesce: str
    chunk_bytes: int
    queue_depth: int
    checksum: str
    metadata_ops: int = 0  # create + rename, plus file and directory fsync when fsync=True

    @property
    def gbps(self) -> float:
        return self.tensor_bytes / self.seconds / 1e9 if self.seconds > 0 else float("nan")

    def as_dict(self) -> dict:
        return asdict(self) | {"gbps": self.gbps}


# ------------------------------------------------------------------------------------------ choices
_ENV_CACHE: dict[str, tuple[bool, int | None]] = {}


def direct_capability(directory: str | os.PathLike) -> tuple[bool, int | None]:
    """(O_DIRECT works in this directory, smallest legal alignment), probed once per directory."""
    d = os.path.realpath(directory)
    if d not in _ENV_CACHE:
        ok, _ = posix.o_direct_support(d)
        _ENV_CACHE[d] = (ok, posix.min_direct_alignment(d) if ok else None)
    return _ENV_CACHE[d]


def resolve_backend(backend: str, queue_depth: int) -> str:
    if backend == "auto":
        if uring.availability()[0]:
            return "uring"
        return "threads" if queue_depth > 1 else "pwrite"
    if backend not in posix.BACKENDS:
        raise F.CheckpointError(f"backend must be auto or one of {', '.join(posix.BACKENDS)}; got {backend!r}")
    if backend == "uring":
        ok, why = uring.availability()
        if not ok:
            raise F.CheckpointError(f"io_uring requested but unavailable: {why}")
    return backend


def resolve_direct(direct: bool | str, directory: Path, alignment: int) -> bool:
    ok, min_align = direct_capability(directory)
    if direct == "auto":
        return bool(ok and alignment >= (min_align or 1 << 62))
    if direct is True:
        if not ok:
            raise F.CheckpointError(f"O_DIRECT requested but {directory} does not support it "
                                    f"({posix.fs_type(directory)}); use direct='auto' or False")
        if alignment < min_align:
            raise F.CheckpointError(f"O_DIRECT needs alignment >= {min_align} B here; got {alignment} B")
        return True
    if direct is False:
        return False
    raise F.CheckpointError(f"direct must be True, False or 'auto'; got {direct!r}")


# ------------------------------------------------------------------------------------------ staging
class StagingPool:
    """Preallocated page-aligned buffers (the pinned host pool of a GPU engine), reused across saves."""

    _pools: ClassVar[dict[tuple[int, int], StagingPool]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, size: int, count: int):
        self.size, self.count = size, count
        # a save holds the pool for its whole write: two saves staging into the same buffers at once each wrote
        # the other's bytes under their own checksums, and the corrupt file replaced the good one
        self.lease = threading.Lock()
        self.buffers = [posix.aligned_buffer(size) for _ in range(count)]
        for b in self.buffers:  # fault pages in once, outside any timed write
            b[:] = 0

    @classmethod
    def get(cls, size: int, count: int) -> StagingPool:
        with cls._lock:
            key = (size, count)
            if key not in cls._pools:
                cls._pools[key] = StagingPool(size, count)
            return cls._pools[key]

    @classmethod
    def clear(cls) -> None:
        with cls._lock:
            cls._pools.clear()


class _Writer:
    """Produces write requests for one layout and computes the checksums on the way."""

    def __init__(self, layout: F.Layout, flats: list[np.ndarray], algo: str, hook: Callable[[int], None] | None):
        self.layout, self.flats, self.algo, self.hook = layout, flats, algo, hook
        self.crcs = [0] * len(flats)
        self.requests = 0

    def _tick(self):
        self.requests += 1
        if self.hook:
            self.hook(self.requests)

    def staged(self, chunk: int, pool: StagingPool) -> Iterator[Request]:
        L = self.layout
        free = list(pool.buffers)
        entries, i, n = L.entries, 0, len(L.entries)
        for cstart in range(L.data_start, L.data_end, chunk):
            cend = min(cstart + chunk, L.data_end)
            if not free:
                raise RuntimeError("staging pool exhausted (queue depth larger than the pool)")
            buf = free.pop()
            pos = cstart
            while i < n and entries[i].offset < cend:
                e = entries[i]
                s, t = max(e.offset, cstart), min(e.offset + e.nbytes, cend)
                if s > pos:
                    buf[pos - cstart:s - cstart] = 0
                if t > s:
                    piece = self.flats[i][s - e.offset:t - e.offset]
                    buf[s - cstart:t - cstart] = piece
                    self.crcs[i] = F.checksum(piece, self.crcs[i], self.algo)
                pos = max(pos, t)
                if e.offset + e.nbytes <= cend:
                    i += 1
                else:
                    break
            if pos < cend:
                buf[pos - cstart:cend - cstart] = 0
            self._tick()
            yield Request(cstart, [(posix.address(buf), cend - cstart)], buf, on_done=lambda b=buf: free.append(b))

    def iovec(self, chunk: int, zeros: np.ndarray) -> Iterator[Request]:
        L = self.layout
        segs: list[tuple[int, int]] = []
        start = pos = L.data_start
        keep: list[Any] = [zeros]
        for e, flat in zip(L.entries, self.flats):
            if e.offset > pos:
                segs.append((posix.address(zeros), e.offset - pos))
            pos = e.offset
            if e.nbytes:
                segs.append((posix.address(flat), e.nbytes))
                keep.append(flat)
            pos += e.nbytes
            if pos - start >= chunk or len(segs) >= posix.IOV_MAX - 2:
                self._tick()
                yield Request(start, segs, keep)
                segs, start, keep = [], pos, [zeros]
        if L.data_end > pos:
            segs.append((posix.address(zeros), L.data_end - pos))
        if segs:
            self._tick()
            yield Request(start, segs, keep)

    def per_tensor(self, direct: bool, pool: StagingPool | None) -> Iterator[Request]:
        """One request per tensor (O_DIRECT: staged into aligned pool buffers, a tensor larger than a
        buffer as several buffer-sized requests)."""
        L = self.layout
        free = list(pool.buffers) if pool else []
        for k, (e, flat) in enumerate(zip(L.entries, self.flats)):
            if not e.nbytes:
                continue
            if not direct:
                self._tick()
                yield Request(e.offset, [(posix.address(flat), e.nbytes)], flat)
                continue
            self.crcs[k] = F.checksum(flat, 0, self.algo)
            n = F.align_up(e.nbytes, L.alignment)
            for s in range(0, n, pool.size):
                m = min(pool.size, n - s)
                if not free:
                    raise RuntimeError("staging pool exhausted (queue depth larger than the pool)")
                buf = free.pop()
                d = max(0, min(m, e.nbytes - s))
                buf[:d] = flat[s:s + d]
                buf[d:m] = 0
                self._tick()
                yield Request(e.offset + s, [(posix.address(buf), m)], buf, on_done=lambda b=buf: free.append(b))

    def finish_checksums(self) -> None:
        """Checksums of the tensors a zero-copy path did not touch on the CPU."""
        for k, flat in enumerate(self.flats):
            self.crcs[k] = F.checksum(flat, 0, self.algo)


def _flatten(tensors: Mapping[str, Any]) -> tuple[list[tuple[str, str, list[int], int]], list[np.ndarray]]:
    if not isinstance(tensors, Mapping):
        raise F.CheckpointError(f"expected a mapping key -> tensor, got {type(tensors).__name__}")
    items, flats = [], []
    for key, x in tensors.items():
        try:
            flat, dtype, shape = F.as_bytes(x)
        except F.CheckpointError as e:
            raise F.CheckpointError(f"tensor {key!r}: {e}") from None
        items.append((key, dtype, shape, flat.nbytes))
        flats.append(flat)
    return items, flats


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


# ------------------------------------------------------------------------------------------ save
def save(path: str | os.PathLike, tensors: Mapping[str, Any], *, alignment: int | str = "4KiB",
         backend: str = "auto", direct: bool | str = "auto", coalesce: str = "auto", chunk_bytes: int = 16 * MiB,
         queue_depth: int = 4, meta: dict | None = None, checksum: str = F.DEFAULT_CHECKSUM,
         fsync: bool = True, _on_request: Callable[[int], None] | None = None) -> SaveStats:
    """Write ``tensors`` (key -> CPU torch.Tensor / numpy array) to one checkpoint file at ``path``.

    The file appears atomically: it is written under a temporary name in the same directory, fsynced,
    renamed over ``path`` and the directory fsynced; a crash leaves the previous file intact.
    """
    t0 = time.perf_counter()
    path = Path(path)
    if not path.parent.is_dir():
        raise F.CheckpointError(f"directory {str(path.parent)!r} does not exist")
    align = F.parse_alignment(alignment)
    if not is_int(chunk_bytes) or chunk_bytes < align or chunk_bytes % max(align, 1):
        raise F.CheckpointError(f"chunk_bytes must be a positive multiple of the alignment ({align} B); "
                                f"got {chunk_bytes!r}")
    chunk_bytes = int(chunk_bytes)
    queue_depth = check_int(queue_depth, "queue_depth", minimum=1, error=F.CheckpointError)
    F.checksum(b"", 0, checksum)
    use_direct = resolve_direct(direct, path.parent, align)
    be = resolve_backend(backend, queue_depth)
    mode = ("stage" if use_direct else "iovec") if coalesce == "auto" else coalesce
    if mode not in COALESCE:
        raise F.CheckpointError(f"coalesce must be auto or one of {', '.join(COALESCE)}; got {coalesce!r}")
    if mode == "iovec" and use_direct:
        raise F.CheckpointError("coalesce='iovec' writes from tensor memory, which O_DIRECT cannot use; "
                                "use 'stage' or direct=False")
    items, flats = _flatten(tensors)
    layout = F.plan(items, align)
    w = _Writer(layout, flats, checksum, _on_request)

    qd = queue_depth
    pool = None
    if mode == "stage" or (mode == "per-tensor" and use_direct):
        size = chunk_bytes
        count = min(qd, max(2, (256 * MiB) // size)) + 1
        qd = count - 1
        pool = StagingPool.get(size, count)

    tmp = _tmp_name(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | (os.O_DIRECT if use_direct else 0)
    with pool.lease if pool is not None else contextlib.nullcontext():
        file_size = _write_file(tmp, flags, be, qd, mode, use_direct, chunk_bytes, pool, w, layout, align,
                                checksum, meta, fsync)
    try:
        os.replace(tmp, path)
    except BaseException:  # e.g. the path is a directory: the full temporary copy must not stay behind
        tmp.unlink(missing_ok=True)
        raise
    if fsync:
        posix.fsync_dir(path.parent)
    return SaveStats(str(path), len(items), sum(f.nbytes for f in flats), file_size, w.requests + 2,
                     time.perf_counter() - t0, be, use_direct, align, mode, chunk_bytes, qd, checksum,
                     metadata_ops=4 if fsync else 2)


def _write_file(tmp: Path, flags: int, be: str, qd: int, mode: str, use_direct: bool, chunk_bytes: int,
                pool: StagingPool | None, w: _Writer, layout: F.Layout, align: int, checksum: str, meta,
                fsync: bool) -> int:
    """Write the whole checkpoint to ``tmp`` (data, header, superblock last; fsync if asked); its file size. On any
    error the file this call created is removed."""
    # the ring first: if its setup fails (ENOMEM, a locked-memory limit) no temporary file or fd exists yet
    ring = uring.Ring(max(2, qd)) if be == "uring" else None
    fd = -1
    try:
        fd = os.open(tmp, flags, 0o644)
        if mode == "stage":
            reqs = w.staged(chunk_bytes, pool)
        elif mode == "iovec":
            w.finish_checksums()
            reqs = w.iovec(chunk_bytes, np.zeros(align, np.uint8))
        else:
            if not use_direct:
                w.finish_checksums()
            reqs = w.per_tensor(use_direct, pool)
        posix.run(be, "write", fd, reqs, qd, ring)
        # header region, then the superblock block (written last; it points at the header)
        entries = [F.Entry(e.key, e.dtype, e.shape, e.offset, e.nbytes, c) for e, c in zip(layout.entries, w.crcs)]
        header = F.header_bytes(entries, align, checksum, meta)
        hoff = layout.header_offset
        file_size = F.align_up(hoff + len(header), align)
        tail = posix.aligned_buffer(file_size - hoff)
        tail[:len(header)] = np.frombuffer(header, np.uint8)
        top = posix.aligned_buffer(layout.data_start)
        top[:F.SUPERBLOCK] = np.frombuffer(F.superblock(align, layout.data_start, hoff, header, file_size), np.uint8)
        fin = [Request(hoff, [(posix.address(tail), tail.nbytes)], tail), Request(0, [(posix.address(top), top.nbytes)], top)]
        posix.run(be, "write", fd, fin, 2, ring)
        if fsync:
            os.fsync(fd)
    except BaseException:
        if fd >= 0:  # only a file this call created is removed
            os.close(fd)
            tmp.unlink(missing_ok=True)
        if ring:
            ring.close()
        raise
    os.close(fd)
    if ring:
        ring.close()
    return file_size


# ------------------------------------------------------------------------------------------ read
def read_header(path: str | os.PathLike) -> F.Header:
    """Parse only the superblock and the JSON header (two small reads; no tensor data)."""
    path = Path(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        sb = f.read(F.SUPERBLOCK)
        _, _, hoff, hlen, _, _ = F.parse_superblock(sb, str(path))
        if size < hoff + hlen:
            raise F.CheckpointCorruptError(f"{path}: truncated: file has {size} bytes, the header ends at "
                                           f"{hoff + hlen}")
        f.seek(hoff)
        header = f.read(hlen)
    return F.parse_header(sb, header, size, str(path))


class Checkpoint(Mapping[str, np.ndarray]):
    """A loaded checkpoint: one aligned buffer and zero-copy views into it, by header offsets."""

    def __init__(self, path: str, header: F.Header, buffer: np.ndarray, base: int):
        self.path, self.header, self.buffer, self._base = path, header, buffer, base

    def raw(self, key: str) -> np.ndarray:
        e = self.header.entry(key)
        return self.buffer[e.offset - self._base:e.offset - self._base + e.nbytes]

    def __getitem__(self, key: str) -> np.ndarray:
        """A NumPy view (bfloat16 shows its raw uint16 bits; use :meth:`torch` for the real dtype)."""
        e = self.header.entry(key)
        return self.raw(key).view(F.numpy_dtype(e.dtype)).reshape(e.shape)

    def __iter__(self):
        return iter(self.header.entries)

    def __len__(self) -> int:
        return len(self.header.entries)

    def torch(self, key: str):
        """A torch tensor sharing memory with the loaded buffer (no copy)."""
        return _to_torch(self.raw(key), self.header.entry(key))

    def to_torch(self) -> dict:
        return {k: self.torch(k) for k in self}

    @property
    def meta(self) -> dict:
        return self.header.meta


def _to_torch(raw: np.ndarray, e: F.Entry):
    import torch

    dt = getattr(torch, e.dtype)
    if e.nbytes == 0:
        return torch.empty(e.shape, dtype=dt)
    return torch.frombuffer(raw, dtype=dt).reshape(e.shape)


def load(path: str | os.PathLike, *, backend: str = "auto", direct: bool | str = "auto",
         chunk_bytes: int = 16 * MiB, queue_depth: int = 4, verify: bool = True) -> Checkpoint:
    """Read a checkpoint with few large requests into one page-aligned buffer; verify every checksum.

    The buffer is leased from :data:`posix.RESTORE_POOL` and returns there when the last view of it is
    gone, so repeated restores reuse already-mapped host memory.

    A truncated, torn or bit-flipped file raises :class:`~support.ckpt_io.format.CheckpointCorruptError`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {str(path)!r}")
    queue_depth = check_int(queue_depth, "queue_depth", minimum=1, error=F.CheckpointError)
    chunk_bytes = check_int(chunk_bytes, "chunk_bytes", minimum=1, error=F.CheckpointError)  # rounded up to the alignment
    h = read_header(path)
    use_direct = resolve_direct(direct, path.parent, h.alignment)
    be = resolve_backend(backend, queue_depth)
    n = h.header_offset - h.data_start
    buf = posix.RESTORE_POOL.lease(n)
    chunk = max(chunk_bytes // max(h.alignment, 1), 1) * max(h.alignment, 1)
    reqs = (Request(h.data_start + o, [(posix.address(buf) + o, min(chunk, n - o))], buf) for o in range(0, n, chunk))
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECT if use_direct else 0))
    try:
        posix.run(be, "read", fd, reqs, queue_depth)
    except EOFError as e:
        raise F.CheckpointCorruptError(f"{path}: truncated: {e}") from None
    finally:
        os.close(fd)
    ck = Checkpoint(str(path), h, buf, h.data_start)
    if verify:
        for k, e in h.entries.items():
            F.verify(e, ck.raw(k), h.checksum, str(path))
    return ck


def read_tensor(path: str | os.PathLike, key: str, *, as_torch: bool = False, verify: bool = True):
    """Random access: read one tensor (header + its own region only) and check its checksum."""
    h = read_header(path)
    e = h.entry(key)
    raw = np.empty(e.nbytes, np.uint8)
    with open(path, "rb", buffering=0) as f:
        try:  # loop over short reads (one read(2) moves at most 2 GiB - 4 KiB on Linux)
            posix.run_sync("read", f.fileno(), [Request(e.offset, [(posix.address(raw), e.nbytes)], raw)])
        except EOFError:
            raise F.CheckpointCorruptError(f"{path}: truncated inside tensor {key!r}") from None
    if verify:
        F.verify(e, raw, h.checksum, str(path))
    return _to_torch(raw, e) if as_torch else raw.view(F.numpy_dtype(e.dtype)).reshape(e.shape)


# ------------------------------------------------------------------------------------------ buckets
def save_buckets(directory: str | os.PathLike, tensors: Mapping[str, Any], bucket_bytes: int, **kw) -> dict:
    """Aggregation granularity: group tensors (in order) into files of about ``bucket_bytes`` each
    (0 = one file per tensor) in a new or empty ``directory``. Returns files written and the metadata
    operations :func:`save` performed (per file: create, rename, and with ``fsync`` the file's and the
    directory's fsync).

    A directory that already holds anything is refused: a re-save with fewer buckets would leave stale
    bucket files that :func:`load_buckets` would read back.
    """
    bucket_bytes = check_int(bucket_bytes, "bucket_bytes", minimum=0, error=F.CheckpointError)
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    held = sorted(x.name for x in d.iterdir())
    if held:
        raise F.CheckpointError(f"save_buckets needs an empty directory: {str(d)!r} holds {len(held)} entries "
                                f"(first {held[0]!r}); stale buckets would be read back by load_buckets")
    groups: list[dict] = [{}]
    size = 0
    for k, v in tensors.items():
        nb = F.as_bytes(v)[0].nbytes
        if groups[-1] and (bucket_bytes == 0 or size + nb > bucket_bytes):
            groups.append({})
            size = 0
        groups[-1][k] = v
        size += nb
    t0 = time.perf_counter()
    files = []
    ops = 0
    for i, g in enumerate(groups):
        p = d / f"bucket-{i:06d}.ckpt"
        ops += save(p, g, **kw).metadata_ops
        files.append(p)
    secs = time.perf_counter() - t0
    return {"files": len(files), "paths": files, "seconds": secs, "metadata_ops": ops}


def load_buckets(directory: str | os.PathLike, **kw) -> dict:
    """Every tensor of the ``bucket-*.ckpt`` files in ``directory`` (key -> torch tensor).

    A key found in two files raises :class:`~support.ckpt_io.format.CheckpointError`: which one is current
    cannot be told, so no silent merge.
    """
    out: dict = {}
    source: dict[str, Path] = {}
    for p in sorted(Path(directory).glob("bucket-*.ckpt")):
        ck = load(p, **kw)
        for k in ck:
            if k in source:
                raise F.CheckpointError(f"tensor {k!r} is in both {str(source[k])!r} and {str(p)!r}")
            source[k] = p
            out[k] = ck.torch(k)
    return out
