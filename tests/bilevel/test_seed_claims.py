"""The values behind 10's claims that compare two runs (cleaned vs validation-only, RABO vs dropping the weak
clients) and the work ratios the text quotes: hand-made tables with values worked out by hand, each claim's
verdict on both sides of its bound and at it, and the per-seed runs checked against runs made here directly."""

import math

import pandas as pd
import pytest

from support.bilevel import experiments as X
from support.bilevel.claims import CLAIMS
from support.claims import ClaimRecorder, Verdict


def cleaning_table(cleaned, validation_only) -> pd.DataFrame:
    return pd.DataFrame({"seed": range(len(cleaned)), "cleaned": cleaned, "validation_only": validation_only})


def test_cleaned_vs_validation_only_is_the_difference_of_the_seed_means_with_a_note():
    # means 0.88 and 0.885: -0.005, i.e. -0.50 pp
    gain, note = X.cleaned_vs_validation_only(cleaning_table([0.90, 0.86], [0.88, 0.89]))
    assert gain == pytest.approx(-0.005)
    assert note == ("mean of 2 seeds: cleaned 0.8800 vs validation digits alone 0.8850 (-0.50 pp); per seed cleaned "
                    "[0.9, 0.86], validation digits alone [0.88, 0.89]")


@pytest.mark.parametrize(("cleaned", "validation_only", "verdict"), [
    ([0.75, 0.625], [0.5, 0.625], Verdict.REPRODUCED),  # means 0.6875 vs 0.5625: beats it
    ([0.5, 0.75], [0.75, 0.5], Verdict.NOT_REPRODUCED),  # equal means (0.625, exactly): a tie is no gain
    ([0.5, 0.5], [0.75, 0.5], Verdict.NOT_REPRODUCED),
])
def test_cleaned_beats_validation_only_needs_a_strictly_higher_mean(tmp_path, cleaned, validation_only, verdict):
    gain, note = X.cleaned_vs_validation_only(cleaning_table(cleaned, validation_only))
    assert ClaimRecorder(CLAIMS, "default", tmp_path).record("cleaned_beats_validation_only", gain, note) is verdict
    smoke = ClaimRecorder(CLAIMS, "smoke", tmp_path)  # one seed at smoke: not judged, the value kept
    assert smoke.record("cleaned_beats_validation_only", gain, note) is Verdict.NOT_APPLICABLE
    assert smoke.measurements["cleaned_beats_validation_only"].measured == gain


def rep_table(rabo, drop) -> pd.DataFrame:
    return pd.DataFrame({"seed": range(len(rabo)), "rabo_objective": rabo, "drop_objective": drop,
                         "drop_minus_rabo": [d - r for r, d in zip(rabo, drop)]})


def test_rep_vs_drop_is_the_mean_of_the_per_seed_loss_differences_not_one_seed():
    # seed 0: 0.6 - 0.3 = +0.3, seed 1: 0.4 - 0.5 = -0.1 -> mean +0.1 (seed 1 alone would say "drop is better")
    gap, note = X.rep_vs_drop(rep_table([0.3, 0.5], [0.6, 0.4]))
    assert gap == pytest.approx(0.1)
    assert note == ("mean of 2 seeds: validation loss 0.4000 (RABO nested) vs 0.5000 (weak clients dropped); per seed "
                    "RABO nested [0.3, 0.5], dropped [0.6, 0.4]")
    assert CLAIMS["rep_beats_drop"].judge(gap) is Verdict.REPRODUCED
    tie = X.rep_vs_drop(rep_table([0.25, 0.5], [0.375, 0.375]))[0]  # +0.125 and -0.125 (exact in binary)
    assert tie == 0.0 and CLAIMS["rep_beats_drop"].judge(tie) is Verdict.NOT_REPRODUCED  # a tie is no gain
    assert CLAIMS["rep_beats_drop"].judge(X.rep_vs_drop(rep_table([0.5], [0.25]))[0]) is Verdict.NOT_REPRODUCED


def test_rep_vs_drop_over_three_seeds_is_the_mean_not_the_median_of_the_differences():
    """Differences -0.25, -0.125 and +0.75 (exact in binary): mean +0.125 (keeping the weak clients is better), median
    -0.125 (it would say the opposite); with two seeds the two coincide, so three are needed to tell them apart."""
    gap = X.rep_vs_drop(rep_table([0.5, 0.5, 0.25], [0.25, 0.375, 1.0]))[0]
    assert gap == 0.125 and CLAIMS["rep_beats_drop"].judge(gap) is Verdict.REPRODUCED


def test_rep_vs_drop_with_a_diverged_seed_is_nan_and_not_reproduced():
    # a NaN final loss on one seed must not be skipped by the mean (pandas' default would judge the other seed)
    gap = X.rep_vs_drop(rep_table([0.3, float("nan")], [0.6, 0.4]))[0]
    assert math.isnan(gap) and CLAIMS["rep_beats_drop"].judge(gap) is Verdict.NOT_REPRODUCED


def test_rep_over_seeds_reuses_known_runs_and_runs_the_missing_methods_on_each_seeds_own_setup(monkeypatch):
    rounds, kw = 3, {"eval_every": 3}
    direct = {}
    for s in (0, 1):
        task, X_test, y_test = X.rep_setup(s, n_clients=8)
        direct[s] = {m: X.rep_run(task, X_test, y_test, m, rounds, s, **kw) for m in X.REP_SEED_METHODS}
    calls = []
    real = X.rep_run
    monkeypatch.setattr(X, "rep_run", lambda task, xt, yt, m, r, s, *a, **k: calls.append((s, m)) or
                        real(task, xt, yt, m, r, s, *a, **k))
    known = {0: {m: direct[0][m] for m in ("RABO nested", "full model (upper bound)")}}  # seed 0 lacks the drop run
    df = X.rep_over_seeds([0, 1], rounds, known=known, **kw)
    assert calls == [(0, "drop weak clients")] + [(1, m) for m in X.REP_SEED_METHODS]
    for row, s in zip(df.to_dict("records"), (0, 1)):
        nest, full, drop = (direct[s][m] for m in X.REP_SEED_METHODS)
        assert row == pytest.approx({
            "seed": s, "rabo_nested": nest["test_acc"], "full": full["test_acc"],
            "ratio": nest["test_acc"] / full["test_acc"], "rabo_objective": nest["final_objective"],
            "drop_objective": drop["final_objective"],
            "drop_minus_rabo": drop["final_objective"] - nest["final_objective"]})


def test_work_vs_full_divides_each_total_by_the_full_models():
    # by the full model's total, not the largest one (a local-update run can spend more than the full model)
    tab = pd.DataFrame({"work_total": [250.0, 200.0, 140.0, 100.0]},
                       index=pd.Index(["RAFBO local nested", "full model (upper bound)", "RABO nested",
                                       "drop weak clients"], name="method"))
    assert X.work_vs_full(tab).to_dict() == {"RAFBO local nested": 1.25, "full model (upper bound)": 1.0,
                                             "RABO nested": 0.7, "drop weak clients": 0.5}
