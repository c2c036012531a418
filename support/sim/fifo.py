"""FIFO queues: simpy simulation and the exact Lindley recursion on the same input streams."""

from __future__ import annotations

import numpy as np
import simpy

from support.sim.recorder import Recorder


def _streams(interarrivals, services) -> tuple[np.ndarray, np.ndarray]:
    """The two input streams as float arrays of one length with finite, non-negative times (a NaN service time
    used to pass into the output, and the Lindley recursion's max(0, nan) turned the next wait into 0)."""
    ia = np.asarray(interarrivals, float)
    sv = np.asarray(services, float)
    if ia.shape != sv.shape:
        raise ValueError(f"interarrivals and services differ in length ({ia.size} vs {sv.size})")
    for name, x in (("interarrivals", ia), ("services", sv)):
        if not np.all(np.isfinite(x)) or np.any(x < 0):
            raise ValueError(f"{name} must be finite and >= 0; {int(np.sum(~(x >= 0) | ~np.isfinite(x)))} are not")
    return ia, sv


def simulate_fifo(interarrivals, services, servers: int = 1, recorder: Recorder | None = None) -> np.ndarray:
    """Simulate a FIFO queue with ``servers`` identical servers in simpy.

    Job k arrives ``interarrivals[k]`` after job k-1 and needs ``services[k]`` time units. Returns the
    sojourn time (wait + service) of every job in arrival order; also records them as ``sojourn`` and
    ``wait`` in ``recorder`` if given.
    """
    ia, sv = _streams(interarrivals, services)
    if isinstance(servers, bool) or int(servers) != servers or servers < 1:
        raise ValueError(f"servers must be a whole number >= 1, got {servers!r}")
    servers = int(servers)
    env = simpy.Environment()
    res = simpy.Resource(env, capacity=servers)
    out = np.empty(ia.size)

    def job(k, t_arr):
        with res.request() as req:
            yield req
            wait = env.now - t_arr
            yield env.timeout(sv[k])
        out[k] = env.now - t_arr
        if recorder is not None:
            recorder.record("wait", wait)
            recorder.record("sojourn", out[k])

    def source():
        for k in range(ia.size):
            yield env.timeout(ia[k])
            env.process(job(k, env.now))

    env.process(source())
    env.run()
    return out


def lindley(interarrivals, services) -> np.ndarray:
    """Sojourn times of a single-server FIFO queue by the Lindley recursion
    ``W_{k+1} = max(0, W_k + S_k - A_{k+1})``, sojourn = W + S (exact, O(n))."""
    ia, sv = _streams(interarrivals, services)
    n = ia.size
    w = np.empty(n)
    prev = 0.0
    for k in range(n):  # plain loop: ~1e6 jobs/s, exact float semantics of the simpy run
        if k == 0:
            prev = 0.0
        else:
            prev = max(0.0, prev + sv[k - 1] - ia[k])
        w[k] = prev
    return w + sv
