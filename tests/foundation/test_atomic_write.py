"""support.paths.atomic_writer / write_text_atomic: the one way results, figures, manifests, data files and the report
index are written."""

from __future__ import annotations

import pytest

from support.paths import atomic_writer, write_text_atomic


def test_atomic_write_replaces_the_file_and_leaves_no_temp_file(tmp_path):
    p = tmp_path / "results.json"
    p.write_text("old")
    assert write_text_atomic(p, "new") == p
    assert p.read_text() == "new"
    assert [q.name for q in tmp_path.iterdir()] == ["results.json"]


def test_a_write_that_fails_midway_keeps_the_old_file_whole_and_removes_its_temp_file(tmp_path):
    p = tmp_path / "results.json"
    p.write_text("old and whole")
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate fails while the text is being encoded and written
        write_text_atomic(p, "new start \ud800 never written")
    assert p.read_text() == "old and whole"
    assert [q.name for q in tmp_path.iterdir()] == ["results.json"]


def test_two_writers_of_one_file_use_different_temp_names(tmp_path, monkeypatch):
    seen = []
    real = type(tmp_path).replace

    def spy(self, target):  # the temp file each write renames into place
        seen.append(self.name)
        return real(self, target)

    monkeypatch.setattr(type(tmp_path), "replace", spy)
    write_text_atomic(tmp_path / "sweep.json", "a")
    write_text_atomic(tmp_path / "sweep.json", "b")
    assert len(set(seen)) == 2 and all(n.endswith(".tmp") and n != "sweep.json" for n in seen)
    assert (tmp_path / "sweep.json").read_text() == "b"


def test_atomic_writer_writes_bytes_and_an_error_in_the_block_keeps_the_old_file(tmp_path):
    p = tmp_path / "kv.npz"
    with atomic_writer(p) as f:
        f.write(b"\x00first")
    assert p.read_bytes() == b"\x00first"
    with pytest.raises(RuntimeError, match="disk full"), atomic_writer(p) as f:
        f.write(b"half")
        raise RuntimeError("disk full")
    assert p.read_bytes() == b"\x00first"
    assert [q.name for q in tmp_path.iterdir()] == ["kv.npz"]


def test_atomic_writer_refuses_modes_that_would_not_replace_the_whole_file(tmp_path):
    for mode in ("a", "ab", "r", "w+"):
        with pytest.raises(ValueError, match="mode must be"), atomic_writer(tmp_path / "x", mode):
            pass
    assert list(tmp_path.iterdir()) == []
