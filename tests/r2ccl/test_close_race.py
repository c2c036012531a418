"""Teardown: a connection that fails while its rank closes must not leave the peer waiting for acknowledgements
that died with it (the peer's drain would run out its whole ``drain_timeout``)."""

from __future__ import annotations

import threading
import time

import pytest

from support.r2ccl.transport import Transport, TransportConfig

NICS = 2


def _two_connected_ranks(flags: list[int]) -> tuple[Transport, Transport]:
    """Ranks 0 and 1 in this process, each with two loopback "NICs", fully connected. Detection by silence waits
    5 s, longer than any of these tests, so only the failures a test makes happen."""
    cfg = TransportConfig(t_det=5.0, hb_interval=0.1, op_timeout=20.0, sample_interval=0.0, tcp_cc="")
    nic_addrs = [[f"127.0.{i + 1}.{r + 1}" for i in range(NICS)] for r in range(2)]
    mgmt = [f"127.0.100.{r + 1}" for r in range(2)]
    trs = [Transport(r, nic_addrs, mgmt, cfg, fault_flags=flags) for r in range(2)]
    ports = [tr.listen() for tr in trs]
    errors: list[BaseException] = []

    def connect(tr: Transport):
        try:
            tr.connect(ports)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=connect, args=(tr,)) for tr in trs]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=30)
    assert not errors, errors
    return trs[0], trs[1]


def _close_both(tr0: Transport, tr1: Transport):
    """Close both ranks together (their teardown barrier needs both)."""
    ts = [threading.Thread(target=tr.close, kwargs={"drain_timeout": 2.0}) for tr in (tr0, tr1)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=15)
    assert not any(t.is_alive() for t in ts)


@pytest.mark.budget(40)
def test_a_connection_failing_while_a_rank_closes_still_tells_the_peer_what_arrived():
    """Rank 1 sends rank 0 one frame on NIC 0; rank 0 gets it, but its acknowledgement is lost (rank 0's outgoing
    bytes on NIC 0 are dropped). Rank 0, done, closes and waits for rank 1 in the teardown barrier. Then rank 0's
    NIC 0 connection fails with a send error (as when the peer reset it). Before the fix rank 0 only dropped the
    connection: rank 1 saw it end and sent its resync, rank 0 ignored it (the connection was dead already), and
    rank 1 kept the frame as unacknowledged until its drain timed out (here 10 s)."""
    flags = [0] * (2 * NICS)
    tr0, tr1 = _two_connected_ranks(flags)
    flags[0 * NICS + 0] = 2  # rank 0, NIC 0: what rank 0 sends there vanishes (the ack of the frame below)
    assert tr1.lane(0, 0).route == 0
    tr1.send(0, 0, 1, 7, b"frame")
    assert tr0.recv(1, 0, 1, 7) == b"frame"
    time.sleep(0.3)  # the ack would have arrived by now
    assert tr1.unacked() == 1

    closer = threading.Thread(target=tr0.close, kwargs={"drain_timeout": 10.0})
    closer.start()
    deadline = time.monotonic() + 5
    while not tr0.closing and time.monotonic() < deadline:
        time.sleep(0.01)
    assert tr0.closing
    tr0._conn_failed(tr0.conns[(1, 0)], "send error")  # what rank 0's writer thread does on EPIPE

    t0 = time.monotonic()
    tr1.close(drain_timeout=10.0)
    waited = time.monotonic() - t0
    closer.join(timeout=15)
    assert not closer.is_alive()
    assert tr1.unacked() == 0  # rank 0's resync said the frame had arrived
    assert waited < 3.0, f"rank 1's drain waited {waited:.1f} s for an acknowledgement lost with the connection"
    assert tr0.error is None and tr1.error is None, (tr0.error, tr1.error)
    assert tr0.stats.detections == []  # a connection ending in teardown is not a detected NIC failure


@pytest.mark.budget(40)
def test_a_resync_arriving_in_teardown_moves_no_idle_lane_and_records_no_failure():
    """Rank 0 is closing with nothing left to send, and its other NIC towards rank 1 is gone already. A resync from
    rank 1 for NIC 0 used to move rank 0's idle lane to a backup, find none, and make AllNicsFailed rank 0's
    fatal error (told to every rank) after its last op had completed."""
    flags = [0] * (2 * NICS)
    tr0, tr1 = _two_connected_ranks(flags)
    try:
        tr0.lane(1, 0)  # a lane towards rank 1 on NIC 0 with nothing unacknowledged
        tr0.closing = True
        tr0.conns[(1, 1)].kill()
        tr0.repair.on_resync(1, {"t": "resync", "nic": 0, "exp": {"0": 0}})
        assert tr0.error is None, tr0.error
        assert tr0.conns[(1, 0)].dead.is_set()
        assert tr0.lane(1, 0).route == 0 and tr0.stats.migrations == []
        assert tr0.stats.detections == []
    finally:
        tr0.closing = False
        _close_both(tr0, tr1)


@pytest.mark.budget(40)
def test_close_releases_every_socket_of_the_mesh():
    """Conn.kill only shuts the NIC sockets down; close() left their descriptors open until garbage collection."""
    tr0, tr1 = _two_connected_ranks([0] * (2 * NICS))
    socks = [s for tr in (tr0, tr1) for c in tr.conns.values() for s in (c.tx, c.rx)]
    assert all(s.fileno() >= 0 for s in socks)
    _close_both(tr0, tr1)
    assert all(s.fileno() == -1 for s in socks)


@pytest.mark.budget(20)
def test_the_silence_clock_starts_when_the_channel_starts_not_when_it_was_built():
    """A connection is built before the start barrier and started after it. Its last_rx was stamped at build time,
    so a barrier longer than t_det (0.6 s) made the reader declare the link dead on its first quiet 50 ms poll,
    before the peer's first heartbeat (0.1 s) could arrive."""
    import socket
    import types

    from support.r2ccl.transport import Conn, Stats

    failed = []
    tr = types.SimpleNamespace(cfg=TransportConfig(), pacers=None, stats=Stats(nic_bytes=[0]),
                               stats_lock=threading.Lock(), closing=False, fault_in=lambda nic: False,
                               fault_out=lambda nic: False, _on_data=lambda *a: None, _on_ack=lambda *a: None,
                               _conn_failed=lambda conn, why: (failed.append(why), conn.kill()))
    a_tx, b_rx = socket.socketpair()
    b_tx, a_rx = socket.socketpair()
    conns = [Conn(tr, 1, 0, a_tx, a_rx), Conn(tr, 0, 0, b_tx, b_rx)]
    time.sleep(0.8)  # the start barrier, longer than t_det
    for c in conns:
        c.start()
    time.sleep(0.5)  # heartbeats flow every 0.1 s from here on
    tr.closing = True
    for c in conns:
        c.kill()
    assert failed == []
