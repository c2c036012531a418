"""The slice of CuPy that our GPU drivers use, backed by the CPU emulator: a dry run of device-only code.

The drivers' timing, tuning, build selection and CUDA-graph code only runs on a CUDA device, where a Python slip
would cost a scarce GPU session. With this module standing in for ``cupy`` that control flow runs on the CPU:
``RawModule`` compiles with :class:`EmuModule`, device arrays are NumPy arrays, streams and events keep host
time, and a stream capture records the launches and replays them on ``Graph.launch``. It is faithful where
mistakes are likely and cheap to check: a capture must be joined back (as in CUDA, a forked stream left
unjoined fails ``end_capture``), a kernel launched while its stream is capturing is recorded, not run, and
shared memory above 48 KiB needs the kernel's opt-in attribute. Timings are host seconds of the emulator and
mean nothing about a GPU.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from support.cuda_emu.emulator import EmuModule

ndarray = np.ndarray
uint8, uint32, uint64, int32, int64, float16, float32 = (np.uint8, np.uint32, np.uint64, np.int32, np.int64,
                                                         np.float16, np.float32)
__version__ = "emulated"
_DEFAULT_SMEM = 48 * 1024


def asarray(a, dtype=None) -> np.ndarray:
    """A host-to-"device" copy (C-contiguous, as CuPy's is)."""
    return np.array(a, dtype=dtype, copy=True, order="C")


def zeros(shape, dtype=float) -> np.ndarray:
    return np.zeros(shape, dtype)


class CaptureError(RuntimeError):
    """A stream capture used the way CUDA refuses (unjoined fork, capture ended twice, ...)."""


class _Capture:
    """The launches recorded by one stream capture and the streams that joined it."""

    def __init__(self, origin: Stream):
        self.origin, self.calls, self.forked = origin, [], {}  # forked: stream -> launched since its last join


_CURRENT: list = []  # the stack of ``with stream:`` blocks (one host thread drives the stand-in device)


class Stream:
    """A stream as a context manager (the current stream inside ``with``) that can capture a graph."""

    def __init__(self, non_blocking: bool = False):
        self.capture: _Capture | None = None

    def __enter__(self):
        _CURRENT.append(self)
        return self

    def __exit__(self, *exc):
        _CURRENT.pop()
        return False

    def begin_capture(self) -> None:
        if self.capture is not None:
            raise CaptureError("the stream is already capturing")
        self.capture = _Capture(self)

    def end_capture(self) -> Graph:
        cap = self.capture
        if cap is None or cap.origin is not self:
            raise CaptureError("end_capture on a stream that did not begin the capture")
        unjoined = [s for s, open_ in cap.forked.items() if open_]
        for s in (self, *cap.forked):
            s.capture = None
        if unjoined:
            raise CaptureError(f"{len(unjoined)} forked stream(s) were not joined back into the capture "
                               "(cudaErrorStreamCaptureUnjoined)")
        return Graph(cap.calls)

    def wait_event(self, event: Event) -> None:
        cap = event.capture
        if cap is not None:
            if self is cap.origin:
                if event.stream is not None and event.stream in cap.forked:
                    cap.forked[event.stream] = False  # joined: everything it launched is ordered before
            else:
                self.capture = cap
                cap.forked.setdefault(self, False)

    def synchronize(self) -> None:
        if self.capture is not None:
            raise CaptureError("synchronize on a capturing stream (cudaErrorStreamCaptureUnsupported)")


def _current_stream() -> Stream | None:
    return _CURRENT[-1] if _CURRENT else None


class Event:
    def __init__(self, disable_timing: bool = False):
        self.t = None
        self.stream = None
        self.capture = None

    def record(self, stream: Stream | None = None) -> None:
        stream = stream if stream is not None else _current_stream()
        self.stream, self.capture = stream, stream.capture if stream is not None else None
        self.t = time.perf_counter()

    def synchronize(self) -> None:
        if self.t is None:
            raise RuntimeError("event synchronized before it was recorded")


def get_elapsed_time(start: Event, end: Event) -> float:
    """Milliseconds between two recorded events (host time of the emulator)."""
    return (end.t - start.t) * 1e3


class Graph:
    """The launches of one capture, replayed in order on ``launch``."""

    def __init__(self, calls):
        self.calls = list(calls)

    def upload(self, stream: Stream | None = None) -> None:
        pass

    def launch(self, stream: Stream | None = None) -> None:
        for kernel, grid, block, args, shared_mem in self.calls:
            kernel._run(grid, block, args, shared_mem)


class _Kernel:
    """A launchable kernel: runs at once, or is recorded when the current stream is capturing."""

    def __init__(self, kernel):
        self._k = kernel
        self.max_dynamic_shared_size_bytes = 0

    def __call__(self, grid, block, args, shared_mem: int = 0) -> None:
        if shared_mem > max(_DEFAULT_SMEM, self.max_dynamic_shared_size_bytes):
            raise RuntimeError(f"{self._k.name}: {shared_mem} bytes of dynamic shared memory need the kernel's "
                               "max_dynamic_shared_size_bytes opt-in (cudaErrorInvalidValue)")
        s = _current_stream()
        if s is not None and s.capture is not None:
            s.capture.calls.append((self, grid, block, tuple(args), shared_mem))
            if s in s.capture.forked:
                s.capture.forked[s] = True  # launched on a forked stream: must join again before end_capture
            return
        self._run(grid, block, args, shared_mem)

    def _run(self, grid, block, args, shared_mem) -> None:
        self._k(grid, block, args, shared_mem=shared_mem)


class RawModule:
    """``RawModule(code=..., options=...)`` or ``RawModule(path=...)`` (a ``.cu`` source for the emulator)."""

    def __init__(self, code: str | None = None, path: str | Path | None = None, options=(), backend: str = "nvrtc"):
        self._m = EmuModule(code=code, path=path, options=options)

    def get_function(self, name: str) -> _Kernel:
        return _Kernel(self._m.get_function(name))


class _Device:
    def __init__(self, device_id: int = 0):
        self.id = device_id
        self.compute_capability = "90"
        self.attributes = {"MaxSharedMemoryPerBlockOptin": 227 * 1024}

    def synchronize(self) -> None:
        pass


runtime = SimpleNamespace(getDeviceCount=lambda: 1,
                          getDeviceProperties=lambda i: {"name": b"CUDA emulator (support.cuda_emu.cupy_stub)"})
cuda = SimpleNamespace(Device=_Device, Stream=Stream, Event=Event, Graph=Graph, get_elapsed_time=get_elapsed_time,
                       runtime=runtime)
random = SimpleNamespace(seed=lambda s: None)
