"""The papers of the collection: number, slug, title, arXiv id, and where their notebook lives."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

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
    Paper(0, "tour", "Tour: the notebook template (birthday problem)", None),
    Paper(1, "agentc", "Enforcing Temporal Constraints for LLM Agents (Agent-C)", "2512.23738"),
    Paper(2, "factors", "Towards representation agnostic probabilistic programming", "2512.23740"),
    Paper(3, "vgc", "VGC: A Zone-Based Garbage Collector Architecture for Python", "2512.23768", runs_alone=True),
    Paper(4, "dpor_estimate", "State Space Estimation for DPOR-based Model Checkers", "2512.23996"),
    Paper(5, "pipeline_agents", "Governing Cloud Data Pipelines with Agentic AI", "2512.23737"),
    Paper(6, "crms", "Squeezing Edge Performance: Sensitivity-Aware Container Management (CRMS)", "2512.23952"),
    Paper(7, "fl_selection", "Data Heterogeneity-Aware Client Selection for FL in Wireless Networks",
          "2512.24286"),
    Paper(8, "packkv", "PackKV: Reducing KV Cache Memory Footprint through LLM-Aware Lossy Compression",
          "2512.24449"),
    Paper(9, "ckpt_io", "Understanding LLM Checkpoint/Restore I/O Strategies and Patterns", "2512.24511",
          runs_alone=True),
    Paper(10, "bilevel", "Distributed Bilevel Optimization with Dual Pruning for Resource-limited Clients",
          "2512.24667"),
    Paper(11, "multicluster", "AI-Driven Cloud Resource Optimization for Multi-Cluster Environments",
          "2512.24914"),
    Paper(12, "r2ccl", "Reliable and Resilient Collective Communication Library for LLM Training (R2CCL)",
          "2512.25059", runs_alone=True),
    Paper(13, "herosign", "HERO-Sign: GPU SPHINCS+ Signature Generation", "2512.23969"),
)


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
