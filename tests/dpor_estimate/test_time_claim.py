"""F4 and the ``estimate_vs_exhaustive_time`` claim: the time table, its ratios and the recorded verdict, on run sets
whose time to the band is computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from support.claims import ClaimRecorder, Verdict
from support.dpor_estimate import experiments as ex
from support.dpor_estimate.claims import CLAIMS
from support.dpor_estimate.experiments import RunSet
from support.dpor_estimate.trust import Exploration

# one run of 6 trials against exact 10: running means 10, 20, 14, 12.5, 12, 12 -> in the band for good from trial 5;
# 6 s per run = 1 s per trial -> 5 s to the band
REACHES = [[10, 30, 2, 8, 10, 12]]
# running means 10, 10, 10, 17.5: out of the band at the last trial -> never reached
LEAVES = [[10, 10, 10, 40]]


def _runset(spec: str, classes, seconds: float, budget: int = 8) -> RunSet:
    c = np.asarray(classes, dtype=float)
    return RunSet(spec, "writers_first", budget, classes=c, nodes=c, seconds=np.full(c.shape[0], seconds),
                  work=np.full(c.shape[0], 10))


def _explored(spec: str, seconds: float) -> Exploration:
    return Exploration(spec, complete=10, blocked=0, nodes=100, seconds=seconds)


def test_time_table_has_one_row_per_explored_benchmark_with_both_ratios_over_the_exhaustive_time():
    sets = {"big0": _runset("big0", REACHES, 6.0), "skipped": _runset("skipped", REACHES, 6.0),
            "lastzero(10)": _runset("lastzero(10)", LEAVES, 2.0)}
    exhaustive = {"lastzero(10)": _explored("lastzero(10)", 4.0), "big0": _explored("big0", 50.0)}
    tt = ex.time_table(sets, {"big0": 10, "skipped": 10, "lastzero(10)": 10}, exhaustive)
    assert list(tt.columns) == ex.TIME_COLUMNS
    assert list(tt["benchmark"]) == ["big0", "lastzero(10)"]  # the order of the run sets, unexplored ones left out
    big0, lz = tt.iloc[0], tt.iloc[1]
    assert (big0["trials to band"], big0["seconds to band"], big0["estimate s"]) == (5, 5.0, 5.0)
    assert big0["ratio (to band)"] == pytest.approx(5.0 / 50.0)  # 0.1
    assert big0["ratio (full run)"] == pytest.approx(6.0 / 50.0)  # 0.12
    assert math.isnan(lz["ratio (to band)"])  # never in the band: no time to it
    assert lz["ratio (full run)"] == pytest.approx(2.0 / 4.0)


def test_time_table_without_an_explored_benchmark_is_empty_with_every_column():
    tt = ex.time_table({"big1": _runset("big1", REACHES, 6.0)}, {"big1": 10}, {})
    assert len(tt) == 0 and list(tt.columns) == ex.TIME_COLUMNS


def test_full_run_ratios_are_named_by_benchmark_and_rounded_to_five_decimals():
    sets = {"big0": _runset("big0", REACHES, 1.0), "inc(4)": _runset("inc(4)", REACHES, 2.0)}
    tt = ex.time_table(sets, {"big0": 10, "inc(4)": 10}, {"big0": _explored("big0", 3.0),
                                                           "inc(4)": _explored("inc(4)", 8.0)})
    assert ex.full_run_ratios(tt) == {"full_run_ratio[big0]": 0.33333, "full_run_ratio[inc(4)]": 0.25}


def test_estimate_time_ratio_is_seconds_to_the_band_over_the_exhaustive_seconds():
    assert ex.estimate_time_ratio(_runset("big1", REACHES, 6.0), 10, 250.0) == pytest.approx(0.02)  # 5 s / 250 s
    assert ex.estimate_time_ratio(_runset("big1", REACHES, 12.0), 10, 250.0) == pytest.approx(0.04)  # 2 s per trial


def test_estimate_time_ratio_is_infinite_when_the_runs_never_stay_in_the_band():
    assert ex.estimate_time_ratio(_runset("big1", LEAVES, 6.0), 10, 250.0) == float("inf")


@pytest.mark.parametrize("seconds", [0.0, -1.0, float("nan")])
def test_estimate_time_ratio_refuses_an_exhaustive_time_that_is_not_positive(seconds):
    with pytest.raises(ValueError, match="exhaustive_seconds must be > 0"):
        ex.estimate_time_ratio(_runset("big1", REACHES, 6.0), 10, seconds)


def _record(tmp_path, exhaustive_s: float | None, classes=REACHES, off_protocol=None, scale="default"):
    nb = ClaimRecorder(CLAIMS, scale, tmp_path)
    exhaustive = {} if exhaustive_s is None else {"big1": _explored("big1", exhaustive_s)}
    ex.record_time_claim(nb, {"big1": _runset("big1", classes, 6.0)}, {"big1": 10}, exhaustive, off_protocol)
    return nb.measurements["estimate_vs_exhaustive_time"]


@pytest.mark.parametrize(("exhaustive_s", "verdict"), [
    (250.0, Verdict.REPRODUCED),  # 5 / 250 = 0.02, on the bar
    (240.0, Verdict.PARTLY),  # 0.0208
    (100.0, Verdict.PARTLY),  # 0.05, on the partly bar
    (99.0, Verdict.NOT_REPRODUCED),  # 0.0505
])
def test_time_claim_records_the_ratio_of_big1_and_is_judged_at_the_bars(tmp_path, exhaustive_s, verdict):
    m = _record(tmp_path, exhaustive_s)
    assert m.measured == pytest.approx(5.0 / exhaustive_s) and m.verdict == verdict.value
    assert "SE(B=8), 1 runs of 6 trials: >= 80% of runs within ±20% from 5 trials on (5.0 s" in m.note
    assert f"a full 6-trial run: 6.0 s = {6.0 / exhaustive_s:.1%} of the exhaustive {exhaustive_s:.1f} s" in m.note


def test_time_claim_that_never_reaches_the_band_is_not_reproduced(tmp_path):
    m = _record(tmp_path, 250.0, classes=LEAVES)
    assert m.measured == "inf" and m.verdict == Verdict.NOT_REPRODUCED.value
    assert "from None trials on (None s" in m.note


def test_time_claim_is_not_applicable_without_an_exhaustive_big1(tmp_path):
    m = _record(tmp_path, None)
    assert m.measured is None and m.verdict == Verdict.NOT_APPLICABLE.value
    assert m.note == "big1 is explored exhaustively only at default/paper scale"


def test_time_claim_off_the_pre_registered_protocol_is_not_applicable_with_the_value_measured(tmp_path):
    m = _record(tmp_path, 250.0, off_protocol=ex.protocol_mismatch(299, 8))
    assert m.measured is None and m.verdict == Verdict.NOT_APPLICABLE.value
    assert "trials=299 (pre-registered 300)" in m.note and "measured 0.02 (SE(B=8)" in m.note


def test_time_claim_at_smoke_scale_is_not_judged_even_with_big1(tmp_path):
    m = _record(tmp_path, 250.0, scale="smoke")
    assert m.measured == pytest.approx(0.02) and m.verdict == Verdict.NOT_APPLICABLE.value
    assert m.note.endswith("checked only at scale default/paper")
