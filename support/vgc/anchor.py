"""Real-CPython anchors (issue 15, step 1): gc.freeze() against a static start-up table, and the
object-size mix of a real program recorded with memray (alignment padding, notes section 3).

Both run in a fresh interpreter so the notebook's own heap does not leak into the numbers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

_FREEZE = r'''
import gc, json, sys, time
n_static, n_churn, freeze = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
class Rec:
    __slots__ = ("a", "b", "c")
    def __init__(self, a, b, c): self.a, self.b, self.c = a, b, c
gc.collect()
table = {i: [Rec(i, {"k": i}, None), (i, str(i))] for i in range(n_static // 4)}  # ~4 tracked objects per entry
if freeze:
    gc.freeze()
pauses, t0 = [], [0, 0]
def cb(phase, info):  # pause = the collecting thread's CPU time (as record.py); wall clock kept beside it
    if phase == "start":
        t0[0], t0[1] = time.thread_time_ns(), time.perf_counter_ns()
    else:
        pauses.append((info["generation"], time.thread_time_ns() - t0[0], time.perf_counter_ns() - t0[1]))
gc.callbacks.append(cb)
w = time.perf_counter()
keep = []
for i in range(n_churn):
    a = Rec(i, None, None); b = Rec(i, a, None); a.b = b
    if i % 50 == 0:
        keep.append(a)
    if len(keep) > 5000:
        keep = keep[2500:]
    if i % 20000 == 0:
        gc.collect()  # an explicit full collection, as long-running services do
wall = time.perf_counter() - w
gc.callbacks.remove(cb)
print(json.dumps({"pauses": pauses, "wall_s": wall, "frozen": gc.get_freeze_count(), "python": sys.version,
                  "threshold": gc.get_threshold(), "static_tracked": len(table) * 4}))
'''


def freeze_experiment(n_static: int, n_churn: int, timeout: float = 300.0) -> dict:
    """Gen-2 pauses (ms, the collecting thread's CPU time; wall clock in ``gen2_wall_ms``) of a churn loop over a
    static table of ``n_static`` tracked objects, without and with ``gc.freeze()`` after start-up."""
    out = {}
    for frz in (False, True):
        r = subprocess.run([sys.executable, "-c", _FREEZE, str(n_static), str(n_churn), "1" if frz else "0"],
                           capture_output=True, text=True, timeout=timeout, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"freeze experiment failed: {r.stderr[-1000:]}")
        d = json.loads(r.stdout)
        p = np.array(d["pauses"], dtype=np.float64).reshape(-1, 3)
        g2, g2_wall = p[p[:, 0] == 2, 1] / 1e6, p[p[:, 0] == 2, 2] / 1e6
        out["freeze" if frz else "no_freeze"] = {"gen2_ms": g2, "gen2_wall_ms": g2_wall,
                                                 "median_gen2_ms": float(np.median(g2)) if g2.size
                                                 else float("nan"), "max_gen2_ms": float(g2.max()) if g2.size
                                                 else float("nan"), "n_gen2": int(g2.size), "wall_s": d["wall_s"],
                                                 "frozen": d["frozen"], "python": d["python"],
                                                 "threshold": tuple(d["threshold"])}
    a, b = out["no_freeze"]["median_gen2_ms"], out["freeze"]["median_gen2_ms"]
    out["median_gen2_reduction"] = 1.0 - b / a if a > 0 else float("nan")
    return out


_MIX = r'''
import ast, json, os, sys, memray
path = sys.argv[1]
src = [os.path.join(os.path.dirname(json.__file__), f) for f in ("decoder.py", "encoder.py", "__init__.py")]
src += [ast.__file__, os.__file__]
with memray.Tracker(path, trace_python_allocators=True):
    trees = [ast.parse(open(f).read()) for f in src]
    data = [{"id": i, "name": f"n{i}", "tags": [i, i + 1], "score": i / 3} for i in range(int(sys.argv[2]))]
    back = json.loads(json.dumps(data))
    del trees, data, back
'''


def object_size_mix(workdir: str | Path, n_records: int = 5000, timeout: float = 300.0) -> np.ndarray:
    """Sizes (bytes) of the small-object allocations (pymalloc) of a real program: ASTs of stdlib modules
    and a JSON round trip, recorded with ``memray.Tracker(trace_python_allocators=True)``."""
    path = Path(workdir) / "size_mix.memray"
    if path.exists():
        path.unlink()
    r = subprocess.run([sys.executable, "-c", _MIX, str(path), str(n_records)], capture_output=True, text=True, check=False,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"memray recording failed: {r.stderr[-1000:]}")
    import memray

    sizes = [rec.size for rec in memray.FileReader(str(path)).get_allocation_records()
             if rec.allocator == memray.AllocatorType.PYMALLOC_MALLOC]
    return np.asarray(sizes, dtype=np.int64)
