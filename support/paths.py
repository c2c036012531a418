"""Where things live: the repository root, notebooks, and the report folder of the running notebook.

The runner sets ``PAPER_REPRO_OUT`` to the folder a notebook must write into; interactively
(JupyterLab) a notebook writes into ``reports/<stem>/interactive/``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO

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


def check_file_stem(name: str, what: str) -> str:
    """``name`` if it is a plain file stem (no folder, not hidden), else ``ValueError`` naming ``what`` it names:
    the names notebooks give their figures and tables stay inside the run's folder."""
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"{what} name must be a plain file stem, got {name!r}")
    return name


@contextlib.contextmanager
def atomic_writer(path: Path, mode: str = "wb") -> Iterator[IO]:
    """Open a uniquely named ``.tmp`` file beside ``path`` for writing (``mode`` "w" or "wb") and rename it to
    ``path`` when the block ends without an error: a reader sees the old file or the new one, never half of one; on
    an error the old file stays and the temp file is removed. The one way results, figures and data files are written."""
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, mode) as f:
            yield f
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through :func:`atomic_writer`; returns ``path``."""
    with atomic_writer(path, "w") as f:
        f.write(text)
    return Path(path)


def save_table(df, name: str, out_dir: Path) -> Path:
    """Write a DataFrame of a run's raw measurements as ``<out_dir>/tables/<name>.csv`` (atomically, no index), so
    the values behind a figure or claim can be re-read and re-analysed without re-running the notebook."""
    check_file_stem(name, "table")
    folder = Path(out_dir) / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(folder / f"{name}.csv", df.to_csv(index=False))
