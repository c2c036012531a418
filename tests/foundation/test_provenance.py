"""Provenance: the commit a result was made from, and whether the tree held changes that commit does not."""

import subprocess

import pytest

from support import provenance


def _git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A one-commit checkout with support/, notebooks/ and data/, standing in for the repository root."""
    for d in ("support", "notebooks", "data"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "kept.txt").write_text("x")
    (tmp_path / ".gitignore").write_text("reports/\n*.pyc\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "one")
    monkeypatch.setattr(provenance, "REPO_ROOT", tmp_path)
    return tmp_path


def test_a_clean_checkout_is_not_dirty(repo):
    got = provenance.git_commit()
    assert got["dirty"] is False and len(got["commit"]) == 12


@pytest.mark.parametrize("path", ["support/tour/new_module.py", "notebooks/new.ipynb", "data/new.json"])
def test_an_untracked_file_a_run_can_import_or_read_makes_the_tree_dirty(repo, path):
    """Audit s12 finding 9: a run importing a new, not yet added module under support/ recorded dirty: false."""
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text("x = 1\n")
    assert provenance.git_commit()["dirty"] is True


@pytest.mark.parametrize("path", ["notes.txt", "reports/00_tour/run.json", "support/mod.pyc"])
def test_an_untracked_file_outside_the_code_and_data_or_an_ignored_one_leaves_it_clean(repo, path):
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text("x")
    assert provenance.git_commit()["dirty"] is False


def test_a_changed_tracked_file_anywhere_makes_the_tree_dirty(repo):
    (repo / ".gitignore").write_text("changed\n")
    assert provenance.git_commit()["dirty"] is True
