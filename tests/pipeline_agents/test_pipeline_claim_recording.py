"""Paper 05: the checks and notes the notebook records its exact claims with (hand scenario, z3 vs Rego, the MTTR note),
the paper's reference values its figures draw, and the notebook text on what smoke scale cuts, each on hand-made
inputs whose answer is known."""

from __future__ import annotations

import ast
import dataclasses
import math

import nbformat
import pytest

from support.claims import ClaimRecorder, ClaimSet, Verdict
from support.paths import REPO_ROOT
from support.pipeline_agents import experiments as X
from support.pipeline_agents.claims import CLAIMS

NOTEBOOK = REPO_ROOT / "notebooks" / "05_pipeline_agents.ipynb"

# the hand scenario's values (tests/pipeline_agents/test_pipeline_des.py derives them): (MTTR s, cost USD, done s)
STATIC = (300.0, 1150 * 2 * 1.5 / 3600, 1450.0)
AGENTIC = (45.0, 1060 * 2 * 1.5 / 3600, 1105.0)


def _hand(static_sim=STATIC, agentic_sim=AGENTIC) -> dict:
    return {"static": (static_sim, STATIC), "agentic": (agentic_sim, AGENTIC)}


def test_hand_scenario_agrees_when_every_value_is_equal():
    assert X.hand_scenario_agrees(_hand()) is True


def test_hand_scenario_agrees_when_the_cost_is_one_ulp_off():
    # the simulator's static bill is 0.9583333333333333, the hand formula's 0.9583333333333334
    assert X.hand_scenario_agrees(_hand((300.0, math.nextafter(STATIC[1], 0.0), 1450.0)))


@pytest.mark.parametrize("sim", [
    (300.0, STATIC[1] * (1 + 1e-9), 1450.0),  # a cost 1e-9 off: np.allclose's default atol of 1e-8 let it pass
    (300.0 + 1e-9, STATIC[1], 1450.0),  # a time off by a nanosecond is not exact
    (300.0, STATIC[1], 1450.0 - 1e-9),
    (301.0, STATIC[1], 1450.0),
])
def test_hand_scenario_disagrees_when_a_time_is_not_exact_or_the_cost_is_off_beyond_rounding(sim):
    assert X.hand_scenario_agrees(_hand(static_sim=sim)) is False
    assert X.hand_scenario_agrees(_hand(agentic_sim=(AGENTIC[0], AGENTIC[1], AGENTIC[2] + 1e-9))) is False


def test_hand_scenario_without_a_controller_is_refused():
    with pytest.raises(ValueError, match="at least one controller"):
        X.hand_scenario_agrees({})


def test_the_simulated_hand_scenario_agrees_with_the_hand_computation():
    hand = {c: (X.hand_scenario(c), X.hand_expected(c)) for c in ("static", "agentic")}
    assert X.hand_scenario_agrees(hand)


@pytest.mark.parametrize(("mismatches", "verdict"), [(0, Verdict.REPRODUCED), (1, Verdict.NOT_REPRODUCED),
                                                     (2000, Verdict.NOT_REPRODUCED)])
def test_engines_agree_only_without_a_mismatch(tmp_path, mismatches, verdict):
    agree = X.engines_agree({"pairs": 2000, "mismatches": mismatches})
    assert agree is (mismatches == 0)  # a real bool: IsTrue refuses a count
    assert ClaimRecorder(CLAIMS, "smoke", tmp_path).record("z3_rego_agree", agree) == verdict


def test_engines_agree_refuses_a_comparison_of_no_pair():
    with pytest.raises(ValueError, match="at least one compared pair, got pairs=0"):
        X.engines_agree({"pairs": 0, "mismatches": 0})
    with pytest.raises(ValueError, match="n_pairs must be an integer >= 1, got 0"):
        X.differential(0, 1)  # raised ZeroDivisionError before engines_agree could refuse it


RED = {"mttr": 0.5, "mttr_batch": 0.6, "mttr_stream": 0.25}
EXCEEDS = "exceeds the paper's 'up to 45%': the baseline's 300 s retry delay and on-call pages dominate its MTTR"


def test_mttr_note_gives_seeds_horizon_and_both_pipelines():
    assert X.mttr_note({**RED, "mttr": 0.3}, 20, 24.0, 300.0) == "20 seeds x 24 h; batch 60%, stream 25%"


@pytest.mark.parametrize(("mttr", "exceeds"), [(0.4501, True), (0.45, False), (0.44, False), (float("nan"), False)])
def test_mttr_note_says_the_paper_is_exceeded_only_above_its_up_to_value(mttr, exceeds):
    note = X.mttr_note({**RED, "mttr": mttr}, 2, 24.0, 300.0)
    assert (EXCEEDS in note) is exceeds


def test_mttr_note_names_the_retry_delay_used_and_a_missing_pipeline_as_n_a():
    note = X.mttr_note({"mttr": 0.9, "mttr_batch": float("nan"), "mttr_stream": 0.9}, 2, 1.5, 120.0)
    assert note.startswith("2 seeds x 1.5 h; batch n/a, stream 90%; ")
    assert "the baseline's 120 s retry delay" in note


