"""Paths of :mod:`support.pipeline_agents.experiments` that only the notebook ran before: the memory-raise sweep's
runs, the timeline and audit tables of Figures 2-3, and the unmeasured-claim reasons for cost and freshness; plus
the refusals of :mod:`support.pipeline_agents.tpch`. Fakes whose values are known replace the simulations."""

import math
from types import SimpleNamespace

import pandas as pd
import pytest

from support.control.agents import AuditEntry
from support.pipeline_agents import experiments as X
from support.pipeline_agents import tpch
from support.pipeline_agents.params import Params
from support.policy import load_policy

POLICY = load_policy(X.POLICY_DIR)


def test_memory_raise_sweep_runs_each_raise_with_the_ceiling_and_the_longest_once_without_it(monkeypatch):
    seen = []

    def row(inp, p, faults, seeds, policy, desc):
        seen.append((p.stream_memory_raise_h, sorted(r.id for r in policy.rules), desc))
        return {"cost": p.stream_memory_raise_h}

    monkeypatch.setattr(X, "_reductions_row", row)
    mr = X.memory_raise_sweep(None, Params(), None, [0.0, 2.0, 1.0], [0], policy=POLICY)
    every = sorted(r.id for r in POLICY.rules)
    assert "cost_ceiling" in every
    assert [(h, ids == every) for h, ids, _ in seen] == [(0.0, True), (2.0, True), (1.0, True), (2.0, False)]
    assert seen[-1][1] == [i for i in every if i != "cost_ceiling"]  # only the ceiling is dropped
    assert seen[-1][2] == "raise 2 h, no ceiling" and seen[1][2] == "raise 2 h"
    assert mr.raise_h.tolist() == [0.0, 2.0, 1.0, 2.0] and mr.cost_ceiling.tolist() == [True, True, True, False]
    assert mr.cost.tolist() == [0.0, 2.0, 1.0, 2.0]


def _world(events, entries=()):
    return SimpleNamespace(rec=SimpleNamespace(events=events), audit=SimpleNamespace(entries=list(entries)))


def test_timeline_keeps_each_controllers_windows_and_pairs_its_episode_start_and_end(monkeypatch):
    ev = {"static": [(0.0, "window", {"workers": 2, "lag": 1.0}),
                     (5.0, "episode_start", {"ep": 1, "fault": "oom", "pipeline": "stream"}),
                     (60.0, "window", {"workers": 3, "lag": 4.0}),
                     (65.0, "episode_end", {"ep": 1})],
          "agentic": [(0.0, "window", {"workers": 2, "lag": 0.5}), (1.0, "manual", {"fault": "oom"})]}
    monkeypatch.setattr(X, "run_pair", lambda inp, p, faults, seed, policy: ([], {k: _world(v) for k, v in ev.items()}))
    win, eps, worlds = X.timeline(None, Params(), None, 0)
    assert win[["controller", "t", "workers", "lag"]].values.tolist() == [
        ["static", 0.0, 2, 1.0], ["static", 60.0, 3, 4.0], ["agentic", 0.0, 2, 0.5]]
    assert eps[["controller", "pipeline", "fault", "ttr_s"]].values.tolist() == [["static", "stream", "oom", 60.0]]
    assert set(worlds) == {"static", "agentic"}


def test_audit_frame_has_one_row_per_proposal_with_the_violated_rules_joined():
    e = [AuditEntry(10.0, "autoscaler", "scale", {}, {}, "deny", ("cost_ceiling", "change_rate"), False, "too fast"),
         AuditEntry(20.0, "healer", "raise_memory", {}, {}, "allow", (), True, "")]
    a = X.audit_frame(_world([], e))
    assert a.values.tolist() == [[10.0, "autoscaler", "scale", "deny", "cost_ceiling,change_rate", False, "too fast"],
                                 [20.0, "healer", "raise_memory", "allow", "", True, ""]]


def _frame(static, agentic):
    rows = []
    for ctl, cols in (("static", static), ("agentic", agentic)):
        rows += [{"controller": ctl, "seed": i, **{k: v[i] for k, v in cols.items()}} for i in range(2)]
    return pd.DataFrame(rows)


def test_unmeasured_names_cost_and_freshness_when_the_static_baseline_billed_nothing_and_no_window_finished():
    base = {"mttr_s": [100.0, 200.0], "mttr_batch_s": [1.0, 1.0], "mttr_stream_s": [1.0, 1.0], "cost_batch": [0.0] * 2,
            "cost_stream": [0.0] * 2, "manual": [1, 1], "episodes": [1, 1]}
    nan = float("nan")
    df = _frame({**base, "cost": [0.0, 0.0], "batch_fresh": [nan] * 2, "stream_fresh": [nan] * 2},
                {**base, "cost": [1.0, 2.0], "batch_fresh": [nan] * 2, "stream_fresh": [nan] * 2})
    red = X.reductions(df)
    assert math.isnan(red["cost"]) and math.isnan(X.freshness_kept(red))
    gaps = X.unmeasured(df, {"executed_actions": 3})
    assert set(gaps) == {"cost_reduction", "freshness_kept"}
    assert "2 seeds" in gaps["cost_reduction"] and "2 seeds" in gaps["freshness_kept"]


