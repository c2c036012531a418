"""How the notebook turns its studies into claims: the brute-force fraction, the gap to the best blind selector, the
infeasible-settings check, the headline claims with their notes (each branch, with the real claim rules), and the
error for a method that is not run on its own."""

import math

import numpy as np
import pandas as pd
import pytest

from support.claims import ClaimRecorder, Verdict
from support.fl_selection import experiments as X
from support.fl_selection import recording as R
from support.fl_selection.claims import CLAIMS


def _nb(tmp_path, scale: str = "default") -> ClaimRecorder:
    return ClaimRecorder(CLAIMS, scale, tmp_path)


def _claim(nb: ClaimRecorder, name: str):
    m = nb.measurements[name]
    return m.measured, Verdict(m.verdict), m.note


# ----------------------------------------------------------------------------------------------- brute force

def test_brute_force_fraction_counts_gaps_up_to_5_percent_and_a_failed_csra_as_outside():
    sel = pd.DataFrame({"gap": [0.0, 0.05, 0.0500001, math.inf]})  # at the bar: within; just above, or failed: not
    assert X.brute_force_fraction(sel) == 0.5
    assert X.brute_force_fraction(sel, tol=0.1) == 0.75


def test_brute_force_fraction_counts_a_cost_exactly_5_percent_above_the_optimum_as_within():
    """Costs 21, 42, 105 are exactly 5% above optima 20, 40, 100 (hand-derived), though the gap c/opt - 1 rounds
    to 0.05 + 4e-17; a cost a relative 1e-9 beyond the bar stays outside."""
    opt = pd.Series([20.0, 40.0, 100.0, 20.0])
    cost = pd.Series([21.0, 42.0, 105.0, 21.0 * (1 + 1e-9)])
    assert X.brute_force_fraction(pd.DataFrame({"gap": cost / opt - 1})) == 0.75


def test_brute_force_fraction_refuses_a_study_without_instances():
    with pytest.raises(ValueError, match="at least one instance"):
        X.brute_force_fraction(pd.DataFrame())


# ----------------------------------------------------------------------------------------------- blind selectors

def _table(**acc) -> pd.DataFrame:
    return pd.DataFrame({"final_acc": list(acc.values())}, index=pd.Index(list(acc), name="method"))


def test_blind_gap_takes_the_best_blind_selector_run_and_never_random():
    t = _table(csra=0.80, random=0.95, random_opt=0.95, best_channel=0.78, oort=0.79)
    gap, best = X.blind_gap(t)
    assert best == "oort" and gap == pytest.approx(1.0)  # 100 * (0.80 - 0.79) pp; random is its own claim


def test_blind_gap_at_smoke_is_against_the_ablation_alone():
    gap, best = X.blind_gap(_table(csra=0.70, csra_no_het=0.72, random=0.9))
    assert best == "csra_no_het" and gap == pytest.approx(-2.0)


def test_blind_selectors_are_the_ones_the_claim_names_and_not_random():
    assert set(X.BLIND_SELECTORS) == {"best_channel", "power_of_choice", "oort", "csra_no_het", "all_clients"}
    assert set(X.BLIND_SELECTORS) <= set(X.RUNNABLE)


def test_blind_gap_refuses_a_table_without_a_blind_selector():
    with pytest.raises(ValueError, match="at least one of the blind selectors"):
        X.blind_gap(_table(csra=0.8, random=0.7))


# ----------------------------------------------------------------------------------------------- infeasible settings

OK_ERRS = {"deadline": "InfeasibleError: deadline T = 0.001 s is below the fastest selected client's compute time",
           "bandwidth": "InfeasibleError: uplink bandwidth B = 0.0 Hz: no client can upload"}


