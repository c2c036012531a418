"""Where things live: the repository root, notebooks, and the report folder of the running notebook.

The runner sets ``PAPER_REPRO_OUT`` to the folder a notebook must write into; interactively
(JupyterLab) a notebook writes into ``reports/<stem>/interactive/``.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
REPORTS_DIR = Path(os.environ.get("PAPER_REPRO_REPORTS", REPO_ROOT / "reports"))

OUT_ENV = "PAPER_REPRO_OUT"


def output_dir(stem: str) -> Path:
    """The folder the running notebook writes results and figures into (created if missing)."""
    env = os.environ.get(OUT_ENV)
    out = Path(env) if env else REPORTS_DIR / stem / "interactive"
    out.mkdir(parents=True, exist_ok=True)
    return out
