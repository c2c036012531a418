"""How the CSRA notebook records its headline claims: the accuracy gaps, and the to-target savings with the note that
says why a saving is missing where a target was never reached.

Called from the notebook in one line, so the branches are tested here on hand-made summaries.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from support.fl_selection.claims import CLAIMS
from support.fl_selection.experiments import SELECTION_CLAIMS, blind_gap
from support.wording import number

# claim, key of :func:`~support.fl_selection.experiments.savings`'s result, and which reference it is against
SAVING_CLAIMS = (("energy_vs_random", "energy_saving", "random"), ("latency_vs_random", "latency_saving", "random"),
                 ("energy_vs_random_opt", "energy_saving", "random_opt"))


def saving_claim(s: dict[str, Any], key: str, note: str) -> tuple[float, str]:
    """A to-target saving ``key`` of :func:`~support.fl_selection.experiments.savings`'s result ``s`` and its note:
    ``note``, then, where the saving is not finite (some seed never reached the target), NaN and why, and the
    per-round saving."""
    per_round = f"per-round saving {s[key.replace('_saving', '_per_round_saving')]:.3f}"
    if np.isfinite(s[key]):
        return s[key], f"{note}; {per_round}"
    return float("nan"), (f"{note}; target reached by both on {s['seeds_both_reached']} of {s['seeds']} seeds, so no "
                          f"to-target saving; {per_round}")


def record_headline_claims(nb, table: pd.DataFrame, sv: dict[str, Any], sv_opt: dict[str, Any], note: str,
                           same_clients: str | None = None) -> None:
    """acc_vs_random and the savings over random (``sv``) and random with the optimized allocation (``sv_opt``),
    from :func:`~support.fl_selection.experiments.savings`, and acc_vs_blind_best from the method table; ``note``
    (the run's size) starts every note. A missing saving is recorded as NaN, which no rule passes. ``same_clients``
    (:func:`~support.fl_selection.experiments.every_client_selected`): where every selector picks every client, the
    claims that compare selections (:data:`~support.fl_selection.experiments.SELECTION_CLAIMS`) are not applicable
    with that reason, their values kept in the note."""
    def put(claim: str, value: Any, claim_note: str) -> None:
        if claim in SELECTION_CLAIMS:
            nb.record_unless(same_clients, claim, value, claim_note)
        else:
            nb.record(claim, value, note=claim_note)

    bar = CLAIMS["acc_vs_random"].paper_value
    put("acc_vs_random", sv["acc_gap_pp"], note + f"; per seed {sv['acc_gap_per_seed_pp']} pp, paired "
        f"standard error {number(sv['acc_gap_se_pp'], '.1f', ' pp')}: a verdict within about one standard error "
        f"of the {bar:g} pp bar is not resolved by this many seeds")
    by_reference = {"random": sv, "random_opt": sv_opt}
    for claim, key, reference in SAVING_CLAIMS:
        value, claim_note = saving_claim(by_reference[reference], key, note)
        put(claim, value, claim_note)
    gap, best = blind_gap(table)
    put("acc_vs_blind_best", gap, f"best blind selector: {best}")
