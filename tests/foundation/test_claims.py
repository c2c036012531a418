"""The claims API: rules compute verdicts; the recorder writes every declared claim to results.json."""

import json
import math
from fractions import Fraction

import pytest

from support.claims import (
    Above,
    AtLeast,
    AtMost,
    Below,
    Claim,
    ClaimRecorder,
    ClaimSet,
    IsTrue,
    Verdict,
    Within,
    format_value,
)


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


def test_bounds_are_inclusive_at_the_threshold():
    assert AtLeast(1.0).verdict(1.0, None) is Verdict.REPRODUCED
    assert AtMost(0).verdict(0, None) is Verdict.REPRODUCED


def test_partly_bands_are_inclusive_at_their_edge():
    assert AtLeast(1.2, partly=1.0).verdict(1.0, None) is Verdict.PARTLY
    assert AtMost(0.1, partly=0.2).verdict(0.2, None) is Verdict.PARTLY
    assert Within(rel=0.1, partly_rel=0.3).verdict(70, 100) is Verdict.PARTLY


def test_within_judges_a_negative_paper_value_by_its_magnitude():
    """Audit s12 finding 10: 02's pf_slope and 10's rate_slope are -0.5; a signed denominator passed everything."""
    assert Within(0.3).verdict(-0.8, -0.5) is Verdict.NOT_REPRODUCED
    assert Within(0.3).verdict(-0.6, -0.5) is Verdict.REPRODUCED
    assert Within(0.3, partly_rel=0.7).verdict(-0.8, -0.5) is Verdict.PARTLY
    assert Within(0.3).verdict(-0.2, -0.5) is Verdict.NOT_REPRODUCED


def test_within_counts_a_value_exactly_on_its_decimal_bar_as_within():
    """Audit s27 (silent): 1.3 is exactly 30% above 1.0 and 0.55 exactly 10% above 0.5 (the claims' "within" is
    inclusive), but |m - p| / |p| of their doubles is a few ulps above the bar, and the rule said not reproduced."""
    assert Within(0.3).verdict(1.3, 1.0) is Verdict.REPRODUCED
    assert Within(0.1).verdict(0.55, 0.5) is Verdict.REPRODUCED
    assert Within(0.1, partly_rel=0.3).verdict(0.65, 0.5) is Verdict.PARTLY
    assert Within(0.3).verdict(1.3 * (1 + 1e-9), 1.0) is Verdict.NOT_REPRODUCED


@pytest.mark.parametrize("rel", [0.03, 0.05, 0.1, 0.2, 0.3, 0.4, 0.43, 0.6])
def test_within_matches_exact_decimal_arithmetic_at_and_beyond_the_bar(rel):
    """Oracle: exact rational arithmetic. For paper values 0.01..9.99, the double nearest the exact decimal
    p (1 +- rel) is within; the double nearest p (1 +- rel (1 + 1e-9)) is not (old code: about 40% failed)."""
    r, beyond = Fraction(str(rel)), Fraction(str(rel)) * (1 + Fraction(1, 10**9))
    for k in range(1, 1000):
        p = Fraction(k, 100)
        for sign in (1, -1):
            assert Within(rel).verdict(float(p * (1 + sign * r)), float(p)) is Verdict.REPRODUCED, (p, sign)
            assert Within(rel).verdict(float(p * (1 + sign * beyond)), float(p)) is Verdict.NOT_REPRODUCED, (p, sign)


def test_at_least_and_at_most_count_a_computed_value_exactly_on_the_bar_as_on_it():
    """A 10% reduction computed as 1 - 0.9 is 0.1 - 2e-17 and 0.1 + 0.2 is 0.3 + 4e-17 (the decimals are exactly on
    the bars); a relative 1e-9 past the bar stays out, and a bar of 0 stays exact (no violations means none)."""
    assert 1 - 0.9 < 0.1 and 0.1 + 0.2 > 0.3  # the doubles really are off the bar
    assert AtLeast(0.1).verdict(1 - 0.9, None) is Verdict.REPRODUCED
    assert AtLeast(0.2, partly=0.1).verdict(1 - 0.9, None) is Verdict.PARTLY
    assert AtMost(0.3).verdict(0.1 + 0.2, None) is Verdict.REPRODUCED
    assert AtLeast(0.1).verdict(0.1 * (1 - 1e-9), None) is Verdict.NOT_REPRODUCED
    assert AtMost(0.3).verdict(0.3 * (1 + 1e-9), None) is Verdict.NOT_REPRODUCED
    assert AtMost(0.0).verdict(1e-300, None) is Verdict.NOT_REPRODUCED
    assert AtLeast(0.0).verdict(-1e-300, None) is Verdict.NOT_REPRODUCED


