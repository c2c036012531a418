"""The shared scratch folder (support/scratch.py) of 03 and 09: made fresh under a base directory, removed when the
block ends, when it raises, by ``remove``, or at interpreter exit, whichever comes first."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from support import scratch
from support.ckpt_io import experiments as ckpt
from support.validate import ParameterError

ROOT = Path(__file__).resolve().parents[2]


def test_folder_is_fresh_under_the_base_and_removed_when_the_block_ends(tmp_path):
    with scratch.folder("vgc_", tmp_path) as d:
        assert d.parent == tmp_path and d.name.startswith("vgc_") and list(d.iterdir()) == []
        (d / "sub").mkdir()
        (d / "sub" / "trace.npz").write_bytes(b"x" * 100)
    assert not d.exists() and list(tmp_path.iterdir()) == []


def test_folder_is_removed_when_the_block_raises_and_the_error_propagates(tmp_path):
    with pytest.raises(RuntimeError, match="cell failed"), scratch.folder("vgc_", tmp_path) as d:
        (d / "trace.npz").write_bytes(b"x")
        raise RuntimeError("cell failed")
    assert not d.exists()


def test_default_base_is_the_system_temp_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # what TMPDIR sets through tempfile.gettempdir()
    d = scratch.make("vgc_")
    assert d.parent == tmp_path
    assert scratch.remove(d) and not d.exists()


def test_remove_takes_everything_and_tolerates_a_folder_already_gone(tmp_path):
    d = scratch.make("ckpt_io-", tmp_path)
    (d / "a" / "b").mkdir(parents=True)
    (d / "a" / "b" / "rank0.ckpt").write_bytes(b"x")
    assert scratch.remove(d) is True and not d.exists()
    assert scratch.remove(d) is True


def test_folder_left_behind_is_removed_at_interpreter_exit(tmp_path):
    code = ("import sys; from support import scratch; d = scratch.make('vgc_', sys.argv[1]); "
            "(d / 'trace.npz').write_bytes(b'x'); print(d); raise SystemExit('a cell failed')")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                       timeout=60, check=False)
    made = Path(r.stdout.strip())
    assert r.returncode == 1 and made.parent == tmp_path  # it was made, then the interpreter exited with an error
    assert not made.exists() and list(tmp_path.iterdir()) == []


def test_exit_handler_removes_only_what_is_still_left(tmp_path):
    kept, left = scratch.make("a_", tmp_path), scratch.make("b_", tmp_path)
    scratch.remove(kept)
    kept.mkdir()  # a folder of the same name made later by someone else is not the helper's to remove
    scratch._remove_left()
    assert kept.is_dir() and not left.exists()


@pytest.mark.parametrize("prefix", ["", "a/b", None])
def test_bad_prefix_is_refused_naming_it(tmp_path, prefix):
    with pytest.raises(ValueError, match="prefix must be a non-empty folder name"):
        scratch.make(prefix, tmp_path)


def test_base_that_is_not_a_directory_is_refused_naming_it(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    for base in (tmp_path / "missing", f):
        with pytest.raises(FileNotFoundError, match=r"scratch base directory '.*' does not exist or is not a dir"):
            scratch.make("vgc_", base)


def test_base_that_is_no_path_or_refuses_a_new_folder_raises_the_callers_error_naming_it(tmp_path, monkeypatch):
    with pytest.raises(ParameterError, match=r"^target_dir must be a directory path \(a string\), got 5$"):
        scratch.make("x_", 5, what="target_dir", error=ParameterError)

    def refuse(*args, **kwargs):  # a read-only or full directory
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    with pytest.raises(ParameterError, match=r"^target_dir '.*': cannot make a scratch folder there \(Permission "):
        scratch.make("x_", tmp_path, what="target_dir", error=ParameterError)


def test_paper_09_scratch_lives_under_target_dir_and_cleanup_removes_it(tmp_path):
    d = ckpt.scratch(str(tmp_path))
    assert d.parent == tmp_path and d.name.startswith("ckpt_io-")
    assert ckpt.cleanup(d) is True and not d.exists()
    with pytest.raises(ParameterError, match="target_dir '.*missing' does not exist"):
        ckpt.scratch(str(tmp_path / "missing"))