@pytest.mark.parametrize(("bad", "why"), [
    ({"deadline": "no error"}, "nothing raised"),
    ({"bandwidth": "ValueError: uplink bandwidth B = 0.0 Hz"}, "not the InfeasibleError"),
    ({"deadline": "InfeasibleError: the problem is infeasible"}, "names no cause"),
    ({"deadline": "InfeasibleError: uplink bandwidth B = 0.0 Hz: no client can upload"}, "names the other cause"),
    ({"bandwidth": "InfeasibleError: no deadline can be met"}, "names the other cause"),
])
def test_infeasible_ok_needs_an_infeasible_error_naming_its_own_cause_in_every_setting(bad, why):
    assert X.infeasible_ok(OK_ERRS) is True
    assert X.infeasible_ok({**OK_ERRS, **bad}) is False, why


def test_infeasible_ok_refuses_a_setting_it_does_not_know():
    with pytest.raises(ValueError, match=r"got \['power'\]"):
        X.infeasible_ok({**OK_ERRS, "power": "InfeasibleError: power"})


def test_infeasible_ok_refuses_no_settings():
    with pytest.raises(ValueError, match="at least one setting"):
        X.infeasible_ok({})


# ----------------------------------------------------------------------------------------------- methods

@pytest.fixture(scope="module")
def env():
    return X.build_env(X.Setup(dataset="digits", n_clients=6, participation=0.5, rounds=1, min_size=5, alpha=1.0), 0)


def test_every_runnable_method_has_a_policy(env):
    for method in X.RUNNABLE:
        assert X._policy(env, method) is not None


def test_random_opt_is_refused_as_a_method_of_its_own_with_where_it_comes_from(env):
    with pytest.raises(ValueError, match=r"^method 'random_opt' is not run on its own: it comes with 'random'"):
        X._policy(env, "random_opt")


def test_an_unknown_method_lists_only_the_methods_that_can_be_run(env):
    with pytest.raises(ValueError) as e:
        X._policy(env, "greedy")
    msg = str(e.value)
    assert msg == ("unknown method 'greedy'; expected one of csra, csra_no_het, random, best_channel, all_clients, "
                   "power_of_choice, oort (random_opt comes with random)")


# ----------------------------------------------------------------------------------------------- headline claims

def _sv(acc_gap=1.0, energy=0.5, latency=0.2, both=2, seeds=2) -> dict:
    return {"acc_gap_pp": acc_gap, "acc_gap_per_seed_pp": [0.5, 1.5], "acc_gap_se_pp": 0.5, "energy_saving": energy,
            "latency_saving": latency, "seeds_both_reached": both, "seeds": seeds, "energy_per_round_saving": 0.58,
            "latency_per_round_saving": -0.15}


TABLE = _table(csra=0.80, random=0.79, random_opt=0.79, best_channel=0.80, csra_no_het=0.75)
NOTE = "2 seeds x 30 rounds"


def test_headline_claims_record_the_savings_and_the_gaps_with_their_notes(tmp_path):
    nb = _nb(tmp_path)
    R.record_headline_claims(nb, TABLE, _sv(), _sv(energy=0.15), NOTE)
    assert _claim(nb, "acc_vs_random") == (1.0, Verdict.REPRODUCED, (
        "2 seeds x 30 rounds; per seed [0.5, 1.5] pp, paired standard error 0.5 pp: a verdict within about one "
        "standard error of the -0.5 pp bar is not resolved by this many seeds"))
    assert _claim(nb, "energy_vs_random") == (0.5, Verdict.REPRODUCED, NOTE + "; per-round saving 0.580")
    assert _claim(nb, "latency_vs_random") == (0.2, Verdict.REPRODUCED, NOTE + "; per-round saving -0.150")
    assert _claim(nb, "energy_vs_random_opt") == (0.15, Verdict.REPRODUCED, NOTE + "; per-round saving 0.580")
    # a tie with the best blind selector is not higher accuracy: partly (> -1 pp), not reproduced (> 0)
    assert _claim(nb, "acc_vs_blind_best") == (0.0, Verdict.PARTLY, "best blind selector: best_channel")


