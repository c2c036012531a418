"""A fatal error on one rank ends the job on every rank promptly, each rank naming the rank that failed and why."""

from __future__ import annotations

import pytest

from support.r2ccl.testbed import Testbed, run_job


def _declare_all_nics_to_rank_1_dead_on_rank_0_in_op_1(monkeypatch):
    """Rank 0 declares its three NICs towards rank 1 dead at its first send of op 1 (a false detection, as heavy
    load can cause), so rank 0 raises AllNicsFailed; and from op 1 on it never reads (nor acknowledges) a frame,
    as a rank that is about to die. Ranks 1 and 2 get no error of their own: rank 1 sends only to rank 2, and
    rank 2 holds unacknowledged frames on every lane to rank 0, which wait for a resync instead of failing over.
    The rank processes are forked, so the patched methods run in them."""
    from support.r2ccl import transport as tr_mod

    real_send, real_on_data = tr_mod.Transport.send, tr_mod.Transport._on_data

    def send(self, dst, lane, coll, tag, payload):
        if self.rank == 0 and coll == 1 and self.error is None:
            for nic in range(self.k):
                self.repair.on_dead(self.conns[(1, nic)], "injected false detection")
        real_send(self, dst, lane, coll, tag, payload)

    def on_data(self, conn, lane, coll, seq, tag, payload):
        if not (self.rank == 0 and coll >= 1):
            real_on_data(self, conn, lane, coll, seq, tag, payload)

    monkeypatch.setattr(tr_mod.Transport, "send", send)
    monkeypatch.setattr(tr_mod.Transport, "_on_data", on_data)


@pytest.mark.budget(60)
@pytest.mark.parametrize("policy", ["hot_repair", "balance"])
def test_one_ranks_all_nics_failed_ends_every_rank_well_before_op_timeout_naming_the_failed_rank(monkeypatch, policy,
                                                                                              fault_cfg):
    # Before the fix ranks 1 and 2 waited out op_timeout (30 s) and reported "no frame from rank 0 lane 1 ...".
    _declare_all_nics_to_rank_1_dead_on_rank_0_in_op_1(monkeypatch)
    cfg = fault_cfg()
    assert cfg.op_timeout == 30.0
    with Testbed(3, 3, rate_mbit=60) as tb:
        r = run_job(tb, [{"kind": "allreduce", "n": 60_000}] * 3, policy, cfg=cfg, timeout=50)
    assert sorted(r.errors) == [0, 1, 2], r.errors
    assert r.errors[0].startswith("AllNicsFailed: rank 0: every NIC towards rank 1 is dead"), r.errors
    for rank in (1, 2):
        assert r.errors[rank].startswith(f"PeerFailed: rank {rank}: rank 0 raised AllNicsFailed: rank 0: every NIC "
                                         "towards rank 1 is dead"), r.errors
    # setup plus two ops take about a second; the abort itself at most one recv poll (0.5 s) on each rank
    assert r.wall_s < 10.0, (r.wall_s, r.errors)


def _unconnected_transport(op_timeout: float = 30.0):
    """Rank 0 of two, never connected: no peer will ever answer, so any wait can only end by the error or op_timeout."""
    from support.r2ccl.transport import Transport, TransportConfig

    cfg = TransportConfig(op_timeout=op_timeout, sample_interval=0.0)
    return Transport(0, [["127.0.1.1"], ["127.0.1.2"]], ["127.0.100.1", "127.0.100.2"], cfg)


@pytest.mark.budget(20)
def test_a_rank_waiting_for_the_agreement_stops_at_its_fatal_error_not_at_op_timeout():
    import time

    from support.r2ccl.transport import AllNicsFailed

    tr = _unconnected_transport()
    tr.fail(AllNicsFailed("rank 0: every NIC towards rank 1 is dead"))
    t0 = time.monotonic()
    with pytest.raises(AllNicsFailed, match="^rank 0: every NIC towards rank 1 is dead$"):
        tr.allgather_oob(3, [])
    assert time.monotonic() - t0 < 5.0  # the error ends it at once; the wait it replaces is 30 s / 10 s


