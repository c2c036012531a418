"""Run our CUDA C kernels on the CPU: the same ``.cu`` source, compiled by the host C++ compiler against a
small header that emulates the CUDA execution model (``include/cuda_emu.h``).

Why: the GPU papers (08 PackKV, 13 HERO-Sign) keep a NumPy path and CuPy kernels that must compute the same thing.
Without a GPU the kernels would only be compile-checked; here their logic (indexing, shared-memory tiling,
barriers, atomics) runs against the NumPy oracle in CI. Blocks run one after another; each thread of a block is a
fiber of the header's C++ launcher, suspended at ``__syncthreads()`` until the whole block has arrived, so the
barrier is real, without an OS thread per CUDA thread (1024-thread blocks stay cheap). A barrier one thread never
reaches fails the launch with a named timeout. A *missing* barrier is subtler: each thread runs uninterrupted from
one barrier to the next, so a race shows only when the schedule runs the reader before the writer it needed.
Threads start in index order by default and resume after a barrier in the order they reached it;
:func:`thread_order` (or ``order=`` per launch) switches to reverse index order or a seeded shuffle. Index order
hides a lower thread writing what a higher one reads, reverse order the opposite, so kernel tests should pass in
both; a race within one phase (unsynchronised read-modify-writes of one cell) is never seen. Warps, timing and
memory coalescing are not emulated: this checks correctness, never performance.

Launches run in this process (ctypes), so a kernel that crashes could kill it, and with it a whole pytest run: a
missing barrier in reverse order typically reads an index or pointer from shared memory that was never written and
dereferences it. Instead, while a launch runs, the header's launcher catches SIGSEGV, SIGBUS, SIGFPE and SIGILL
raised by kernel code, abandons the block and the launch, and the call raises :class:`EmulationError` naming the
kernel, the thread, the block and the signal; the handlers the process had (pytest's faulthandler) are back in place
after every launch, and a fault outside kernel code still goes to them. This costs a few system calls per launch.
Rejected: a forked child per launch (milliseconds per launch, and the arrays the kernel writes are this process's
memory, so they would have to be copied out and back) and poison-filling shared memory (a poisoned index crashes
just the same, and a null pointer already does). Limits: a stray write that does not fault (into this process's
own memory) is not caught, a crash inside a library call that holds a lock (``printf``) may deadlock the next one,
and a launch that crashed leaves its arrays partly written. Each CUDA thread's 256 KiB stack has an inaccessible page
below it, and kernels are compiled with stack probing, so a thread whose locals overflow it crashes by name too.

The interface mirrors CuPy's ``RawModule`` / ``RawKernel`` call (``kernel(grid, block, args, shared_mem=)``)
with NumPy arrays in place of device arrays.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

INCLUDE_DIR = Path(__file__).resolve().parent / "include"
_KERNEL = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?(\w+)\s*\(')
_EXTERN_SHARED = re.compile(r"extern\s+__shared__\s+(?:__align__\(\d+\)\s+)?([\w ]+?)\s+(\w+)\s*\[\s*\]\s*;")
_SCALARS = {np.dtype(np.int32): ctypes.c_int32, np.dtype(np.uint32): ctypes.c_uint32,
            np.dtype(np.int64): ctypes.c_int64, np.dtype(np.uint64): ctypes.c_uint64,
            np.dtype(np.float32): ctypes.c_float, np.dtype(np.float64): ctypes.c_double,
            np.dtype(np.int16): ctypes.c_int16, np.dtype(np.uint16): ctypes.c_uint16,
            np.dtype(np.int8): ctypes.c_int8, np.dtype(np.uint8): ctypes.c_uint8}


_LAUNCH = threading.Lock()  # one launch at a time in the process: each installs process-wide signal handlers
ORDERS = ("forward", "reverse", "shuffle")  # the thread schedules of a block (see the module docstring)
_DEFAULT_ORDER: list = ["forward", 0]  # (order, seed) of launches that name none; set by thread_order()


class EmulationError(RuntimeError):
    """The kernel could not be built or run under the emulator."""


def compiler() -> str | None:
    """The host C++ compiler used for emulation (``$CXX``, else g++ or clang++), or None."""
    for c in (os.environ.get("CXX"), "g++", "clang++"):
        if c and shutil.which(c):
            return shutil.which(c)
    return None


def _cache_dir() -> Path:
    d = Path(os.environ.get("PAPER_REPRO_CUDA_EMU_CACHE", Path(tempfile.gettempdir()) / "paper_repro_cuda_emu"))
    d.mkdir(parents=True, exist_ok=True)
    return d


# -fstack-clash-protection: every page of a large stack frame is touched in order, so a CUDA thread whose locals
# overflow its fiber stack hits the guard page below it (a named crash) instead of writing over other memory
_CXX_FLAGS = ("-std=c++20", "-O1", "-g0", "-fPIC", "-pthread", "-w", "-fstack-clash-protection")


def _precompiled_header(cxx: str, header: str) -> list[str]:
    """``-I`` of a folder holding ``cuda_emu.h.gch`` (GCC only; ``[]`` otherwise or if it cannot be built), built once
    per compiler and header: the C++ standard headers it includes are most of the time of compiling a kernel."""
    if "g++" not in Path(cxx).name:
        return []
    key = hashlib.sha256("\0".join([header, cxx, *_CXX_FLAGS]).encode()).hexdigest()[:20]
    folder = _cache_dir() / f"pch_{key}"
    if not (folder / "cuda_emu.h.gch").exists():
        tmp = Path(tempfile.mkdtemp(prefix="pch_", dir=_cache_dir()))
        (tmp / "cuda_emu.h").write_text((INCLUDE_DIR / "cuda_emu.h").read_text())
        r = subprocess.run([cxx, *_CXX_FLAGS, "-x", "c++-header", str(tmp / "cuda_emu.h"), "-o",
                            str(tmp / "cuda_emu.h.gch")], capture_output=True, text=True, check=False)
        try:
            if r.returncode != 0:
                return []
            os.replace(tmp, folder)  # atomic; a concurrent build that got there first wins
        except OSError:
            pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return [f"-I{folder}"] if (folder / "cuda_emu.h.gch").exists() else []


def _host_source(code: str) -> str:
    """Rewrite what the header cannot express: ``extern __shared__ T name[];`` (dynamic shared memory)
    becomes a pointer into the launch's dynamic shared buffer. Each kernel gets a trampoline for the C++
    launcher (``emu_tramp_<name>``: arguments from an array of addresses) and its argument count."""
    host = _EXTERN_SHARED.sub(lambda m: f"{m.group(1)}* const {m.group(2)} = ({m.group(1)}*)emu_dynamic_smem;",
                              code)
    tramps = "".join(f'extern "C" void emu_tramp_{k}(void** a) {{ emu::invoke(&{k}, a); }}\n'
                     f'extern "C" int emu_nargs_{k}() {{ return emu::arity(&{k}); }}\n'
                     for k in dict.fromkeys(_KERNEL.findall(code)))
    return host + "\n" + tramps


class EmuModule:
    """A ``.cu`` source compiled for the CPU; ``get_function(name)`` gives a launchable kernel.

    ``options`` takes ``-D``/``-I`` flags as for NVRTC; other flags (``--std=...``) are ignored.
    """

    def __init__(self, code: str | None = None, path: str | Path | None = None, options: Sequence[str] = ()):
        if (code is None) == (path is None):
            raise ValueError("give exactly one of code= or path=")
        src = Path(path).read_text() if path is not None else code
        cxx = compiler()
        if cxx is None:
            raise EmulationError("no host C++ compiler (g++ or clang++) found; set $CXX")
        flags = [o for o in options if o.startswith(("-D", "-I"))]
        if path is not None:
            flags.append(f"-I{Path(path).resolve().parent}")
        host = _host_source(src)
        header = (INCLUDE_DIR / "cuda_emu.h").read_text() + (INCLUDE_DIR / "cuda_fp16.h").read_text()
        key = hashlib.sha256("\0".join([host, header, cxx, *flags]).encode()).hexdigest()[:20]
        lib = _cache_dir() / f"emu_{key}.so"
        if not lib.exists():
            with tempfile.TemporaryDirectory() as td:
                cpp = Path(td) / "kernel.cpp"
                cpp.write_text(host)
                tmp = Path(td) / "kernel.so"
                cmd = [cxx, *_CXX_FLAGS, "-shared", *_precompiled_header(cxx, header), f"-I{INCLUDE_DIR}",
                       "-include", "cuda_emu.h", *flags, str(cpp), "-o", str(tmp)]
                r = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if r.returncode != 0:
                    raise EmulationError(f"host compile failed ({' '.join(cmd[:3])} ...):\n{r.stderr[-4000:]}")
                os.replace(tmp, lib)  # atomic: a concurrent test never loads a half-written library
        self._lib = ctypes.CDLL(str(lib))  # dlopen: the same source gives the same library (and block state)

    def get_function(self, name: str) -> EmuKernel:
        try:
            tramp = getattr(self._lib, f"emu_tramp_{name}")
        except AttributeError:
            raise EmulationError(f"kernel {name!r} not found (is it declared extern \"C\" __global__ void?)") from None
        return EmuKernel(self, name, ctypes.cast(tramp, ctypes.c_void_p), getattr(self._lib, f"emu_nargs_{name}")())


def _check_order(order: str, seed: int) -> tuple[int, int]:
    """The launcher's (mode, seed) for ``order`` and ``seed``; ValueError naming a bad one."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}; got {order!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2 ** 64:
        raise ValueError(f"seed must be an integer in [0, 2**64); got {seed!r}")
    return ORDERS.index(order), int(seed)


