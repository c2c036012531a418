"""The functions that turn simulated runs into 03's claims, each against a hand-computed answer: pause summary,
best-baseline ratios and their stratified bootstrap, the equal heap-budget trigger, fidelity, the oracle check
(positive controls), the static-zone variants, the alignment row, per-workload ratios, the issue's grid rule and
the safety totals of the claim grid (issue 15, acceptance criteria)."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from scipy.stats import t as student_t

from support.claims import ClaimRecorder, Verdict
from support.vgc import collectors as C
from support.vgc import experiments as X
from support.vgc.claims import CLAIMS
from support.vgc.collectors import GCConfig, Simulator, configured, simulate
from support.vgc.record import Recording
from support.vgc.trace import ALLOC, ROOT_DEL, WRITE, make_trace
from support.vgc.workloads import WORKLOADS

CALIB = {"ns_per_event": 360.0, "ns_per_work": 5.5}


def _rooted(n, size=64):
    """``n`` allocations that stay rooted: nothing ever becomes garbage."""
    return make_trace("rooted", [(ALLOC, i, 0, 0, 0) for i in range(n)], [size] * n, [0] * n)


# ------------------------------------------------------------------------------------------------ summarize


def test_summarize_reports_p99_and_p50_of_the_pauses_and_counts_gen2_alone_as_full_for_gen():
    # 701 x 30 rooted allocations: 28 generation-0 collections (the first of 700 objects, 2,800 units; the rest of
    # 701, 4 x 701 = 2,804) and 2 generation-1 collections (42,055 and 42,060 units). p50 = 2,804; p99 interpolates
    # at rank 0.99 x 29 = 28.71 between the two largest; GEN's generation-1 collections are not full collections
    res = simulate(_rooted(701 * 30), GCConfig(kind="GEN", external_tracked=10 ** 9))
    assert res.gen_counts == (28, 2, 0)
    assert sorted(res.pauses["pause1"].tolist())[-3:] == [2804, 42055, 42060]
    row = X.summarize(res, "GEN", 1, CALIB)
    assert row["p50_work"] == 2804 and row["p99_work"] == pytest.approx(42055 + 0.71 * 5)
    assert row["max_work"] == 42060 and row["pauses"] == 30
    assert row["young"] == 28 and row["full"] == 0


def test_summarize_counts_zones_global_cycles_as_full_collections():
    res = simulate(_rooted(3000), configured("ZONE-STW", heap_budget=64 * 1000), site_class=np.array([0]))
    n_global = int((res.pauses["kind"] == "global-stw").sum())
    assert n_global >= 2 and X.summarize(res, "ZONE-STW", 2, CALIB)["full"] == n_global == res.gen_counts[1]


# ------------------------------------------------------------------------------------------------ claim_ratios


def _grid(rows, cols=("workload", "seed", "collector", "p99_work", "peak_committed")):
    return pd.DataFrame(rows, columns=list(cols))


def _two_workload_grid():
    """Workload a: ZONE at 0.5x the better baseline in every run; workload b: 1.0x. GEN and GEN-2T take turns."""
    rows = []
    for w, best, z in (("a", 10.0, 5.0), ("b", 30.0, 30.0)):
        for s in range(3):
            gen, gen2 = (best, best + 4) if s % 2 else (best + 4, best)
            rows += [(w, s, "GEN", gen, 100 * gen), (w, s, "GEN-2T", gen2, 100 * gen2), (w, s, "ZONE", z, 100 * z)]
    return _grid(rows)


def test_claim_ratios_divide_by_the_better_baseline_of_each_run():
    r = X.claim_ratios(_two_workload_grid(), n_boot=50)
    assert r["pause_ZONE"]["ratio"] == pytest.approx((3 * 5 + 3 * 30) / (3 * 10 + 3 * 30))  # 0.875
    assert r["memory_ZONE"]["ratio"] == pytest.approx(0.875) and r["pause_ZONE"]["n"] == 6


def test_bootstrap_resamples_within_workloads_so_fixed_per_workload_ratios_give_a_point_interval():
    # every resample keeps 3 runs of a and 3 of b, so the pooled ratio is always 0.875; a pooled resample would not
    r = X.claim_ratios(_two_workload_grid(), n_boot=400)
    assert r["pause_ZONE"]["lo"] == pytest.approx(0.875) and r["pause_ZONE"]["hi"] == pytest.approx(0.875)


def _hand_bootstrap(num, den, groups, n_boot, seed):
    """Runs resampled within each group with numpy's generator, ratio of sums, 2.5 % and 97.5 % quantiles."""
    rng = np.random.default_rng(seed)
    idx = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    boots = []
    for _ in range(n_boot):
        ix = np.concatenate([rng.choice(i, i.size) for i in idx])
        boots.append(num[ix].sum() / den[ix].sum())
    return np.quantile(boots, [0.025, 0.975])


