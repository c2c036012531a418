"""support.paths.write_text_atomic: the one way results, manifests and the report index are written."""

from __future__ import annotations

import pytest

from support.paths import write_text_atomic


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
    real = type(tmp_path).write_text

    def spy(self, text, *a, **kw):
        seen.append(self.name)
        return real(self, text, *a, **kw)

    monkeypatch.setattr(type(tmp_path), "write_text", spy)
    write_text_atomic(tmp_path / "sweep.json", "a")
    write_text_atomic(tmp_path / "sweep.json", "b")
    assert len(set(seen)) == 2 and all(n.endswith(".tmp") and n != "sweep.json" for n in seen)
