"""Per-NIC TCP channels between rank processes.

Every pair of ranks holds one channel per NIC (rail), bound to that NIC's address on both
ends, plus one out-of-band (OOB) connection over a management link that is never failed. All
connections are set up before the first collective: the backup of every channel is pre-connected,
as R2CCL pre-registers buffers on a backup NIC.

Each (peer, NIC) channel is *two* TCP connections, one per direction: data frames go out on the one
this rank sends on, acknowledgements and heartbeats come back on it, and the reverse holds for the
other (NCCL, too, has separate send and receive connections). Measured on the testbed (20 Mbit/s tbf
rail, both directions at once, 1.5 MB each way): one shared CUBIC connection gave 1.8 MB/s in one
direction and 2.4 in the other; two connections 2.4 and 2.4. The connections use CUBIC
(``TransportConfig.tcp_cc``): with BBR v1, the kernel default there, a direction of a 2-host sub-ring
ran at 1.5 of 2.5 MB/s while its reverse ran at line rate.

Data moves in *frames* on logical *lanes*. A lane is one ordered stream per (peer, lane id); frames
carry ``(lane, collective id, sequence number, tag)``. In reliable mode (failover enabled):

- the sender keeps each frame until the receiver acknowledges it (retain-until-acked: TCP "sent" is
  not "delivered", the data of a dead link sits in its kernel buffer);
- the receiver delivers frames strictly in sequence order and drops duplicates;
- each connection carries heartbeats when idle, so silence (all a dead link produces; no RST, no
  socket error) can be told apart from an idle channel; :mod:`.hot_repair` acts on it.

With ``reliable=False`` (failover disabled: the same library without the machinery) there is no
retention, no acks, no heartbeats; a dead link stalls until the watchdog ``op_timeout`` fires.
"""

from __future__ import annotations

import json
import math
import queue
import select
import socket
import struct
import threading
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field

HDR = struct.Struct("!BHIQII")  # type, lane, coll, seq, tag, payload length
DATA, ACK, HB = 1, 2, 3
HELLO = struct.Struct("!II")  # rank, nic | role << 16 (role 0: the connecting rank sends data on it)
START_BARRIER = -2  # the management-link vote that ends setup (collectives count from 0; teardown's "bye" is -1)


class CollectiveTimeout(RuntimeError):
    """A receive waited longer than the watchdog ``op_timeout`` (a stalled link without failover)."""


class ProtocolError(RuntimeError):
    """A frame arrived out of its expected place: would mean data lost or duplicated."""


class AllNicsFailed(RuntimeError):
    """Every NIC towards a peer is dead; R2CCL does not handle losing all NICs of a server."""


class PeerFailed(RuntimeError):
    """Another rank raised a fatal transport error (it said so over the management link): this rank's op
    cannot complete, so it stops now rather than when the watchdog ``op_timeout`` runs out."""


