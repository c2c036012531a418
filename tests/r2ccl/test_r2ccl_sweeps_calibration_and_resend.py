"""Claim and figure code that no other unit test ran (found by a coverage run): the simulator sweeps behind the scale
figure, the absolute-time prediction, the testbed calibration's aggregation, the per-NIC time series, the
campaign's runaway guard, and the hot-repair re-send on a peer's resync (checked on a stand-in transport)."""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict
from types import SimpleNamespace

import numpy as np
import pytest

from support.r2ccl import experiments as ex
from support.r2ccl import simulator as sim
from support.r2ccl.hot_repair import HotRepair
from support.r2ccl.testbed import Fault, JobResult
from support.r2ccl.transport import AllNicsFailed, Stats, _Lane

# alpha = 0 and a 1-byte chunk: every time is (busiest-NIC load x S + at most 1 byte) / B, so slowdowns are the
# load ratios of the notes to ~1e-9 relative
_LOAD_ONLY = sim.Cluster(servers=2, nics=8, bw=1e9, alpha=0.0, chunk=1)


# ---------------------------------------------------------------------------------------------- scale figure

def test_scale_sweep_gives_the_load_ratio_overheads_and_eight_gpus_per_server(monkeypatch):
    """k = 8, one failed NIC, alpha = 0: hot repair doubles the busiest NIC's bytes (+100 %), Balance spreads
    them on 7 NICs (8/7: +14.29 %), and at N = 2 the resilient split has no healthy sub-ring, so it is Balance."""
    monkeypatch.setattr(sim, "PAPER", _LOAD_ONLY)
    df = ex.scale_sweep(servers=(2, 16), nics=8).set_index(["servers", "method"])
    assert df.loc[(2, "hot_repair"), "overhead_pct"] == pytest.approx(100.0, rel=1e-6)
    assert df.loc[(16, "hot_repair"), "overhead_pct"] == pytest.approx(100.0, rel=1e-6)
    assert df.loc[(2, "balance"), "overhead_pct"] == pytest.approx(100 / 7, rel=1e-6)
    assert df.loc[(2, "resilient"), "overhead_pct"] == pytest.approx(100 / 7, rel=1e-6)
    assert df.loc[(16, "resilient"), "overhead_pct"] < 100 / 7 - 1  # a sub-ring exists from N = 3 on
    assert df.loc[(16, "hot_repair"), "gpus"] == 128 and df.loc[(2, "balance"), "gpus"] == 16


def test_split_sweep_at_three_hosts_and_nics_is_the_hand_derived_line():
    """N = k = 3 (notes Sec. 1.7): a = 1 + f/3, b = 1 - f; on f >= 3/7 the balancing weight w = (a+b)/(3b) is >= 1,
    so w = 1 and the busiest NIC is a good rail with (1 + f/3)/2; healthy is (4/3)/3 = 4/9, so
    time_rel = 9 (1 + f/3) / 8 = (9 + 3 f)/8: 1.3125 at f = 0.5, Balance's 1.5 at f = 1."""
    df = ex.split_sweep(servers=3, nics=3, grid=11)
    assert df["f"].tolist() == pytest.approx(np.linspace(0.5, 1.0, 11).tolist())
    assert df["time_rel"].tolist() == pytest.approx(((9 + 3 * df["f"]) / 8).tolist(), rel=1e-12)


def test_split_sweep_minimum_at_many_hosts_is_near_2k_minus_3_over_2k_minus_1():
    """Large N, k = 8: the optimum split is f* -> (2k-3)/(2k-1) = 13/15 with time 2k/(2k-1) = 16/15 of healthy."""
    df = ex.split_sweep(servers=1000, nics=8, grid=501)
    best = df.loc[df["time_rel"].idxmin()]
    assert best["f"] == pytest.approx(13 / 15, abs=2e-3)
    assert best["time_rel"] == pytest.approx(16 / 15, rel=2e-3)


