"""CUDA toolchain and device look-ups shared by the GPU papers (08 PackKV, 13 HERO-Sign) and :mod:`support.xp`.

One place finds ``nvcc`` and names the device, so the build checks, the tests that skip without nvcc and the
reports all agree on which compiler and which card they mean.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

NVCC_DIRS = ("/usr/local/cuda/bin", "/usr/local/bin")  # where CUDA installs put nvcc when PATH lacks it


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_nvcc(path: str | None = None, dirs: Sequence[str | Path] | None = None) -> str | None:
    """The nvcc to build with: the first on ``path`` (default ``$PATH``), else ``$CUDA_HOME/bin/nvcc``, else the
    first executable ``nvcc`` in ``dirs`` (default :data:`NVCC_DIRS`); None when there is none."""
    found = shutil.which("nvcc", path=path)
    if found:
        return found
    home = os.environ.get("CUDA_HOME")
    extra = [Path(home) / "bin"] if home else []
    for d in [*extra, *(NVCC_DIRS if dirs is None else dirs)]:
        candidate = Path(d) / "nvcc"
        if _executable(candidate):
            return str(candidate)
    return None


def device_name(cp: ModuleType, device_id: int | None = None) -> str:
    """The model name of CUDA device ``device_id`` (default: the current one) as text; ``cp`` is CuPy or a stand-in
    with its ``cuda`` API (CuPy gives the name as bytes or str depending on its version)."""
    dev = cp.cuda.Device().id if device_id is None else device_id
    name = cp.cuda.runtime.getDeviceProperties(dev)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)