@dataclass
class TransportConfig:
    """Knobs of the transport; all times in seconds."""

    reliable: bool = True  # retention + acks + heartbeats + failover
    t_det: float = 0.6  # silence on a connection longer than this declares it dead
    hb_interval: float = 0.1  # heartbeat period on idle connections
    op_timeout: float = 60.0  # watchdog on any single receive
    chunk_bytes: int = 64 * 1024  # pipelining unit of the collectives
    connect_timeout: float = 20.0
    sample_interval: float = 0.05  # per-NIC byte counter sampling (0 = off)
    pace_mbit: float = 0.0  # user-space per-NIC rate cap (loopback fallback has no tc); 0 = none
    tcp_cc: str = "cubic"  # TCP congestion control of the NIC connections ("" = the system default)

    def __post_init__(self):
        for name in ("t_det", "hb_interval", "op_timeout", "connect_timeout"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):  # nan/inf: detection or the watchdog would never fire
                raise ValueError(f"{name} must be a finite number of seconds > 0; got {v!r}")
        for name in ("sample_interval", "pace_mbit"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be finite and >= 0; got {v!r}")
        if self.t_det <= 2 * self.hb_interval:
            raise ValueError(f"t_det ({self.t_det}) must exceed twice hb_interval ({self.hb_interval})")
        if self.chunk_bytes < 64:
            raise ValueError(f"chunk_bytes must be >= 64, got {self.chunk_bytes!r}")


@dataclass
class Stats:
    frames_sent: int = 0
    bytes_sent: int = 0
    frames_resent: int = 0
    bytes_resent: int = 0
    dup_dropped: int = 0
    stale_dropped: int = 0
    frames_delivered: int = 0
    migrations: list = field(default_factory=list)  # (wall time, peer, from nic, to nic, lanes)
    detections: list = field(default_factory=list)  # (wall time, peer, nic, reason)
    first_resend_time: float | None = None
    nic_bytes: list = field(default_factory=list)  # per nic cumulative sent bytes
    samples: list = field(default_factory=list)  # (wall time, [bytes per nic])


class Conn:
    """The channel to ``peer`` on NIC ``nic``: connection ``tx`` carries our data frames (and brings back
    their acks), ``rx`` brings the peer's data frames (and carries our acks). A reader thread serves
    both; one writer thread per connection, so acks never wait behind data."""

    def __init__(self, tr: Transport, peer: int, nic: int, tx: socket.socket, rx: socket.socket):
        self.tr, self.peer, self.nic, self.tx, self.rx = tr, peer, nic, tx, rx
        self.wq: queue.Queue = queue.Queue()  # data frames -> tx
        self.cq: queue.Queue = queue.Queue()  # acks -> rx
        self.dead = threading.Event()
        self.last_rx = time.monotonic()
        self.threads = [threading.Thread(target=self._reader, daemon=True, name=f"rd{peer}.{nic}"),
                        threading.Thread(target=self._writer, args=(self.wq, self.tx), daemon=True,
                                         name=f"wr{peer}.{nic}"),
                        threading.Thread(target=self._writer, args=(self.cq, self.rx), daemon=True,
                                         name=f"ack{peer}.{nic}")]

    def start(self):
        # the silence clock starts with the channel: stamped at construction, it ran through the start barrier,
        # and a rank that waited there longer than t_det declared every link dead on its reader's first quiet poll
        self.last_rx = time.monotonic()
        for t in self.threads:
            t.start()

    def kill(self):
        """Stop using this channel (declared dead or closing): unblocks every thread."""
        self.dead.set()
        for s in (self.tx, self.rx):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.wq.put(None)
        self.cq.put(None)

    # -- writers: frames from a queue, heartbeats when idle
    def _writer(self, q: queue.Queue, sock: socket.socket):
        tr = self.tr
        hb = HDR.pack(HB, 0, 0, 0, 0, 0)
        while not self.dead.is_set():
            try:
                item = q.get(timeout=tr.cfg.hb_interval)
            except queue.Empty:
                item = hb if tr.cfg.reliable else None
                if item is None:
                    continue
            if item is None:
                break
            if tr.fault_out(self.nic):
                continue  # injected fault: the bytes vanish on the wire
            if tr.pacers is not None:
                tr.pacers[self.nic].take(len(item[0]) + len(item[1]) if isinstance(item, tuple) else len(item))
            try:
                if isinstance(item, tuple):
                    sock.sendall(item[0])
                    sock.sendall(item[1])
                    n = len(item[0]) + len(item[1])
                else:
                    sock.sendall(item)
                    n = len(item)
                with tr.stats_lock:
                    tr.stats.nic_bytes[self.nic] += n
            except OSError:
                if not self.dead.is_set():
                    tr._conn_failed(self, "send error")
                break

    # -- reader: frames from both connections, silence detection
    def _reader(self):
        tr = self.tr
        bufs = {self.tx: bytearray(), self.rx: bytearray()}
        while not self.dead.is_set():
            if tr.fault_in(self.nic):
                r = []
                time.sleep(0.02)
            else:
                try:
                    r, _, _ = select.select([self.tx, self.rx], [], [], 0.05)
                except (OSError, ValueError):
                    break
            now = time.monotonic()
            if not r:
                if tr.cfg.reliable and not tr.closing and now - self.last_rx > tr.cfg.t_det:
                    tr._conn_failed(self, "silence")
                    break
                continue
            closed = False
            for sock in r:
                try:
                    data = sock.recv(1 << 20)
                except OSError:
                    data = b""
                if not data:
                    closed = True
                    break
                self.last_rx = now
                buf = bufs[sock]
                buf += data
                while len(buf) >= HDR.size:
                    typ, lane, coll, seq, tag, n = HDR.unpack_from(buf)
                    if len(buf) < HDR.size + n:
                        break
                    payload = bytes(buf[HDR.size:HDR.size + n])
                    del buf[:HDR.size + n]
                    if typ == DATA:
                        tr._on_data(self, lane, coll, seq, tag, payload)
                    elif typ == ACK:
                        tr._on_ack(self.peer, lane, seq)
            if closed:
                if not self.dead.is_set() and not tr.closing:
                    tr._conn_failed(self, "closed")
                break


class Pacer:
    """Token bucket shared by the writers of one NIC (user-space stand-in for tc tbf)."""

    def __init__(self, mbit: float, burst: int = 32 * 1024):
        self.rate = mbit * 1e6 / 8
        self.burst = burst
        self.tokens = float(burst)
        self.t = time.monotonic()
        self.lock = threading.Lock()

    def take(self, n: int):
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.t) * self.rate)
            self.t = now
            self.tokens -= n
            wait = -self.tokens / self.rate if self.tokens < 0 else 0.0
        if wait > 0:
            time.sleep(wait)


