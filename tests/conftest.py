"""Shared test fixtures: the repository root, the Python of this venv, a private reports folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``gpu`` when no CUDA device is usable."""
    from support.xp import gpu_available

    if gpu_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (CuPy + device)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def reports_dir(tmp_path: Path) -> Path:
    d = tmp_path / "reports"
    d.mkdir()
    return d


@pytest.fixture
def cli(reports_dir: Path):
    """``cli(args)`` runs ``python -m support ARGS`` in a subprocess writing into a private reports folder."""

    def run(args: list[str], timeout: int = 600, **env: str) -> subprocess.CompletedProcess:
        e = {**os.environ, "PAPER_REPRO_REPORTS": str(reports_dir), "PAPER_REPRO_QUIET": "1", **env}
        return subprocess.run([sys.executable, "-m", "support", *args], cwd=ROOT, env=e, capture_output=True,
                              text=True, timeout=timeout, check=False)

    return run


@pytest.fixture
def blas_limit():
    """``blas_limit()`` reads the BLAS thread limit in force now (the largest over the loaded BLAS libraries)."""
    from threadpoolctl import threadpool_info

    return lambda: max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
