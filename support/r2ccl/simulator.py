"""A closed-form alpha-beta model of ring collectives over multi-NIC servers, with NIC failures.

A collective's time is set by its busiest NIC (per direction): ``alpha`` per ring step (2 (N-1)
steps) plus the bytes that NIC carries over its bandwidth ``B``, plus the pipeline fill of one chunk
(data moves in chunks that are forwarded as soon as they are reduced; chunks are not simulated). Per policy, with one of k NICs failed on one of N servers (S bytes per rank):

- healthy: each NIC carries 2 (N-1)/N S / k                         -> T0
- hot repair: the backup NIC carries its own lane and the failed one  -> 2 T0
- balance: the failed rail is dropped, k-1 NICs share the load        -> k/(k-1) T0
- resilient (R2CCL-AllReduce): split f, loads from
  :func:`support.r2ccl.balance.resilient_loads`                       -> 2k/(2k-1) T0 for large N
  (m failed NICs on the server: balance k/(k-m) T0, resilient 2k/(2k-m) T0 for m <= 2k/3)

A failure *during* a collective costs the detection time, the migration, the re-sent in-flight
window, and the rest of the collective at hot-repair rates (:func:`failure_collective_time`).
Training / inference overheads translate exposed communication into iteration time
(:func:`training_overhead`, :func:`inference_overhead`). The model is calibrated on testbed
measurements (:func:`calibrate`: alpha and B by least squares on healthy runs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from support.r2ccl.balance import resilient_loads, resilient_split

POLICIES = ("healthy", "hot_repair", "balance", "resilient")


@dataclass(frozen=True)
class Cluster:
    """N servers with k NICs of ``bw`` bytes/s each (one direction); ``alpha`` s of latency per ring step."""

    servers: int
    nics: int
    bw: float
    alpha: float = 5e-6
    chunk: int = 512 * 1024
    gpus_per_server: int = 8

    def __post_init__(self):
        if self.servers < 2 or self.nics < 2 or self.bw <= 0 or self.alpha < 0 or self.chunk <= 0:
            raise ValueError(f"invalid cluster {self}")


PAPER = Cluster(servers=2, nics=8, bw=46e9, alpha=8e-6, chunk=512 * 1024)  # 8 x 400G, ~46 GB/s per NIC


def nic_load(policy: str, servers: int, k: int, failed: int = 1) -> float:
    """Bytes on the busiest NIC per byte of the buffer (one direction), for ``failed`` NICs lost on
    one server (``failed`` = 0: healthy)."""
    n = servers
    ring = 2 * (n - 1) / n
    if policy == "healthy" or failed == 0:
        return ring / k
    if not 0 < failed < k:
        raise ValueError(f"failed NICs must be in [1, {k - 1}]; got {failed}")
    if policy == "hot_repair":
        # own lane + migrated ones, spread evenly (non-adjacent failures, the best case); the library's rule
        # (hot_repair.backup_nic: the next alive NIC) piles m adjacent failures onto one NIC: 1 + m lanes
        return ring / k * (1 + math.ceil(failed / (k - failed)))
    if policy == "balance":
        return ring / (k - failed)
    if policy == "resilient":
        f, w = resilient_split(n, k, failed=failed)
        return max(resilient_loads(f, w, n, k, failed))
    raise ValueError(f"policy must be one of {', '.join(POLICIES)}; got {policy!r}")


def collective_time(size: float, cl: Cluster, policy: str = "healthy", failed: int = 1) -> float:
    """Steady-state allreduce time of ``size`` bytes (after any failure was handled)."""
    if size < 0:
        raise ValueError("size must be non-negative")
    load = nic_load(policy, cl.servers, cl.nics, 0 if policy == "healthy" else failed) * size
    steps = 2 * (cl.servers - 1)
    return steps * cl.alpha + (load + fill_bytes(size, cl)) / cl.bw


def fill_bytes(size: float, cl: Cluster) -> float:
    """Pipeline fill: one chunk (or the whole per-lane piece when smaller), sent at the NIC rate."""
    return min(cl.chunk, size / max(1, cl.nics * cl.servers))


def failure_collective_time(size: float, cl: Cluster, t_fail_frac: float, t_det: float, t_mig: float = 0.0,
                            window_bytes: float = 8 * 512 * 1024) -> float:
    """Time of the collective during which a NIC dies at fraction ``t_fail_frac`` of it: the part
    before at healthy rate, the stall (detection + migration), the re-sent in-flight window, and the
    rest at hot-repair rates."""
    if not 0 <= t_fail_frac <= 1:
        raise ValueError("t_fail_frac must be in [0, 1]")
    t0 = collective_time(size, cl, "healthy")
    th = collective_time(size, cl, "hot_repair")
    return t_fail_frac * t0 + t_det + t_mig + window_bytes / cl.bw + (1 - t_fail_frac) * th


def busiest_nic_messages(size: float, cl: Cluster, policy: str) -> tuple[float, float]:
    """(bytes on the busiest NIC, ring steps): with :func:`fill_bytes`, the regressors of :func:`calibrate`."""
    load = nic_load(policy, cl.servers, cl.nics, 0 if policy == "healthy" else 1) * size
    return load, 2 * (cl.servers - 1)


def calibrate(samples: list[tuple[float, str, float]], servers: int, nics: int, chunk: int) -> Cluster:
    """Fit alpha (s per ring step) and B (bytes/s per NIC) to measured (size, policy, seconds), with
    the model :func:`collective_time` predicts with (busiest-NIC bytes plus the pipeline fill over B)."""
    rows, ys = [], []
    unit = Cluster(servers, nics, 1.0, 0.0, chunk)
    for size, policy, sec in samples:
        load, msgs = busiest_nic_messages(size, unit, policy)
        rows.append([msgs, load + fill_bytes(size, unit)])  # the same terms collective_time adds up
        ys.append(sec)
    a = np.asarray(rows, float)
    y = np.asarray(ys, float)
    sol, *_ = np.linalg.lstsq(a, y, rcond=None)
    alpha, inv_bw = float(sol[0]), float(sol[1])
    if inv_bw <= 0:  # degenerate fit (one size only): all time is bandwidth
        alpha, inv_bw = 0.0, float(np.median(y / a[:, 1]))
    elif alpha < 0:  # least squares with alpha >= 0: optimum on alpha = 0, B refitted through the origin
        alpha, inv_bw = 0.0, float(a[:, 1] @ y / (a[:, 1] @ a[:, 1]))
    return Cluster(servers, nics, 1.0 / inv_bw, alpha, chunk)


def slowdown(cl: Cluster, policy: str, size: float, failed: int = 1) -> float:
    """Steady-state time under ``failed`` failed NICs on one server over the healthy time."""
    return collective_time(size, cl, policy, failed) / collective_time(size, cl, "healthy")


# ---------------------------------------------------------------------------- training / inference

@dataclass(frozen=True)
class TrainingJob:
    """Data-parallel step: ``compute_s`` of compute, a gradient allreduce of ``grad_bytes`` of which
    a fraction ``exposed`` is not hidden behind compute (calibrated)."""

    compute_s: float
    grad_bytes: float
    exposed: float = 1.0


DP_2P7B = TrainingJob(compute_s=6 * 2.7e9 * 16384 / 400e12, grad_bytes=2.7e9 * 2)  # bf16 grads, 16k tok/GPU


def iteration_time(job: TrainingJob, cl: Cluster, policy: str) -> float:
    return job.compute_s + job.exposed * collective_time(job.grad_bytes, cl, policy)


def training_overhead(job: TrainingJob, cl: Cluster, policy: str) -> float:
    """Throughput loss (%) under one failed NIC, steady state."""
    return 100 * (iteration_time(job, cl, policy) / iteration_time(job, cl, "healthy") - 1)


def calibrate_compute(job: TrainingJob, cl: Cluster, policy: str, target_pct: float) -> TrainingJob:
    """The non-overlapped compute time that makes ``policy``'s overhead equal ``target_pct`` (e.g. the
    README's Balance -1.3 %), with the gradient allreduce fully exposed: one fitted number."""
    th = collective_time(job.grad_bytes, cl, "healthy")
    dt = collective_time(job.grad_bytes, cl, policy) - th
    # (c + th + dt) / (c + th) = 1 + p  ->  c = dt / p - th
    c = dt / (target_pct / 100) - th
    if c <= 0:
        raise ValueError(f"no compute time gives {target_pct} % for {policy}")
    return replace(job, compute_s=float(c), exposed=1.0)


@dataclass(frozen=True)
class ServingJob:
    """Tensor-parallel decoding across servers: per token ``layers`` x 2 allreduces of ``act_bytes``
    and ``compute_s`` of compute; a failure stalls serving for ``t_det`` once per ``window_s``."""

    compute_s: float = 0.030
    layers: int = 80
    act_bytes: float = 64 * 8192 * 2
    t_det: float = 0.5
    window_s: float = 600.0


def inference_overhead(job: ServingJob, cl: Cluster, policy: str) -> float:
    """Token-latency loss (%) under one failed NIC, including the one-time stall over the window."""
    def tok(p):
        return job.compute_s + 2 * job.layers * collective_time(job.act_bytes, cl, p)

    steady = tok(policy) / tok("healthy") - 1
    return 100 * (steady + job.t_det / job.window_s)


def crash_overhead(restart_s: float = 68 * 60, window_s: float = 24 * 3600) -> float:
    """Throughput loss (%) of the stock abort-and-restart path over ``window_s`` (median restart 68 min).

    Restart time over the window alone: it needs no job or cluster (no compute fit)."""
    return 100 * restart_s / window_s