def test_claim_ratio_interval_is_the_95_percent_stratified_bootstrap_by_hand():
    rng = np.random.default_rng(3)
    rows, num, den, groups = [], [], [], []
    for w, n in (("a", 4), ("b", 6)):  # unequal workloads: a pooled resample would move the mix
        for s in range(n):
            gen, gen2, zone = rng.uniform(5, 50, 3)
            rows += [(w, s, "GEN", gen, 1.0), (w, s, "GEN-2T", gen2, 1.0), (w, s, "ZONE", zone, 1.0)]
            num.append(zone)
            den.append(min(gen, gen2))
            groups.append(w)
    r = X.claim_ratios(_grid(rows), seed=7, n_boot=300)["pause_ZONE"]
    lo, hi = _hand_bootstrap(np.array(num), np.array(den), np.array(groups), 300, 7)
    assert r["ratio"] == pytest.approx(sum(num) / sum(den))
    assert (r["lo"], r["hi"]) == pytest.approx((lo, hi))


# ------------------------------------------------------------------------------------------------ equal budget


def test_gen_and_zone_force_their_full_collection_at_the_same_allocation_under_one_budget():
    # rooted 64-byte objects, budget 64,000 B: occupancy first exceeds it before allocation 1001 (64 x 1001 B), and
    # 1001 >= 700 allocations have passed since the start; both collectors must fire there
    t, budget = _rooted(2000), 64 * 1000
    gen = simulate(t, GCConfig(kind="GEN", heap_budget=budget, external_tracked=10 ** 9))
    stw = simulate(t, configured("ZONE-STW", heap_budget=budget), site_class=np.array([0]))
    zone = simulate(t, configured("ZONE", heap_budget=budget), site_class=np.array([0]))

    def first(r, kind):
        return int(r.pauses["pos"][r.pauses["kind"] == kind][0])
    assert first(gen, "gen2-budget") == first(stw, "global-stw") == first(zone, "global-init") == 1001


# ------------------------------------------------------------------------------------------------ fidelity


