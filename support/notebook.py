"""The one call a notebook makes first: validate parameters, seed, pick the backend, open the recorder.

``nb = start("04_dpor_estimate", CLAIMS, scale=scale, seed=seed, backend=backend)`` gives a
:class:`NotebookRun` with ``rng``, ``xp``, ``record``, ``figure``, ``table`` and ``claims_table``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from support.claims import SCALES, ClaimRecorder, ClaimSet, ClaimsTable, Verdict
from support.papers import UnknownPaper, by_stem
from support.params import check_standard
from support.paths import output_dir, save_table
from support.plotting import apply_style, save_figure
from support.seeding import seed_everything
from support.xp import device_info, get_xp


@dataclass
class NotebookRun:
    """State of one notebook execution: parameters, RNG, backend and the claims recorder."""

    stem: str
    scale: str
    seed: int
    backend: str
    xp: ModuleType
    rng: np.random.Generator
    out_dir: Path
    recorder: ClaimRecorder
    device: dict[str, Any]
    started: float = field(default_factory=time.perf_counter)

    def pick(self, **by_scale: Any) -> Any:
        """The value for the current scale: ``nb.pick(smoke=10, default=100, paper=1000)``."""
        missing = set(SCALES) - set(by_scale)
        if missing:
            raise ValueError(f"pick() needs a value for every scale; missing {sorted(missing)}")
        return by_scale[self.scale]

    def record(self, name: str, measured: Any, note: str = "") -> Verdict:
        return self.recorder.record(name, measured, note)

    def not_applicable(self, name: str, reason: str) -> None:
        self.recorder.not_applicable(name, reason)

    def record_unless(self, reason: str | None, name: str, measured: Any, note: str = "") -> Verdict:
        """:meth:`record`, or not applicable with ``reason`` and the measured value when ``reason`` is set."""
        return self.recorder.record_unless(reason, name, measured, note)

    def record_all(self, values: Mapping[str, tuple[Any, str]]) -> None:
        """:meth:`record` for each claim of ``values`` (name -> (measured, note)); a measured value of None marks the
        claim not applicable with ``note`` as the reason."""
        self.recorder.record_all(values)

    def metric(self, name: str, value: Any) -> None:
        self.recorder.metric(name, value)

    def figure(self, fig, name: str) -> None:
        """Save a figure into this run's ``figures/`` folder (PNG + SVG, deterministic); it still shows inline."""
        save_figure(fig, name, self.out_dir)

    def table(self, df, name: str) -> Path:
        """Save a table of this run's raw measurements as ``tables/<name>.csv`` beside the figures (the report
        links it): for values that a re-run on another machine or day would not give again, such as live timings."""
        return save_table(df, name, self.out_dir)

    def claims_table(self) -> ClaimsTable:
        """The final claims table, shown with every text in full (its DataFrame is ``.frame``); also written to
        ``results.json``."""
        self.recorder.metric("notebook_wall_s", round(time.perf_counter() - self.started, 3))
        return ClaimsTable(self.recorder.table())


def start(stem: str, claims: ClaimSet, *, scale: str, seed: int, backend: str = "auto",
          **params: Any) -> NotebookRun:
    """Check the notebook's parameters, seed every RNG, choose the array backend, open the recorder.

    A bad ``scale``, ``backend`` or ``seed`` raises ``ParameterError`` (a usage error, exit 2, however it is run)."""
    check_standard("scale", scale)
    check_standard("backend", backend)
    rng = seed_everything(seed)
    xp = get_xp(backend)
    out = output_dir(stem)
    apply_style()
    dev = device_info(backend)
    recorder = ClaimRecorder(claims, scale, out, params={"scale": scale, "seed": seed, "backend": backend,
                                                          **params})
    recorder.metric("device", dev["device"])
    recorder.metric("backend", dev["backend"])
    try:
        print(f"{stem} at scale {scale!r} typically takes {by_stem(stem).typical(scale)} on a 2-core machine "
              f"(`paper-repro list` gives every paper's times).")
    except UnknownPaper:  # a notebook outside the collection (the tests' own)
        pass
    return NotebookRun(stem, scale, seed, backend, xp, rng, out, recorder, dev)