def test_strict_rules_refuse_a_tie_at_the_threshold():
    """Audit s12 finding 7: "higher" / "faster" claims need a rule under which no gain is not reproduced."""
    assert Above(0.0).verdict(0.0, None) is Verdict.NOT_REPRODUCED
    assert Above(0.0).verdict(1e-12, None) is Verdict.REPRODUCED
    assert Above(1.0).verdict(0.999, None) is Verdict.NOT_REPRODUCED
    assert Below(0.0).verdict(0.0, None) is Verdict.NOT_REPRODUCED
    assert Below(0.0).verdict(-1e-12, None) is Verdict.REPRODUCED
    assert Below(1.0).verdict(1.001, None) is Verdict.NOT_REPRODUCED


def test_strict_rules_partly_bands_are_strict_too():
    assert Above(0.5, partly=0.0).verdict(0.5, None) is Verdict.PARTLY
    assert Above(0.5, partly=0.0).verdict(0.25, None) is Verdict.PARTLY
    assert Above(0.5, partly=0.0).verdict(0.0, None) is Verdict.NOT_REPRODUCED
    assert Below(0.1, partly=0.2).verdict(0.1, None) is Verdict.PARTLY
    assert Below(0.1, partly=0.2).verdict(0.2, None) is Verdict.NOT_REPRODUCED


def test_strict_rules_describe_themselves_and_their_bounds():
    assert Above(0.0).describe(None) == "> 0"
    assert Above(0.5, partly=0.0).describe(None) == "> 0.5 (partly: > 0)"
    assert Below(1.0, partly=1.2).describe(None) == "< 1 (partly: < 1.2)"
    assert Above(0.5, partly=0.0).bounds(None) == (0.5, 0.0)
    assert Below(1.0).bounds(None) == (1.0,)


@pytest.mark.parametrize("rule", [Above(0.0), Above(0.0, partly=-1.0), Below(0.0), Below(0.0, partly=1.0)])
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_strict_rules_judge_a_non_finite_measurement_not_reproduced(rule, value):
    assert rule.verdict(value, None) is Verdict.NOT_REPRODUCED


def test_within_a_paper_value_of_zero_uses_the_absolute_error():
    assert Within(rel=0.1).verdict(0.05, 0) is Verdict.REPRODUCED
    assert Within(rel=0.1).verdict(0.2, 0) is Verdict.NOT_REPRODUCED
    assert Within(rel=0.1).verdict(-0.2, 0) is Verdict.NOT_REPRODUCED
    assert Within(rel=0.1, partly_rel=0.3).describe(0) == "within ±0.1 of 0 (partly: ±0.3)"  # absolute, not 10%
    assert Within(rel=0.1).describe(2.0) == "within ±10% of 2.0"


def test_is_true_rejects_non_boolean_measurements():
    assert IsTrue().verdict(True, True) is Verdict.REPRODUCED
    assert IsTrue().verdict(False, True) is Verdict.NOT_REPRODUCED
    for bad in ("yes", 7, 1, 0, None):
        with pytest.raises(TypeError, match="boolean"):
            IsTrue().verdict(bad, True)


def _claims():
    return ClaimSet("99_test", [
        Claim("speedup", "X is 2x faster", 2.0, "x", "abstract", AtLeast(2.0, partly=1.5)),
        Claim("count", "exact count", 42, "", "Table 1", Within(rel=0.0)),
        Claim("big", "paper-scale only", 1.0, "", "Fig. 3", Within(rel=0.1), scales=("paper",)),
    ])


def _refuse_non_json(token):
    raise ValueError(f"results.json holds the non-JSON token {token}")


def _one_claim(rule, paper_value=2.0):
    return ClaimSet("99_test", [Claim("x", "s", paper_value, "", "abstract", rule)])


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
    rec.metric("nan", np.float64("nan"))
    data = json.loads((tmp_path / "results.json").read_text(), parse_constant=_refuse_non_json)
    assert data["claims"][1]["measured"] == 42 and data["claims"][1]["verdict"] == "reproduced"
    assert data["metrics"] == {"ratio": 0.5, "inf": "inf", "nan": "nan"}


