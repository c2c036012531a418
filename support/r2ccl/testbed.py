"""A multi-NIC cluster on one machine: network namespaces, veth NICs, tc tbf caps, fault injection.

``Testbed(hosts=H, nics=k, rate_mbit=r)`` is a context manager. As root with iproute2 it builds
(mode ``"netns"``):

- one namespace per host and one "switch" namespace holding a Linux bridge per rail (rail-optimized
  fabric: NIC i of every host plugs into bridge ``rail{i}``) and a management bridge;
- NIC i of host h is a veth ``nic{i}`` with address 10.77.i.(h+1)/24, capped at ``rate_mbit`` by a
  tbf qdisc in both directions; the management link ``mgmt`` (10.77.200.(h+1)) is never failed;
- no default route anywhere: traffic cannot leave the namespaces; only these addresses are used.

Faults (:meth:`inject`), each silent to the sockets as on real hardware:
``link_down`` (``ip link set nicI down``), ``blackhole`` (blackhole /32 routes to the peers on that
rail), ``nft_drop`` (nftables drops the host's outgoing packets on that NIC: one direction),
``rate_collapse`` (tbf down to 8 kbit: a gray failure), and ``transport`` (the transport itself
stops reading and writing that NIC; the only kind available on loopback).

Everything created is removed on exit, also on error, and by an ``atexit`` hook. Without root or
without ``ip`` the testbed falls back to mode ``"loopback"``: every "NIC" is a distinct 127.0.x.y
address, the rate cap is a user-space token bucket, faults are injected in the transport, and
:attr:`Testbed.note` says so.
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import itertools
import multiprocessing as mp
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Self

import numpy as np

from support.r2ccl.transport import TransportConfig
from support.seeding import derive

FAULT_KINDS = ("link_down", "blackhole", "nft_drop", "rate_collapse", "transport")
OS_FAULTS = ("link_down", "blackhole", "nft_drop", "rate_collapse")
COLLAPSED_MBIT = 0.008  # the tbf rate a rate_collapse fault sets (a gray failure: the link stays up at 8 kbit/s)
PREFIX = "r2c"
_counter = itertools.count()
_live: set = set()  # testbeds not yet torn down (atexit)
CLONE_NEWNET = 0x40000000


def netns_available() -> tuple[bool, str]:
    """Whether namespaces can be built here, and why not."""
    if os.geteuid() != 0:
        return False, "not root: network namespaces need root"
    if shutil.which("ip") is None or shutil.which("tc") is None:
        return False, "iproute2 (ip, tc) is not installed (Debian package: iproute2)"
    name = f"{PREFIX}probe{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        return False, f"ip netns add failed: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    return True, ""


def nft_available() -> bool:
    return shutil.which("nft") is not None


def _sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=30, check=False)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {r.stderr.strip()}")
    return r


@dataclass
class HostSpec:
    nic_addrs: list[str]
    mgmt_addr: str
    netns: str | None = None


@dataclass
class Fault:
    """Inject ``kind`` on NIC ``nic`` of ``host`` at fraction ``frac`` of op ``at_op`` (time of the
    previous op as the yardstick; the marker comes from rank 0 when it starts the op)."""

    kind: str
    host: int
    nic: int
    at_op: int
    frac: float = 0.5
    injected_at: float | None = None  # wall time, filled in

    def __post_init__(self):
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}; got {self.kind!r}")
        if not 0.0 <= self.frac <= 1.0:
            raise ValueError(f"fault frac must be in [0, 1]; got {self.frac}")


MAX_HOSTS = 254  # host h has the address x.y.z.(h+1) in a /24
MAX_NICS = 16


class Testbed:
    """H hosts x k NICs; see the module docstring."""

    __test__ = False  # a class named Test* that pytest must not collect

    def __init__(self, hosts: int = 2, nics: int = 2, rate_mbit: float = 50.0, mode: str = "auto"):
        if not 2 <= hosts <= MAX_HOSTS or not 1 <= nics <= MAX_NICS:
            raise ValueError(f"need 2 <= hosts <= {MAX_HOSTS} and 1 <= nics <= {MAX_NICS}; "
                             f"got hosts={hosts}, nics={nics}")
        if rate_mbit <= 0:
            raise ValueError(f"rate_mbit must be positive; got {rate_mbit}")
        if mode not in ("auto", "netns", "loopback"):
            raise ValueError(f"mode must be auto, netns or loopback; got {mode!r}")
        self.hosts, self.nics, self.rate_mbit = hosts, nics, float(rate_mbit)
        ok, why = netns_available() if mode != "loopback" else (False, "loopback requested")
        if mode == "netns" and not ok:
            raise RuntimeError(f"netns testbed unavailable: {why}")
        self.mode = "netns" if ok else "loopback"
        self.note = ("network namespaces + veth + tc tbf" if ok else
                     f"LOOPBACK FALLBACK ({why}): NICs are 127.0.x.y addresses, rate caps are user-space, "
                     "faults are injected in the transport")
        self.prefix = f"{PREFIX}{os.getpid()}x{next(_counter)}"
        self.namespaces: list[str] = []
        self.faulted: list[Fault] = []
        self.flags = mp.get_context("fork").Array("b", hosts * nics, lock=False)
        self.up = False

    # ------------------------------------------------------------------ build / tear down
    def host_ns(self, h: int) -> str:
        return f"{self.prefix}h{h}"

    @property
    def switch_ns(self) -> str:
        return f"{self.prefix}sw"

    def specs(self) -> list[HostSpec]:
        if self.mode == "netns":
            return [HostSpec([f"10.77.{i}.{h + 1}" for i in range(self.nics)], f"10.77.200.{h + 1}",
                             self.host_ns(h)) for h in range(self.hosts)]
        return [HostSpec([f"127.0.{i + 1}.{h + 1}" for i in range(self.nics)], f"127.0.100.{h + 1}")
                for h in range(self.hosts)]

    def _tbf(self, ns: str, dev: str, mbit: float, change: bool = False):
        burst = max(16 * 1024, int(mbit * 1e6 / 8 / 100))
        _sh("tc", "-n", ns, "qdisc", "change" if change else "add", "dev", dev, "root", "tbf", "rate",
            f"{mbit}mbit", "burst", str(burst), "latency", "100ms")

    def __enter__(self) -> Self:
        _live.add(self)
        if self.mode == "loopback":
            self.up = True
            return self
        try:
            sw = self.switch_ns
            for ns in [sw] + [self.host_ns(h) for h in range(self.hosts)]:
                _sh("ip", "netns", "add", ns)
                self.namespaces.append(ns)
                _sh("ip", "-n", ns, "link", "set", "lo", "up")
            for br in [f"rail{i}" for i in range(self.nics)] + ["mgmtbr"]:
                _sh("ip", "-n", sw, "link", "add", br, "type", "bridge")
                _sh("ip", "-n", sw, "link", "set", br, "up")
            for h in range(self.hosts):
                ns = self.host_ns(h)
                for i in range(self.nics + 1):
                    mg = i == self.nics
                    dev, port, br = ("mgmt", f"h{h}m", "mgmtbr") if mg else (f"nic{i}", f"h{h}n{i}", f"rail{i}")
                    addr = f"10.77.200.{h + 1}/24" if mg else f"10.77.{i}.{h + 1}/24"
                    _sh("ip", "link", "add", dev, "netns", ns, "type", "veth", "peer", "name", port, "netns", sw)
                    _sh("ip", "-n", sw, "link", "set", port, "master", br)
                    _sh("ip", "-n", sw, "link", "set", port, "up")
                    _sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
                    _sh("ip", "-n", ns, "link", "set", dev, "up")
                    if not mg:
                        self._tbf(ns, dev, self.rate_mbit)
                        self._tbf(sw, port, self.rate_mbit)
            self.up = True
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Remove every namespace (and with them every veth, qdisc, route and nftables table)."""
        for ns in reversed(self.namespaces):
            _sh("ip", "netns", "del", ns, check=False)
        self.namespaces = []
        self.up = False
        _live.discard(self)

    def leftovers(self) -> list[str]:
        """Namespaces with this testbed's prefix that still exist (should be none after close)."""
        if self.mode != "netns" or shutil.which("ip") is None:
            return []
        out = _sh("ip", "netns", "list", check=False).stdout.split()
        return [n for n in out if n.startswith(self.prefix)]

    # ------------------------------------------------------------------ faults
    def check_fault(self, fault: Fault) -> None:
        """Raise unless this testbed can inject ``fault``: its NIC exists and its kind is available here."""
        if not (0 <= fault.host < self.hosts and 0 <= fault.nic < self.nics):
            raise ValueError(f"no NIC {fault.nic} on host {fault.host} in a {self.hosts}x{self.nics} testbed")
        if self.mode == "loopback" and fault.kind != "transport":
            raise RuntimeError(f"fault {fault.kind!r} needs the netns testbed; loopback supports only 'transport'")
        if fault.kind == "nft_drop" and not nft_available():
            raise RuntimeError("nft is not installed (Debian package: nftables); use another fault kind")

    def inject(self, fault: Fault):
        """Make NIC ``fault.nic`` of host ``fault.host`` fail silently, as ``fault.kind`` says."""
        self.check_fault(fault)
        kind = fault.kind
        ns, dev = (self.host_ns(fault.host), f"nic{fault.nic}") if self.mode == "netns" else (None, None)
        if kind == "transport":
            self.flags[fault.host * self.nics + fault.nic] = 1
        elif kind == "link_down":
            _sh("ip", "-n", ns, "link", "set", dev, "down")
        elif kind == "blackhole":
            for g in range(self.hosts):
                if g != fault.host:
                    _sh("ip", "-n", ns, "route", "add", "blackhole", f"10.77.{fault.nic}.{g + 1}/32")
        elif kind == "nft_drop":
            tb = f"r2f{fault.nic}"
            _sh("ip", "netns", "exec", ns, "nft", "add", "table", "inet", tb)
            _sh("ip", "netns", "exec", ns, "nft", "add", "chain", "inet", tb, "out",
                "{ type filter hook output priority 0 ; }")
            _sh("ip", "netns", "exec", ns, "nft", "add", "rule", "inet", tb, "out", "oifname", dev, "drop")
        elif kind == "rate_collapse":
            self._tbf(ns, dev, COLLAPSED_MBIT, change=True)
        fault.injected_at = time.time()
        self.faulted.append(fault)

    def heal(self):
        """Undo every injected fault (the library does not re-probe; a new job starts clean). On the
        hosts that had a fault, every NIC is restored: link up, no blackhole, no nft table, full rate."""
        hosts = sorted({f.host for f in self.faulted})
        for f in self.faulted:
            if f.kind == "transport":
                self.flags[f.host * self.nics + f.nic] = 0
        if self.mode == "netns":
            for h in hosts:
                ns = self.host_ns(h)
                _sh("ip", "-n", ns, "route", "flush", "type", "blackhole", check=False)
                if nft_available():
                    _sh("ip", "netns", "exec", ns, "nft", "flush", "ruleset", check=False)
                for i in range(self.nics):
                    _sh("ip", "-n", ns, "link", "set", f"nic{i}", "up", check=False)
                    self._tbf(ns, f"nic{i}", self.rate_mbit, change=True)
        self.faulted = []

    def qdisc_bytes(self, host: int) -> list[int]:
        """Bytes sent so far through each NIC's tbf of ``host`` (netns mode)."""
        out = []
        for i in range(self.nics):
            txt = _sh("tc", "-n", self.host_ns(host), "-s", "qdisc", "show", "dev", f"nic{i}", check=False).stdout
            n = 0
            for line in txt.splitlines():
                line = line.strip()
                if line.startswith("Sent "):
                    n = int(line.split()[1])
                    break
            out.append(n)
        return out

    # ------------------------------------------------------------------ processes
    def enter_ns(self, host: int):
        """Move the calling (single-threaded, just forked) process into ``host``'s namespace."""
        if self.mode != "netns":
            return
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/var/run/netns/{self.host_ns(host)}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns failed")
        finally:
            os.close(fd)