def _claims_with(**paper_values) -> ClaimSet:
    return ClaimSet(CLAIMS.paper, [dataclasses.replace(c, paper_value=paper_values.get(c.name, c.paper_value))
                                   for c in CLAIMS.values()])


def test_mttr_note_and_figure_lines_read_the_paper_values_from_the_claims(monkeypatch):
    monkeypatch.setattr(X, "CLAIMS", _claims_with(mttr_reduction=0.5, manual_reduction=0.8))
    assert "exceeds" not in X.mttr_note({**RED, "mttr": 0.46}, 2, 24.0, 300.0)
    assert "up to 50%" in X.mttr_note({**RED, "mttr": 0.51}, 2, 24.0, 300.0)
    assert X.paper_reductions_pct() == [(50.0, "paper MTTR"), (25.0, "paper cost"), (80.0, "paper manual")]


def test_paper_reference_lines_are_the_abstracts_45_25_and_70_percent():
    assert X.paper_reductions_pct() == [(45.0, "paper MTTR"), (25.0, "paper cost"), (70.0, "paper manual")]


def test_cost_band_is_the_range_the_cost_claim_reproduces():
    lo, hi = X.cost_band()
    assert (lo, hi) == (0.15, 0.35)  # the band: 25% +/- 40% of it
    judge = CLAIMS["cost_reduction"].judge
    assert judge(lo) == judge(hi) == Verdict.REPRODUCED
    assert judge(lo - 1e-9) == judge(hi + 1e-9) == Verdict.PARTLY


# ------------------------------------------------------------------------------------------ notebook text

def _cells():
    return nbformat.read(NOTEBOOK, as_version=4).cells


def _value(node: ast.expr):
    """A literal's value; a list element that is not one (``float("inf")``) as its source text."""
    if isinstance(node, ast.List):
        return [_value(e) for e in node.elts]
    try:
        return ast.literal_eval(node)
    except ValueError:
        return ast.unparse(node)


def _picks() -> dict[str, dict[str, object]]:
    """Assigned name -> the keywords of the first ``nb.pick(...)`` in its value (``SEEDS = range(..nb.pick(..))``)."""
    code = "\n".join(c.source for c in _cells() if c.cell_type == "code")
    out = {}
    for node in ast.walk(ast.parse(code)):
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            continue
        for call in ast.walk(node.value):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "pick":
                out.setdefault(node.targets[0].id, {k.arg: _value(k.value) for k in call.keywords})
                break
    return out


def _claims_markdown() -> str:
    return next(c.source for c in _cells() if c.cell_type == "markdown" and c.source.startswith("## Claims"))


def test_claims_section_states_the_smoke_cuts_the_code_makes():
    p, text = _picks(), " ".join(_claims_markdown().split())
    seeds, sweep, sw_seeds = p["SEEDS"], p["FACTORS"], p["SW_SEEDS"]
    assert f"on {seeds['smoke']} seeds instead of {seeds['default']} ({seeds['paper']} at paper scale)" in text
    assert (f"the fault-rate sweep at {' and '.join(f'x{f:g}' for f in sweep['smoke'])} only, with "
            f"{sw_seeds['smoke']} seeds per multiplier (default: "
            f"{', '.join(f'x{f:g}' for f in sweep['default'][:-1])} and x{sweep['default'][-1]:g} with "
            f"{sw_seeds['default']} seeds)") in text
    assert f"on {p['diff']['smoke']:,} random pairs instead of {p['diff']['default']:,}" in text
    dc = p["dc"]
    assert f"on {dc['smoke']:,} jobs per queue instead of {dc['default']:,} ({dc['paper']:,} at paper scale)" in text
    assert f"TPC-H SF {p['SF']['smoke']:g} timed once (default: SF {p['SF']['default']:g}, 3 repetitions)" in text
    assert p["inp"]["smoke"] == 1 and p["inp"]["default"] == 3  # "timed once", "3 repetitions"
    assert p["sz"]["smoke"] == p["mr_seeds"]["smoke"] == 2 and p["sz"]["default"] == p["mr_seeds"]["default"] == 10
    assert "sections 6 and 7, which the cost claim's note quotes, run 2 seeds instead of 10" in text
    grid = len(p["HEADROOMS"]["smoke"]) * len(p["CADENCES"]["smoke"])
    full = len(p["HEADROOMS"]["default"]) * len(p["CADENCES"]["default"])
    assert f"on {grid} of the {full} sizing settings" in text
    assert f"{len(p['RAISE_H']['smoke'])} of the {len(p['RAISE_H']['default'])} memory-raise durations" in text
    assert all(c.scales == ("smoke", "default", "paper") for c in CLAIMS.values())  # "every claim is still judged"


def test_notebook_judges_no_claim_with_its_own_tolerance_or_paper_number():
    code = "\n".join(c.source for c in _cells() if c.cell_type == "code")
    assert "X.hand_scenario_agrees(hand)" in code and "X.engines_agree(diff)" in code
    assert "X.mttr_note(" in code and "X.paper_reductions_pct()" in code
    for literal in ("allclose", "rtol", "0.45", '"mismatches"] == 0', "(45, ", "axhline(25", "axhspan(15, 35"):
        assert literal not in code, literal