def test_failures_sweep_gives_each_policys_closed_form_per_failed_nic_count(monkeypatch):
    """N = k = 3, alpha = 0. Balance: k/(k-m) (1.5, 3); hot repair: 1 + ceil(m/(k-m)) (2, 3); resilient m = 1:
    9/7 (the notes' f = 3/7 optimum); m = 2: w is capped at 1 for every f, the good rail carries a = 1 + f/3 >=
    the lost rails' (1-f)/2, minimal at f = 0: load 1 against healthy 4/9, i.e. 9/4."""
    monkeypatch.setattr(sim, "PAPER", sim.Cluster(servers=2, nics=3, bw=1e9, alpha=0.0, chunk=1))
    df = ex.failures_sweep(servers=3, nics=3).set_index(["failed", "method"])["slowdown"]
    assert sorted(df.index.get_level_values("failed").unique()) == [1, 2]
    want = {(1, "balance"): 1.5, (2, "balance"): 3.0, (1, "hot_repair"): 2.0, (2, "hot_repair"): 3.0,
            (1, "resilient"): 9 / 7, (2, "resilient"): 9 / 4}
    for key, v in want.items():
        assert df[key] == pytest.approx(v, rel=2e-3), key


def test_predicted_times_keep_the_fitted_alpha_and_bandwidth():
    """N = 2, k = 2, B = 1e6 B/s, alpha = 0.01 s, chunk 10 B, S = 1e6 B. 2 (N-1) = 2 steps; ring = 2 (N-1)/N = 1.
    Hot repair: busiest NIC 1/2 x 2 lanes = 1 S; Balance: 1/(k-1) = 1 S; resilient at N = 2 = Balance.
    Fill min(10, S/4) = 10 B. Each: 2 x 0.01 + (1e6 + 10)/1e6 = 1.02001 s. Healthy would be 0.52001 s."""
    cl = sim.Cluster(servers=2, nics=2, bw=1e6, alpha=0.01, chunk=10)
    got = ex.predicted_times(cl, 1e6)
    assert set(got) == set(ex.METHODS)
    for m in ex.METHODS:
        assert got[m] == pytest.approx(1.02001, rel=1e-12), m


# ---------------------------------------------------------------------------------------------- testbed side

def _ops(seconds: list[float]) -> list[dict]:
    ends = 100.0 + np.cumsum(seconds)
    return [{"seconds": float(s), "t_end": float(e)} for s, e in zip(seconds, ends)]


def test_calibration_drops_the_warm_up_op_and_fits_alpha_and_bandwidth_on_bytes(monkeypatch):
    """Healthy jobs scripted from a planted cluster (alpha 2 ms, B 5e6 B/s per NIC) with a 50 s warm-up op 0:
    the fit must return the planted values, which needs op 0 dropped and the sizes counted in bytes (4 per
    float32 element)."""
    planted = sim.Cluster(servers=3, nics=2, bw=5e6, alpha=2e-3, chunk=ex.fast_cfg().chunk_bytes)
    calls = []

    def run_job(tb, ops, method, faults=(), **kw):
        calls.append((len(ops), method))
        t = sim.collective_time(ops[0]["n"] * 4, planted, "healthy")
        rank = {"ops": _ops([50.0] + [t] * (len(ops) - 1))}
        return JobResult([rank, dict(rank), dict(rank)], [], wall_s=1.0, exact=True)

    monkeypatch.setattr(ex, "run_job", run_job)
    cl, samples = ex.calibrate_on_testbed(SimpleNamespace(hosts=3, nics=2), [10_000, 40_000, 160_000], reps=2)
    assert calls == [(3, "balance")] * 3
    assert [s[0] for s in samples] == [40_000] * 2 + [160_000] * 2 + [640_000] * 2
    assert cl.alpha == pytest.approx(2e-3, rel=1e-6) and cl.bw == pytest.approx(5e6, rel=1e-6)


def test_calibration_refuses_a_failed_healthy_job(monkeypatch):
    monkeypatch.setattr(ex, "run_job", lambda *a, **k: JobResult([None], [], 1.0, errors={0: "boom"}))
    with pytest.raises(RuntimeError, match="boom"):
        ex.calibrate_on_testbed(SimpleNamespace(hosts=2, nics=2), [1000], reps=1)


