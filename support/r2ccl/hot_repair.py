"""Hot repair: lossless live migration of a channel to a pre-connected backup NIC.

As in R2CCL (src/transport/net.cc + src/r2cc/oob): a NIC failure produces no error on the socket,
only silence, so a connection is declared dead when nothing (not even a heartbeat) arrived for
``t_det`` seconds, or when it errors. Then, on each side of the dead connection:

1. the receiver stops delivering from it and tells the sender over the out-of-band link the sequence
   number it expects next on every lane (``R2CC_HR_STEP``: receiver-driven resync);
2. the sender, on that message, drops what is acknowledged, moves every lane that used the dead NIC
   to a backup NIC towards the same peer (the next NIC that is alive), and re-sends its retained
   frames from the expected sequence number on, in order, before any new frame.

Nothing is lost (frames are retained until acknowledged) and nothing is applied twice (the receiver
drops sequence numbers below what it expects).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from support.r2ccl.transport import Conn, Transport, _Lane


def backup_nic(alive: list[bool], nic: int) -> int | None:
    """The backup of ``nic``: the next NIC (cyclically) that is still alive, or None."""
    k = len(alive)
    for j in range(1, k):
        b = (nic + j) % k
        if alive[b]:
            return b
    return None


class HotRepair:
    """The failover state machine of one rank's transport."""

    def __init__(self, tr: Transport):
        self.tr = tr
        self.lock = threading.RLock()

    def _alive(self, peer: int) -> list[bool]:
        return [not self.tr.conns[(peer, i)].dead.is_set() for i in range(self.tr.k)]

    def _declare(self, conn: Conn, reason: str | None) -> bool:
        """Kill ``conn`` (once) and send the peer where to resume the lanes it sends to us; record the detection
        unless ``reason`` is None. False when ``conn`` was dead already."""
        tr = self.tr
        with self.lock:
            with tr.rx_lock:
                if conn.dead.is_set():
                    return False
                conn.kill()
                exp = {str(lane): seq for (p, lane), seq in tr.rx_expected.items() if p == conn.peer}
            if reason is not None:
                tr.stats.detections.append((time.time(), conn.peer, conn.nic, reason))
        try:
            tr.oob_send(conn.peer, {"t": "resync", "nic": conn.nic, "exp": exp})
        except OSError:
            pass
        return True

    def on_closing_failure(self, conn: Conn):
        """``conn`` failed while this rank closes: no frame of ours needs it any more, but the peer may still
        hold frames whose acks died with it. The resync tells it what arrived, so its drain ends now instead of
        at its timeout (and the peer's own resync, answered by nobody once ``conn`` is dead, cannot do that)."""
        self._declare(conn, None)

    def on_dead(self, conn: Conn, reason: str):
        """Declare ``conn`` dead (once) and send the peer where to resume the lanes it sends to us."""
        tr = self.tr
        if not self._declare(conn, reason):
            return
        # lanes of ours that never sent on the dead NIC, or have nothing unacked, can move now
        with self.lock:
            for (p, _), st in list(tr.lanes.items()):
                if p == conn.peer and st.route == conn.nic:
                    with st.lock:
                        if not st.retained:
                            self._move(conn.peer, st, resend_from=None, why="idle")

    def on_resync(self, peer: int, msg: dict):
        """The peer declared our connection on ``msg['nic']`` dead and says what it expects next. While this rank
        closes, only lanes with frames left to re-send move: the others will send nothing more."""
        tr = self.tr
        nic = int(msg["nic"])
        conn = tr.conns[(peer, nic)]
        if tr.closing:
            self.on_closing_failure(conn)
        else:
            self.on_dead(conn, "peer resync")
        exp = {int(k): v for k, v in msg["exp"].items()}
        from support.r2ccl.transport import _drop_below

        with self.lock:
            for (p, lane), st in list(tr.lanes.items()):
                if p != peer:
                    continue
                with st.lock:
                    _drop_below(st.retained, exp.get(lane, 0))
                    if st.route == nic and (st.retained or not tr.closing):
                        self._move(peer, st, resend_from=exp.get(lane, 0), why="resync")

    def _move(self, peer: int, st: _Lane, resend_from: int | None, why: str):
        """Route lane ``st`` to the backup NIC and re-send its retained frames there (lock held)."""
        tr = self.tr
        old = st.route
        b = backup_nic(self._alive(peer), old)
        if b is None:
            from support.r2ccl.transport import AllNicsFailed

            tr.fail(AllNicsFailed(f"rank {tr.rank}: every NIC towards rank {peer} is dead"))
            return
        st.route = b
        conn = tr.conns[(peer, b)]
        n = 0
        for seq, (hdr, payload) in st.retained.items():
            if resend_from is not None and seq < resend_from:
                continue
            conn.wq.put((hdr, payload))
            n += 1
            tr.stats.frames_resent += 1
            tr.stats.bytes_resent += len(payload)
        if n and tr.stats.first_resend_time is None:
            tr.stats.first_resend_time = time.time()
        tr.stats.migrations.append((time.time(), peer, old, b, why, n))

    def migrate_idle(self, peer: int, st: _Lane):
        """A lane with nothing unacknowledged on a dead NIC moves at once (called with its lock held;
        takes no other lock, so it cannot deadlock with :meth:`on_resync`)."""
        tr = self.tr
        old = st.route
        b = backup_nic(self._alive(peer), old)
        if b is None:
            from support.r2ccl.transport import AllNicsFailed

            tr.fail(AllNicsFailed(f"rank {tr.rank}: every NIC towards rank {peer} is dead"))
            return tr.conns[(peer, old)]
        st.route = b
        tr.stats.migrations.append((time.time(), peer, old, b, "idle", 0))
        return tr.conns[(peer, b)]