@pytest.mark.budget(20)
def test_close_after_a_fatal_error_does_not_wait_for_acknowledgements_that_cannot_come():
    import time

    from support.r2ccl.transport import PeerFailed

    tr = _unconnected_transport()
    tr.lane(1, 0).retained[0] = (b"hdr", b"payload")  # a frame the failed peer will never acknowledge
    tr.fail(PeerFailed("rank 0: rank 1 raised AllNicsFailed: rank 1: every NIC towards rank 0 is dead"))
    t0 = time.monotonic()
    tr.close(drain_timeout=10.0)
    assert time.monotonic() - t0 < 5.0  # the error ends it at once; the wait it replaces is 30 s / 10 s
    assert tr.closing


def _serve_management_link(tr, closing: bool, send: bytes, close_peer: bool = True):
    """Run ``tr``'s management-link reader for rank 1 on one end of a socket pair; the test plays rank 1 on the
    other end: it writes ``send``, then (``close_peer``) closes its end as a process that died would."""
    import socket
    import threading

    mine, theirs = socket.socketpair()
    tr.closing = closing
    reader = threading.Thread(target=tr._oob_reader, args=(1, mine), daemon=True)
    reader.start()
    theirs.sendall(send)
    if close_peer:
        theirs.close()
    reader.join(timeout=10)
    assert not reader.is_alive()
    mine.close()


@pytest.mark.budget(20)
def test_a_peer_whose_management_link_ends_mid_job_is_this_ranks_fatal_error():
    # before, the reader thread ended silently and the ranks waited out op_timeout (30 s)
    from support.r2ccl.transport import PeerFailed

    tr = _unconnected_transport()
    _serve_management_link(tr, closing=False, send=b'{"t": "agree", "coll": 0, "dead": []}\n')
    assert tr.agree_box[0] == {1: []}  # messages before the end were still served
    assert isinstance(tr.error, PeerFailed)
    assert str(tr.error) == "rank 0: rank 1 closed its management link before the job ended"


@pytest.mark.budget(20)
def test_a_management_link_that_ends_while_this_rank_closes_is_no_error():
    tr = _unconnected_transport()
    _serve_management_link(tr, closing=True, send=b'{"t": "bye", "coll": -1, "dead": []}\n')
    assert tr.error is None


@pytest.mark.budget(20)
def test_a_management_message_the_rank_cannot_handle_is_its_fatal_error_naming_the_message_kind():
    tr = _unconnected_transport()
    # a resync for a NIC this rank has no connection on: a bug, which must not end the reader thread unseen
    _serve_management_link(tr, closing=False, send=b'{"t": "resync", "nic": 7, "exp": {}}\n', close_peer=False)
    assert isinstance(tr.error, RuntimeError)
    assert str(tr.error).startswith("rank 0: handling a management message of rank 1 failed: KeyError")


@pytest.mark.budget(20)
def test_a_peers_fatal_error_then_its_link_ending_keeps_the_first_error():
    from support.r2ccl.transport import PeerFailed

    tr = _unconnected_transport()
    _serve_management_link(tr, closing=False, send=b'{"t": "fatal", "error": "AllNicsFailed: rank 1: boom"}\n')
    assert isinstance(tr.error, PeerFailed)
    assert str(tr.error) == "rank 0: rank 1 raised AllNicsFailed: rank 1: boom"


@pytest.mark.budget(20)
def test_close_after_any_recorded_fatal_error_ends_quietly():
    # a failed management message is recorded as a plain RuntimeError; teardown must not raise it, as for the
    # transport's own error kinds: every op of this rank had completed
    tr = _unconnected_transport()
    tr.fail(RuntimeError("rank 0: handling a management message of rank 1 failed: KeyError: (1, 7)"))
    tr.close(drain_timeout=1.0)
    assert tr.closing
