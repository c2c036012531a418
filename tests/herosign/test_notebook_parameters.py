"""13's parameters are checked right after ``start``: a bad value fails at once, naming the parameter, the value
and the options, instead of late in the batch-scaling or GPU cell."""

import pytest

from support.herosign import experiments as ex
from support.herosign.params import PARAMS
from support.params import notebook_parameters
from support.paths import REPO_ROOT

NOTEBOOK = REPO_ROOT / "notebooks" / "13_herosign.ipynb"


def test_notebook_defaults_pass_the_parameter_check():
    p = {n: s.default for n, s in notebook_parameters(NOTEBOOK).items()}
    assert ex.check_parameters(p["cpu_set"], p["cpu_batch"], p["gpu_batches"]) is None


@pytest.mark.parametrize("name", [p.short for p in PARAMS.values()])
def test_every_slh_dsa_set_is_accepted_for_the_cpu_study(name):
    assert ex.check_parameters(name, 1, "1") is None


@pytest.mark.parametrize(("args", "message"), [
    (("sha2-128x", 64, "1024"), r"cpu_set must be one of 'sha2-128s', 'sha2-128f', .*'shake-256f'; got 'sha2-128x'"),
    (("sha2-128f", 0, "1024"), r"cpu_batch must be an integer >= 1, got 0"),
    (("sha2-128f", 64, "1024,8k"), r"gpu_batches \('1024,8k'\) must be comma-separated integers >= 1, got '8k'"),
    (("sha2-128f", 64, "1024,0"), r"gpu_batches \('1024,0'\) must be comma-separated integers >= 1, got 0"),
    (("sha2-128f", 64, ""), r"gpu_batches \(''\) must be comma-separated integers >= 1, got ''"),
])
def test_bad_value_is_refused_naming_parameter_value_and_options(args, message):
    with pytest.raises(ValueError, match=message):
        ex.check_parameters(*args)


def test_parse_batches_gives_the_batch_sizes_the_gpu_study_runs():
    assert ex.parse_batches("1024,8192, 32768") == [1024, 8192, 32768]


def test_parse_batches_is_ascending_without_repeats_whatever_the_order_given():
    # smoke runs the first batch: the smallest, not whichever the user listed first
    assert ex.parse_batches("32768,1024,8192,1024") == [1024, 8192, 32768]
