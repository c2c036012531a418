"""The testbed leaves nothing behind; bad input gets one clear error."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest

from support.r2ccl.balance import agree, shares
from support.r2ccl.collectives import Communicator
from support.r2ccl.testbed import Fault, Testbed, run_job
from support.r2ccl.transport import TransportConfig


def _netns_names():
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    return r.stdout.split() if r.returncode == 0 else []


def test_namespaces_links_and_processes_are_gone_afterwards():
    with Testbed(2, 2, rate_mbit=100) as tb:
        prefix = tb.prefix
        if tb.mode == "netns":
            assert any(n.startswith(prefix) for n in _netns_names())
        r = run_job(tb, [{"kind": "allreduce", "n": 1000}], "balance", timeout=20)
        assert r.exact
    assert not [n for n in _netns_names() if n.startswith(prefix)]
    assert not mp.active_children()


def test_cleanup_also_on_error():
    with pytest.raises(RuntimeError, match="boom"), Testbed(2, 2) as tb:
        prefix = tb.prefix
        raise RuntimeError("boom")
    assert not [n for n in _netns_names() if n.startswith(prefix)]


def test_rank_processes_are_reaped_when_a_job_times_out():
    with Testbed(2, 1, rate_mbit=10) as tb:
        kind = "link_down" if tb.mode == "netns" else "transport"
        cfg = TransportConfig(reliable=False, op_timeout=30.0)
        with pytest.raises(TimeoutError):
            run_job(tb, [{"kind": "allreduce", "n": 100_000}] * 2, "none", [Fault(kind, 0, 0, 1, 0.1)],
                    cfg=cfg, timeout=3)
    assert not mp.active_children()


@pytest.mark.parametrize("bad,match", [
    (lambda: Testbed(1, 2), "2 <= hosts <= 254"),
    (lambda: Testbed(255, 2), "2 <= hosts <= 254"),
    (lambda: Testbed(2, 17), "1 <= nics <= 16"),
    (lambda: Testbed(2, 2, rate_mbit=0), "rate_mbit"),
    (lambda: Testbed(2, 2, mode="cloud"), "mode"),
    (lambda: Fault("meteor", 0, 0, 0), "fault kind"),
    (lambda: Fault("link_down", 0, 0, 0, frac=2.0), "frac"),
    (lambda: TransportConfig(t_det=0.1, hb_interval=0.1), "t_det"),
    (lambda: TransportConfig(t_det=float("nan")), "t_det must be a finite"),
    (lambda: TransportConfig(t_det=float("inf")), "t_det must be a finite"),
    (lambda: TransportConfig(hb_interval=-0.1), "hb_interval must be a finite"),
    (lambda: TransportConfig(op_timeout=float("nan")), "op_timeout must be a finite"),
    (lambda: TransportConfig(connect_timeout=0.0), "connect_timeout must be a finite"),
    (lambda: TransportConfig(sample_interval=float("nan")), "sample_interval"),
    (lambda: shares([1, 1], {0, 1}), "no surviving NIC"),
])
def test_bad_input_is_named(bad, match):
    with pytest.raises((ValueError, RuntimeError), match=match):
        bad()


def test_bad_policy_and_buffer():
    class T:
        rank, world, k = 0, 2, 2
        cfg = TransportConfig()

    with pytest.raises(ValueError, match="policy"):
        Communicator(T(), "magic")
    with pytest.raises(ValueError, match="1-D"):
        Communicator(T(), "balance")._check([[1, 2]])


@pytest.mark.budget(30)
def test_a_fault_the_testbed_cannot_inject_is_refused_before_any_rank_starts():
    """An out-of-range NIC, or a kind loopback cannot inject, raised inside the injection timer's thread: the job
    then ran without the fault and reported errors=none, exact=True."""
    with Testbed(2, 2, rate_mbit=50, mode="loopback") as tb:
        ops = [{"kind": "allreduce", "n": 1000}] * 2
        with pytest.raises(ValueError, match="no NIC 5 on host 0"):
            run_job(tb, ops, faults=[Fault("transport", 0, 5, at_op=1, frac=0.5)])
        with pytest.raises(RuntimeError, match="needs the netns testbed"):
            run_job(tb, ops, faults=[Fault("link_down", 0, 1, at_op=1, frac=0.5)])


def test_fault_outside_the_job_is_rejected():
    with Testbed(2, 2, mode="loopback") as tb, pytest.raises(ValueError, match="fault at op 5"):
        run_job(tb, [{"kind": "allreduce", "n": 10}], "balance", [Fault("transport", 0, 0, 5)])


def test_agreement_localizes_the_degraded_host():
    v = agree(4, 3, {0: [[0, 2, 1]], 1: [[1, 2, 1]], 2: [[0, 2, 1], [1, 2, 1], [2, 3, 1]], 3: []})
    assert v.failed_rails == {1} and v.degraded == {1: 2} and v.healthy_rails == [0, 2]
    assert agree(2, 2, {0: [[0, 1, 0]], 1: []}).degraded == {}  # two hosts: ambiguous


def test_fault_campaign_with_one_nic_is_rejected_before_running_any_job(monkeypatch):
    # with one NIC every fault kills the only path: it used to run 10 n + 10 jobs, then blame short collectives
    from support.r2ccl import experiments as ex

    monkeypatch.setattr(ex, "run_job", lambda *a, **k: pytest.fail("a job ran"))
    tb = SimpleNamespace(hosts=2, nics=1, mode="loopback")
    with pytest.raises(ValueError, match="needs >= 2 NICs"):
        ex.fault_campaign(tb, 3, np.random.default_rng(0))


@pytest.mark.parametrize("reps,rounds", [(1, 3), (0, 1), (4, 0)])
def test_no_fault_overhead_without_timed_ops_is_rejected(monkeypatch, reps, rounds):
    # op 0 of each job is a warm-up: reps = 1 left nothing to time and returned the median of [] (nan)
    from support.r2ccl import experiments as ex

    monkeypatch.setattr(ex, "run_job", lambda *a, **k: pytest.fail("a job ran"))
    with pytest.raises(ValueError, match="reps >= 2"):
        ex.no_fault_overhead(SimpleNamespace(hosts=2, nics=2), 1000, reps, rounds)


@pytest.mark.budget(30)
def test_a_paced_rate_so_low_that_one_frame_outlasts_half_of_t_det_is_refused():
    """At 0.5 Mbit/s a 64 KiB frame takes about 1 s to pace: the receiver heard nothing for longer than t_det and
    declared a healthy link dead."""
    with Testbed(2, 2, rate_mbit=50, mode="loopback") as tb:
        cfg = TransportConfig(pace_mbit=0.5, t_det=0.6, chunk_bytes=64 * 1024)
        with pytest.raises(ValueError, match="healthy links would look dead"):
            run_job(tb, [{"kind": "allreduce", "n": 1000}], cfg=cfg)
