"""benchmarks/*.py refuse arguments they cannot run with (usage line, exit 2) before any long work, and the R2CCL
report says when its gloo comparison is unavailable instead of printing nan ratios."""

from __future__ import annotations

import importlib
import sys

import pytest


def _usage_error(monkeypatch, capsys, script: str, args: list[str]) -> str:
    """Run ``benchmarks/<script>``'s main with ``args`` in this process; it must exit 2 (argparse usage error)
    before any work. Returns stderr."""
    monkeypatch.setenv("PAPER_REPRO_QUIET", "1")  # the scripts setdefault it on import: undone after the test
    mod = importlib.import_module(f"benchmarks.{script.removesuffix('.py')}")
    monkeypatch.setattr(sys, "argv", [script, *args])
    with pytest.raises(SystemExit) as e:
        mod.main()
    assert e.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("script, args, msg", [
    ("fl_selection.py", ["--seeds", "-1"], "--seeds must be >= 1"),
    ("fl_selection.py", ["--methods", "csra,random_opt"], "--methods: unknown ['random_opt']"),
    ("fl_selection.py", ["--methods", "csra,nope"], "--methods: unknown ['nope']"),
    ("fl_selection.py", ["--c1", "0.5"], "give both --c1 and --c2"),
    ("dpor_estimate.py", ["--runs", "0"], "--runs 0: must be >= 1"),
    ("dpor_estimate.py", ["--knuth-trials", "0"], "--knuth-trials 0: must be >= 1"),
    ("dpor_estimate.py", ["big0", "nope(3)"], "unknown parameterised benchmark 'nope'"),
    ("herosign.py", ["--no-cpu", "--gpu-sets", "sha2-128f,sha2-999f"], "--gpu-sets: unknown f parameter sets"),
    ("herosign.py", ["--no-cpu", "--gpu-batches", "1024,x"], "--gpu-batches must be comma-separated integers"),
])
def test_benchmark_refuses_bad_arguments_before_running(monkeypatch, capsys, script, args, msg):
    assert msg in _usage_error(monkeypatch, capsys, script, args)


def test_r2ccl_report_prints_the_gloo_setup_error_and_no_ratios():
    from benchmarks.r2ccl import throughput_lines

    ov = {"algbw_on_mbit": 30.0, "algbw_off_mbit": 28.0, "overhead_pct": 7.1}
    text = "\n".join(throughput_lines(ov, {"error_setup": "torch is not installed"}, 3))
    assert "gloo did not run: torch is not installed" in text and "ratios to gloo unavailable" in text
    assert "nan" not in text.lower() and "None" not in text
    ok = throughput_lines(ov, {"t_healthy": 1.0, "algbw_mbit": 10.0, "fault_injected": True, "error": "Connection reset",
                               "error_after_s": 3.2}, 3)
    assert ok[1].split()[-1] == "3.00" and ok[2].split()[-1] == "2.80"  # 30 / 10, 28 / 10
    assert "1.00x gloo" in ok[4]  # 30 Mbit/s over 3 NICs = 10 per NIC = gloo's one NIC
    assert ok[-1] == "gloo under a NIC failure: Connection reset (after 3.2 s)"