@atexit.register
def _cleanup_all():
    for tb in list(_live):
        tb.close()


# ============================================================================ job runner

def make_input(seed: int, op: int, rank: int, n: int, dtype: str = "float32") -> np.ndarray:
    """Integer-valued data in [-1024, 1024]: sums over <= 4096 ranks are exact in float32."""
    rng = derive(seed, int(op), int(rank))  # the same stream as default_rng([seed, op, rank]): recorded runs replay
    return rng.integers(-1024, 1025, size=n).astype(dtype)


def expected(op: dict, seed: int, j: int, world: int) -> list[bytes]:
    """The NumPy oracle: what every rank must hold after op ``j``, as bytes per rank."""
    xs = [make_input(seed, j, r, op["n"], op.get("dtype", "float32")) for r in range(world)]
    kind = op["kind"]
    if kind == "allreduce":
        s = np.sum(np.stack(xs), axis=0, dtype=xs[0].dtype)
        return [s.tobytes()] * world
    if kind == "reduce_scatter":
        s = np.sum(np.stack(xs), axis=0, dtype=xs[0].dtype)
        from support.r2ccl.balance import split_range

        return [s[a:b].tobytes() for a, b in split_range(0, len(s), [1] * world)]
    if kind == "allgather":
        return [np.concatenate(xs).tobytes()] * world
    if kind == "broadcast":
        return [xs[op.get("root", 0)].tobytes()] * world
    raise ValueError(f"unknown op kind {kind!r}")


