"""What a result was made with: git commit (and whether the tree was dirty), package versions, time."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata

from support.paths import REPO_ROOT

KEY_PACKAGES = ("numpy", "scipy", "pandas", "matplotlib", "papermill", "nbconvert", "cupy-cuda13x")
UNTRACKED_DIRTY = ("support/", "notebooks/", "data/")  # an untracked file here can change a result: dirty


def git_commit() -> dict[str, object]:
    """The checked-out commit and a dirty flag, or ``unknown`` outside a git checkout. Dirty: a tracked file
    changed, or an untracked (not ignored) file under ``support/``, ``notebooks/`` or ``data/`` (a new module)."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=normal"], cwd=REPO_ROOT,
                                capture_output=True, text=True, timeout=10, check=False).stdout.splitlines()
        dirty = any(not line.startswith("?? ") or line[3:].strip('"').startswith(UNTRACKED_DIRTY)
                    for line in status if line.strip())
        return {"commit": sha, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}


def versions() -> dict[str, str]:
    """Python and the key package versions installed here."""
    out = {"python": platform.python_version()}
    for name in KEY_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out