def test_a_saving_where_a_target_was_missed_is_recorded_as_nan_with_the_reason(tmp_path):
    nb = _nb(tmp_path)
    missed = _sv(energy=float("nan"), latency=float("nan"), both=1)
    R.record_headline_claims(nb, TABLE, missed, _sv(energy=math.inf), NOTE)
    why = NOTE + "; target reached by both on 1 of 2 seeds, so no to-target saving; per-round saving "
    for name, per_round in (("energy_vs_random", "0.580"), ("latency_vs_random", "-0.150")):
        measured, verdict, note = _claim(nb, name)
        assert measured == "nan" and verdict is Verdict.NOT_REPRODUCED and note == why + per_round
    measured, verdict, note = _claim(nb, "energy_vs_random_opt")  # an infinite saving is no saving either
    assert measured == "nan" and verdict is Verdict.NOT_REPRODUCED
    assert note == NOTE + "; target reached by both on 2 of 2 seeds, so no to-target saving; per-round saving 0.580"


def test_headline_claims_at_smoke_are_measured_without_a_verdict(tmp_path):
    nb = _nb(tmp_path, "smoke")
    R.record_headline_claims(nb, _table(csra=0.7, csra_no_het=0.72, random=0.85, random_opt=0.85), _sv(),
                             _sv(), NOTE)
    measured, verdict, note = _claim(nb, "acc_vs_blind_best")
    assert measured == pytest.approx(-2.0) and verdict is Verdict.NOT_APPLICABLE
    assert note.startswith("best blind selector: csra_no_het")


def test_saving_claim_keeps_a_finite_saving_as_it_is():
    value, note = R.saving_claim(_sv(latency=-0.3), "latency_saving", "n")
    assert value == -0.3 and note == "n; per-round saving -0.150"
    assert np.isnan(R.saving_claim(_sv(latency=-math.inf), "latency_saving", "n")[0])


def test_selection_claims_are_not_applicable_when_every_client_is_selected_every_round(tmp_path):
    """participation = 1 (documented valid): every selector picks all K clients, so CSRA and random train the same
    clients (acc_vs_random 0.0, "reproduced"), random_opt is CSRA's own allocation (energy_vs_random_opt 0.0, "not
    reproduced") and every blind selector ties (acc_vs_blind_best 0.0). The oracle: a real tiny run at m = K gives
    equal accuracy and equal per-round energy; those claims must then be not applicable, the allocation savings
    over equal bandwidth (a real difference) still judged."""
    setup = X.Setup(dataset="digits", n_clients=5, participation=1.0, rounds=2, min_size=5, alpha=1.0)
    _runs, summ = X.headline(setup, [0], ("csra", "random", "best_channel"))
    s = summ.set_index("method")
    assert s.final_acc.nunique() == 1  # csra, random, random_opt and best_channel: one accuracy
    assert s.loc["csra", "E_per_round_J"] == pytest.approx(s.loc["random_opt", "E_per_round_J"], rel=1e-9)
    why = X.every_client_selected(setup)
    assert why and X.every_client_selected(X.Setup(dataset="digits", n_clients=5, participation=0.8)) is None
    nb = _nb(tmp_path)
    sv, sv_opt = X.savings(summ, "csra", "random"), X.savings(summ, "csra", "random_opt")
    R.record_headline_claims(nb, X.method_table(summ), sv, sv_opt, NOTE, same_clients=why)
    for name in ("acc_vs_random", "energy_vs_random_opt", "acc_vs_blind_best"):
        measured, verdict, note = _claim(nb, name)
        assert measured is None and verdict is Verdict.NOT_APPLICABLE and note.startswith(why), name
    assert _claim(nb, "energy_vs_random")[1] is not Verdict.NOT_APPLICABLE
    assert "rounds_vs_ablation" in X.SELECTION_CLAIMS
