"""02's parameters are checked right after ``start``: a bad value fails at once, naming the parameter, the value
and the options, instead of a bare KeyError after the VE and filtering work (notebook cell 14)."""

import subprocess
import sys

import pytest

from support.factors import experiments as X
from support.params import notebook_parameters
from support.paths import REPO_ROOT
from support.validate import ParameterError

NOTEBOOK = REPO_ROOT / "notebooks" / "02_factors.ipynb"


def test_notebook_defaults_pass_the_parameter_check():
    p = {n: s.default for n, s in notebook_parameters(NOTEBOOK).items()}
    assert X.check_parameters(p["representation_map"], p["n_particles"]) is None


@pytest.mark.parametrize("name", X.MATRIX_MAPS)
def test_every_matrix_map_is_accepted(name):
    assert X.check_parameters(name, 10) is None


def test_unknown_representation_map_is_refused_naming_value_and_options():
    with pytest.raises(ParameterError, match=r"representation_map must be one of 'exact', 'gpb1', 'gpb2', 'rbpf', "
                                             r"'pf'; got 'xyz'"):
        X.check_parameters("xyz", 2000)


def test_fewer_than_ten_particles_are_refused_because_rbpf_gets_none():
    with pytest.raises(ParameterError, match=r"n_particles must be an integer >= 10 .*got 9"):
        X.check_parameters("rbpf", 9)


def test_discrete_bn_table_raises_no_pgmpy_future_warning():
    """pgmpy 1.1 imports its own deprecated StructureScore module; that one warning is silenced where we import."""
    code = "from support.factors import experiments as X; X.discrete_bn_table(['asia'], n_queries=1)"
    r = subprocess.run([sys.executable, "-W", "error::FutureWarning", "-c", code], cwd=REPO_ROOT,
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
