"""Recorded GPU runs: what ``benchmarks/gpu_check.sh`` measured on a lent CUDA machine, kept under ``data/gpu_runs/``.

Notebooks running without a GPU show these figures and judge the GPU claims on them, always labelled with the
device, date and revision they came from ("recorded", never "measured in this run").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from support.paths import REPO_ROOT

RUNS_DIR = REPO_ROOT / "data" / "gpu_runs"


@dataclass(frozen=True)
class RecordedRun:
    """One folder of ``data/gpu_runs/``: ``meta.json`` (device, date, revisions) and the files the runs wrote."""

    path: Path
    meta: dict

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()

    def load(self, name: str) -> dict:
        """A JSON file of this run (e.g. ``packkv_benchmark.json``)."""
        if not self.has(name):
            raise FileNotFoundError(f"{name} is not in the recorded GPU run {self.path.name}")
        return json.loads((self.path / name).read_text())

    def rev(self, name: str) -> str:
        """The revision of the run that wrote ``name``."""
        return next((r["rev"] for r in self.meta["runs"] if name in r["kept"]), "unknown")

    def label(self, *names: str) -> str:
        """Where recorded figures (the files ``names``) come from, for notes and captions."""
        revs = sorted({self.rev(n) for n in names})
        which = f"rev {revs[0]}" if len(revs) == 1 else "revs " + ", ".join(revs)
        return (f"recorded on {self.meta['device']} on {self.meta['date']} by {self.meta['script']} "
                f"({which}), not re-measured in this run")

    def tests(self) -> dict:
        """The recorded GPU test run: the tests selected and whether every one of them passed (from the log)."""
        t = self.meta["tests"]
        log = (self.path / t["log"]).read_text()
        selected = [s for s in (self.path / t["selected"]).read_text().splitlines() if s.strip()]
        m = re.search(r"(\d+) passed", log)
        passed = int(m.group(1)) if m else 0
        bad = re.search(r"\d+ (failed|errors?)\b", log) is not None
        return {"selected": selected, "passed": passed, "all_passed": passed == len(selected) and not bad,
                "rev": self.rev(t["log"])}


def recorded_runs(root: Path = RUNS_DIR) -> list[RecordedRun]:
    """Every recorded run, newest first."""
    runs = [RecordedRun(p.parent, json.loads(p.read_text())) for p in Path(root).glob("*/meta.json")]
    return sorted(runs, key=lambda r: (r.meta["date"], r.path.name), reverse=True)


def find(name: str, root: Path = RUNS_DIR) -> RecordedRun | None:
    """The newest recorded run holding file ``name``, or None."""
    return next((r for r in recorded_runs(root) if r.has(name)), None)