@contextmanager
def thread_order(order: str, seed: int = 0) -> Iterator[None]:
    """Launches inside the block (that name no ``order``) run a block's threads in ``order``: ``"forward"`` (index
    order, the default), ``"reverse"`` or ``"shuffle"`` (seeded by ``seed``, reshuffled at every barrier): how a
    test shows the races a single order hides. Process-wide, not per thread."""
    _check_order(order, seed)
    before = list(_DEFAULT_ORDER)
    _DEFAULT_ORDER[:] = [order, seed]
    try:
        yield
    finally:
        _DEFAULT_ORDER[:] = before


def _dims(d) -> tuple[int, int, int]:
    t = (d,) if np.isscalar(d) else tuple(d)
    if not 1 <= len(t) <= 3 or any(int(v) < 1 for v in t):
        raise ValueError(f"grid/block dimensions must be 1-3 positive integers, got {d!r}")
    return tuple(int(v) for v in t) + (1,) * (3 - len(t))


def _arg(a):
    if isinstance(a, np.ndarray):
        if not a.flags.c_contiguous:
            raise ValueError("array arguments must be C-contiguous (as device arrays are)")
        return ctypes.c_void_p(a.ctypes.data)
    if isinstance(a, np.generic) and a.dtype in _SCALARS:
        return _SCALARS[a.dtype](a.item())
    raise TypeError(f"kernel arguments must be NumPy arrays or NumPy scalars (np.int32(...), ...), got "
                    f"{type(a).__name__}: a plain Python number has no C type")


