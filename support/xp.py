"""Array backend: NumPy everywhere, CuPy when it imports and a CUDA device is present.

Paper code is written against ``xp = get_xp(backend)`` so the same function runs on either.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

BACKENDS = ("auto", "numpy", "cupy")


class BackendUnavailable(RuntimeError):
    """Raised when ``backend="cupy"`` is asked for on a machine without CuPy or a CUDA device."""


@functools.lru_cache(maxsize=1)
def _cupy_or_none() -> ModuleType | None:
    try:
        import cupy  # type: ignore[import-not-found]

        if cupy.cuda.runtime.getDeviceCount() > 0:
            return cupy
    except Exception:  # noqa: BLE001 - ImportError, CUDARuntimeError (no driver / no device), ...
        return None
    return None


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    return _cupy_or_none() is not None


def get_xp(backend: str = "auto") -> ModuleType:
    """The array module for ``backend``: ``numpy``, ``cupy``, or ``auto`` (CuPy if usable, else NumPy)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if backend == "numpy":
        return np
    cp = _cupy_or_none()
    if backend == "cupy" and cp is None:
        raise BackendUnavailable("backend='cupy' needs CuPy and a CUDA device; none was found")
    return cp if cp is not None else np


def to_numpy(a: Any) -> np.ndarray:
    """Bring an array from either backend to host NumPy."""
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


def device_info(backend: str = "auto") -> dict[str, Any]:
    """What the backend runs on, for reports: backend name and device (GPU model or CPU)."""
    xp = get_xp(backend)
    if xp is np:
        import platform

        return {"backend": "numpy", "device": f"CPU ({platform.processor() or platform.machine()})",
                "numpy": np.__version__}
    from support.cuda_tools import device_name

    return {"backend": "cupy", "device": device_name(xp), "cupy": xp.__version__,
            "cuda_runtime": xp.cuda.runtime.runtimeGetVersion()}


@contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Limit BLAS to ``n`` threads inside the block (``None``: leave it as is). The papers' matrix products are
    small; on a loaded 2-core machine OpenBLAS threads spin-wait, and one thread is faster and uses less CPU."""
    if n is None:
        yield
        return
    with threadpool_limits(limits=int(n), user_api="blas"):
        yield


F = TypeVar("F", bound=Callable[..., Any])


def one_blas_thread(fn: F) -> F:
    """``fn`` run under ``blas_threads(1)`` (see there): for experiment drivers made of small matrix products."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with blas_threads(1):
            return fn(*args, **kwargs)
    return run  # type: ignore[return-value]
