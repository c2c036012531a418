"""VGC (arXiv 2512.23768) as a claim test: zone-based parallel GC vs generational collectors for Python.

* :mod:`~support.vgc.trace` — the heap-event trace format (ALLOC / WRITE / ROOT+ / ROOT-), checks, npz I/O.
* :mod:`~support.vgc.workloads` — synthetic multithreaded traces (GCBench trees, LRU, producer/consumer, ...).
* :mod:`~support.vgc.record` — traces recorded from real CPython programs, with CPython's own GC statistics.
* :mod:`~support.vgc.refcount` — reference-count replay (CPython frees acyclic garbage immediately).
* :mod:`~support.vgc.allocator` — pymalloc-like size classes and pools; committed bytes, alignment.
* :mod:`~support.vgc.marking` — frontier (level-synchronous) marking and its parallel work model.
* :mod:`~support.vgc.cpython_cost` — GEN's pause cost, counted as CPython's gc_collect_main passes.
* :mod:`~support.vgc.collectors` — GEN (CPython-like), GEN-2T, INCR (PyPy-like), ZONE (VGC-like).
* :mod:`~support.vgc.oracle` — the independent reachability oracle (scipy BFS).
* :mod:`~support.vgc.metrics` — pause percentiles, MMU, bootstrap CIs of ratios.
* :mod:`~support.vgc.anchor` — real CPython measurements: pauses, gc.freeze(), object sizes via memray.
"""
