"""Profiling workloads, run as a standalone script inside a cgroup (numpy + stdlib only, no ``support`` import).

``python workloads.py NAME --cpus C --mem-mb M --size S`` warms up, prints ``{"ready": true}`` and then
serves requests: each line read from stdin is a seed; it runs one *request* of the workload with that
seed and answers one JSON line ``{"latency_s": x, "cpu_s": y}`` (wall time and process CPU time;
interpreter start-up and imports excluded). It exits at the end of stdin.

Workloads (heterogeneous on purpose):

* ``matmul`` — NumPy BLAS matrix products, threads = ceil(cpus): CPU-sensitive, parallel.
* ``pyloop`` — pure-Python arithmetic loop: single-threaded, saturates at one CPU.
* ``cache`` — Zipf-distributed key lookups through an LRU cache of 64 KiB items whose capacity is sized
  from the container's memory budget (as memory-aware services size their caches from the cgroup
  limit); a miss recomputes the item (SHA-256 chain): memory- and CPU-sensitive.
* ``bnljoin`` — block nested-loop semi-join of two int64 tables, block size = memory budget: time ~
  number of blocks; memory-sensitive and bandwidth-bound.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from collections import OrderedDict

WORKLOADS = ("matmul", "pyloop", "cache", "bnljoin")
BASE_MB = 48  # interpreter + numpy resident set, not available to the workload's own buffers


def _threads(cpus: float) -> int:
    return max(1, min(os.cpu_count() or 1, math.ceil(cpus - 1e-9)))


def matmul(size: float, mem_mb: float, rng):

    n = 320
    a = rng.standard_normal((n, n)); b = rng.standard_normal((n, n))
    for _ in range(max(1, int(48 * size))):
        a = (a @ b) * (1.0 / n)
    return float(a[0, 0])


def pyloop(size: float, mem_mb: float, rng):
    s = 0
    for k in range(int(1_000_000 * size)):
        s += (k * k) % 7
    return s


def cache(size: float, mem_mb: float, rng):
    item = 64 * 1024
    cap = max(1, int((mem_mb - BASE_MB) * 0.08 * 1024 * 1024 // item))
    universe = 500  # working set: LRU hit ratio ~ capacity / universe until the set fits
    keys = rng.integers(0, universe, int(1200 * size))
    lru: OrderedDict[int, bytes] = OrderedDict()
    seed = b"x" * 4096
    for k in keys:
        k = int(k)
        v = lru.get(k)
        if v is None:
            h = hashlib.sha256(k.to_bytes(8, "little")).digest()
            parts = []
            for _ in range(2):  # recompute the item: a chain of hashes over 2 x 64 KiB
                for j in range(16):
                    h = hashlib.sha256(h + seed).digest()
                    parts.append(h)
            v = b"".join(parts[-16:]) * (item // (16 * 32))
            lru[k] = v
            if len(lru) > cap:
                lru.popitem(last=False)
        else:
            lru.move_to_end(k)
    return len(lru)


def bnljoin(size: float, mem_mb: float, rng):
    """Block nested-loop semi-join: R is processed in blocks that fit the memory budget, each block
    probed against all of S, so time ~ (|R| / block) * |S|."""
    import numpy as np

    r = rng.integers(0, 1 << 40, int(1_000_000 * size))
    s = rng.integers(0, 1 << 40, int(150_000 * size))
    block = max(4096, int((mem_mb - BASE_MB) * 0.01 * 1024 * 1024 // 8))
    hits = 0
    for b in range(0, r.size, block):
        blk = np.sort(r[b:b + block])
        pos = np.searchsorted(blk, s).clip(0, blk.size - 1)
        hits += int(np.count_nonzero(blk[pos] == s))
    return hits


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("name", choices=WORKLOADS)
    ap.add_argument("--cpus", type=float, required=True)
    ap.add_argument("--mem-mb", type=float, required=True)
    ap.add_argument("--size", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    import numpy as np

    fn = globals()[a.name]
    fn(0.05, a.mem_mb, np.random.default_rng(a.seed))  # warm-up (imports, allocator)

    def request(seed: int) -> tuple[float, float]:
        rng = np.random.default_rng(seed)
        t0, c0 = time.perf_counter(), time.process_time()
        fn(a.size, a.mem_mb, rng)
        return time.perf_counter() - t0, time.process_time() - c0

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        lat, cpu = request(int(line))
        print(json.dumps({"latency_s": lat, "cpu_s": cpu}), flush=True)


if __name__ == "__main__":
    n = _threads(float(sys.argv[sys.argv.index("--cpus") + 1])) if "--cpus" in sys.argv else 1
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)  # before numpy is imported
    main()
