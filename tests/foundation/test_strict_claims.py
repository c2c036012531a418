"""Claims whose statement says "faster", "better", "higher" or "lower" are strict: no change is not a gain."""

import importlib

import pytest

from support.claims import Verdict

STRICT = [("support.factors.claims", "funsor_speedup", 1.0),
          ("support.fl_selection.claims", "energy_vs_random_opt", 0.0),
          ("support.fl_selection.claims", "acc_vs_blind_best", 0.0),
          ("support.crms.claims", "energy_efficiency", 1.0),
          ("support.multicluster.claims", "balance_higher", 0.0),
          ("support.multicluster.claims", "balance_higher_bursty", 0.0)]


@pytest.mark.parametrize("module,name,tie", STRICT, ids=[s[1] for s in STRICT])
def test_a_tie_does_not_reproduce_a_claim_of_improvement(module, name, tie):
    claim = importlib.import_module(module).CLAIMS[name]
    assert claim.judge(tie) is not Verdict.REPRODUCED
    assert claim.judge(tie + 1e-9) is Verdict.REPRODUCED
