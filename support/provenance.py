"""What a result was made with: git commit (and whether the tree was dirty), package versions, time."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata

from support.paths import REPO_ROOT

KEY_PACKAGES = ("numpy", "scipy", "pandas", "matplotlib", "papermill", "nbconvert", "cupy-cuda13x")


def git_commit() -> dict[str, object]:
    """The checked-out commit and a dirty flag, or ``unknown`` outside a git checkout."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                                    capture_output=True, text=True, timeout=10, check=False).stdout.strip())
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
