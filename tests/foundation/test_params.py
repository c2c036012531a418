"""Reading the parameters cell, coercing -p values and expanding sweeps."""

import json

import nbformat
import pytest

from support import params as P
from support.papers import UnknownPaper, resolve


@pytest.fixture
def notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('scale = "smoke"  # smoke | default | paper\nseed = 0  # rng\n'
                                     'rate = 0.5  # per second\nfast = True\nname = "x"')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
    path = tmp_path / "t.ipynb"
    nbformat.write(nb, path)
    return path


def test_parameters_cell_gives_names_defaults_types_and_help(notebook):
    specs = P.notebook_parameters(notebook)
    assert list(specs) == ["scale", "seed", "rate", "fast", "name"]
    assert specs["seed"].type is int and specs["rate"].default == 0.5 and specs["fast"].type is bool
    assert specs["scale"].help == "smoke | default | paper"


def test_overrides_are_coerced_to_the_declared_type_and_comma_means_sweep(notebook):
    specs = P.notebook_parameters(notebook)
    got = P.parse_overrides(["seed=0,1,2", "rate=2", "fast=false", "name=a b"], specs, "t.ipynb")
    assert got == {"seed": [0, 1, 2], "rate": [2.0], "fast": [False], "name": ["a b"]}
    combos = P.expand({"seed": [0, 1], "rate": [1.0, 2.0]})
    assert len(combos) == 4 and combos[1] == {"seed": 0, "rate": 2.0}
    assert P.tag({"seed": 1, "rate": 2.0}, ["seed"]) == "seed=1"


@pytest.mark.parametrize("item,match", [("nosuch=1", "no parameter 'nosuch'"), ("seed=x", "expects int"),
                                        ("fast=maybe", "expects bool"), ("seed", "NAME=VALUE"),
                                        ("sed=1", "did you mean 'seed'")])
def test_bad_overrides_name_the_problem(notebook, item, match):
    with pytest.raises(P.ParameterError, match=match):
        P.parse_overrides([item], P.notebook_parameters(notebook), "t.ipynb")


def test_scale_values_are_checked(notebook):
    specs = P.notebook_parameters(notebook)
    with pytest.raises(P.ParameterError, match="scale must be one of"):
        P.check_values({"scale": ["huge"]}, specs, "t.ipynb")
    P.check_values({"scale": ["paper"], "rate": [1]}, specs, "t.ipynb")  # int is fine for a float


def test_grid_file_must_map_names_to_lists(tmp_path):
    good = tmp_path / "g.json"
    good.write_text(json.dumps({"seed": [0, 1]}))
    assert P.load_grid(good) == {"seed": [0, 1]}
    bad = tmp_path / "b.yaml"
    bad.write_text("seed: 3\n")
    with pytest.raises(P.ParameterError, match="non-empty list"):
        P.load_grid(bad)


def test_papers_resolve_by_slug_stem_or_number_with_suggestions():
    assert resolve("tour").stem == "00_tour"
    assert resolve("00_tour").slug == "tour"
    assert resolve("4").slug == "dpor_estimate"
    with pytest.raises(UnknownPaper, match="did you mean 'herosign'"):
        resolve("herosing")