def _digest(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _await_release(table_rx, rank: int, j: int, seconds: float) -> None:
    """Block until the parent releases op ``j`` (``run_job(hold=True)``: the faults of op j-1 have taken effect)."""
    if not table_rx.poll(seconds):
        raise TimeoutError(f"rank {rank}: op {j} was not released within {seconds}s (the fault injection before it "
                           "did not return)")
    msg = table_rx.recv()
    if msg != ("go", j):
        raise RuntimeError(f"rank {rank}: expected the release of op {j}, got {msg!r}")


def _rank_main(tb: Testbed, rank: int, specs, cfg, policy, ops, seed, bandwidth, events, table_rx, gates=frozenset()):
    try:
        tb.enter_ns(rank)
        from support.r2ccl.collectives import Communicator
        from support.r2ccl.transport import Transport

        tr = Transport(rank, [s.nic_addrs for s in specs], [s.mgmt_addr for s in specs], cfg,
                       fault_flags=tb.flags)
        events.put(("ports", rank, tr.listen()))
        table = table_rx.recv()
        tr.connect(table)
        comm = Communicator(tr, policy, bandwidth)
        out = []
        for j, op in enumerate(ops):
            if j in gates:
                _await_release(table_rx, rank, j, cfg.op_timeout)
            x = make_input(seed, j, rank, op["n"], op.get("dtype", "float32"))
            if rank == 0:
                events.put(("start", j, time.time()))
            t0 = time.perf_counter()
            kind = op["kind"]
            res = comm.broadcast(x, op.get("root", 0)) if kind == "broadcast" else getattr(comm, kind)(x)
            dt = time.perf_counter() - t0
            rec = comm.log[-1]
            out.append({"digest": _digest(res.tobytes()), "seconds": dt, "t_end": time.time(), "algo": rec.algo,
                        "lanes": [r for r, _ in rec.lanes], "extra": rec.extra,
                        "failed_rails": sorted(rec.view.failed_rails) if rec.view else []})
            if rank == 0:
                events.put(("done", j, dt))
        tr.close()
        st = tr.stats
        events.put(("result", rank, {"ops": out, "applied": comm.applied, "frames_resent": st.frames_resent,
                                     "bytes_resent": st.bytes_resent, "dup_dropped": st.dup_dropped,
                                     "stale_dropped": st.stale_dropped, "migrations": st.migrations,
                                     "detections": st.detections, "first_resend": st.first_resend_time,
                                     "samples": st.samples, "frames_sent": st.frames_sent,
                                     "frames_delivered": st.frames_delivered}))
    except BaseException as e:  # noqa: BLE001 - reported to the parent
        events.put(("error", rank, f"{type(e).__name__}: {e}"))
    finally:
        try:
            events.close()
            events.join_thread()  # flush the queue's feeder thread before leaving
        finally:
            os._exit(0)


def op_done_at(ops_per_rank: list[list[dict]], j: int) -> float:
    """Wall-clock time at which every rank had finished op ``j`` (``j = -1``: the last op)."""
    return max(ops[j]["t_end"] for ops in ops_per_rank)


def op_span_seconds(ops_per_rank: list[list[dict]], j: int) -> float:
    """Duration of op j: from the moment every rank had finished op j-1 to the moment every rank has
    finished op j (op 0: the slowest rank's own ``seconds``); ``t_end`` is wall-clock time, comparable
    across the rank processes. Not the slowest rank's own time: a rank that finished op j-1 early waits
    for the others at the start of op j, and counting that wait would charge op j with op j-1's
    stragglers (the resilient split, whose ranks finish 30-100 ms apart, was charged that twice). Used for
    our library and for the gloo peer alike."""
    if j == 0:
        return max(ops[0]["seconds"] for ops in ops_per_rank)
    return op_done_at(ops_per_rank, j) - op_done_at(ops_per_rank, j - 1)


@dataclass
class JobResult:
    ranks: list  # per-rank dicts
    faults: list
    wall_s: float
    exact: bool = False  # every op on every rank equals the NumPy oracle bit for bit
    errors: dict = field(default_factory=dict)
    op_starts: dict = field(default_factory=dict)

    def op_seconds(self, j: int) -> float:
        """Duration of op j over all ranks (see :func:`op_span_seconds`)."""
        return op_span_seconds([r["ops"] for r in self.ranks], j)

    def op_seconds_slowest_rank(self, j: int) -> float:
        """The slowest rank's own time for op j (includes its wait for op j-1's stragglers)."""
        return max(r["ops"][j]["seconds"] for r in self.ranks)



def next_rank_event(events, procs, deadline: float, messages) -> tuple:
    """The next event a rank process put on ``events``; ``TimeoutError`` past ``deadline`` (monotonic),
    ``RuntimeError`` once every rank process is dead and the queue is empty. ``messages()`` gives the
    (timeout, died) error texts, built only when raised so they show the caller's current state."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(messages()[0])
        try:
            return events.get(timeout=min(left, 0.5))
        except queue.Empty:
            if all(not p.is_alive() for p in procs) and events.empty():
                raise RuntimeError(messages()[1]) from None


def reap_ranks(procs, events) -> None:
    """Join every rank process (SIGKILL after 2 s) and close the event queue."""
    for p in procs:
        p.join(timeout=2.0)
        if p.is_alive():
            os.kill(p.pid, signal.SIGKILL)
            p.join(timeout=2.0)
    events.close()

def run_job(tb: Testbed, ops: list[dict], policy: str = "balance", faults: list[Fault] | None = None,
            seed: int = 0, cfg: TransportConfig | None = None, timeout: float = 60.0,
            bandwidth: list[float] | None = None, heal: bool = True, hold: bool = False) -> JobResult:
    """Run ``ops`` (dicts: kind, n, dtype, root) on one process per host, inject ``faults``, check the
    results against the NumPy oracle. Bounded by ``timeout``; child processes are always reaped.

    ``hold``: no rank begins the op after a faulted op until that op's faults have taken effect. An injection
    slower than its op (``ip link set down`` waits for the rtnl lock, up to 0.1 s when other testbeds are being
    built or torn down) then lands between the two ops, never in a later one; when it is quicker (the usual
    case) nothing waits."""
    if not tb.up:
        raise RuntimeError("testbed is not set up (use it as a context manager)")
    cfg = cfg or TransportConfig(reliable=policy != "none")
    if tb.mode == "loopback" and cfg.pace_mbit == 0:
        cfg = TransportConfig(**{**cfg.__dict__, "pace_mbit": tb.rate_mbit})
    if cfg.pace_mbit > 0:
        # the user-space pacer holds a whole frame (and the heartbeats queued behind it) for its transmission time:
        # at half of t_det or more, a healthy link falls silent long enough to be declared dead
        frame_s = (cfg.chunk_bytes + 64) * 8 / (cfg.pace_mbit * 1e6)
        if frame_s >= cfg.t_det / 2:
            raise ValueError(f"a {cfg.pace_mbit:g} Mbit/s paced link takes {frame_s:.2f} s per {cfg.chunk_bytes}-byte "
                             f"frame, at least half of t_det = {cfg.t_det} s: healthy links would look dead; use at "
                             f"least {(cfg.chunk_bytes + 64) * 16 / cfg.t_det / 1e6:.2f} Mbit/s or smaller chunks")
    faults = list(faults or [])
    for f in faults:
        if not 0 <= f.at_op < len(ops):
            raise ValueError(f"fault at op {f.at_op} but the job has {len(ops)} ops")
        tb.check_fault(f)  # here, not in the timer thread, where the error was lost and the job ran fault-free
    # hold: op j+1 of every rank waits for a ("go", j+1) on its pipe, sent once op j's faults are injected
    pending = {}
    if hold:
        for f in faults:
            if f.at_op + 1 < len(ops):
                pending[f.at_op] = pending.get(f.at_op, 0) + 1
    gates = frozenset(j + 1 for j in pending)
    ctx = mp.get_context("fork")
    events = ctx.Queue()
    specs = tb.specs()
    pipes, procs = [], []
    release_lock = threading.Lock()

    def inject(f: Fault):
        try:
            tb.inject(f)
        finally:  # also when the injection failed: the ranks must not wait for it
            with release_lock:  # one sender at a time on the pipes
                if f.at_op in pending:
                    pending[f.at_op] -= 1
                    if pending[f.at_op] == 0:
                        for tx in pipes:
                            try:
                                tx.send(("go", f.at_op + 1))
                            except OSError:
                                pass  # that rank is gone; run_job reports it
    t_start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for r in range(tb.hosts):
            rx, tx = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_rank_main, args=(tb, r, specs, cfg, policy, ops, seed, bandwidth, events, rx,
                                                     gates), daemon=True)
            p.start()
            pipes.append(tx)
            procs.append(p)
    res: dict[int, dict] = {}
    errors: dict[int, str] = {}
    ports: dict[int, dict] = {}
    starts: dict[int, float] = {}
    durs: dict[int, float] = {}
    timers: list[threading.Timer] = []
    deadline = time.monotonic() + timeout
    try:
        while len(res) + len(errors) < tb.hosts:
            ev = next_rank_event(events, procs, deadline, lambda: (
                f"job did not finish within {timeout}s (ranks done: {sorted(res)}, errors: {errors})",
                f"rank processes died without a result; errors: {errors}"))
            kind = ev[0]
            if kind == "ports":
                ports[ev[1]] = ev[2]
                if len(ports) == tb.hosts:
                    table = [ports[r] for r in range(tb.hosts)]
                    for tx in pipes:
                        tx.send(table)
            elif kind == "start":
                j = ev[1]
                starts[j] = ev[2]
                for f in faults:
                    if f.at_op == j:
                        ref = durs.get(j - 1, 0.2)
                        t = threading.Timer(f.frac * ref, inject, args=(f,))
                        t.daemon = True
                        t.start()
                        timers.append(t)
            elif kind == "done":
                durs[ev[1]] = ev[2]
            elif kind == "result":
                res[ev[1]] = ev[2]
            elif kind == "error":
                errors[ev[1]] = ev[2]
    finally:
        for t in timers:
            t.cancel()
            t.join()  # a timer already injecting must finish before we heal
        reap_ranks(procs, events)
        if heal:
            tb.heal()
    out = JobResult([res.get(r) for r in range(tb.hosts)], faults, time.perf_counter() - t_start,
                    errors=errors, op_starts=starts)
    if not errors:
        ok = True
        for j, op in enumerate(ops):
            want = expected(op, seed, j, tb.hosts)
            for r in range(tb.hosts):
                ok &= res[r]["ops"][j]["digest"] == _digest(want[r])
        out.exact = ok
    return out
