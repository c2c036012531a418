"""The claims API: rules compute verdicts; the recorder writes every declared claim to results.json."""

import json
import math

import pytest

from support.claims import AtLeast, AtMost, Claim, ClaimRecorder, ClaimSet, IsTrue, Verdict, Within


def test_within_rule_grades_by_relative_error():
    r = Within(rel=0.1, partly_rel=0.3)
    assert r.verdict(105, 100) is Verdict.REPRODUCED
    assert r.verdict(80, 100) is Verdict.PARTLY
    assert r.verdict(50, 100) is Verdict.NOT_REPRODUCED
    assert r.verdict(float("nan"), 100) is Verdict.NOT_REPRODUCED
    assert Within(rel=0.0).verdict(23, 23) is Verdict.REPRODUCED
    assert Within(rel=0.0).verdict(24, 23) is Verdict.NOT_REPRODUCED


def test_directional_rules_use_their_thresholds():
    assert AtLeast(1.2, partly=1.0).verdict(1.3, None) is Verdict.REPRODUCED
    assert AtLeast(1.2, partly=1.0).verdict(1.1, None) is Verdict.PARTLY
    assert AtLeast(1.2).verdict(1.1, None) is Verdict.NOT_REPRODUCED
    assert AtMost(0.1).verdict(0.05, None) is Verdict.REPRODUCED
    assert AtMost(0.1, partly=0.2).verdict(0.15, None) is Verdict.PARTLY
    assert AtMost(0.1).verdict(0.5, None) is Verdict.NOT_REPRODUCED


def test_is_true_rejects_non_boolean_measurements():
    assert IsTrue().verdict(True, True) is Verdict.REPRODUCED
    assert IsTrue().verdict(False, True) is Verdict.NOT_REPRODUCED
    with pytest.raises(TypeError):
        IsTrue().verdict("yes", True)


def _claims():
    return ClaimSet("99_test", [
        Claim("speedup", "X is 2x faster", 2.0, "x", "abstract", AtLeast(2.0, partly=1.5)),
        Claim("count", "exact count", 42, "", "Table 1", Within(rel=0.0)),
        Claim("big", "paper-scale only", 1.0, "", "Fig. 3", Within(rel=0.1), scales=("paper",)),
    ])


def test_claim_set_refuses_duplicates_and_unknown_scales():
    c = Claim("a", "s", 1, "", "abstract", Within(0.1))
    with pytest.raises(ValueError, match="twice"):
        ClaimSet("p", [c, c])
    with pytest.raises(ValueError, match="unknown scales"):
        ClaimSet("p", [Claim("b", "s", 1, "", "abstract", Within(0.1), scales=("huge",))])
    with pytest.raises(KeyError, match="declares no claim"):
        _claims()["nope"]


def test_recorder_computes_verdicts_and_writes_every_declared_claim(tmp_path):
    rec = ClaimRecorder(_claims(), "smoke", tmp_path)
    assert rec.record("speedup", 1.6) is Verdict.PARTLY
    assert rec.record("big", 1.0) is Verdict.NOT_APPLICABLE  # not checkable at smoke scale
    data = json.loads((tmp_path / "results.json").read_text())
    by_name = {c["name"]: c for c in data["claims"]}
    assert list(by_name) == ["speedup", "count", "big"]
    assert by_name["speedup"]["verdict"] == "partly" and by_name["speedup"]["measured"] == 1.6
    assert by_name["count"]["verdict"] == "not applicable here"
    assert by_name["count"]["note"] == "not measured in this run"
    assert "paper" in by_name["big"]["note"]


def test_recorder_stores_numpy_scalars_and_non_finite_values_as_json(tmp_path):
    np = pytest.importorskip("numpy")
    rec = ClaimRecorder(_claims(), "default", tmp_path)
    rec.record("count", np.int64(42))
    rec.metric("ratio", np.float32(0.5))
    rec.metric("inf", math.inf)
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["claims"][1]["measured"] == 42 and data["claims"][1]["verdict"] == "reproduced"
    assert data["metrics"] == {"ratio": 0.5, "inf": "inf"}


def test_table_lists_paper_value_ours_and_verdict(tmp_path):
    rec = ClaimRecorder(_claims(), "smoke", tmp_path)
    rec.record("speedup", 2.5)
    rec.not_applicable("count", "needs the full benchmark")
    df = rec.table()
    assert list(df.columns) == ["claim", "source", "paper", "ours", "rule", "verdict", "note"]
    assert df.loc[0, "ours"] == "2.5 x" and df.loc[0, "verdict"] == "reproduced"
    assert df.loc[1, "note"] == "needs the full benchmark"
