"""support.traces.loghub: structured samples get a per-day minute; a sample without a Date column is refused."""

from __future__ import annotations

import pytest

from support.traces import loghub


def _fake(monkeypatch, tmp_path, text: str) -> None:
    p = tmp_path / "sample.csv"
    p.write_text(text)
    monkeypatch.setattr(loghub, "fetch", lambda rel: p)


def test_a_sample_without_a_date_column_names_the_missing_column(monkeypatch, tmp_path):
    _fake(monkeypatch, tmp_path, "LineId,Time,Level,EventTemplate\n1,203615,WARN,Connection refused\n")
    with pytest.raises(ValueError, match="missing column 'Date'"):
        loghub.load_structured("HDFS")


def test_minutes_keep_the_day_so_the_same_clock_minute_on_two_days_is_two_episodes(monkeypatch, tmp_path):
    # HDFS-style HHMMSS times and Hadoop-style "HH:MM:SS,mmm" times
    _fake(monkeypatch, tmp_path, "LineId,Date,Time,Level,EventTemplate\n"
          "1,081109,203615,WARN,Connection refused\n"
          "2,081110,203659,WARN,Connection refused\n"
          '3,081110,"20:36:01,978",ERROR,No space left\n')
    df = loghub.load_structured("HDFS")
    assert list(df.minute) == ["081109 20:36", "081110 20:36", "081110 20:36"]
    eps = loghub.failure_episodes(("HDFS",)).set_index("category")
    assert (eps.loc["worker_loss", "lines"], eps.loc["worker_loss", "episodes"]) == (2, 2)
    assert (eps.loc["resource", "lines"], eps.loc["resource", "episodes"]) == (1, 1)
