"""A stand-in for CuPy in tests on machines without a GPU: "device" arrays that, like CuPy's, refuse to turn into
NumPy arrays implicitly, so host/device mix-ups fail here as they would on a CUDA machine.

:class:`DeviceArray` wraps a NumPy array; ``np.asarray(d)`` and any NumPy function applied to it raise TypeError
(CuPy's message), as does an arithmetic operation that mixes it with a NumPy array. ``d.get()`` copies it to the
host (what :func:`support.xp.to_numpy` calls). :data:`xp` is the array module: NumPy's functions on device arrays.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

REFUSED = "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy array."


def _unwrap(x, host_ok: bool = False):
    """The NumPy array inside ``x`` (recursing into lists, tuples and dicts); a NumPy array in a device operation
    is refused unless ``host_ok`` (host-to-device copies)."""
    if isinstance(x, DeviceArray):
        return x.a
    if isinstance(x, np.ndarray):
        if host_ok:
            return x
        raise TypeError(f"Unsupported type {type(x)}: a NumPy array mixed with device arrays")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, host_ok) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v, host_ok) for k, v in x.items()}
    return x


def _wrap(r):
    if isinstance(r, (np.ndarray, np.generic)):
        return DeviceArray(np.asarray(r))
    if isinstance(r, tuple):
        return tuple(_wrap(v) for v in r)
    return r


class DeviceArray(NDArrayOperatorsMixin):
    """An array in "device memory": arithmetic with other device arrays and scalars only, host copy by ``get()``."""

    __slots__ = ("a",)

    def __init__(self, a: np.ndarray):
        self.a = a

    def __array__(self, dtype=None, copy=None):
        raise TypeError(REFUSED)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o) for o in out)
        r = getattr(ufunc, method)(*(_unwrap(x) for x in inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(r)

    def get(self) -> np.ndarray:
        return self.a.copy()

    shape = property(lambda self: self.a.shape)
    dtype = property(lambda self: self.a.dtype)
    ndim = property(lambda self: self.a.ndim)
    size = property(lambda self: self.a.size)
    T = property(lambda self: DeviceArray(self.a.T))

    def __len__(self) -> int:
        return len(self.a)

    def __int__(self) -> int:
        return int(self.a)

    def __float__(self) -> float:
        return float(self.a)

    def __getitem__(self, key):
        return _wrap(self.a[_unwrap(key, host_ok=True)])

    def __setitem__(self, key, value):
        self.a[_unwrap(key, host_ok=True)] = _unwrap(value)

    def reshape(self, *shape):
        return DeviceArray(self.a.reshape(*shape))

    def transpose(self, *axes):
        return DeviceArray(self.a.transpose(*axes))

    def astype(self, dtype, copy=True):
        return DeviceArray(self.a.astype(dtype, copy=copy))

    def copy(self):
        return DeviceArray(self.a.copy())


class _ArrayModule:
    """``xp``: NumPy's dtypes and constants as they are, its functions on device arrays (host arrays only where
    CuPy accepts them too: ``asarray`` and ``array`` copy host data to the device)."""

    _HOST_IN = frozenset({"asarray", "array"})

    def __getattr__(self, name: str):
        obj = getattr(np, name)
        if isinstance(obj, type) or not callable(obj):
            return obj  # dtypes (xp.float32), constants (xp.pi)
        host_ok = name in self._HOST_IN

        def fn(*args, **kwargs):
            out = kwargs.get("out")
            r = obj(*_unwrap(args, host_ok), **_unwrap(kwargs, host_ok))
            return out if out is not None else _wrap(r)

        return fn

    @staticmethod
    def asnumpy(a) -> np.ndarray:
        return a.get() if isinstance(a, DeviceArray) else np.asarray(a)


xp = _ArrayModule()
