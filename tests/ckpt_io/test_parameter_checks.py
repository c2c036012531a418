"""09's parameters are checked before any I/O: the engine's three by ``check_parameters``, ``target_dir`` by
``scratch``, which refuses with a ParameterError (exit 2) naming it a value that is no path or a folder it cannot use."""

import errno
import re
import tempfile
from pathlib import Path

import pytest

from support.ckpt_io import experiments as X
from support.params import notebook_parameters
from support.paths import REPO_ROOT
from support.validate import ParameterError

NOTEBOOK = REPO_ROOT / "notebooks" / "09_ckpt_io.ipynb"


def test_notebook_defaults_pass_the_checks_and_give_a_scratch_folder():
    p = {n: s.default for n, s in notebook_parameters(NOTEBOOK).items()}
    assert X.check_parameters(p["alignment"], p["chunk_mib"], p["queue_depth"]) is None
    d = X.scratch(p["target_dir"] or None)
    try:
        assert d.is_dir() and d.parent == Path(tempfile.gettempdir())
    finally:
        assert X.cleanup(d)


@pytest.mark.parametrize("value", [5, b"/tmp", ["/tmp"]])
def test_target_dir_that_is_not_a_path_is_refused_naming_it(value):
    with pytest.raises(ParameterError,
                       match=rf"^target_dir must be a directory path \(a string\), got {re.escape(repr(value))}$"):
        X.scratch(value)


def test_target_dir_that_refuses_a_new_folder_is_a_parameter_error_naming_it(tmp_path, monkeypatch):
    # a read-only or full directory: mkdtemp's OSError was a traceback (exit 1) instead of a usage error
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    message = (rf"^target_dir '{re.escape(str(tmp_path))}': cannot make a scratch folder there "
               r"\(Permission denied\); give a writable local directory$")
    with pytest.raises(ParameterError, match=message):
        X.scratch(str(tmp_path))
