"""Every notebook: committed clean, the standard parameters, and it executes at smoke scale via the runner."""

import json
import re

import nbformat
import pytest

from support.papers import PAPERS, with_notebooks
from support.params import notebook_parameters

NOTEBOOKS = with_notebooks()
IDS = [p.stem for p in NOTEBOOKS]


def has_outputs(nb) -> bool:
    """True when any code cell carries outputs or an execution count (must be stripped before commit)."""
    return any(c.get("outputs") or c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def test_every_notebook_file_belongs_to_a_known_paper():
    from support.paths import NOTEBOOKS_DIR

    stems = {p.stem for p in PAPERS}
    stray = [f.name for f in NOTEBOOKS_DIR.glob("*.ipynb") if f.stem not in stems]
    assert stray == []


@pytest.mark.parametrize("paper", NOTEBOOKS, ids=IDS)
def test_notebook_is_committed_without_outputs(paper):
    assert not has_outputs(nbformat.read(paper.notebook, as_version=4))


def test_output_check_catches_a_planted_output():
    nb = nbformat.read(NOTEBOOKS[0].notebook, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    cell.outputs = [nbformat.v4.new_output("stream", text="leak")]
    assert has_outputs(nb)
    cell.outputs, cell.execution_count = [], 3
    assert has_outputs(nb)


@pytest.mark.parametrize("paper", NOTEBOOKS, ids=IDS)
def test_notebook_has_the_standard_shape(paper):
    nb = nbformat.read(paper.notebook, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"  # a custom name breaks papermill elsewhere
    specs = notebook_parameters(paper.notebook)
    assert {"scale", "seed", "backend"} <= set(specs)
    assert specs["scale"].default in ("smoke", "default", "paper")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert f'start("{paper.stem}"' in code
    assert "claims_table()" in [c for c in nb.cells if c.cell_type == "code"][-1].source
    assert not re.search(r"^\s*[!%]\s*pip\b", code, re.MULTILINE), "notebooks never install packages"


@pytest.mark.parametrize("paper", NOTEBOOKS, ids=IDS)
def test_notebook_markdown_uses_no_latex_math(paper):
    """Reports render offline without MathJax, so math must not be used in markdown."""
    nb = nbformat.read(paper.notebook, as_version=4)
    for c in nb.cells:
        if c.cell_type == "markdown":
            text = re.sub(r"`[^`]*`", "", c.source)
            assert not re.search(r"\$[^$\s][^$]*\$|\\\(|\\\[", text), c.source[:80]


@pytest.mark.parametrize("paper", NOTEBOOKS, ids=IDS)
def test_notebook_runs_at_smoke_scale(paper, cli, reports_dir):
    r = cli(["run", paper.slug, "--scale", "smoke", "--no-report"], timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((reports_dir / paper.stem / "results.json").read_text())
    assert res["scale"] == "smoke" and res["claims"], "the claims table was not written"
    assert all(c["verdict"] in ("reproduced", "partly", "not reproduced", "not applicable here")
               for c in res["claims"])


def _parameters_source(paper) -> str:
    nb = nbformat.read(paper.notebook, as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", []))


@pytest.mark.parametrize("paper", NOTEBOOKS, ids=IDS)
def test_every_parameter_line_is_one_assignment_papermill_parses_with_a_comment_saying_what_it_is(paper):
    # papermill skips (with a warning on every run) a parameter line holding two '=' (e.g. ">= 5" in a comment);
    # the developers' guide asks a comment on every parameter.
    lines = [ln for ln in _parameters_source(paper).splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert lines
    for ln in lines:
        assert ln.count("=") == 1, f"papermill cannot parse: {ln!r}"
        assert "#" in ln.split("=", 1)[1] and ln.split("#", 1)[1].strip(), f"parameter without a comment: {ln!r}"
