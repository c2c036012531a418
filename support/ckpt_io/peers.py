"""The checkpoint engines we compare against, behind one interface: ``save(tensors, directory)`` and
``load(directory, like) -> dict``. Durability (fsync, inside the timed region) and cache dropping
(after it) are added by :mod:`support.ckpt_io.measure`, identically for every engine.

* ``torch.save`` / ``torch.load`` (zip container, CRC-32 per record);
* ``safetensors`` (8-byte length + JSON header + packed data, no alignment);
* ``torchsnapshot`` (one object per tensor, asynchronous, chunked) when importable;
* torch distributed checkpoint (DCP), single process without a process group;
* **DataStates-style**: the public engine of the paper's group (DataStates-LLM) needs CUDA, so it is
  re-implemented here from its description: one aggregated file per rank, each tensor copied into a
  preallocated 64 MiB host chunk (the pinned buffer) and written with ``pwrite`` at its block-aligned
  offset, JSON header at the end, 8-byte header offset at the top, one ``fsync``;
* **ours**: :func:`support.ckpt_io.engine.save` (aggregated, 4 KiB aligned, io_uring, O_DIRECT when the
  file system allows it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from support.ckpt_io import engine, posix
from support.ckpt_io.uring import Request

MiB = 1 << 20


@dataclass
class Peer:
    name: str
    save: Callable[[dict, Path], None]
    load: Callable[[Path, dict], dict]
    note: str = ""
    available: bool = True
    reason: str = ""
    options: dict[str, Any] = field(default_factory=dict)


def _empty_like(like: dict) -> dict:
    import torch

    return {k: torch.empty_like(v) for k, v in like.items()}


# ------------------------------------------------------------------------------------------ torch
def _torch_save(tensors: dict, d: Path) -> None:
    import torch

    torch.save(tensors, d / "model.pt")


def _torch_load(d: Path, like: dict) -> dict:
    import torch

    return torch.load(d / "model.pt", weights_only=True, mmap=False)


def _st_save(tensors: dict, d: Path) -> None:
    from safetensors.torch import save_file

    save_file(tensors, str(d / "model.safetensors"))


def _st_load(d: Path, like: dict) -> dict:
    from safetensors.torch import load_file

    return load_file(str(d / "model.safetensors"))


def _snap_save(tensors: dict, d: Path) -> None:
    with warnings.catch_warnings():  # torchsnapshot's own import (torch.jit.script, deprecated) and calls warn
        warnings.simplefilter("ignore")
        from torchsnapshot import Snapshot, StateDict

        Snapshot.take(path=str(d / "snapshot"), app_state={"model": StateDict(tensors)})


def _snap_load(d: Path, like: dict) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torchsnapshot import Snapshot, StateDict

        out = StateDict(_empty_like(like))
        Snapshot(path=str(d / "snapshot")).restore(app_state={"model": out})
    return dict(out)


def _dcp_save(tensors: dict, d: Path) -> None:
    import torch.distributed.checkpoint as dcp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dcp.save(tensors, checkpoint_id=str(d / "dcp"))


def _dcp_load(d: Path, like: dict) -> dict:
    import torch.distributed.checkpoint as dcp

    out = _empty_like(like)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dcp.load(out, checkpoint_id=str(d / "dcp"))
    return out


# ------------------------------------------------------------------------------------------ DataStates-style
class DataStatesStyle:
    """Aggregated single file written tensor by tensor through a 64 MiB host chunk with ``pwrite``.

    Layout as in DataStates-LLM's ``state_manager``: first offset ``max(align, 8)``; each tensor at
    the current offset, then ``offset = align_up(offset + nbytes, align)``; JSON header
    ``{key: {shape, dtype, offsets: [start, end]}}`` at the end; its offset in the first 8 bytes.
    ``direct=True`` opens the file with O_DIRECT (the host chunk is page-aligned and every write is
    padded to the alignment, as the engine's aligned pool allows).
    """

    def __init__(self, chunk: int = 64 * MiB, align: int = 4096, direct: bool = False):
        self.chunk, self.align, self.direct = chunk, align, direct
        self._host: np.ndarray | None = None

    def host(self) -> np.ndarray:
        if self._host is None:  # preallocated once, like the pinned host pool
            self._host = posix.aligned_buffer(self.chunk)
            self._host[:] = 0
        return self._host

    def save(self, tensors: dict, d: Path) -> None:
        from support.ckpt_io.format import align_up, as_bytes

        host, path, a = self.host(), d / "rank-0-aggregated-datastates.ckpt", self.align
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (os.O_DIRECT if self.direct else 0), 0o644)
        try:
            off, index = max(a, 8), {}
            for k, t in tensors.items():
                flat, dtype, shape = as_bytes(t)
                index[k] = {"shape": shape, "dtype": dtype, "offsets": [off, off + flat.nbytes]}
                for s in range(0, flat.nbytes, self.chunk):  # D2H copy into the pinned chunk, then pwrite
                    n = min(self.chunk, flat.nbytes - s)
                    host[:n] = flat[s:s + n]
                    m = align_up(n, a) if self.direct else n
                    host[n:m] = 0
                    posix.run_sync("write", fd, [Request(off + s, [(posix.address(host), m)], host)])
                off = align_up(off + flat.nbytes, a)
            header = json.dumps(index).encode()
            tail = align_up(len(header), a)
            for s in range(0, tail, self.chunk):
                piece = header[s:s + self.chunk]
                host[:len(piece)] = np.frombuffer(piece, np.uint8)
                m = min(self.chunk, tail - s)
                host[len(piece):m] = 0
                posix.run_sync("write", fd, [Request(off + s, [(posix.address(host), m)], host)])
            host[:a] = 0
            host[:8] = np.frombuffer(struct.pack("<Q", off), np.uint8)
            posix.run_sync("write", fd, [Request(0, [(posix.address(host), a if self.direct else 8)], host)])
            os.fsync(fd)
        finally:
            os.close(fd)

    def load(self, d: Path, like: dict) -> dict:
        import torch

        path = d / "rank-0-aggregated-datastates.ckpt"
        out = {}
        with open(path, "rb", buffering=0) as f:
            (hoff,) = struct.unpack("<Q", f.read(8))
            f.seek(hoff)
            raw = f.read()
            index = json.loads(raw.rstrip(b"\0"))
            for k, e in index.items():
                s, t = e["offsets"]
                dt = getattr(torch, e["dtype"])
                x = torch.empty(e["shape"], dtype=dt)
                if t > s:  # pread until complete (a short read is legal; EOFError at end of file)
                    a = x.reshape(-1).view(torch.uint8).numpy()
                    posix.run_sync("read", f.fileno(), [Request(s, [(posix.address(a), t - s)], a)])
                out[k] = x
        return out


# ------------------------------------------------------------------------------------------ ours
def ours_label(options: Mapping[str, Any] | None = None) -> str:
    """The name our engine runs under with these :func:`ours` options: their ``label``, else "ours" (T1's subject,
    whose failure end_to_end re-raises)."""
    return (options or {}).get("label", "ours")


def ours(**options) -> Peer:
    """Our engine with ``options`` passed to :func:`engine.save` (alignment, backend, direct, ...)."""
    save_kw = {k: v for k, v in options.items() if k != "label"}
    load_kw = {k: v for k, v in save_kw.items() if k in ("backend", "direct", "chunk_bytes", "queue_depth")}

    def s(tensors: dict, d: Path) -> None:
        engine.save(d / "rank0.ckpt", tensors, **save_kw)

    def ld(d: Path, like: dict) -> dict:
        return engine.load(d / "rank0.ckpt", **load_kw).to_torch()

    return Peer(ours_label(options), s, ld, "aggregated, aligned, raw io_uring", options=save_kw)


def torchsnapshot_status() -> tuple[bool, str]:
    if importlib.util.find_spec("torchsnapshot") is None:
        return False, "torchsnapshot is not installed"
    try:
        with warnings.catch_warnings():  # its own module-level torch.jit.script, deprecated in torch 2.13
            warnings.simplefilter("ignore", DeprecationWarning)
            import torchsnapshot  # noqa: F401
    except Exception as e:  # noqa: BLE001 # pragma: no cover - any import failure means "not available"
        return False, f"torchsnapshot does not import: {e}"
    return True, "torchsnapshot " + getattr(__import__("torchsnapshot"), "__version__", "?")


def all_peers(include: tuple[str, ...] | None = None, ours_options: dict | None = None) -> list[Peer]:
    """Every engine of the end-to-end table (torchsnapshot marked unavailable with the reason)."""
    ds, ds_direct = DataStatesStyle(), DataStatesStyle(direct=True)
    ok, why = torchsnapshot_status()
    peers = [Peer("torch.save", _torch_save, _torch_load, "zip container"),
             Peer("safetensors", _st_save, _st_load, "header + packed data"),
             Peer("torchsnapshot", _snap_save, _snap_load, "object per tensor, async", ok, why),
             Peer("torch DCP", _dcp_save, _dcp_load, "single process, no process group"),
             Peer("DataStates-style", ds.save, ds.load, "aggregated file, 64 MiB host chunk, pwrite (stand-in)"),
             Peer("DataStates-style O_DIRECT", ds_direct.save, ds_direct.load,
                  "the same with O_DIRECT (aligned host chunk)"),
             ours(**(ours_options or {}))]
    if include is not None:
        unknown = set(include) - {p.name for p in peers}
        if unknown:
            raise ValueError(f"unknown engines {sorted(unknown)}; known: {', '.join(p.name for p in peers)}")
        peers = [p for p in peers if p.name in include]
    return peers


def bitwise_equal(a: dict, b: dict) -> bool:
    """Same keys, dtypes, shapes and bytes (NaN-safe: compares raw bits)."""
    import torch

    if set(a) != set(b):
        return False
    for k, x in a.items():
        y = b[k]
        if x.dtype != y.dtype or tuple(x.shape) != tuple(y.shape):
            return False
        if x.numel() and not torch.equal(x.contiguous().reshape(-1).view(torch.uint8),
                                         y.contiguous().reshape(-1).view(torch.uint8)):
            return False
    return True
