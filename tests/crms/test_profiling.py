"""Live profiling under cgroups (skipped without root) and the recorded fallback."""

import contextlib

import pandas as pd
import pytest

from support.cgroups import detect
from support.cgroups.profile import load_profile
from support.crms.profiling import RECORDED, cell_table, profile


@pytest.mark.skipif(not detect().usable, reason="cgroups not usable here")
def test_live_profile_runs_the_workload_under_a_quota():
    """The 0.2-CPU cell's request gets at most about 0.2 s of CPU per wall second, and its group throttles. The
    cell is compared with itself: comparing it with the 1.0-CPU cell's latency fails when a neighbour on a busy
    2-core machine delays that single request, while contention can only lower the quota cell's CPU share."""
    p = profile(workloads=("pyloop",), cpus=(0.2, 1.0), mem_mb=(128,), reps=1, size=0.3, allow_recorded=False)
    assert p.source.startswith("live")
    row = p.data.set_index("cpus").loc[0.2]
    assert row.cpu_s > 0.004, row  # the request did real work
    assert row.cpu_s < 0.4 * row.latency_s, row
    assert row.nr_throttled > 0, row


def test_recorded_profile_is_a_valid_profile():
    df = load_profile(RECORDED)
    assert set(df.workload) == {"matmul", "pyloop", "cache", "bnljoin"}
    assert df.groupby("workload").size().min() >= 32


def test_unknown_workload_is_refused():
    with pytest.raises(ValueError, match="unknown workloads"):
        profile(workloads=("nope",))


@pytest.mark.skipif(not detect().usable, reason="cgroups not usable here")
@pytest.mark.parametrize("max_workers", [8, 3])
def test_live_profile_visits_every_cell_once_per_round_in_shuffled_order(max_workers):
    cpus, mem = (0.5, 1.0), (128, 256)
    p = profile(workloads=("pyloop", "matmul"), cpus=cpus, mem_mb=mem, reps=2, size=0.05, allow_recorded=False,
                max_workers=max_workers)
    df = p.data.sort_values("run")
    assert list(df.run) == list(range(16))
    assert (df.groupby(["workload", "cpus", "mem_mb"]).rep.apply(sorted) == pd.Series([[0, 1]] * 8).values).all()
    if max_workers == 8:  # one block: a round is a permutation of the 8 cells, one request each
        for _, rnd in df.groupby("rep"):
            assert len(rnd) == 8 and len(rnd.drop_duplicates(["workload", "cpus", "mem_mb"])) == 8
            assert rnd.run.is_monotonic_increasing and rnd.run.max() - rnd.run.min() == 7
    grid = [(w, c, m) for w in ("pyloop", "matmul") for c in cpus for m in mem]
    visits = [(r.workload, r.cpus, r.mem_mb) for r in df.itertuples()]
    assert visits[:8] != grid  # seeded shuffle, not the grid order
    assert (df.mem_peak_mb > 0).all() and (df.latency_s > 0).all()


def _cpu_weight(group) -> int:
    """The group's CPU priority in cpu.shares units (v2's cpu.weight times 10.24, rounded)."""
    d = group.dirs[0]
    if group.version == 2:
        return round(int((d / "cpu.weight").read_text()) * 10.24)
    return int((d / "cpu.shares").read_text())


@pytest.mark.skipif(not detect().usable, reason="cgroups not usable here")
def test_workers_warm_up_at_the_default_weight_and_are_measured_at_the_priority_weight(monkeypatch):
    """Warming up every worker of a block at once at the priority weight took the machine from everything beside
    the run for seconds; the priority is for the measured requests only."""
    import support.crms.profiling as prof

    seen = []  # (what, weight of the worker's group then)
    real = prof.limited_worker

    @contextlib.contextmanager
    def spying(*args, **kw):
        with real(*args, **kw) as w:
            read, ask = w.read_line, w.ask

            def first_read():  # the warm-up's "ready"; later reads (ask's answers) go to the method itself
                seen.append(("warm-up", _cpu_weight(w.group)))
                del w.read_line
                return read()

            def request(line):
                seen.append(("request", _cpu_weight(w.group)))
                return ask(line)

            w.read_line, w.ask = first_read, request
            yield w

    monkeypatch.setattr(prof, "limited_worker", spying)
    profile(workloads=("pyloop",), cpus=(0.5, 1.0), mem_mb=(128,), reps=1, size=0.05, allow_recorded=False)
    default = round(1024 / 10.24) * 10.24 if detect().version == 2 else 1024
    assert [w for what, w in seen if what == "warm-up"] == [round(default)] * 2
    assert [w for what, w in seen if what == "request"] == [prof.PRIORITY_WEIGHT] * 2


def test_cell_table_takes_the_fastest_repetition_by_default_and_the_median_on_request():
    df = pd.DataFrame({"workload": ["w"] * 4 + ["v"] * 3, "cpus": [0.5] * 7, "mem_mb": [128] * 7,
                       "rep": [0, 1, 2, 3, 0, 1, 2], "latency_s": [0.30, 0.10, 0.50, 0.20, 2.0, 3.0, 1.0],
                       "cpu_s": [0.06, 0.05, 0.09, 0.07, 1.0, 1.5, 0.5]})
    fast = cell_table(df).set_index("workload")
    assert fast.loc["w", "latency_s"] == 0.10 and fast.loc["v", "latency_s"] == 1.0  # one slowed request cannot lift it
    assert fast.loc["w", "cpu_s"] == 0.05 and fast.loc["w", "reps"] == 4
    mid = cell_table(df, "median").set_index("workload")
    assert mid.loc["w", "latency_s"] == pytest.approx(0.25) and mid.loc["v", "latency_s"] == 2.0
    with pytest.raises(ValueError, match="mean"):
        cell_table(df, "mean")