def test_recorder_stores_non_finite_values_nested_in_metrics_as_json(tmp_path):
    np = pytest.importorskip("numpy")
    rec = ClaimRecorder(_claims(), "default", tmp_path)
    rec.metric("gpu", {"rows": [{"gain": np.float64("nan")}, {"gain": 1.5}], "peak": (math.inf, np.int64(2))})
    data = json.loads((tmp_path / "results.json").read_text(), parse_constant=_refuse_non_json)
    assert data["metrics"]["gpu"] == {"rows": [{"gain": "nan"}, {"gain": 1.5}], "peak": ["inf", 2]}


def test_table_lists_paper_value_ours_and_verdict(tmp_path):
    rec = ClaimRecorder(_claims(), "smoke", tmp_path)
    rec.record("speedup", 2.5)
    rec.not_applicable("count", "needs the full benchmark")
    df = rec.table()
    assert list(df.columns) == ["claim", "source", "paper", "ours", "rule", "verdict", "note"]
    assert df.loc[0, "ours"] == "2.5 x" and df.loc[0, "verdict"] == "reproduced"
    assert df.loc[1, "note"] == "needs the full benchmark"


@pytest.mark.parametrize("rule,value", [
    (AtLeast(1.5), math.inf), (AtMost(0.1), -math.inf), (AtMost(0.1), math.inf), (AtLeast(1.5), -math.inf),
    (AtLeast(1.5, partly=1.0), math.nan), (AtMost(0.1, partly=0.2), math.nan), (Within(rel=0.1), math.nan),
    (Within(rel=0.1), math.inf),
])
@pytest.mark.parametrize("kind", ["python float", "numpy float64"])
def test_recorder_judges_a_non_finite_measurement_not_reproduced_and_stores_it_as_json(tmp_path, rule, value, kind):
    """Audit infra finding 4: inf must not pass a bound, and a Python nan must not crash the notebook.

    Goes through ClaimRecorder.record, the path NotebookRun.record (what notebooks call) takes."""
    np = pytest.importorskip("numpy")
    measured = np.float64(value) if kind == "numpy float64" else float(value)
    rec = ClaimRecorder(_one_claim(rule), "smoke", tmp_path)
    assert rec.record("x", measured) is Verdict.NOT_REPRODUCED
    data = json.loads((tmp_path / "results.json").read_text(), parse_constant=_refuse_non_json)
    assert data["claims"][0]["measured"] == str(float(value))
    assert data["claims"][0]["verdict"] == "not reproduced"


def test_recorder_unwraps_numpy_bools_for_is_true(tmp_path):
    np = pytest.importorskip("numpy")
    rec = ClaimRecorder(_one_claim(IsTrue(), True), "smoke", tmp_path)
    assert rec.record("x", np.bool_(True)) is Verdict.REPRODUCED
    assert json.loads((tmp_path / "results.json").read_text())["claims"][0]["measured"] is True


@pytest.mark.parametrize("rule,bad", [(IsTrue(), 7), (AtLeast(1.0), "fast"), (Within(rel=0.1), None),
                                      (AtLeast(1.0), True), (AtMost(0.0), False)])
def test_recorder_names_the_claim_when_a_measurement_has_the_wrong_type(tmp_path, rule, bad):
    rec = ClaimRecorder(_one_claim(rule), "smoke", tmp_path)
    with pytest.raises(TypeError, match="claim 'x'"):
        rec.record("x", bad)


@pytest.mark.parametrize("rule,paper,measured,shown", [
    (AtLeast(0.14, partly=0.1), 0.14, 0.0999998791770696, "0.0999999"),  # 06 at smoke: "0.1" beside ">= 0.1"
    (AtMost(0.1), 0.1, 0.10000004, "0.10000004"),
    (Within(rel=0.1), 2.0, 1.79999999, "1.79999999"),  # the band is [1.8, 2.2]
    (Within(rel=0.1, partly_rel=0.3), 2.0, 2.60000001, "2.60000001"),  # the partly band ends at 2.6
    (Within(rel=0.1), 0, -0.10000001, "-0.10000001"),  # around 0 the band is absolute: [-0.1, 0.1]
    (AtLeast(0.14, partly=0.1), 0.14, 0.1, "0.1"),  # on the bound: 4 digits say so
    (AtLeast(0.14), 0.14, 0.123456, "0.1235"),  # far from any bound: 4 digits
])
def test_table_shows_enough_digits_to_tell_which_side_of_a_rule_bound_a_value_is_on(tmp_path, rule, paper,
                                                                                      measured, shown):
    """Audit user finding 2: 4 significant digits showed 0.0999999 as 0.1 beside ">= 0.1" and "not reproduced".

    The bounds come from Rule.bounds, stored with each claim in results.json for the report."""
    rec = ClaimRecorder(_one_claim(rule, paper), "smoke", tmp_path)
    rec.record("x", measured)
    assert rec.table().loc[0, "ours"] == shown
    assert json.loads((tmp_path / "results.json").read_text())["claims"][0]["bounds"] == list(rule.bounds(paper))


