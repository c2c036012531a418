"""How notebook 11 records the headline claims of one federation, with their notes and the metrics beside them.

The cluster traces (section 4) and the bursty federation (section 5, claims suffixed ``_bursty``) share the nine
claims (claims.BURSTY), their rules and so this one way of writing the notes; a section adds its own context.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from support.multicluster.claims import BALANCE_PAPER, BALANCE_REL, BURSTY, balance_score_near
from support.multicluster.experiments import dominated_targets, hpa_at
from support.multicluster.federation import FederationConfig
from support.multicluster.metrics import BURST_QUANTILE

#: the claims measured on a federation's held-back metrics (a section's ``lead`` opens their notes); policies_hold
#: checks every executed action instead
HELD_BACK = tuple(n for n in BURSTY if n != "policies_hold")


def _stabilization_note(h: dict, key: str, cfg: FederationConfig) -> list[str]:
    st, sl = h["stabilization_s"], h["stabilization_large_s"]
    oracle = f", perfect foresight {st['oracle']:.0f} s" if math.isfinite(st.get("oracle", math.nan)) else ""
    times = (f"HPA {st['hpa']:.0f} s, {key} {st[key]:.0f} s{oracle}, with the proactive anti-flap rule "
             f"({cfg.tolerance:.0%}, {cfg.downscale_stabilisation_s} s)")
    large = (f"over the {sl['bursts']:.0f} of {sl['of_bursts']:.0f} bursts beyond the HPA's {sl['tolerance']:.0%} "
             f"tolerance (a sensitivity): HPA {sl['hpa']:.0f} s, {key} {sl[key]:.0f} s ({h['stabilization_large']:+.0%})"
             if sl["bursts"] > 0 else
             f"none of the {sl['of_bursts']:.0f} bursts goes beyond the HPA's {sl['tolerance']:.0%} tolerance")
    rc = h["recovery_s"]
    recovery = (f"this measures the replicas, not the service (a controller that never scales scores 0 s); time "
                f"until the latency meets the SLO for good after a burst (a companion, not a claim): HPA "
                f"{rc['hpa']:.0f} s, {key} {rc[key]:.0f} s")
    return [times, f"bursts are each cluster's top {1 - BURST_QUANTILE:.1%} of interval-to-interval changes",
            "a change of 0 (no faster) reads partly", large, recovery]


def headline_notes(h: dict, key: str, cfg: FederationConfig) -> dict[str, list[str]]:
    """The parts of each headline claim's note that both federations write alike, from :func:`experiments.headline`'s
    ``h`` for forecaster ``key`` run under ``cfg``: claim name (unsuffixed) -> note parts, in order."""
    bs, jf, ev, cv = h["balance_score_values"], h["jain_fill"], h["events_per_hour"], h["latency_cv_values"]
    near = "yes" if balance_score_near(bs[key]) else "no"
    trace = h["slo_not_worse_trace"]
    return {
        "efficiency_gain": [(f"forecaster {key}; HPA target {cfg.hpa_target:.0%}; worst cluster; federation level "
                             f"{h['efficiency_gain_federation']:+.3f}")],
        "stabilization": _stabilization_note(h, key, cfg),
        "latency_cv": [f"HPA at {cfg.hpa_target:.0%}: CV {cv['hpa']:.4f}, {key} {cv[key]:.4f}",
                       "a change of 0 (no less variable) reads partly"],
        "balance_higher": [(f"Jain on pod utilisation saturates when every cluster is sized to its own load; on "
                            f"cluster fill (busy / capacity) HPA {jf['hpa']:.3f}, {key} {jf[key]:.3f}")],
        "balance_score": [(f"1 - CV: {key} {bs[key]:.3f} (±{BALANCE_REL:.0%} of {BALANCE_PAPER}: {near}), "
                           f"HPA {bs['hpa']:.3f}")],
        "fewer_events": [f"{ev[key]:.2f} vs {ev['hpa']:.2f} per hour (per cluster)"],
        "slo_not_worse": [f"worst trace {trace[1]}" + (f" in window {trace[0]}" if h["windows"] > 1 else ""),
                          f"pooled over the clusters {100 * h['slo_not_worse_pooled']:+.2f} pp"],
        "oracle_bound": [h["oracle_bound_parts"].note()] if h["oracle_bound_parts"] is not None else [],
        "policies_hold": ["z3 on every executed action, Rego on a sample"],
    }


def record_headline_claims(nb, h: dict, key: str, cfg: FederationConfig, suffix: str = "", lead: str = "",
                           extra: Mapping[str, str] | None = None) -> None:
    """Record the nine headline claims of one federation (``suffix`` "" for the cluster traces, "_bursty" for the
    bursty runs) and their metrics (federation-level efficiency gain, 1 - CV and cluster-fill Jain values).

    Each note is ``lead`` (claims of :data:`HELD_BACK` only), then :func:`headline_notes`, with ``extra[name]`` (a
    section's own context, by unsuffixed claim name) after the first part; oracle_bound is not applicable where the
    perfect-foresight controller was not run."""
    extra = dict(extra or {})
    unknown = sorted(set(extra) - set(BURSTY))
    if unknown:
        raise ValueError(f"extra names no headline claim: {', '.join(unknown)}; the claims are {', '.join(BURSTY)}")
    nb.metric("efficiency_gain_federation" + suffix, h["efficiency_gain_federation"])
    nb.metric("balance_score_values" + suffix, h["balance_score_values"])
    nb.metric("jain_fill" + suffix, h["jain_fill"])
    notes = headline_notes(h, key, cfg)
    for name in BURSTY:
        if name == "oracle_bound" and h["oracle_bound"] is None:
            nb.not_applicable(name + suffix, "the perfect-foresight controller was not run at this scale")
            continue
        parts = notes[name][:1] + [extra.get(name, "")] + notes[name][1:]
        note = "; ".join(p for p in ([lead] if name in HELD_BACK else []) + parts if p)
        nb.record(name + suffix, h[name if name != "efficiency_gain" else "efficiency_gain_worst"], note=note)


def mark_headline_not_applicable(nb, suffix: str, reason: str) -> None:
    """Every headline claim of a federation whose headline run did not finish: not applicable, with ``reason``."""
    for name in BURSTY:
        nb.not_applicable(name + suffix, reason)


def latency_sweep_note(sweep: pd.DataFrame, row: dict, key: str) -> str:
    """The latency-CV claim against the HPA's target sweep, on the sweep's window (``row``: forecaster ``key``'s run
    there): the change at matched efficiency (:func:`hpa_at`), the targets at which ``key`` is both more efficient
    and less variable (:func:`dominated_targets`) and the HPA's CV along the sweep."""
    cv_at_eff = hpa_at(sweep, "efficiency", row["efficiency"], "latency_cv")
    both = dominated_targets(sweep, row["efficiency"], row["latency_cv"])
    cv_sweep = ", ".join(f"{t:.0%} {v:.4f}" for t, v in zip(sweep.target, sweep.latency_cv))
    return (f"at matched efficiency (HPA sweep interpolated at {row['efficiency']:.3f}) the change is "
            f"{row['latency_cv'] / cv_at_eff - 1:+.0%}; "
            + (f"at no single HPA target of the sweep is {key} both more efficient and less variable" if not both else
               f"HPA targets at which {key} is both more efficient and less variable: "
               + ", ".join(f"{t:.0%}" for t in both))
            + f"; HPA latency CV along its sweep: {cv_sweep}")


def held_back_sample(rows: list[dict], held_back_s: float) -> str:
    """How much a federation's stabilisation times rest on: the bursts detected in the HPA's run (every controller
    sees the same demand) and the held-back minutes, e.g. "3 bursts in 16 held-back minutes"."""
    hpa = [r for r in rows if r["key"] == "hpa"]
    if len(hpa) != 1:
        raise ValueError(f"rows must hold exactly one HPA run (one window), got {len(hpa)}")
    return f"{hpa[0]['bursts']} bursts in {held_back_s / 60:.0f} held-back minutes"