def _fidelity_recording(stats, real_pause_ns):
    """2,103 rooted allocations: three generation-0 collections (at the 701st allocation after the last) of 700, 701
    and 701 objects holding 0, 1 and 2 self-references each. Work 3|Y| + E_Y + E_L + L (cpython_cost): 2,800, then
    3 x 701 + 701 + 701 + 701 = 4,206, then 3 x 701 + 1,402 + 1,402 + 701 = 5,608; real counts and pauses as given."""
    ev, n = [], 2103
    for i in range(n):
        ev.append((ALLOC, i, 0, 0, 0))
        ev += [(WRITE, i, j, i, 0) for j in range(0 if i < 700 else 1 + (i - 700) // 701)]
    t = make_trace("refs", ev, [64] * n, [0] * n)
    coll = np.array([[0, p, 0, 0] for p in real_pause_ns])
    return Recording(t, list(stats), coll, np.full(n, -1), np.zeros(n, bool), 0, 0, (700, 10, 10), "3.x", 1.0,
                     collections_wall_ns=coll[:, 1].copy())


def test_fidelity_relative_count_error_and_pooled_spearman_match_hand_values():
    # simulated counts (3, 0, 0); real (4, 1, 0): errors 1/4, 1 (a missed generation-1 collection), 0; the real
    # pauses fall while the simulated work rises: Spearman -1
    rec = _fidelity_recording((4, 1, 0), (3_000_000, 2_000_000, 1_000_000))
    fid, calib, pairs = X.fidelity({"refs": rec})
    assert fid.loc[0, ["sim_gen0", "sim_gen1", "sim_gen2"]].tolist() == [3, 0, 0]
    assert fid.loc[0, ["relerr_gen0", "relerr_gen1", "relerr_gen2"]].tolist() == pytest.approx([0.25, 1.0, 0.0])
    assert pairs.sim_work.tolist() == [2800, 4206, 5608]
    assert calib["spearman_pooled"] == pytest.approx(-1.0)
    assert calib["spearman_pooled"] == pytest.approx(spearmanr(pairs.sim_work, pairs.real_pause_ms).statistic)


def test_fidelity_counts_a_simulated_collection_cpython_never_made_as_a_full_error():
    rec = _fidelity_recording((3, 0, 0), (1_000_000, 2_000_000, 3_000_000))
    rec.stats_collections = [0, 0, 0]  # CPython reported none: every simulated one is an error of 1
    fid, calib, _ = X.fidelity({"refs": rec})
    assert fid.relerr_gen0.iloc[0] == 1.0 and fid.relerr_gen1.iloc[0] == 0.0
    assert calib["spearman_pooled"] == pytest.approx(1.0)


# ------------------------------------------------------------------------------------------------ oracle check


def _cyclic_garbage(n=1600):
    """Every other object is a dropped self-loop (cyclic garbage refcounting never frees); the rest stay rooted."""
    ev = []
    for i in range(n):
        ev.append((ALLOC, i, 0, 0, 0))
        if i % 2:
            ev += [(WRITE, i, 0, i, 0), (ROOT_DEL, i, 0, 0, 0)]
    return make_trace("cyclic", ev, [64] * n, [0] * n, n_slots=1)


def _gen_checked(t):
    return simulate(t, GCConfig(kind="GEN", heap_budget=64 * 300, external_tracked=10 ** 9, check=True))


def test_the_oracle_check_passes_a_correct_collector_and_checks_full_collections():
    r = _gen_checked(_cyclic_garbage())
    assert r.checked >= 2 and r.full_checked >= 1
    assert r.live_freed == 0 and r.retained_unreachable == 0


def test_the_oracle_check_counts_a_live_object_freed_by_a_marker_that_drops_one(monkeypatch):
    real = C.mark

    def drops_one(ptr, seeds, cand, *a, **k):
        m = real(ptr, seeds, cand, *a, **k)
        m.marked[np.flatnonzero(m.marked)[:1]] = False  # a reachable object left unmarked: swept while live
        return m
    monkeypatch.setattr(C, "mark", drops_one)
    assert _gen_checked(_cyclic_garbage()).live_freed > 0


def test_the_oracle_check_counts_garbage_kept_by_a_collector_that_frees_nothing(monkeypatch):
    real = C.mark

    def marks_all(ptr, seeds, cand, *a, **k):
        m = real(ptr, seeds, cand, *a, **k)
        m.marked |= cand  # everything condemned survives: the sweep frees nothing
        return m
    monkeypatch.setattr(C, "mark", marks_all)
    r = _gen_checked(_cyclic_garbage())
    assert r.full_checked >= 1 and r.retained_unreachable > 0 and r.live_freed == 0


# ------------------------------------------------------------------------------------------------ static zone


def test_static_variants_run_with_and_without_the_static_zone_as_labelled():
    p = X.prepare("static_churn", 0, 2000, 2, n_static=800)
    sims = [Simulator(p.t, configured(name, heap_budget=None, **kw), p.death, p.site_class)
            for name, kw in X.STATIC_VARIANTS]
    assert [(s.cfg.kind, s.cfg.freeze, s.static_zone >= 0) for s in sims] == [
        ("GEN", False, False), ("GEN", True, False), ("ZONE", False, True), ("ZONE", False, False)]
    assert (sims[2].zone == sims[2].static_zone).sum() == p.t.static.sum() > 0


def _static_medians(seeds=(0, 1, 2), saved_freeze=80.0):
    """Per seed: the static zone saves 80 units of 100 (80 %); freeze saves ``saved_freeze`` of 120."""
    med = {"ZONE-STW (static zone)": 20.0, "ZONE-STW (no static zone)": 100.0, "GEN-TRACE": 120.0,
           "GEN-TRACE-FREEZE": 120.0 - saved_freeze, "GEN": 100.0, "GEN-FREEZE": 50.0}
    return [{"seed": s, "variant": v, "median_full_pause_work": m, "frozen_equals_static_zone": True}
            for s in seeds for v, m in med.items()]


def test_static_claim_is_an_identity_when_freeze_keeps_the_static_zones_objects_out_in_every_seed():
    per, s = X.static_claim(pd.DataFrame(_static_medians()))
    # same 80 units saved, yet 80 % vs 66.7 %: the relative difference comes from the base collectors' pauses
    assert per.difference.tolist() == pytest.approx([0.8 - 80 / 120] * 3)
    assert s["identity"] and s["saved_work_equal"]
    rows = _static_medians()
    rows[3]["median_full_pause_work"] = 45.0  # seed 0: freeze saves 75 units, not 80 (the schedules differ)
    s = X.static_claim(pd.DataFrame(rows))[1]
    assert s["identity"] and not s["saved_work_equal"]
    rows = _static_medians()
    rows[7]["frozen_equals_static_zone"] = False  # seed 1: gc.freeze() froze other objects
    assert not X.static_claim(pd.DataFrame(rows))[1]["identity"]
    no_check = pd.DataFrame(_static_medians()).drop(columns="frozen_equals_static_zone")
    assert not X.static_claim(no_check)[1]["identity"]  # not checked: not assumed


def test_static_claim_interval_is_the_t_interval_over_the_seeds():
    rows = [r for s, saved in ((0, 80.0), (1, 68.0), (2, 56.0)) for r in _static_medians((s,), saved)]
    s = X.static_claim(pd.DataFrame(rows))[1]
    d = 0.8 - np.array([80.0, 68.0, 56.0]) / 120
    half = student_t.ppf(0.975, 2) * d.std(ddof=1) / np.sqrt(3)
    assert (s["mean"], s["lo"], s["hi"]) == pytest.approx((d.mean(), d.mean() - half, d.mean() + half))


# ------------------------------------------------------------------------------------------------ alignment


def test_alignment_row_of_a_real_size_mix_is_bytes_at_64_over_bytes_at_16():
    # a 24-byte object takes 32 B at 16-B alignment and 64 B at 64-B alignment: +100 %; sizes above 512 B are
    # not small objects and are left out
    al = X.alignment_ablation([], 0, 0, 0, 2.0, real_sizes=np.array([24, 24, 600]))
    row = al.iloc[0]
    assert row.source.startswith("real") and row.increase_64_vs_16 == pytest.approx(1.0)
    assert (row.padding_16, row.padding_64) == pytest.approx((32 / 24 - 1, 64 / 24 - 1))


# ------------------------------------------------------------------------------------------------ per workload


def test_per_workload_ratios_are_claim_ratios_of_each_workload_with_its_idle_runs_counted():
    rng = np.random.default_rng(5)
    rows = []
    for w in ("a", "b"):
        for s in range(4):
            gen, gen2, zone = rng.uniform(5, 50, 3)
            if w == "a" and s == 1:
                zone = 0.0  # ZONE never collected in this run
            rows += [(w, s, "GEN", gen, 1000 + gen, 9), (w, s, "GEN-2T", gen2, 1000 + gen, 9),
                     (w, s, "ZONE", zone, 900 + zone, 0 if zone == 0 else 4)]
    grid = _grid(rows, ("workload", "seed", "collector", "p99_work", "peak_committed", "pauses"))
    pw = X.per_workload_ratios(grid, collectors=("ZONE",), seed=2, n_boot=300).set_index("workload")
    for w in ("a", "b"):
        r = X.claim_ratios(grid[grid.workload == w], 2, 300)
        p, m = r["pause_ZONE"], r["memory_ZONE"]
        assert tuple(pw.loc[w, ["p99_ratio", "p99_lo", "p99_hi"]]) == pytest.approx((p["ratio"], p["lo"], p["hi"]))
        assert tuple(pw.loc[w, ["memory_ratio", "memory_lo", "memory_hi"]]) == pytest.approx(
            (m["ratio"], m["lo"], m["hi"]))
        assert pw.loc[w, "p99_lo"] < pw.loc[w, "p99_ratio"] < pw.loc[w, "p99_hi"]
    assert pw.runs.tolist() == [4, 4] and pw.runs_without_collection.tolist() == [1, 0]


# ------------------------------------------------------------------------------------------------ issue's grid


def test_the_issues_grid_is_all_five_workloads_five_seeds_and_two_threads():
    assert X.off_issue_grid(list(WORKLOADS), range(5), 2) is None
    assert X.off_issue_grid(list(reversed(WORKLOADS)), range(10), 4) is None
    assert X.off_issue_grid(["lru"], range(5), 2) == (
        "grid is 1 workload (lru) x 5 seeds, n_threads 2; the issue's rule needs the 5 workloads x >= 5 seeds "
        "with >= 2 threads")
    assert "x 4 seeds" in X.off_issue_grid(list(WORKLOADS), range(4), 2)
    assert "n_threads 1" in X.off_issue_grid(list(WORKLOADS), range(5), 1)


def test_headline_claims_are_judged_on_the_issues_grid_only(tmp_path):
    rec = ClaimRecorder(CLAIMS, "default", tmp_path)
    full = {"workloads": list(WORKLOADS), "seeds": range(5), "n_threads": 2}
    assert X.record_headline(rec, "memory_25pct", 0.64, "n", **full) == Verdict.REPRODUCED
    assert X.record_headline(rec, "pause_30pct", 0.9, "n", **full) == Verdict.NOT_REPRODUCED
    # a subset that would be "reproduced": not applicable, naming the grid and keeping the measured value
    v = X.record_headline(rec, "memory_25pct", 0.64, "ratio 0.632", workloads=["lru"], seeds=range(5), n_threads=2)
    m = rec.measurements["memory_25pct"]
    assert v == Verdict.NOT_APPLICABLE and m.verdict == Verdict.NOT_APPLICABLE.value and m.measured is None
    assert m.note.startswith("grid is 1 workload (lru) x 5 seeds") and "measured 0.64 (ratio 0.632)" in m.note
    assert X.record_headline(rec, "pause_zones_only", 0.2, "n", **{**full, "n_threads": 1}) == Verdict.NOT_APPLICABLE
    with pytest.raises(ValueError, match="not a claim judged on the claim grid"):
        X.record_headline(rec, "safety", True, "n", **full)


def test_headline_claims_at_smoke_scale_keep_the_recorders_treatment(tmp_path):
    rec = ClaimRecorder(CLAIMS, "smoke", tmp_path)
    v = X.record_headline(rec, "pause_30pct", 1.07, "ratio 1.03", workloads=list(WORKLOADS), seeds=range(2),
                          n_threads=2)
    m = rec.measurements["pause_30pct"]
    assert v == Verdict.NOT_APPLICABLE and m.measured == 1.07 and m.note.endswith("checked only at scale default/paper")


# ------------------------------------------------------------------------------------------------ grid safety


def test_grid_safety_sums_each_simulated_run_once():
    cols = ["collector", "checked", "live_freed", "full_checked", "unreachable_retained"]
    rows = [("GEN", 10, 0, 2, 0), ("GEN-2T", 10, 0, 2, 0), ("GEN-TRACE", 10, 0, 2, 0), ("GEN-TRACE-2T", 10, 0, 2, 0),
            ("INCR", 7, 1, 0, 0), ("ZONE", 5, 0, 0, 0), ("ZONE-1W", 5, 0, 0, 0), ("ZONE-STW", 4, 0, 1, 3),
            ("ZONE-THREAD", 6, 0, 0, 0), ("GEN-NOBUDGET", 8, 0, 0, 0), ("GEN-NOBUDGET-2T", 8, 0, 0, 0)]
    s = X.grid_safety(pd.DataFrame(rows, columns=cols))
    assert s == {"runs": 6, "checked": 40, "live_freed": 1, "full_checked": 3, "unreachable_retained": 3}
    with pytest.raises(ValueError, match="safety columns"):
        X.grid_safety(pd.DataFrame(rows, columns=cols).drop(columns="full_checked"))


def test_claim_grid_with_the_check_counts_every_collection_of_its_runs():
    g = X.claim_grid(["lru"], [0], 3000, 2, 1.25, CALIB, check=True)
    s = X.grid_safety(g)
    runs = g[g.collector.isin(X.GRID_RUNS)]
    assert s["runs"] == 6 and s["checked"] > 0 and s["live_freed"] == 0 and s["unreachable_retained"] == 0
    assert s["checked"] <= int(runs.pauses.sum())  # at most one check per pause (ZONE's init/remark are one)
