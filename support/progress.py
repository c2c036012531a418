"""One progress bar for long work: tqdm, quiet when ``PAPER_REPRO_QUIET`` is set (tests, CI logs, and every
kernel the runner starts). Widget bars only in an interactive notebook with ipywidgets; text bars elsewhere."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable
from typing import TypeVar

from tqdm.std import tqdm

T = TypeVar("T")


def quiet() -> bool:
    """Whether ``PAPER_REPRO_QUIET`` asks for no progress output (set by the runner for headless kernels)."""
    return os.environ.get("PAPER_REPRO_QUIET", "") not in ("", "0")


def bar_class() -> type[tqdm]:
    """``tqdm.std`` when quiet (headless) or ipywidgets is missing, else ``tqdm.auto`` (widgets in JupyterLab).

    ``tqdm.auto`` warns "IProgress not found" on import in a kernel without ipywidgets; never imported then.
    """
    if quiet() or importlib.util.find_spec("ipywidgets") is None:
        return tqdm
    from tqdm.auto import tqdm as auto_tqdm

    return auto_tqdm


def progress(iterable: Iterable[T], desc: str = "", total: int | None = None, **kw) -> Iterable[T]:
    """Wrap ``iterable`` in a progress bar (disabled when PAPER_REPRO_QUIET=1)."""
    return bar_class()(iterable, desc=desc, total=total, disable=quiet(), **kw)


def progress_bar(total: int, desc: str = "", **kw) -> tqdm:
    """A manually advanced bar (``bar.update(1)``, ``bar.write(msg)``), quiet under PAPER_REPRO_QUIET."""
    disable = True if quiet() else None  # None: off if no TTY
    return bar_class()(total=total, desc=desc, disable=disable, **kw)