def _crash_message(kernel: str, order: str, block: tuple, thread: tuple, sig: int, addr: int) -> str:
    """What a launch that crashed reports: where, which signal, and the likely causes (so the failing test names
    the kernel instead of killing the run)."""
    what = {signal.SIGSEGV: f"an invalid memory access at {addr:#x}", signal.SIGBUS: f"a bus error at {addr:#x}",
            signal.SIGFPE: "an arithmetic fault, e.g. an integer division by zero",
            signal.SIGILL: "an illegal instruction (a trap)"}.get(sig, "a fatal signal")
    return (f"{kernel}: the emulated launch crashed ({signal.Signals(sig).name}: {what}) in thread {thread} of block "
            f"{block}, in {order} thread order. Look for a missing __syncthreads() (a thread read shared memory "
            "before the thread that writes it ran, e.g. an index or a pointer) or an out-of-bounds index")


class EmuKernel:
    """One kernel; ``kernel(grid, block, args, shared_mem=0, timeout=30.0, order=None, seed=0)`` runs it to
    completion (``order``: the thread schedule, see :func:`thread_order`; None: the current default)."""

    def __init__(self, module: EmuModule, name: str, tramp: ctypes.c_void_p, nargs: int):
        self.module, self.name, self._tramp, self.nargs = module, name, tramp, nargs

    def __call__(self, grid, block, args, shared_mem: int = 0, timeout: float = 30.0, order: str | None = None,
                 seed: int = 0) -> None:
        """The whole launch runs in the header's C++ launcher (``emu_run``), with no Python between blocks."""
        mode, seed = _check_order(*(_DEFAULT_ORDER if order is None else (order, seed)))
        g, b = _dims(grid), _dims(block)
        n_threads = b[0] * b[1] * b[2]
        if n_threads > 1024:
            raise ValueError(f"a block has at most 1024 threads, got {n_threads}")
        if len(args) != self.nargs:
            raise TypeError(f"{self.name} takes {self.nargs} arguments, got {len(args)}")
        cargs = [_arg(a) for a in args]
        ptrs = (ctypes.c_void_p * max(len(cargs), 1))(*[ctypes.addressof(a) for a in cargs])
        smem = np.zeros(max(int(shared_mem), 1) + 16, np.uint8)
        lib, block = self.module._lib, (ctypes.c_uint * 3)()
        with _LAUNCH:
            lib.emu_set_grid(*(ctypes.c_uint(v) for v in (*g, *b)))
            lib.emu_set_smem(ctypes.c_void_p((smem.ctypes.data + 15) & ~15))
            lib.emu_set_order(ctypes.c_int(mode), ctypes.c_ulonglong(seed))
            status = lib.emu_run(self._tramp, ptrs, ctypes.c_double(timeout), block)
            if status == 3:
                thread, addr = (ctypes.c_uint * 3)(), ctypes.c_ulonglong()
                sig = lib.emu_fault(thread, ctypes.byref(addr))
        at = tuple(block)
        if status == 3:
            order = ORDERS[mode] + (f" (seed {seed})" if ORDERS[mode] == "shuffle" else "")
            raise EmulationError(_crash_message(self.name, order, at, tuple(thread), sig, addr.value))
        if status == 1:
            raise EmulationError(f"{self.name}: block {at}: __syncthreads() waited over {timeout} s (some thread of "
                                 "the block never reached it)")
        if status == 2:
            raise EmulationError(f"{self.name}: block {at} made no progress for {2 * timeout} s (a thread spins or "
                                 "waits forever); the process should be restarted")