def test_nic_timeseries_is_the_byte_counter_rate_per_nic_from_the_fault():
    """Samples at t = 10, 10.5, 11.5 s with cumulative bytes per NIC (0, 0), (125000, 62500), (125000, 312500):
    NIC 0 sends 125000 B x 8 / 0.5 s = 2 Mbit/s then 0; NIC 1 1 Mbit/s then 250000 B x 8 / 1 s = 2 Mbit/s.
    Times are from the fault's injection (10.2 s): 0.3 and 1.3 s."""
    f = Fault("link_down", 0, 0, at_op=1, frac=0.5)
    f.injected_at = 10.2
    rank = {"samples": [(10.0, [0, 0]), (10.5, [125_000, 62_500]), (11.5, [125_000, 312_500])]}
    df = ex.nic_timeseries(SimpleNamespace(ranks=[None, rank], faults=[f]), rank=1)
    assert list(df.columns) == ["t_s", "nic0", "nic1"]
    assert df["t_s"].tolist() == pytest.approx([0.3, 1.3])
    assert df["nic0"].tolist() == pytest.approx([2.0, 0.0]) and df["nic1"].tolist() == pytest.approx([1.0, 2.0])
    no_fault = ex.nic_timeseries(SimpleNamespace(ranks=[rank], faults=[]), rank=0)
    assert no_fault["t_s"].tolist() == pytest.approx([0.5, 1.5])  # from the first sample


def test_fault_campaign_gives_up_when_no_fault_ever_lands_during_a_job(monkeypatch):
    """Every fault takes effect after the job (never injected): after 10 n + 10 jobs the campaign says so."""
    jobs = []

    def run_job(tb, ops, method, faults, seed, **kw):
        jobs.append(1)
        rank = {"ops": _ops([0.1] * len(ops)), "migrations": [], "frames_resent": 0, "dup_dropped": 0}
        return JobResult([rank, dict(rank)], faults, wall_s=1.0, exact=True)

    monkeypatch.setattr(ex, "run_job", run_job)
    tb = SimpleNamespace(hosts=2, nics=2, mode="loopback")
    with pytest.raises(RuntimeError, match="0 during it"):
        ex.fault_campaign(tb, 2, np.random.default_rng(0), ops_per_job=2)
    assert len(jobs) == 10 * 2 + 10


def test_no_fault_overhead_refuses_an_inexact_healthy_run(monkeypatch):
    rank = {"ops": _ops([0.1, 0.1])}
    monkeypatch.setattr(ex, "run_job", lambda *a, **k: JobResult([rank, rank], [], 1.0, exact=False))
    with pytest.raises(RuntimeError, match="healthy run failed"):
        ex.no_fault_overhead(SimpleNamespace(hosts=2, nics=2), 100, reps=2, rounds=1)


# ---------------------------------------------------------------------------------------------- hot repair

class _Conn:
    def __init__(self, peer: int, nic: int):
        self.peer, self.nic, self.dead, self.wq = peer, nic, threading.Event(), queue.Queue()

    def kill(self):
        self.dead.set()


def _transport(k: int = 3, peers=(1, 2)):
    """A stand-in with what HotRepair touches: connections per (peer, nic), lanes, stats, the out-of-band channel."""
    tr = SimpleNamespace(k=k, rank=0, conns={(p, i): _Conn(p, i) for p in peers for i in range(k)},
                         rx_lock=threading.Lock(), rx_expected={(1, 0): 7, (2, 0): 9}, stats=Stats(), lanes={},
                         closing=False, sent=[], failed=[])
    tr.oob_send = lambda peer, msg: tr.sent.append((peer, msg))
    tr.fail = tr.failed.append
    return tr


def _lane(route: int, seqs) -> _Lane:
    st = _Lane(route)
    st.retained = OrderedDict((s, (b"h%d" % s, b"x" * (10 + s))) for s in seqs)
    return st


