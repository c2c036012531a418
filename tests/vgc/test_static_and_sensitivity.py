"""The static-zone vs gc.freeze() ablation (explicit full collections, one cost model for both sides, notes
section 5.4) and the claim grid's sensitivity rows (GEN without a heap budget, workload weights)."""

import numpy as np
import pandas as pd
import pytest

from support.vgc import experiments as X
from support.vgc.collectors import PeriodicFull, configured

SMOKE = {"n_alloc": 4000, "n_threads": 2, "n_static": 2000, "every": 400}  # the notebook's smoke sizes


@pytest.fixture(scope="module")
def smoke_ablation():
    return X.static_ablation([0, 1], **SMOKE)


def test_every_seed_makes_explicit_full_collections_in_every_variant_at_smoke_size(smoke_ablation):
    sa = smoke_ablation
    assert set(sa.variant) == {"GEN", "GEN-TRACE", "GEN-FREEZE", "GEN-TRACE-FREEZE", "ZONE-STW (static zone)",
                               "ZONE-STW (no static zone)"}
    for seed, d in sa.groupby("seed"):
        assert (d.explicit_collections >= 1).all(), d
        assert d.explicit_collections.nunique() == 1, d  # the same number in every variant
        assert np.isfinite(d.median_full_pause_work).all(), d


def test_explicit_collections_sit_at_the_same_trace_positions_in_every_variant():
    p = X.prepare("static_churn", 0, SMOKE["n_alloc"], SMOKE["n_threads"], n_static=SMOKE["n_static"])
    positions = []
    for name, kw in X.STATIC_VARIANTS:
        r = PeriodicFull(p.t, configured(name, heap_budget=None, **kw), p.death, p.site_class, 400).run()
        explicit = np.char.endswith(r.pauses["kind"].astype(str), "-explicit")
        positions.append(r.pauses["pos"][explicit].tolist())
    assert len(positions[0]) >= 3 and all(x == positions[0] for x in positions)
    assert min(positions[0]) >= p.t.freeze_pos  # after start-up, when gc.freeze() has run


def test_static_claim_charges_both_mechanisms_as_a_tracing_collector():
    # per seed: static zone 1 - 20/100 = 80%; freeze charged as tracing 1 - 25/100 = 75%; as CPython 1 - 50/100
    med = {"ZONE-STW (static zone)": 20.0, "ZONE-STW (no static zone)": 100.0, "GEN-TRACE": 100.0,
           "GEN-TRACE-FREEZE": 25.0, "GEN": 100.0, "GEN-FREEZE": 50.0}
    sa = pd.DataFrame([{"seed": s, "variant": v, "median_full_pause_work": m} for s in (0, 1) for v, m in med.items()])
    per, summary = X.static_claim(sa)
    assert per.difference.tolist() == pytest.approx([0.05, 0.05])
    assert per.difference_mixed_models.tolist() == pytest.approx([0.30, 0.30])
    assert summary["mean"] == pytest.approx(0.05) and summary["seeds"] == 2
    cpython_changed = sa.assign(median_full_pause_work=sa.median_full_pause_work.where(sa.variant != "GEN-FREEZE", 90.0))
    assert X.static_claim(cpython_changed)[1]["mean"] == pytest.approx(0.05)  # the CPython charge plays no part


def test_static_claim_counts_only_seeds_where_every_variant_collected():
    med = {"ZONE-STW (static zone)": 20.0, "ZONE-STW (no static zone)": 100.0, "GEN-TRACE": 100.0,
           "GEN-TRACE-FREEZE": 30.0, "GEN": 100.0, "GEN-FREEZE": 50.0}
    rows = [{"seed": s, "variant": v, "median_full_pause_work": m} for s in (0, 1, 2) for v, m in med.items()]
    rows[0]["median_full_pause_work"] = float("nan")  # seed 0's static-zone run made no explicit collection
    per, summary = X.static_claim(pd.DataFrame(rows))
    assert summary["seeds"] == 2 and summary["of"] == 3 and per.difference.isna().tolist() == [True, False, False]
    assert summary["mean"] == pytest.approx(0.10) and summary["lo"] == summary["hi"] == pytest.approx(0.10)


def test_static_ablation_and_periodic_full_reject_settings_that_cannot_work():
    with pytest.raises(ValueError, match="exceeds"):
        X.static_ablation([0], SMOKE["n_alloc"], 2, SMOKE["n_static"], 100_000)
    p = X.prepare("static_churn", 0, 2000, 2, n_static=800)
    for name in ("ZONE", "INCR"):
        with pytest.raises(ValueError, match="stop-the-world"):
            PeriodicFull(p.t, configured(name), p.death, p.site_class, 400)
    with pytest.raises(ValueError, match="positive"):
        PeriodicFull(p.t, configured("GEN"), p.death, p.site_class, 0)


