"""Scratch folders for notebooks: a fresh folder under a base directory, removed when done, on error, or at exit.

:func:`folder` is the context manager (removes the folder on leaving the block, exception or not); a notebook whose
folder spans cells uses :func:`make` and :func:`remove`, and interpreter exit removes whatever is still left.
The base is an existing directory given by the caller (09's ``target_dir``), else the system temp dir
(``tempfile.gettempdir()``, which honours ``TMPDIR``); no other environment variable is read.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_LEFT: set[Path] = set()  # folders made and not yet removed: interpreter exit removes them


def make(prefix: str, base: str | os.PathLike | None = None, *, what: str = "scratch base directory",
         error: type[Exception] = FileNotFoundError) -> Path:
    """A new empty folder ``<base>/<prefix><random>`` (base: the system temp dir when None or empty); interpreter exit
    removes it if :func:`remove` has not. ``what`` names the base in the ``error`` raised when it is not a path, not a
    directory or refuses a new folder (a notebook parameter's caller passes ``support.validate.ParameterError``)."""
    if not isinstance(prefix, str) or not prefix or os.sep in prefix or (os.altsep and os.altsep in prefix):
        raise ValueError(f"prefix must be a non-empty folder name without path separators, got {prefix!r}")
    if base is not None and not isinstance(base, (str, os.PathLike)):
        raise error(f"{what} must be a directory path (a string), got {base!r}")
    root = Path(base) if base else Path(tempfile.gettempdir())
    if not root.is_dir():
        raise error(f"{what} {str(root)!r} does not exist or is not a directory "
                                "(give an existing local directory)")
    try:
        d = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    except OSError as e:  # the directory exists but refuses a new folder (read-only, full)
        raise error(f"{what} {str(root)!r}: cannot make a scratch folder there ({e.strerror or e}); give a writable "
                    "local directory") from None
    _LEFT.add(d)
    return d


def remove(d: str | os.PathLike) -> bool:
    """Remove the folder and everything under it (a missing folder is fine); True when nothing is left."""
    d = Path(d)
    shutil.rmtree(d, ignore_errors=True)
    _LEFT.discard(d)
    return not d.exists()


@contextmanager
def folder(prefix: str, base: str | os.PathLike | None = None, *,
           what: str = "scratch base directory") -> Iterator[Path]:
    """``with folder("vgc_") as d:`` a fresh folder from :func:`make`, removed when the block ends, also when it
    raises (the exception propagates)."""
    d = make(prefix, base, what=what)
    try:
        yield d
    finally:
        remove(d)


def _remove_left() -> None:
    """At interpreter exit: remove every folder made here and not removed yet (a notebook that failed midway)."""
    for d in list(_LEFT):
        remove(d)


atexit.register(_remove_left)
