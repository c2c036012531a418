"""The papers of the collection: number, slug, title, arXiv id, and where their notebook lives."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from support.claims import SCALES
from support.paths import NOTEBOOKS_DIR


@dataclass(frozen=True)
class Paper:
    number: int
    slug: str
    title: str
    arxiv: str | None
    # A verdict of this paper rests on timings that other notebooks running beside it disturb (03: real CPython
    # pauses; 09: disk bandwidth; 12: the no-fault overhead and load model), so `run --jobs N` runs it alone.
    runs_alone: bool = False
    # Typical wall time in seconds at smoke, default and paper scale on the project's 2-core machine (smoke from CI,
    # two notebooks at a time; default from `make reproduce`, two at a time; paper one paper-scale run at a time,
    # some beside other jobs: README gives each run's load), None where no run is recorded. Shown by `paper-repro
    # list` and printed by a notebook's `start`, so a user can pick a scale.
    typical_s: tuple[float | None, float | None, float | None] = (None, None, None)

    def typical(self, scale: str) -> str:
        """"about 3 min" (or "not measured") for ``scale``: the wall time a run of this notebook typically takes."""
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}; got {scale!r}")
        return about(self.typical_s[SCALES.index(scale)])

    @property
    def stem(self) -> str:
        return f"{self.number:02d}_{self.slug}"

    @property
    def notebook(self) -> Path:
        return NOTEBOOKS_DIR / f"{self.stem}.ipynb"

    @property
    def arxiv_url(self) -> str | None:
        return f"https://arxiv.org/abs/{self.arxiv}" if self.arxiv else None


PAPERS: tuple[Paper, ...] = (
    Paper(0, "tour", "Tour: the notebook template (birthday problem)", None, typical_s=(8, 6, 16)),
    Paper(1, "agentc", "Enforcing Temporal Constraints for LLM Agents (Agent-C)", "2512.23738",
          typical_s=(22, 154, 231)),
    Paper(2, "factors", "Towards representation agnostic probabilistic programming", "2512.23740",
          typical_s=(19, 52, 115)),
    Paper(3, "vgc", "VGC: A Zone-Based Garbage Collector Architecture for Python", "2512.23768", runs_alone=True,
          typical_s=(19, 105, 836)),
    Paper(4, "dpor_estimate", "State Space Estimation for DPOR-based Model Checkers", "2512.23996",
          typical_s=(18, 110, 270)),
    Paper(5, "pipeline_agents", "Governing Cloud Data Pipelines with Agentic AI", "2512.23737",
          typical_s=(16, 54, 119)),
    Paper(6, "crms", "Squeezing Edge Performance: Sensitivity-Aware Container Management (CRMS)", "2512.23952",
          typical_s=(18, 176, 316)),
    Paper(7, "fl_selection", "Data Heterogeneity-Aware Client Selection for FL in Wireless Networks",
          "2512.24286", typical_s=(14, 168, 565)),
    Paper(8, "packkv", "PackKV: Reducing KV Cache Memory Footprint through LLM-Aware Lossy Compression",
          "2512.24449", typical_s=(26, 153, 817)),
    Paper(9, "ckpt_io", "Understanding LLM Checkpoint/Restore I/O Strategies and Patterns", "2512.24511",
          runs_alone=True, typical_s=(18, 82, 637)),
    Paper(10, "bilevel", "Distributed Bilevel Optimization with Dual Pruning for Resource-limited Clients",
          "2512.24667", typical_s=(14, 114, 405)),
    Paper(11, "multicluster", "AI-Driven Cloud Resource Optimization for Multi-Cluster Environments",
          "2512.24914", typical_s=(16, 104, 279)),
    Paper(12, "r2ccl", "Reliable and Resilient Collective Communication Library for LLM Training (R2CCL)",
          "2512.25059", runs_alone=True, typical_s=(17, 114, 185)),
    Paper(13, "herosign", "HERO-Sign: GPU SPHINCS+ Signature Generation", "2512.23969", typical_s=(15, 173, 253)),
)


def rounded_time(seconds: float | None) -> str | None:
    """A wall time as a reader plans with it: "20 s" (to 5 s) below 90 s, "4 min" above; None for None."""
    if seconds is None:
        return None
    if seconds < 90:
        return f"{max(5, round(seconds / 5) * 5)} s"
    return f"{round(seconds / 60)} min"


def about(seconds: float | None) -> str:
    """"about 20 s" / "about 4 min" (:func:`rounded_time`), or "not measured" for None."""
    text = rounded_time(seconds)
    return "not measured" if text is None else f"about {text}"


class UnknownPaper(LookupError):
    """A name on the command line matches no paper."""


def by_stem(stem: str) -> Paper:
    for p in PAPERS:
        if p.stem == stem:
            return p
    raise UnknownPaper(stem)


def resolve(name: str) -> Paper:
    """Find a paper by slug (``tour``), stem (``00_tour``) or number (``0``, ``04``)."""
    for p in PAPERS:
        if name in (p.slug, p.stem) or (name.isdigit() and int(name) == p.number):
            return p
    names = [p.slug for p in PAPERS] + [p.stem for p in PAPERS]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UnknownPaper(f"unknown paper {name!r}{hint} (see 'paper-repro list')")


def with_notebooks() -> list[Paper]:
    """The papers whose notebook exists, in number order."""
    return [p for p in PAPERS if p.notebook.is_file()]
