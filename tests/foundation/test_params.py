"""Reading the parameters cell, coercing -p values and expanding sweeps."""

import ast
import json
import re

import nbformat
import pytest

from support import params as P
from support.papers import UnknownPaper, resolve
from support.paths import NOTEBOOKS_DIR


def _notebook(path, parameters: str, heading: bool = True):
    """A notebook at ``path`` whose cell tagged ``parameters`` holds ``parameters`` (after a heading cell)."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell] if heading else [cell]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def notebook(tmp_path):
    return _notebook(tmp_path / "t.ipynb", 'scale = "smoke"  # smoke | default | paper\nseed = 0  # rng\n'
                                           'rate = 0.5  # per second\nfast = True\nname = "x"')


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


# Audit finding 8: values that hold commas, lists, repeats, malformed grids, early checks, conflicts.

@pytest.fixture
def specs(tmp_path):
    return P.notebook_parameters(_notebook(
        tmp_path / "c.ipynb", 'scale = "smoke"\nseed = 0\nbackend = "auto"\nrate = 0.5\nname = "x"\n'
                              'budgets = "1,1,0.5"  # per level\nworkloads = ["trees", "lru"]\n'
                              'sizes = [1, 2]\nfracs = [0.5, 1.0]\nmixed = [1, "a"]', heading=False))


def _specs(*argv):
    from support.cli import _parser, _specs

    return _specs(_parser().parse_args(["run", *argv]))


def test_string_parameter_whose_default_has_commas_takes_the_whole_value(specs):
    assert P.parse_overrides(["budgets=1,0.5"], specs, "c.ipynb") == {"budgets": ["1,0.5"]}
    assert P.parse_overrides(["name=a,b"], specs, "c.ipynb") == {"name": ["a", "b"]}  # no comma default: sweep


def test_bilevel_budgets_on_the_command_line_is_one_run_and_a_grid_sweeps_it(tmp_path):
    runs, sweeps = _specs("bilevel", "-p", "budgets=1,1,0.5", "--scale", "smoke")
    assert [(s.run_dir, s.params) for s in runs] == [("10_bilevel", {"budgets": "1,1,0.5", "scale": "smoke"})]
    assert sweeps == {}
    grid = tmp_path / "g.json"
    grid.write_text(json.dumps({"budgets": ["1,1", "1,0.5"]}))
    runs, sweeps = _specs("bilevel", "--grid", str(grid))
    assert [s.params["budgets"] for s in runs] == ["1,1", "1,0.5"] and sweeps == {"10_bilevel": ["budgets"]}


def test_list_parameter_takes_one_python_literal(specs):
    got = P.parse_overrides(["workloads=['trees', 'graph', 'lru']"], specs, "c.ipynb")
    assert got == {"workloads": [["trees", "graph", "lru"]]}
    with pytest.raises(P.ParameterError, match="expects list"):
        P.parse_overrides(["workloads=trees"], specs, "c.ipynb")


def test_repeated_values_and_a_paper_named_twice_run_once_in_first_order(specs, tmp_path):
    assert P.parse_overrides(["seed=2,0,2,0"], specs, "c.ipynb") == {"seed": [2, 0]}
    grid = tmp_path / "g.yaml"
    grid.write_text("seed: [1, 1, 0]\n")
    assert P.load_grid(grid) == {"seed": [1, 0]}
    runs, sweeps = _specs("tour", "00_tour", "-p", "seed=0,0")
    assert [(s.run_dir, s.params) for s in runs] == [("00_tour", {"seed": 0})] and sweeps == {}


def test_repeats_are_judged_by_type_too_so_true_is_not_taken_for_1():
    assert P.unique([1, True, 1.0, 1, True]) == [1, True, 1.0]


def test_different_runs_that_would_share_a_folder_are_refused(tmp_path):
    from support.cli import UsageError

    grid = tmp_path / "g.json"
    grid.write_text(json.dumps({"budgets": ["1/2", "1_2"]}))  # "/" becomes "_" in the folder name
    with pytest.raises(UsageError, match=r"would share the folder 10_bilevel/runs/budgets=1_2"):
        _specs("bilevel", "--grid", str(grid))


@pytest.mark.parametrize("name,text,match", [
    ("g.json", "{bad json", r"g\.json: not valid JSON: Expecting property name"),
    ("g.yaml", "seed: [0, 1", r"g\.yaml: not valid YAML: expected ',' or '\]'.* \(line 1, column 12\)"),
])
def test_malformed_grid_file_is_one_line_naming_the_file_and_exits_2(tmp_path, capsys, name, text, match):
    from support.cli import main

    grid = tmp_path / name
    grid.write_text(text)
    with pytest.raises(P.ParameterError, match=match) as err:
        P.load_grid(grid)
    assert "\n" not in str(err.value)
    assert main(["run", "tour", "--grid", str(grid)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(grid) in lines[0]


@pytest.mark.parametrize("values,match", [({"backend": ["tpu"]}, "backend must be one of auto, numpy, cupy"),
                                          ({"seed": [-1]}, "seed must be an integer >= 0, got -1")])
def test_backend_and_seed_are_checked_before_any_kernel_starts(specs, values, match):
    with pytest.raises(P.ParameterError, match=match):
        P.check_values(values, specs, "c.ipynb")
    P.check_values({"backend": ["auto", "numpy", "cupy"], "seed": [0, 7]}, specs, "c.ipynb")
    from support.cli import UsageError

    (name, [value]), = values.items()
    with pytest.raises(UsageError, match=match):  # the CLI stops while building the run list
        _specs("tour", "-p", f"{name}={value}")


@pytest.mark.parametrize("name", ["rate", "seed"])
def test_a_bool_in_a_grid_is_neither_a_float_nor_an_int(specs, name):
    with pytest.raises(P.ParameterError, match=f"parameter '{name}' expects"):
        P.check_values({name: [True]}, specs, "c.ipynb")


def test_same_parameter_given_twice_with_different_values_is_refused(specs):
    with pytest.raises(P.ParameterError, match=r"'seed' is given twice with -p \(seed=1 and seed=2\)"):
        P.parse_overrides(["seed=1", "seed=2"], specs, "c.ipynb")
    assert P.parse_overrides(["seed=1", "seed=1"], specs, "c.ipynb") == {"seed": [1]}


@pytest.mark.parametrize("flag,name,other,match", [
    (["--scale", "smoke"], "scale", "paper", "--scale smoke conflicts with -p scale=paper"),
    (["--gpu"], "backend", "numpy", "--gpu conflicts with -p backend=numpy"),
])
def test_scale_or_gpu_flag_against_a_different_p_value_is_refused(flag, name, other, match):
    from support.cli import UsageError

    with pytest.raises(UsageError, match=match):
        _specs("tour", *flag, "-p", f"{name}={other}")
    same = "smoke" if name == "scale" else "cupy"
    assert [s.params for s in _specs("tour", *flag, "-p", f"{name}={same}")[0]] == [{name: same}]


# Types: one rule for -p and --grid values (int -> float when exact), list items checked, list folder names.

def test_an_int_for_a_float_parameter_becomes_that_float_from_p_and_from_a_grid(specs):
    got = P.parse_overrides(["rate=1,2"], specs, "c.ipynb")["rate"]
    assert got == [1.0, 2.0] and all(type(v) is float for v in got)
    got = P.check_values({"rate": [1, 0.5], "seed": [3]}, specs, "c.ipynb")
    assert got == {"rate": [1.0, 0.5], "seed": [3]} and type(got["rate"][0]) is float
    assert P.check_values({"rate": [1, 1.0]}, specs, "c.ipynb") == {"rate": [1.0]}  # one run, not two


@pytest.mark.parametrize("values,match", [
    ({"seed": [1.5]}, r"parameter 'seed' expects int, got 1\.5"),
    ({"seed": [2.0]}, r"parameter 'seed' expects int, got 2\.0"),
    ({"rate": [2**53 + 1]}, r"parameter 'rate' expects float, got 9007199254740993 \(not exactly a float\)"),
    ({"rate": [10**400]}, r"parameter 'rate' expects float, got 1000.* \(not exactly a float\)"),
])
def test_a_value_that_is_not_exactly_of_the_parameters_type_is_refused_from_a_grid_and_from_p(specs, values,
                                                                                              match):
    with pytest.raises(P.ParameterError, match=match):
        P.check_values(values, specs, "c.ipynb")
    (name, [value]), = values.items()
    with pytest.raises(P.ParameterError, match=f"parameter '{name}' expects"):
        P.parse_overrides([f"{name}={value}"], specs, "c.ipynb")


@pytest.mark.parametrize("name,value,match", [
    ("workloads", ["trees", 2], r"parameter 'workloads' item 1 expects str, got 2"),
    ("sizes", ["a", 2], r"parameter 'sizes' item 0 expects int, got 'a'"),
    ("sizes", [1, True], r"parameter 'sizes' item 1 expects int, got True"),
    ("fracs", [0.5, 2**53 + 1], r"parameter 'fracs' item 1 expects float, got 9007199254740993 \(not"),
])
def test_a_list_item_of_the_wrong_type_is_refused_naming_the_parameter_and_the_index(specs, name, value,
                                                                                      match):
    with pytest.raises(P.ParameterError, match=match):
        P.check_values({name: [value]}, specs, "c.ipynb")
    with pytest.raises(P.ParameterError, match=match):
        P.parse_overrides([f"{name}={value!r}"], specs, "c.ipynb")


def test_list_items_follow_the_int_to_float_rule_and_a_mixed_default_leaves_items_unchecked(specs):
    got = P.check_values({"fracs": [[1, 0.25]]}, specs, "c.ipynb")["fracs"][0]
    assert got == [1.0, 0.25] and type(got[0]) is float
    got = P.parse_overrides(["fracs=[1, 2]"], specs, "c.ipynb")["fracs"][0]
    assert got == [1.0, 2.0] and type(got[0]) is float
    assert P.check_values({"mixed": [["x", 2.5, None]]}, specs, "c.ipynb") == {"mixed": [["x", 2.5, None]]}


def test_a_list_value_names_its_run_folder_by_its_items_or_by_count_and_short_hash():
    assert P.tag({"workloads": ["trees", "lru"], "seed": 1}, ["workloads", "seed"]) == \
        "workloads=trees-lru,seed=1"
    assert P.tag({"fracs": [1.0, 2.5]}, ["fracs"]) == "fracs=1.0-2.5"
    long_a, long_b = [f"workload_{i}" for i in range(8)], [f"workload_{i}" for i in range(7)] + ["other"]
    tags = [P.tag({"w": v}, ["w"]) for v in (long_a, long_b, ["a b", "c"], ["a-b"], ["a", "b"], ["../x"])]
    assert tags[0].startswith("w=8items-") and len(tags[0]) == len("w=8items-") + 12
    assert tags[2].startswith("w=2items-") and tags[3].startswith("w=1items-") and tags[4] == "w=a-b"
    assert len(set(tags)) == len(tags)  # different lists, different folders ("a-b" is not ["a", "b"])
    assert all(re.fullmatch(r"[A-Za-z0-9_.+=-]+", t) for t in tags)  # filesystem- and URL-safe


def test_scalar_run_folder_names_are_unchanged():
    params = {"seed": 1, "rate": 2.0, "name": "a/b c", "fast": True}
    assert P.tag(params, list(params)) == "seed=1,rate=2.0,name=a_b c,fast=True"


def test_an_unknown_name_in_a_grid_reads_as_from_p_with_the_params_hint(notebook):
    """A grid file's unknown name gets -p's message: the close match, the known names, `paper-repro params`."""
    specs = P.notebook_parameters(notebook)
    with pytest.raises(P.ParameterError) as from_p:
        P.parse_overrides(["sed=1"], specs, "t.ipynb")
    with pytest.raises(P.ParameterError) as from_grid:
        P.check_values({"sed": [1]}, specs, "t.ipynb")
    assert str(from_grid.value) == str(from_p.value)
    assert str(from_grid.value).endswith("did you mean 'seed'? (known: scale, seed, rate, fast, name; "
                                         "`paper-repro params t` describes them)")


@pytest.mark.parametrize("name,args,kw", [("check_int", (0, "n"), {"minimum": 1}),
                                           ("check_choice", ("nope", "order_policy", ["program"]), {}),
                                           ("check_range", (-1.0, "alpha"), {"low": 0})])
def test_the_shared_checks_raise_a_plain_value_error_unless_told_it_is_a_notebook_parameter(name, args, kw):
    """A value the library computed is a bug (ValueError, exit 1); an up-front parameter check passes
    ``error=ParameterError`` (a usage error, exit 2), which is still a ValueError."""
    from support import validate

    with pytest.raises(ValueError) as err:
        getattr(validate, name)(*args, **kw)
    assert type(err.value) is ValueError
    with pytest.raises(P.ParameterError) as err:
        getattr(validate, name)(*args, **kw, error=P.ParameterError)
    assert isinstance(err.value, ValueError)


def test_a_check_given_its_own_error_class_raises_that_one():
    from support.validate import check_choice

    class CheckpointError(Exception):
        pass

    with pytest.raises(CheckpointError, match="got 'x'"):
        check_choice("x", "alignment", ["page"], error=CheckpointError)


@pytest.mark.parametrize("raw,expected", [("true", True), ("True", True), (" YES ", True), ("1", True),
                                          ("false", False), ("No", False), ("0", False)])
def test_a_bool_parameter_takes_true_yes_1_and_false_no_0_in_any_case(raw, expected):
    spec = P.ParamSpec("fast", True, bool, "")
    assert P.coerce(raw, spec) is expected


@pytest.mark.parametrize("raw", ["", " ", "maybe", "2", "on"])
def test_a_bool_parameter_refuses_an_empty_or_other_word(raw):
    """``-p fast=`` must not silently read as False."""
    with pytest.raises(P.ParameterError, match="parameter 'fast' expects bool"):
        P.coerce(raw, P.ParamSpec("fast", True, bool, ""))


def test_a_hash_inside_a_string_default_is_not_taken_for_the_help_comment(tmp_path):
    """The help text is the line's comment token: a default like "#f00" or a comment naming "#4" stays whole."""
    specs = P.notebook_parameters(_notebook(tmp_path / "h.ipynb", 'color = "#f00"  # plot colour\n'
                                                                   'level = 2  # see issue #4\nn = 3\n'))
    assert specs["color"].default == "#f00" and specs["color"].help == "plot colour"
    assert specs["level"].help == "see issue #4" and specs["n"].help == ""


NOTEBOOKS = NOTEBOOKS_DIR


@pytest.mark.parametrize("notebook", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_papermill_reads_every_parameter_of_each_notebook_as_paper_repro_params_does(notebook):
    """papermill's own parser (``papermill --help-notebook``, ``inspect_notebook``) skips a line it cannot parse, e.g. a
    help comment holding ``>= 0``, and then warns "Passed unknown parameter" on every run that sets it; both parsers
    must see the same names and defaults."""
    import papermill

    path = NOTEBOOKS / notebook
    ours = P.notebook_parameters(path)
    theirs = papermill.inspect_notebook(str(path))
    assert list(theirs) == list(ours)
    for name, spec in ours.items():
        assert ast.literal_eval(theirs[name]["default"]) == spec.default, name  # papermill keeps the source text
