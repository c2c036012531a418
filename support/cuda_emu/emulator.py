"""Run our CUDA C kernels on the CPU: the same ``.cu`` source, compiled by the host C++ compiler against a
small header that emulates the CUDA execution model (``include/cuda_emu.h``).

Why: the GPU papers (08 PackKV, 13 HERO-Sign) keep a NumPy path and CuPy kernels that must compute the same
thing. Without a GPU the kernels would only be compile-checked; here their logic (indexing, shared-memory
tiling, barriers, atomics) runs against the NumPy oracle in CI. Blocks run one after another; the threads of
a block run as real OS threads, so ``__syncthreads()`` is a real barrier and a missing one shows up as a race
or a named barrier timeout. Warps, timing and memory coalescing are not emulated: this checks correctness,
never performance.

The interface mirrors CuPy's ``RawModule`` / ``RawKernel`` call (``kernel(grid, block, args, shared_mem=)``)
with NumPy arrays in place of device arrays.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

INCLUDE_DIR = Path(__file__).resolve().parent / "include"
_EXTERN_SHARED = re.compile(r"extern\s+__shared__\s+(?:__align__\(\d+\)\s+)?([\w ]+?)\s+(\w+)\s*\[\s*\]\s*;")
_SCALARS = {np.dtype(np.int32): ctypes.c_int32, np.dtype(np.uint32): ctypes.c_uint32,
            np.dtype(np.int64): ctypes.c_int64, np.dtype(np.uint64): ctypes.c_uint64,
            np.dtype(np.float32): ctypes.c_float, np.dtype(np.float64): ctypes.c_double,
            np.dtype(np.int16): ctypes.c_int16, np.dtype(np.uint16): ctypes.c_uint16,
            np.dtype(np.int8): ctypes.c_int8, np.dtype(np.uint8): ctypes.c_uint8}


_LOCKS: dict[str, threading.Lock] = {}


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


def _host_source(code: str) -> str:
    """Rewrite what the header cannot express: ``extern __shared__ T name[];`` (dynamic shared memory)
    becomes a pointer into the launch's dynamic shared buffer."""
    return _EXTERN_SHARED.sub(lambda m: f"{m.group(1)}* const {m.group(2)} = ({m.group(1)}*)emu_dynamic_smem;",
                              code)


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
                cmd = [cxx, "-std=c++20", "-O1", "-g0", "-shared", "-fPIC", "-pthread", "-w",
                       f"-I{INCLUDE_DIR}", "-include", "cuda_emu.h", *flags, str(cpp), "-o", str(tmp)]
                r = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if r.returncode != 0:
                    raise EmulationError(f"host compile failed ({' '.join(cmd[:3])} ...):\n{r.stderr[-4000:]}")
                os.replace(tmp, lib)  # atomic: a concurrent test never loads a half-written library
        self._lib = ctypes.CDLL(str(lib))  # dlopen: the same source gives the same library (and block state)
        self._lock = _LOCKS.setdefault(str(lib), threading.Lock())  # so one launch at a time per library

    def get_function(self, name: str) -> EmuKernel:
        try:
            fn = getattr(self._lib, name)
        except AttributeError:
            raise EmulationError(f"kernel {name!r} not found (is it declared extern \"C\" __global__?)") from None
        fn.restype = None
        return EmuKernel(self, name, fn)


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


class EmuKernel:
    """One kernel; ``kernel(grid, block, args, shared_mem=0, timeout=30.0)`` runs it to completion."""

    def __init__(self, module: EmuModule, name: str, fn):
        self.module, self.name, self._fn = module, name, fn

    def __call__(self, grid, block, args, shared_mem: int = 0, timeout: float = 30.0) -> None:
        g, b = _dims(grid), _dims(block)
        n_threads = b[0] * b[1] * b[2]
        if n_threads > 1024:
            raise ValueError(f"a block has at most 1024 threads, got {n_threads}")
        cargs = [_arg(a) for a in args]
        lib = self.module._lib
        smem = np.zeros(max(int(shared_mem), 1) + 16, np.uint8)
        smem_ptr = ctypes.c_void_p((smem.ctypes.data + 15) & ~15)
        errors: list[str] = []
        blocks = ((bx, by, bz) for bz in range(g[2]) for by in range(g[1]) for bx in range(g[0]))
        state = {"block": None}

        def next_block():  # runs in one thread once all threads finished the previous block
            done = state["block"]
            if done is not None and lib.emu_block_failed():
                errors.append(f"block {done}: __syncthreads() waited over {timeout} s (some thread of the block "
                              f"never reached it)")
            state["block"] = None if errors else next(blocks, None)
            if state["block"] is not None:
                lib.emu_block_begin(n_threads, ctypes.c_double(timeout))

        gate = threading.Barrier(n_threads, action=next_block, timeout=timeout)

        def worker(tx, ty, tz):  # one CUDA thread index, looping over the blocks in turn
            try:
                while True:
                    gate.wait()
                    blk = state["block"]
                    if blk is None:
                        return
                    lib.emu_thread_enter(tx, ty, tz, *blk)
                    try:
                        self._fn(*cargs)
                    finally:
                        lib.emu_thread_exit()
            except threading.BrokenBarrierError:
                errors.append(f"block {state['block']} did not finish within {timeout} s (a thread spins or waits "
                              f"forever); the process should be restarted")
            except BaseException as e:  # noqa: BLE001 -- reported by the launching thread below
                errors.append(f"block {state['block']}: {e!r}")
                gate.abort()

        with self.module._lock:
            lib.emu_set_grid(*(ctypes.c_uint(v) for v in (*g, *b)))
            lib.emu_set_smem(smem_ptr)
            ts = [threading.Thread(target=worker, args=(tx, ty, tz), daemon=True)
                  for tz in range(b[2]) for ty in range(b[1]) for tx in range(b[0])]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            if errors:
                raise EmulationError(f"{self.name}: {errors[0]}")