def _grid(rows):
    cols = ["workload", "seed", "collector", "p99_work", "peak_committed"]
    return pd.DataFrame(rows, columns=cols)


def test_memory_sensitivity_compares_zone_with_gen_without_a_budget():
    # one workload, two runs; GEN-NOBUDGET's memory is twice GEN's, so ZONE's ratio halves against it
    rows = []
    for s in (0, 1):
        rows += [("w", s, "GEN", 10, 100), ("w", s, "GEN-2T", 6, 100), ("w", s, "ZONE", 3, 90),
                 ("w", s, "GEN-NOBUDGET", 8, 200), ("w", s, "GEN-NOBUDGET-2T", 5, 200)]
    r = X.claim_ratios(_grid(rows), n_boot=50)
    assert r["memory_ZONE"]["ratio"] == pytest.approx(0.9)
    assert r["memory_ZONE_vs_GEN-NOBUDGET"]["ratio"] == pytest.approx(0.45)
    assert r["pause_ZONE_vs_GEN-NOBUDGET"]["ratio"] == pytest.approx(3 / 5)  # the better of the two baselines


def test_workload_weights_give_each_workload_its_share_of_the_pooled_denominator():
    rows = [("big", 0, "GEN", 10, 300), ("big", 0, "GEN-2T", 10, 300), ("big", 0, "ZONE", 0, 300),
            ("small", 0, "GEN", 10, 100), ("small", 0, "GEN-2T", 10, 100), ("small", 0, "ZONE", 5, 50)]
    ww = X.workload_weights(_grid(rows))
    assert ww.memory_share.to_dict() == pytest.approx({"big": 0.75, "small": 0.25})
    assert ww.memory_ratio.to_dict() == pytest.approx({"big": 1.0, "small": 0.5})
    assert ww.memory_ratio.mean() == pytest.approx(0.75)  # equal weight per workload; the pooled ratio is 350/400


def test_gen_without_a_budget_runs_cpythons_count_policy_alone():
    # 5,000 allocations are far below the ~85,000 CPython needs for a generation-2 collection; the budgeted GEN
    # is forced into full collections and so commits less memory
    g = X.claim_grid(["lru"], [0], 5000, 2, 1.25, {"ns_per_event": 360.0, "ns_per_work": 5.5})
    row = g.set_index("collector")
    assert row.loc["GEN-NOBUDGET", "full"] == 0
    assert row.loc["GEN-NOBUDGET", "peak_committed"] > row.loc["GEN", "peak_committed"]
    assert row.loc["GEN-NOBUDGET-2T", "peak_committed"] == row.loc["GEN-NOBUDGET", "peak_committed"]


def test_gc_freeze_freezes_exactly_the_static_zones_objects_in_every_seed(smoke_ablation):
    # the fact behind the identity check of static_claim: both mechanisms keep the same objects out
    sa = smoke_ablation
    assert sa.frozen_equals_static_zone.all() and (sa.static_objects > 0).all()
    assert sa.groupby("seed").static_objects.nunique().eq(1).all()


def test_static_ablation_reports_a_freeze_that_keeps_more_than_the_static_zone_out(monkeypatch):
    # gc.freeze() 200 events after start-up also freezes the churn objects alive then: not the static zone's set
    from dataclasses import replace

    real = X.prepare

    def later_freeze(*a, **k):
        p = real(*a, **k)
        p.t = replace(p.t, freeze_pos=p.t.freeze_pos + 200)
        return p
    monkeypatch.setattr(X, "prepare", later_freeze)
    sa = X.static_ablation([0], **SMOKE)
    assert not sa.frozen_equals_static_zone.any()
    assert not X.static_claim(sa)[1]["identity"]


def test_static_ablation_medians_take_the_explicit_full_collections_only(monkeypatch):
    # thresholds lowered to (100, 2, 1): GEN also makes count-triggered full collections during start-up, whose
    # pauses must not enter the claim's median
    real = X.configured
    monkeypatch.setattr(X, "configured", lambda name, **kw: real(name, threshold0=100, threshold1=2, threshold2=1, **kw))
    sa = X.static_ablation([0], **SMOKE).set_index("variant")
    p = X.prepare("static_churn", 0, SMOKE["n_alloc"], SMOKE["n_threads"], n_static=SMOKE["n_static"])
    res = PeriodicFull(p.t, X.configured("GEN", heap_budget=None), p.death, p.site_class, SMOKE["every"]).run()
    k, w = res.pauses["kind"], res.pause_work(1)
    explicit, counted = k == "gen2-explicit", k == "gen2"
    assert counted.any() and np.median(w[explicit | counted]) != np.median(w[explicit])
    assert sa.loc["GEN", "median_full_pause_work"] == np.median(w[explicit])
    assert sa.loc["GEN", "full_collections"] == int((explicit | counted).sum())
