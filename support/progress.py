"""One progress bar for long work: tqdm, quiet when ``PAPER_REPRO_QUIET`` is set (tests, CI logs)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T], desc: str = "", total: int | None = None, **kw) -> Iterable[T]:
    """Wrap ``iterable`` in a progress bar (disabled when PAPER_REPRO_QUIET=1)."""
    disable = os.environ.get("PAPER_REPRO_QUIET", "") not in ("", "0")
    return tqdm(iterable, desc=desc, total=total, disable=disable, **kw)


def progress_bar(total: int, desc: str = "", **kw) -> tqdm:
    """A manually advanced bar (``bar.update(1)``, ``bar.write(msg)``), quiet under PAPER_REPRO_QUIET."""
    disable = True if os.environ.get("PAPER_REPRO_QUIET", "") not in ("", "0") else None  # None: off if no TTY
    return tqdm(total=total, desc=desc, disable=disable, **kw)
