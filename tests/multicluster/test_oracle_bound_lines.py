"""The perfect-foresight bound (notes section 4, oracle 2) printed as readable lines by the paper 11 benchmark:
the bound, each part's verdict, and each realistic forecaster's value against perfect foresight's."""

import pytest

from support.multicluster import experiments as X
from support.multicluster.oracles import oracle_bound_lines

#: the default run of notebook 11 (as in test_headline): the oracle is the most efficient, two forecasters violate less
DEFAULT_RUN = X.OracleBound({"seasonal_naive": 0.825, "holt_winters": 0.860, "ridge": 0.870, "oracle": 0.899},
                            {"seasonal_naive": 0.0030, "holt_winters": 0.0042, "ridge": 0.0065, "oracle": 0.0060})


def test_oracle_bound_lines_give_each_part_and_each_forecaster_with_its_value_and_verdict():
    assert oracle_bound_lines(DEFAULT_RUN) == [
        ("perfect-foresight bound (no realistic forecaster is more efficient than perfect foresight or has fewer "
         "SLO violations): fails"),
        "  (i) efficiency, at most perfect foresight's 0.8990: holds",
        "    seasonal naive  0.8250  holds",
        "    Holt-Winters    0.8600  holds",
        "    ridge           0.8700  holds",
        "  (ii) SLO-violation share, at least perfect foresight's 0.60%: fails",
        "    seasonal naive  0.30%  fails",
        "    Holt-Winters    0.42%  fails",
        "    ridge           0.65%  holds",
    ]


@pytest.mark.parametrize("eff, slo", [
    ({"ridge": 0.9, "oracle": 0.9}, {"ridge": 0.002, "oracle": 0.002}),  # ties respect the bound
    ({"naive": 0.8, "ridge": 0.91, "oracle": 0.9}, {"naive": 0.01, "ridge": 0.02, "oracle": 0.002}),
    ({"naive": 0.8, "oracle": 0.9}, {"naive": 0.001, "oracle": 0.002}),
])
def test_oracle_bound_lines_agree_with_the_bound_on_every_verdict(eff, slo):
    b = X.OracleBound(eff, slo)
    lines = oracle_bound_lines(b)
    verdict = {True: "holds", False: "fails"}
    assert lines[0].endswith(verdict[b.holds])
    eff_at, slo_at = 1, 2 + len(b.realistic)  # the two part headers
    assert lines[eff_at].endswith(verdict[b.efficiency_holds]) and lines[slo_at].endswith(verdict[b.violations_holds])
    for rows, ok in ((lines[eff_at + 1:slo_at], b.efficiency_holds), (lines[slo_at + 1:], b.violations_holds)):
        assert len(rows) == len(b.realistic)
        assert all(r.endswith("holds") for r in rows) == ok  # a part holds exactly when each of its rows does


def test_oracle_bound_lines_refuse_what_is_not_an_oracle_bound():
    with pytest.raises(TypeError, match="needs an OracleBound"):
        oracle_bound_lines({"efficiency": {"oracle": 0.9}})
