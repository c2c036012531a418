"""One figure style for every notebook, and a helper that saves figures deterministically.

``save_figure`` writes PNG and SVG into the run's ``figures/`` folder; the same figure with the
same seed gives the same bytes (fixed SVG hash salt, no dates in metadata).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

from support.paths import atomic_writer, check_file_stem

matplotlib.rcParams["svg.hashsalt"] = "paper-repro"

_STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": True,  # a legend that lands on data stays readable
    "legend.framealpha": 0.85,
    "legend.edgecolor": "0.85",
    "svg.hashsalt": "paper-repro",
    "path.simplify": True,
}


def apply_style() -> None:
    """Set the project's seaborn/matplotlib style (call once per notebook)."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    matplotlib.rcParams.update(_STYLE)


def save_figure(fig, name: str, out_dir: Path, formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Save ``fig`` as ``<out_dir>/figures/<name>.<fmt>`` with metadata that does not vary run to run."""
    check_file_stem(name, "figure")
    folder = Path(out_dir) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        meta = {"Date": None} if fmt == "svg" else {"Software": None} if fmt == "png" else None
        p = folder / f"{name}.{fmt}"
        with atomic_writer(p) as f:  # an interrupted save never leaves a truncated figure for the report
            fig.savefig(f, format=fmt, metadata=meta, bbox_inches="tight")
        paths.append(p)
    return paths