def test_rule_bounds_are_where_the_verdict_changes():
    assert AtLeast(0.14, partly=0.1).bounds(None) == (0.14, 0.1)
    assert AtMost(0.1).bounds(None) == (0.1,)
    assert Within(rel=0.1, partly_rel=0.3).bounds(-2.0) == pytest.approx((-2.2, -1.8, -2.6, -1.4))
    assert Within(rel=0.1).bounds(0) == (-0.1, 0.1)
    assert IsTrue().bounds(True) == ()


LONG_CLAIM = "Mean latency reduction of CRMS over the best heuristic is at least 14% across the seeds"
LONG_SOURCE = "Section V-B, Figure 3a and the text below it (reduction vs. the best heuristic)"
LONG_NOTE = "median over 5 seeds (mean 0.113); on 2 seeds every heuristic is unstable (reduction 1) <so 1>"


def test_notebook_claims_table_shows_claim_source_and_note_in_full(tmp_path, monkeypatch):
    """Audit user finding 2: the notebook's table cut claim, source and note at pandas' 50 characters.

    What nb.claims_table() returns is what the notebook, and so its HTML report, displays."""
    import html

    from support.notebook import start

    monkeypatch.setenv("PAPER_REPRO_OUT", str(tmp_path))
    claims = ClaimSet("99_test", [Claim("x", LONG_CLAIM, 0.14, "", LONG_SOURCE, AtLeast(0.14))])
    nb = start("99_test", claims, scale="smoke", seed=0, backend="numpy")
    nb.record("x", 0.2, note=LONG_NOTE)
    table = nb.claims_table()
    shown, text = table._repr_html_(), repr(table)
    for full in (LONG_CLAIM, LONG_SOURCE, LONG_NOTE):
        assert html.escape(full, quote=False) in shown and full in text
    assert "white-space:normal" in shown  # wrapped, not one line per row
    assert table.frame.loc[0, "note"] == LONG_NOTE


def test_record_unless_gives_the_reason_and_the_measured_value_or_records_as_usual(tmp_path):
    cs = ClaimSet("t", [Claim("a", "s", 1.0, "", "src", AtMost(1.0)),
                        Claim("b", "s", 1.0, "", "src", AtMost(1.0), scales=("default",))])
    rec = ClaimRecorder(cs, "smoke", tmp_path)
    assert rec.record_unless(None, "a", 0.5, "n") is Verdict.REPRODUCED
    assert rec.record_unless("another grid", "a", 0.5, "n") is Verdict.NOT_APPLICABLE
    m = rec.measurements["a"]
    assert m.measured is None and m.note == "another grid; measured 0.5 (n)"
    # a scale the claim excludes keeps the recorder's own treatment (the measured value stays)
    assert rec.record_unless("another grid", "b", 0.5, "n") is Verdict.NOT_APPLICABLE
    assert rec.measurements["b"].measured == 0.5


def _three_claims():
    return ClaimSet("t", [Claim("speedup", "s", 2.0, "x", "src", AtLeast(2.0, partly=1.5)),
                          Claim("loss", "s", 0.0, "", "src", AtMost(0.0)),
                          Claim("count", "s", 42, "", "src", Within(rel=0.0))])


def test_record_all_judges_each_value_by_its_rule_and_marks_none_not_applicable_with_the_note(tmp_path):
    rec = ClaimRecorder(_three_claims(), "default", tmp_path)
    rec.record_all({"speedup": (1.6, "median of 3"), "loss": (0.0, "exact"), "count": (None, "no counter here")})
    got = {n: (m.measured, m.verdict, m.note) for n, m in rec.measurements.items()}
    assert got == {"speedup": (1.6, "partly", "median of 3"),  # a value gets its rule's verdict and its note
                   "loss": (0.0, "reproduced", "exact"),  # a zero is a measurement, not a missing one
                   "count": (None, "not applicable here", "no counter here")}  # None: the note is the reason
    saved = {c["name"]: c["verdict"] for c in json.loads((tmp_path / "results.json").read_text())["claims"]}
    assert saved == {"speedup": "partly", "loss": "reproduced", "count": "not applicable here"}


