"""08's parameters are checked right after ``start``: a bad value fails at once with a usage error naming the
parameter and its value, instead of after the model load (or never, for blas_threads=0 and a repeated text)."""

import json

import pytest

from support.packkv import experiments as E
from support.packkv.blocks import n_compressed
from support.params import notebook_parameters
from support.paths import REPO_ROOT
from support.validate import ParameterError

NOTEBOOK = REPO_ROOT / "notebooks" / "08_packkv.ipynb"
NAMES = ("calib_text", "heldback_text", "recent", "block", "pack", "blas_threads")


def defaults() -> dict:
    p = notebook_parameters(NOTEBOOK)
    return {n: p[n].default for n in NAMES}


@pytest.mark.parametrize("scale", ["smoke", "default", "paper"])
def test_notebook_defaults_pass_the_parameter_check_at_every_scale(scale):
    assert E.check_parameters(**defaults(), scale=scale) is None


@pytest.mark.parametrize(("change", "message"), [
    ({"pack": 12}, r"pack must be one of 8, 16, 32; got 12"),
    ({"pack": 16.0}, r"pack must be one of 8, 16, 32; got 16.0"),
    ({"block": 48}, r"block must be a multiple of pack \(16\) and of the KIVI baseline's token groups .* got 48"),
    ({"block": 0}, r"block must be an integer >= 1, got 0"),
    ({"recent": -1}, r"recent must be an integer >= 0, got -1"),
    ({"blas_threads": 0}, r"blas_threads must be an integer >= 1, got 0"),
    ({"calib_text": "nosuchplay"}, (r"calib_text must be 'python-docs', 'python-license' or a Shakespeare play "
                                   r"\(.*macbeth.*\); got 'nosuchplay'")),
    ({"heldback_text": "macbeth"}, r"heldback_text must differ from calib_text .* both are 'macbeth'"),
    ({"calib_text": "license", "heldback_text": "python-license"}, r"heldback_text must differ from calib_text"),
])
def test_bad_value_is_refused_as_a_usage_error_naming_parameter_and_value(change, message):
    with pytest.raises(ParameterError, match=message):
        E.check_parameters(**(defaults() | change), scale="smoke")


@pytest.mark.parametrize(("scale", "recent", "block"), [
    ("smoke", 193, 64),  # 257 > the 256-token context: setup would refuse it after the model load
    ("smoke", 0, 320),
    ("default", 961, 64),
    ("paper", 1985, 64),
])
def test_recent_plus_block_beyond_the_scales_context_is_refused(scale, recent, block):
    # before: setup's ValueError after the model load (exit 1)
    limit = E.CONTEXT[scale]
    with pytest.raises(ParameterError, match=rf"recent \+ block must be at most {limit} at scale '{scale}'.*"
                                             rf"got recent={recent}, block={block}"):
        E.check_parameters(**(defaults() | {"recent": recent, "block": block}), scale=scale)


@pytest.mark.parametrize(("scale", "recent", "block"), [
    ("paper", 1024, 64),  # over the 960-token decode prompt: the prompt grows instead (decode_prompt)
    ("smoke", 150, 64),
    ("smoke", 192, 64), ("default", 960, 64), ("paper", 1984, 64),  # the context exactly
])
def test_recent_plus_block_within_the_context_is_accepted_even_beyond_the_decode_prompt(scale, recent, block):
    assert E.check_parameters(**(defaults() | {"recent": recent, "block": block}), scale=scale) is None


@pytest.mark.parametrize("scale", ["smoke", "default", "paper"])
def test_decode_prompt_at_the_notebook_defaults_is_the_scales_decode_prompt(scale):
    d = defaults()
    assert E.decode_prompt(d["recent"], d["block"], scale) == E.DECODE_PROMPT[scale]


@pytest.mark.parametrize(("scale", "recent", "block", "prompt"), [
    ("smoke", 150, 64, 214), ("smoke", 192, 64, 256), ("paper", 1024, 64, 1088), ("paper", 1984, 64, 2048),
])
def test_decode_prompt_grows_to_recent_plus_block_so_the_prefill_packs_a_block(scale, recent, block, prompt):
    assert E.decode_prompt(recent, block, scale) == prompt
    assert n_compressed(prompt, recent, block) == block


def test_decode_prompt_never_exceeds_the_context_it_is_cut_from():
    assert E.decode_prompt(1000, 64, "smoke") == E.CONTEXT["smoke"]


def test_notebook_checks_its_parameters_in_the_cell_that_starts_it():
    cells = ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    first = next(c for c in cells if "start(" in c)
    assert "E.check_parameters(calib_text, heldback_text, recent, block, pack, blas_threads,\n" in first
    assert "scale=nb.scale)" in first


def test_notebook_takes_its_context_from_the_checked_table_and_its_decode_prompt_from_decode_prompt():
    code = "".join("".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code")
    assert "context = nb.pick(**E.CONTEXT)" in code and "prompt_len=E.decode_prompt(recent, block, nb.scale)" in code