@pytest.mark.parametrize("sf", [0.0, -0.1, 1.5])
def test_tpch_generate_refuses_a_scale_factor_outside_zero_to_one(sf, tmp_path):
    with pytest.raises(ValueError, match="scale factor must be in"):
        tpch.generate(sf, tmp_path)


def test_tpch_profile_needs_at_least_one_repetition(tmp_path):
    with pytest.raises(ValueError, match="reps must be >= 1"):
        tpch.profile_stages(0.01, reps=0, cache_dir=tmp_path)


def test_tpch_generator_is_looked_up_next_to_python_then_on_path_else_named_in_the_error(monkeypatch, tmp_path):
    monkeypatch.setattr(tpch.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setattr(tpch.shutil, "which", lambda name: None)
    with pytest.raises(tpch.TpchError, match="tpchgen-cli not found"):
        tpch.tpchgen_binary()
    monkeypatch.setattr(tpch.shutil, "which", lambda name: "/opt/bin/" + name)
    assert str(tpch.tpchgen_binary()) == "/opt/bin/tpchgen-cli"
    (tmp_path / "tpchgen-cli").write_text("")
    assert tpch.tpchgen_binary() == tmp_path / "tpchgen-cli"  # the venv's own wins over PATH


def _fake_generator(tmp_path, tables, rc=0):
    """A stand-in for tpchgen-cli: writes ``tables`` into --output-dir and exits with ``rc``."""
    exe = tmp_path / "fake-tpchgen"
    touch = " ".join(f'"$out/{t}.csv"' for t in tables)
    exe.write_text(f'#!/bin/sh\nfor a in "$@"; do case "$a" in --output-dir=*) out="${{a#--output-dir=}}";; esac; done\n'
                   f'touch {touch}\necho "generator says hi" >&2\nexit {rc}\n')
    exe.chmod(0o755)
    return exe


def test_tpch_generate_moves_a_complete_generation_into_the_cache_once(monkeypatch, tmp_path):
    calls = []
    exe = _fake_generator(tmp_path, tpch.TABLES)
    monkeypatch.setattr(tpch, "tpchgen_binary", lambda: calls.append(1) or exe)
    out = tpch.generate(0.02, tmp_path / "cache")
    assert out == tmp_path / "cache" / "paper_repro_tpch" / "sf0.02"
    assert sorted(f.name for f in out.iterdir()) == sorted(f"{t}.csv" for t in tpch.TABLES)
    assert tpch.generate(0.02, tmp_path / "cache") == out and len(calls) == 1  # the second call reads the cache
    assert [p.name for p in out.parent.iterdir()] == ["sf0.02"]  # no temporary folder left behind


@pytest.mark.parametrize("tables, rc", [(tpch.TABLES, 3), (tpch.TABLES[:-1], 0)])
def test_tpch_generate_fails_on_an_error_exit_or_a_missing_table_and_leaves_no_partial_folder(
        monkeypatch, tmp_path, tables, rc):
    monkeypatch.setattr(tpch, "tpchgen_binary", lambda: _fake_generator(tmp_path, tables, rc))
    with pytest.raises(tpch.TpchError, match=rf"failed \({rc}\): generator says hi"):
        tpch.generate(0.02, tmp_path / "cache")
    assert list((tmp_path / "cache" / "paper_repro_tpch").iterdir()) == []


def test_drift_outcomes_count_a_failed_transform_as_not_fixed_but_let_a_bug_raise(monkeypatch):
    """The measured quantity is whether the real DuckDB transform runs on the reconciled table: a DuckDB error means
    "not fixed"; any other exception is a bug in our code and must not be recorded as a drift outcome."""
    import duckdb

    from support.pipeline_agents import schema

    data = tpch.generate(0.01)

    def sql_fails(con):
        raise duckdb.BinderException("planted: column not found")

    monkeypatch.setattr(tpch, "transform_join", sql_fails)
    out = schema.drift_outcomes(data)
    fixable = out.action.isin(["map_column", "cast_column", "add_column"])
    assert fixable.any() and not out.fixed.any()

    def bug(con):
        raise TypeError("planted bug")

    monkeypatch.setattr(tpch, "transform_join", bug)
    with pytest.raises(TypeError, match="planted bug"):
        schema.drift_outcomes(data)