@pytest.mark.parametrize("reason", ["", "  ", None])
def test_a_claim_is_never_marked_not_applicable_without_a_reason(tmp_path, reason):
    """Directly or as a None value in record_all, an empty reason is refused and nothing is recorded."""
    rec = ClaimRecorder(_three_claims(), "default", tmp_path)
    with pytest.raises(ValueError, match="'count' marked not applicable without a reason"):
        rec.not_applicable("count", reason)
    with pytest.raises(ValueError, match="without a reason"):
        rec.record_all({"count": (None, reason)})
    assert "count" not in rec.measurements


def test_notebook_record_all_records_through_its_recorder(tmp_path, monkeypatch):
    from support.notebook import start

    monkeypatch.setenv("PAPER_REPRO_OUT", str(tmp_path))
    nb = start("99_test", _three_claims(), scale="smoke", seed=0, backend="numpy")
    nb.record_all({"speedup": (2.5, "n"), "count": (None, "why")})
    assert {n: m.verdict for n, m in nb.recorder.measurements.items()} == {"speedup": "reproduced",
                                                                          "count": "not applicable here"}


def test_a_nan_measurement_reads_n_a_in_the_claims_table_as_stored_or_in_memory():
    assert format_value(float("nan")) == "n/a" and format_value(-math.nan) == "n/a"
    assert format_value("nan") == "n/a"  # results.json stores a NaN as the string "nan"
    assert format_value(float("inf")) == "inf" and format_value(0.5) == "0.5"


def test_worst_of_is_the_largest_value_and_nan_when_any_value_is_nan():
    np = pytest.importorskip("numpy")
    from support.claims import worst_of

    assert worst_of(0.01, 0.03) == 0.03 and worst_of(np.array([1e-9, 4e-9]), 2e-9, [3e-9]) == 4e-9
    assert math.isnan(worst_of(0.01, float("nan")))  # Python's max(0.01, nan) is 0.01
    assert math.isnan(worst_of(np.array([1.0, np.nan]), 0.5))  # pandas' Series.max() would skip it
    with pytest.raises(ValueError, match="at least one value"):
        worst_of()
    with pytest.raises(ValueError, match="at least one value"):
        worst_of(np.array([]))


def test_a_boolean_measurement_reads_yes_or_no_in_the_claims_table(tmp_path):
    """An IsTrue claim's measured value is a bool: the table says "yes" / "no", not Python's "True" / "False"."""
    assert format_value(True) == "yes" and format_value(False) == "no"
    rec = ClaimRecorder(_one_claim(IsTrue(), True), "smoke", tmp_path)
    rec.record("x", False)
    assert rec.table().loc[0, "ours"] == "no"


def test_within_describes_its_partly_band_by_the_partly_tolerance():
    """The rule column must state both bands: ±10% reproduces, ±30% is partly (not ±10% twice)."""
    assert Within(rel=0.1, partly_rel=0.3).describe(2.0) == "within ±10% of 2.0 (partly: ±30%)"
    assert Within(rel=0.05, partly_rel=0.2).describe(-0.5) == "within ±5% of -0.5 (partly: ±20%)"


@pytest.mark.parametrize("rule,measured,shown", [
    (AtLeast(1), 0.99999999, "0.99999999"),  # 4 digits would show "1" beside ">= 1" and "not reproduced"
    (AtMost(2), 2.0000001, "2.0000001"),
    (Above(0, partly=-1), -0.99999999, "-0.99999999"),
])
def test_table_digits_respect_an_integer_rule_bound_too(tmp_path, rule, measured, shown):
    """Thresholds are often written as ints (AtLeast(1)); their bounds are ints in results.json. A value just on the
    failing side must not be rounded onto the bound. Oracle: the value's own repr, the fewest digits that keep its side."""
    rec = ClaimRecorder(_one_claim(rule, None), "smoke", tmp_path)
    rec.record("x", measured)
    assert rec.table().loc[0, "ours"] == shown
    assert format_value(measured, "", rule.bounds(None)) == shown