def test_a_peer_resync_resends_exactly_the_retained_frames_it_has_not_received_on_the_next_alive_nic():
    """The peer says it lost NIC 0 and expects lane 0 from seq 3: frames 0-2 are acknowledged (dropped), 3 and 4
    go out on NIC 1 (the next alive), in order, counted once each (payloads 13 + 14 bytes). Lane 1 routed on
    NIC 2 and the other peer's lane stay where they are; our side tells the peer what we expect (lane 0: 7)."""
    tr = _transport()
    tr.lanes = {(1, 0): _lane(0, range(5)), (1, 1): _lane(2, [0]), (2, 0): _lane(0, range(5))}
    HotRepair(tr).on_resync(1, {"nic": 0, "exp": {"0": 3}})
    assert tr.conns[(1, 0)].dead.is_set() and not tr.conns[(2, 0)].dead.is_set()
    assert tr.sent == [(1, {"t": "resync", "nic": 0, "exp": {"0": 7}})]
    assert list(tr.lanes[(1, 0)].retained) == [3, 4] and tr.lanes[(1, 0)].route == 1
    wq = tr.conns[(1, 1)].wq
    assert [wq.get_nowait()[0] for _ in range(wq.qsize())] == [b"h3", b"h4"]
    assert tr.stats.frames_resent == 2 and tr.stats.bytes_resent == 13 + 14
    assert tr.stats.first_resend_time is not None
    assert [m[1:] for m in tr.stats.migrations] == [(1, 0, 1, "resync", 2)]
    assert tr.lanes[(1, 1)].route == 2 and list(tr.lanes[(2, 0)].retained) == [0, 1, 2, 3, 4]
    assert tr.lanes[(2, 0)].route == 0 and tr.conns[(2, 1)].wq.empty()


def test_a_dead_nic_moves_its_idle_lanes_at_once_and_skips_dead_backups():
    """NIC 1 towards peer 1 already dead: when NIC 0 dies its idle lane (nothing retained) moves to NIC 2, re-sending
    nothing; a lane with frames waits for the peer's resync."""
    tr = _transport()
    tr.conns[(1, 1)].dead.set()
    tr.lanes = {(1, 0): _lane(0, []), (1, 3): _lane(0, [5])}
    HotRepair(tr).on_dead(tr.conns[(1, 0)], "silence")
    assert tr.lanes[(1, 0)].route == 2 and tr.lanes[(1, 3)].route == 0
    assert [m[1:] for m in tr.stats.migrations] == [(1, 0, 2, "idle", 0)] and tr.stats.frames_resent == 0
    assert [d[1:] for d in tr.stats.detections] == [(1, 0, "silence")]


def test_losing_every_nic_towards_a_peer_fails_the_transport_with_all_nics_failed():
    tr = _transport(k=2)
    tr.conns[(1, 1)].dead.set()
    tr.lanes = {(1, 0): _lane(0, [])}
    hr = HotRepair(tr)
    hr.on_dead(tr.conns[(1, 0)], "silence")
    assert len(tr.failed) == 1 and isinstance(tr.failed[0], AllNicsFailed) and tr.lanes[(1, 0)].route == 0
    st = _lane(0, [])
    assert hr.migrate_idle(1, st) is tr.conns[(1, 0)] and len(tr.failed) == 2


def test_migrate_idle_routes_a_lane_to_the_next_alive_nic_without_resending():
    tr = _transport(k=4)
    tr.conns[(2, 3)].dead.set()
    tr.conns[(2, 0)].dead.set()
    st = _lane(3, [])
    assert HotRepair(tr).migrate_idle(2, st) is tr.conns[(2, 1)]
    assert st.route == 1 and [m[1:] for m in tr.stats.migrations] == [(2, 3, 1, "idle", 0)]


def test_gloo_compare_refuses_a_run_with_errors(monkeypatch):
    from support.r2ccl import gloo_baseline

    monkeypatch.setattr(gloo_baseline, "run_gloo", lambda *a, **k: {"errors": {0: "no torch"}})
    with pytest.raises(RuntimeError, match="gloo: .*no torch"):
        ex.gloo_compare(SimpleNamespace(mode="loopback"), 1000)


def test_a_resync_that_cannot_be_sent_still_declares_the_connection_dead():
    """The peer's management link is gone (OSError): the connection is still killed and its detection recorded."""
    tr = _transport()

    def refuse(peer, msg):
        raise OSError("connection refused")

    tr.oob_send = refuse
    assert HotRepair(tr)._declare(tr.conns[(1, 2)], "silence") is True
    assert tr.conns[(1, 2)].dead.is_set() and [d[1:] for d in tr.stats.detections] == [(1, 2, "silence")]
    assert HotRepair(tr)._declare(tr.conns[(1, 2)], "silence") is False  # once only