class _Lane:
    """Sender state of one (peer, lane) stream."""

    def __init__(self, route: int):
        self.lock = threading.Lock()
        self.next_seq = 0
        self.retained: OrderedDict[int, tuple[bytes, bytes]] = OrderedDict()
        self.route = route


class Transport:
    """Full mesh of per-NIC connections for one rank. ``nic_addrs[r][i]`` is rank r's NIC i address."""

    def __init__(self, rank: int, nic_addrs: list[list[str]], mgmt_addrs: list[str], cfg: TransportConfig,
                 fault_flags=None):
        from support.r2ccl.hot_repair import HotRepair

        self.rank, self.world = rank, len(nic_addrs)
        self.k = len(nic_addrs[0])
        if any(len(a) != self.k for a in nic_addrs):
            raise ValueError("every rank must have the same number of NICs")
        if self.k > 16:
            raise ValueError("at most 16 NICs per rank")
        self.nic_addrs, self.mgmt_addrs, self.cfg = nic_addrs, mgmt_addrs, cfg
        self.fault_flags = fault_flags  # shared array: [rank*k + nic] = 0 ok, 1 dead, 2 outgoing dropped
        self.stats = Stats(nic_bytes=[0] * self.k)
        self.stats_lock = threading.Lock()
        self.pacers = [Pacer(cfg.pace_mbit) for _ in range(self.k)] if cfg.pace_mbit > 0 else None
        self.conns: dict[tuple[int, int], Conn] = {}
        self.oob: dict[int, socket.socket] = {}
        self.oob_locks: dict[int, threading.Lock] = {p: threading.Lock() for p in range(self.world)}
        self.lanes: dict[tuple[int, int], _Lane] = {}
        self.lanes_lock = threading.Lock()
        self.rx_lock = threading.Lock()
        self.rx_expected: dict[tuple[int, int], int] = defaultdict(int)
        # created under a lock: a defaultdict here let the lane's first receive and its first frame each
        # create a queue, and the frame went into the one that was dropped (seen as a skipped chunk)
        self.rx_queues: dict[tuple[int, int], queue.Queue] = {}
        self.rxq_lock = threading.Lock()
        self.cv = threading.Condition()
        self.agree_box: dict[int, dict[int, list]] = defaultdict(dict)
        self.closing = False
        self.error: Exception | None = None  # a fatal transport error (all NICs to a peer dead, or a peer's)
        self.error_lock = threading.Lock()
        self.listeners: list[socket.socket] = []
        self.repair = HotRepair(self)
        self._threads: list[threading.Thread] = []

    # ---------------------------------------------------------------- fault injection (loopback)
    def _flag(self, nic: int) -> int:
        if self.fault_flags is None:
            return 0
        return self.fault_flags[self.rank * self.k + nic]

    def fault_in(self, nic: int) -> bool:
        return self._flag(nic) == 1

    def fault_out(self, nic: int) -> bool:
        return self._flag(nic) in (1, 2)

    # ---------------------------------------------------------------- setup
    def listen(self) -> dict:
        """Bind one listener per NIC address and one on the management address; return their ports."""
        ports = {"nic": [], "mgmt": None}
        for i in range(self.k):
            s = socket.create_server((self.nic_addrs[self.rank][i], 0), backlog=64)
            self.listeners.append(s)
            ports["nic"].append(s.getsockname()[1])
        s = socket.create_server((self.mgmt_addrs[self.rank], 0), backlog=64)
        self.listeners.append(s)
        ports["mgmt"] = s.getsockname()[1]
        return ports

    def connect(self, ports: list[dict]):
        """Build the full mesh: lower rank connects, each socket bound to its own NIC address."""
        deadline = time.monotonic() + self.cfg.connect_timeout
        want = (self.world - 1) * (2 * self.k + 1)
        accepted: list = []

        def acceptor(ls: socket.socket, mgmt: bool):
            try:
                ls.settimeout(0.2)
            except OSError:
                return
            while time.monotonic() < deadline and not self.closing:
                try:
                    c, _ = ls.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                try:
                    c.settimeout(5.0)
                    r, code = HELLO.unpack(_recv_exact(c, HELLO.size))
                    c.settimeout(None)
                except OSError:
                    # A peer's connect that timed out and was retried can leave an orphan here that closes
                    # before its hello: drop it and keep accepting (the retry arrives on this listener).
                    c.close()
                    continue
                accepted.append((r, None if mgmt else (code & 0xFFFF, code >> 16), c))
                with self.cv:
                    self.cv.notify_all()

        acc = [threading.Thread(target=acceptor, args=(ls, j == self.k), daemon=True)
               for j, ls in enumerate(self.listeners)]
        for t in acc:
            t.start()
        for p in range(self.rank + 1, self.world):
            for i, role in [(i, role) for i in range(self.k) for role in (0, 1)] + [(self.k, 0)]:
                mgmt = i == self.k
                src = self.mgmt_addrs[self.rank] if mgmt else self.nic_addrs[self.rank][i]
                dst = (self.mgmt_addrs[p], ports[p]["mgmt"]) if mgmt else (self.nic_addrs[p][i], ports[p]["nic"][i])
                s = _connect_bound(src, dst, deadline, None if mgmt else self.cfg.tcp_cc)
                s.sendall(HELLO.pack(self.rank, i | role << 16))
                accepted.append((p, None if mgmt else (i, role), s))
        with self.cv:
            while len(accepted) < want:
                left = deadline - time.monotonic()
                if left <= 0:
                    have = {(r, nic) for r, nic, _ in accepted}
                    missing = [(p, "mgmt" if i == self.k else i) for p in range(self.world) if p != self.rank
                               for i in range(self.k + 1)
                               if not ({(p, None)} if i == self.k else {(p, (i, 0)), (p, (i, 1))}) <= have]
                    raise TimeoutError(f"rank {self.rank}: only {len(accepted)}/{want} connections after "
                                       f"{self.cfg.connect_timeout}s; missing (peer, nic): {missing}")
                self.cv.wait(timeout=min(left, 0.2))
        pairs: dict[tuple[int, int], dict[str, socket.socket]] = defaultdict(dict)
        for r, nic, s in accepted:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if nic is None:
                self.oob[r] = s
                t = threading.Thread(target=self._oob_reader, args=(r, s), daemon=True, name=f"oob{r}")
                self._threads.append(t)
            else:
                i, role = nic
                _set_cc(s, self.cfg.tcp_cc)
                # role 0: the lower rank (the connecting side) sends data on it
                sends = (role == 0) == (self.rank < r)
                pairs[(r, i)]["tx" if sends else "rx"] = s
        for (r, i), d in pairs.items():
            self.conns[(r, i)] = Conn(self, r, i, d["tx"], d["rx"])
        for ls in self.listeners:
            ls.close()
        for t in self._threads:  # the management-link readers first: the start barrier below needs them
            t.start()
        self._start_barrier()
        for c in self.conns.values():
            c.start()
        if self.cfg.sample_interval > 0:
            t = threading.Thread(target=self._sampler, daemon=True, name="sampler")
            t.start()

    def _start_barrier(self):
        """Wait until every rank has its whole mesh, then start the channels. A rank that is done connecting
        while a peer still connects elsewhere would otherwise count the peer's not-yet-started heartbeats as
        silence from the moment its channels started, and declare every NIC to that peer dead after ``t_det``
        (a false failure at start-up on a loaded machine)."""
        try:
            self.allgather_oob(START_BARRIER, [], kind="agree")
        except CollectiveTimeout:
            raise CollectiveTimeout(f"rank {self.rank}: not every rank had its connections within op_timeout "
                                    f"({self.cfg.op_timeout} s) of this rank having its own") from None

    def _sampler(self):
        while not self.closing:
            self.stats.samples.append((time.time(), list(self.stats.nic_bytes)))
            time.sleep(self.cfg.sample_interval)

    # ---------------------------------------------------------------- data path
    def lane(self, peer: int, lane: int) -> _Lane:
        key = (peer, lane)
        st = self.lanes.get(key)
        if st is None:
            with self.lanes_lock:
                st = self.lanes.setdefault(key, _Lane(route=lane % 16))
        return st

    def send(self, dst: int, lane: int, coll: int, tag: int, payload: bytes):
        """Queue one frame to ``dst`` on ``lane``; returns at once (the frame is copied/retained)."""
        st = self.lane(dst, lane)
        with st.lock:
            seq = st.next_seq
            st.next_seq += 1
            hdr = HDR.pack(DATA, lane, coll, seq, tag, len(payload))
            if self.cfg.reliable:
                st.retained[seq] = (hdr, payload)
            conn = self.conns[(dst, st.route)]
            if self.cfg.reliable and conn.dead.is_set() and len(st.retained) == 1:
                # nothing of this lane is unacknowledged: the peer expects exactly this frame, so the
                # lane moves to a backup NIC without a resync
                conn = self.repair.migrate_idle(dst, st)
            self.stats.frames_sent += 1
            self.stats.bytes_sent += len(payload)
            if not (self.cfg.reliable and conn.dead.is_set()):
                conn.wq.put((hdr, payload))

    def _rxq(self, key: tuple[int, int]) -> queue.Queue:
        """The delivery queue of ``(peer, lane)``, created once even when two threads ask first."""
        q = self.rx_queues.get(key)
        if q is None:
            with self.rxq_lock:
                q = self.rx_queues.setdefault(key, queue.Queue())
        return q

    def recv(self, src: int, lane: int, coll: int, tag: int) -> bytes:
        """The next frame of ``(src, lane)``; it must be ``(coll, tag)`` or the stream is corrupt."""
        q = self._rxq((src, lane))
        deadline = time.monotonic() + self.cfg.op_timeout
        while True:
            if self.error is not None:
                raise self.error
            try:
                c, t, payload = q.get(timeout=min(0.5, max(0.0, deadline - time.monotonic())))
                break
            except queue.Empty:
                if time.monotonic() < deadline:
                    continue
            raise CollectiveTimeout(f"rank {self.rank}: no frame from rank {src} lane {lane} (coll {coll}, "
                                    f"tag {tag}) within {self.cfg.op_timeout}s") from None
        if (c, t) != (coll, tag):
            raise ProtocolError(f"rank {self.rank}: expected (coll {coll}, tag {tag}) from {src} lane {lane}, "
                                f"got (coll {c}, tag {t})")
        return payload

    def _on_data(self, conn: Conn, lane: int, coll: int, seq: int, tag: int, payload: bytes):
        key = (conn.peer, lane)
        with self.rx_lock:
            if conn.dead.is_set():
                return  # a dead connection's late bytes are ignored; they will be resent
            exp = self.rx_expected[key]
            if not self.cfg.reliable:
                self.rx_expected[key] = seq + 1
            elif seq < exp:
                self.stats.dup_dropped += 1
                return
            elif seq > exp:
                self.stats.stale_dropped += 1
                return
            else:
                self.rx_expected[key] = exp + 1
            self.stats.frames_delivered += 1
            self._rxq(key).put((coll, tag, payload))
        if self.cfg.reliable:
            conn.cq.put(HDR.pack(ACK, lane, 0, seq + 1, 0, 0))

    def _on_ack(self, peer: int, lane: int, upto: int):
        st = self.lane(peer, lane)
        with st.lock:
            _drop_below(st.retained, upto)

    def _record_error(self, err: Exception) -> bool:
        """Make ``err`` this rank's fatal error unless one is recorded already (the first one wins), and wake
        every wait on ``cv``; True when ``err`` was recorded."""
        with self.error_lock:
            if self.error is not None:
                return False
            self.error = err
        with self.cv:
            self.cv.notify_all()
        return True

    def fail(self, err: Exception):
        """Record the fatal error ``err`` of this rank (the first one wins) and tell every other rank over the
        management link, so that they abort their op at once instead of waiting out ``op_timeout``."""
        if not self._record_error(err):
            return
        msg = {"t": "fatal", "error": f"{type(err).__name__}: {err}"}
        for p in list(self.oob):
            try:
                self.oob_send(p, msg)
            except OSError:
                pass  # that rank is gone already

    def _conn_failed(self, conn: Conn, reason: str):
        if self.closing:
            if self.cfg.reliable:
                self.repair.on_closing_failure(conn)
            else:
                conn.kill()
            return
        if not self.cfg.reliable:
            conn.kill()
            return
        self.repair.on_dead(conn, reason)

    # ---------------------------------------------------------------- OOB
    def oob_send(self, peer: int, msg: dict):
        data = json.dumps(msg).encode() + b"\n"
        with self.oob_locks[peer]:
            self.oob[peer].sendall(data)

    def _oob_reader(self, peer: int, s: socket.socket):
        """Serve rank ``peer``'s management messages until its link ends. A link that ends or breaks before this
        rank is closing means the peer is gone, and a message this rank cannot handle is a bug: either is this
        rank's fatal error (:meth:`fail`), so its op stops now instead of waiting out ``op_timeout`` with the
        reader thread silently dead (resyncs would no longer be served)."""
        why = "closed its management link"
        try:
            for line in s.makefile("rb"):
                self._on_oob(peer, json.loads(line))
        except OSError as e:
            why = f"broke its management link ({type(e).__name__}: {e})"
        except Exception as e:  # noqa: BLE001 - any failure here must reach the ops, not end the thread unseen
            if not self.closing:
                self.fail(RuntimeError(f"rank {self.rank}: handling a management message of rank {peer} failed: "
                                       f"{type(e).__name__}: {e}"))
            return
        if not self.closing:
            self.fail(PeerFailed(f"rank {self.rank}: rank {peer} {why} before the job ended"))

    def _on_oob(self, peer: int, msg: dict):
        """One management message of rank ``peer``: a resync, an agreement (or teardown) vote, or its fatal error."""
        t = msg["t"]
        if t == "resync":
            self.repair.on_resync(peer, msg)
        elif t in ("agree", "bye"):
            with self.cv:
                self.agree_box[msg["coll"]][peer] = msg.get("dead", [])
                self.cv.notify_all()
        elif t == "fatal":  # the failing rank told every rank itself: recorded here, not passed on
            self._record_error(PeerFailed(f"rank {self.rank}: rank {peer} raised {msg['error']}"))

    def dead_edges(self) -> list:
        return sorted({(min(self.rank, p), max(self.rank, p), nic) for (p, nic), c in self.conns.items()
                       if c.dead.is_set()})

    def allgather_oob(self, coll: int, payload: list, kind: str = "agree") -> dict[int, list]:
        """Exchange a small list with every rank over the management link (the bootstrap allgather)."""
        for p in self.oob:
            self.oob_send(p, {"t": kind, "coll": coll, "dead": payload})
        deadline = time.monotonic() + self.cfg.op_timeout
        with self.cv:
            while len(self.agree_box[coll]) < self.world - 1:
                if self.error is not None:
                    raise self.error
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CollectiveTimeout(f"rank {self.rank}: OOB allgather {coll} incomplete")
                self.cv.wait(timeout=min(left, 0.2))
            got = self.agree_box.pop(coll)
        got[self.rank] = payload
        return got

    # ---------------------------------------------------------------- teardown
    def unacked(self) -> int:
        return sum(len(st.retained) for st in list(self.lanes.values()))

    def close(self, drain_timeout: float = 20.0):
        """Wait until every frame is acknowledged, meet every rank (OOB barrier), then close."""
        if self.cfg.reliable:
            deadline = time.monotonic() + drain_timeout
            while self.unacked() and self.error is None and time.monotonic() < deadline:
                time.sleep(0.01)
        self.closing = True  # from here a peer closing its sockets is not a failure
        try:
            self.allgather_oob(-1, [], kind="bye")
        except (CollectiveTimeout, OSError):
            pass  # every op of this rank completed; a rank failing in teardown changes none of its results
        except RuntimeError as e:  # the same for the recorded fatal error, whatever its kind
            if e is not self.error:
                raise
        for c in self.conns.values():
            c.kill()
            for s in (c.tx, c.rx):  # kill only shuts them down: the descriptors stayed open until collected
                try:
                    s.close()
                except OSError:
                    pass
        for s in self.oob.values():
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


def _drop_below(retained: OrderedDict, upto: int):
    while retained:
        seq = next(iter(retained))
        if seq >= upto:
            break
        retained.popitem(last=False)


def _recv_exact(s: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        b = s.recv(n - len(out))
        if not b:
            raise ConnectionError("peer closed during handshake")
        out += b
    return bytes(out)


def _set_cc(s: socket.socket, cc: str | None):
    """Use congestion control ``cc`` on ``s`` when the kernel offers it (else keep the default)."""
    if cc and hasattr(socket, "TCP_CONGESTION"):
        try:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
        except OSError:
            pass


def _connect_bound(src: str, dst: tuple[str, int], deadline: float, cc: str | None = None) -> socket.socket:
    """Connect to ``dst`` from the local address ``src`` (the NIC this channel belongs to)."""
    last = None
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        _set_cc(s, cc)
        s.bind((src, 0))
        s.settimeout(2.0)
        try:
            s.connect(dst)
            s.settimeout(None)
            return s
        except OSError as e:
            last = e
            s.close()
            time.sleep(0.05)
    raise TimeoutError(f"could not connect {src} -> {dst[0]}:{dst[1]}: {last}")
