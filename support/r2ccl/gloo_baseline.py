"""The peer: torch.distributed with the gloo backend on the same namespaces and NIC links.

One process per host (forked into the host's namespace). ``GLOO_SOCKET_IFNAME=nic{i}`` binds gloo's
data connections to that NIC; the store (rendezvous) runs over the management link. Gloo uses one
NIC per operation (its multi-interface mode alternates operations over NICs, it does not stripe
one), so it is the single-NIC reference. Under a NIC failure it has no failover: the allreduce
raises after the process-group timeout (the paper's "stock library aborts" behaviour). Whether the
group is still usable is probed with one more allreduce on every rank *after the link is healed*,
so a dead group is told from a dead link.
"""

from __future__ import annotations

import datetime
import multiprocessing as mp
import os
import time
import warnings

import numpy as np

from support.r2ccl.testbed import Fault, Testbed, make_input, next_rank_event, reap_ranks


def torch_available() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("torch") is not None
    except Exception:  # noqa: BLE001
        return False


def _gloo_rank(tb: Testbed, rank: int, n: int, iters: int, nic: int, port: int, pg_timeout: float,
               fault_at: int | None, events, healed, probe):
    try:
        tb.enter_ns(rank)
        spec = tb.specs()
        os.environ["GLOO_SOCKET_IFNAME"] = f"nic{nic}" if tb.mode == "netns" else "lo"
        os.environ["MASTER_ADDR"] = spec[0].mgmt_addr
        os.environ["MASTER_PORT"] = str(port)
        import torch
        import torch.distributed as dist

        torch.set_num_threads(1)
        dist.init_process_group("gloo", rank=rank, world_size=tb.hosts,
                                timeout=datetime.timedelta(seconds=pg_timeout))
        x = make_input(0, 0, rank, n)
        want = np.sum(np.stack([make_input(0, 0, r, n) for r in range(tb.hosts)]), axis=0, dtype=np.float32)
        ops, exact, err, err_after, dead, probe_err = [], True, None, None, None, None
        for it in range(iters):
            t = torch.from_numpy(x.copy())
            if fault_at is not None and it == fault_at and rank == 0:
                events.put(("start", it, time.time()))
            t0 = time.perf_counter()
            try:
                dist.all_reduce(t)
            except RuntimeError as e:
                err, err_after = str(e).splitlines()[0][:200], time.perf_counter() - t0
                break
            ops.append({"seconds": time.perf_counter() - t0, "t_end": time.time()})
            exact &= bool(np.array_equal(t.numpy(), want))
            if rank == 0 and fault_at is not None:
                events.put(("done", it, ops[-1]["seconds"]))
        events.put(("ended", rank, err is not None))
        # the parent heals the links once every rank has ended, and asks for the probe if any rank failed
        if healed.wait(timeout=max(60.0, 4 * pg_timeout)) and probe.value:
            t0 = time.perf_counter()
            try:  # is the process group still usable, now that the link is back?
                dist.all_reduce(torch.from_numpy(x.copy()))
                dead = False
            except RuntimeError as e:
                dead, probe_err = True, f"after {time.perf_counter() - t0:.1f} s: {str(e).splitlines()[0][:160]}"
        events.put(("result", rank, {"ops": ops, "exact": exact, "error": err, "error_after_s": err_after,
                                     "pg_dead": dead, "probe_error": probe_err}))
    except BaseException as e:  # noqa: BLE001
        events.put(("error", rank, f"{type(e).__name__}: {e}"))
    finally:
        try:
            events.close()
            events.join_thread()
        finally:
            os._exit(0)


def run_gloo(tb: Testbed, n: int, iters: int = 5, nic: int = 0, fault: Fault | None = None,
             pg_timeout: float = 5.0, timeout: float = 120.0) -> dict:
    """Allreduce ``n`` float32 ``iters`` times with gloo on NIC ``nic``; optionally inject ``fault`` at
    iteration ``fault.at_op``. Returns per rank the completed ops (own ``seconds``, wall-clock ``t_end``),
    exactness, the error gloo raised, and ``pg_dead``: after an error on any rank the parent heals the
    links, then every rank probes the group with one more allreduce (None when no rank failed)."""
    if not torch_available():
        raise RuntimeError("torch is not installed: pip install torch (CPU wheel) for the gloo baseline")
    if fault is not None and tb.mode != "netns":
        raise RuntimeError("gloo under a fault needs the netns testbed (gloo's sockets cannot be faulted on lo)")
    ctx = mp.get_context("fork")
    events = ctx.Queue()
    healed, probe = ctx.Event(), ctx.Value("b", 0, lock=False)
    port = 29500 + (os.getpid() % 1000) if tb.mode == "loopback" else 29500
    procs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for r in range(tb.hosts):
            p = ctx.Process(target=_gloo_rank, args=(tb, r, n, iters, nic, port, pg_timeout,
                                                     None if fault is None else fault.at_op, events, healed,
                                                     probe), daemon=True)
            p.start()
            procs.append(p)
    res, errors, durs, ended = {}, {}, {}, {}
    deadline = time.monotonic() + timeout
    try:
        while len(res) + len(errors) < tb.hosts:
            ev = next_rank_event(events, procs, deadline, lambda: (
                f"gloo job did not finish within {timeout}s", f"gloo ranks died; errors: {errors}"))
            if ev[0] == "start" and fault is not None:
                time.sleep(fault.frac * durs.get(ev[1] - 1, 0.1))
                tb.inject(fault)
            elif ev[0] == "done":
                durs[ev[1]] = ev[2]
            elif ev[0] == "ended":
                ended[ev[1]] = ev[2]
            elif ev[0] == "result":
                res[ev[1]] = ev[2]
            elif ev[0] == "error":
                errors[ev[1]] = ev[2]
            if not healed.is_set() and len(ended) + len(errors) == tb.hosts:
                if any(ended.values()):  # some rank failed: bring the link back, then probe the group
                    tb.heal()
                    probe.value = 1
                healed.set()
    finally:
        reap_ranks(procs, events)
        tb.heal()
    return {"ranks": [res.get(r) for r in range(tb.hosts)], "errors": errors, "pg_timeout": pg_timeout}
