"""What the notebook calls: one function per figure / table of the study, plus the correctness checks.

* :func:`environment` - file system, O_DIRECT and io_uring support of the target directory;
* :func:`request_size_sweep` - F1: throughput vs request size, POSIX QD1 vs io_uring QD 4/32/128,
  O_DIRECT and buffered + fsync;
* :func:`mix_vs_synthetic` - F2: realistic mixes vs the synthetic uniform control, per-tensor vs
  aggregated (the "halving" effect);
* :func:`alignment_sweep` - F3: none / 512 B / 4 KiB / 1 MiB;
* :func:`bucket_sweep` - F4: aggregation granularity vs throughput and file count;
* :func:`end_to_end` - T1: write / read GB/s of every engine on the same tensors, ratios;
* :func:`determinism`, :func:`corruption_detection`, :func:`crash_consistency` - exact checks.

Every timed write includes fsync (its pages are dropped after the clock stops); cases are interleaved,
one warm-up round is discarded and the median of the remaining rounds is reported
(:mod:`support.ckpt_io.measure`; :func:`plan` gives the rounds per scale, and T1 at smoke is one round
without warm-up).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from support import scratch as _scratch
from support.ckpt_io import engine, measure, mixes, peers, posix, uring
from support.ckpt_io.format import ALIGNMENTS, CheckpointCorruptError
from support.data import sha256_of
from support.progress import progress
from support.seeding import derive
from support.validate import ParameterError, check_choice, check_int

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
ROOT = Path(__file__).resolve().parents[2]
MAX_QUEUE_DEPTH = 32768  # the largest ring io_uring_setup accepts (IORING_MAX_ENTRIES)
MAX_CHUNK_MIB = 2047  # Linux moves at most 2 GiB - 4 KiB in one read/write (MAX_RW_COUNT); a larger request is cut short


def check_parameters(alignment: str, chunk_mib: int, queue_depth: int) -> None:
    """Our engine's notebook parameters, checked right after ``start`` so a bad value fails before any I/O,
    naming the parameter, its value and what is allowed (ParameterError, a usage error)."""
    check_choice(alignment, "alignment", tuple(ALIGNMENTS), error=ParameterError)
    check_int(chunk_mib, "chunk_mib", minimum=1, maximum=MAX_CHUNK_MIB, error=ParameterError)
    check_int(queue_depth, "queue_depth", minimum=1, maximum=MAX_QUEUE_DEPTH, error=ParameterError)
    if chunk_mib * MiB % ALIGNMENTS[alignment]:
        raise ParameterError(f"chunk_mib x 2^20 must be a multiple of the alignment ({alignment}); "
                             f"got chunk_mib={chunk_mib!r}")


# ------------------------------------------------------------------------------------------ setting
def environment(directory: str | os.PathLike) -> pd.DataFrame:
    """What the directory and kernel allow (a one-column table for the notebook)."""
    env = posix.detect(directory).as_dict()
    env["free_GiB"] = round(env.pop("free_bytes") / GiB, 1)
    env["cpu_count"] = os.cpu_count()
    try:
        env["load_average_1min"] = os.getloadavg()[0]
    except OSError:  # pragma: no cover
        pass
    return pd.DataFrame({"value": pd.Series(env, dtype=object)})


def _io_engines(qds: tuple[int, ...]) -> list[tuple[str, str, int]]:
    """(label, backend, queue depth): POSIX pwrite QD1, then io_uring at each depth (a thread pool of
    pwrite at the same depth, labelled so, when io_uring is unavailable)."""
    ok, _ = uring.availability()
    out = [("POSIX pwrite QD1", "pwrite", 1)]
    for q in qds:
        out.append((f"io_uring QD{q}", "uring", q) if ok else (f"pwrite threads QD{q}", "threads", q))
    return out


# ------------------------------------------------------------------------------------------ F1
F1_PANELS = {"O_DIRECT, new file": (True, "new"), "O_DIRECT, overwrite": (True, "overwrite"),
             "buffered, new file": (False, "new")}


def request_size_sweep(directory: Path, sizes: tuple[int, ...], *, n_requests: int = 512, min_total: int = 4 * MiB,
                       max_total: int = 64 * MiB, qds: tuple[int, ...] = (4, 32, 128), repeats: int = 5,
                       warmup: int = 1, panels: tuple[str, ...] = tuple(F1_PANELS), seed: int = 0) -> pd.DataFrame:
    """F1: GB/s of writing ``n_requests`` requests of each size (total clipped to [min_total, max_total])
    plus fsync, per I/O engine and panel (O_DIRECT or buffered; a new file, or an overwrite of a written
    file as fio does); one row per (case, round). O_DIRECT panels are skipped where it is refused.

    A size above ``max_total`` (or ``min_total > max_total``) raises before any I/O: it would write nothing."""
    t_start = time.perf_counter()
    unknown = set(panels) - set(F1_PANELS)
    if unknown:
        raise ValueError(f"unknown F1 panels {sorted(unknown)}; known: {', '.join(F1_PANELS)}")
    sizes = tuple(measure.check_request_size(s, direct=False) for s in sizes)
    min_total = check_int(min_total, "min_total", minimum=1, error=ValueError)
    max_total = check_int(max_total, "max_total", minimum=1, error=ValueError)
    if min_total > max_total:
        raise ValueError(f"min_total ({min_total} B) must not exceed max_total ({max_total} B)")
    too_big = [s for s in sizes if s > max_total]
    if too_big:
        raise ValueError(f"request size {too_big[0]} B exceeds max_total ({max_total} B): not one request would "
                         "be written; raise max_total or drop the size")
    direct_ok, why = posix.o_direct_support(directory)
    panels = tuple(p for p in panels if direct_ok or not F1_PANELS[p][0])
    direct_any = any(F1_PANELS[p][0] for p in panels)
    align = (posix.min_direct_alignment(directory) or 512) if direct_any else 1
    sizes = tuple(measure.check_request_size(s, direct=direct_any, alignment=align) for s in sizes)
    if not sizes:
        raise ValueError("request_size_sweep needs at least one request size")
    totals = {s: int(min(max(s * n_requests, min_total), max_total)) // s * s for s in sizes}
    src = posix.aligned_buffer(max(totals.values()))
    src[:] = np.frombuffer(derive(seed, "f1").bytes(src.nbytes), np.uint8)
    engines = _io_engines(qds)
    ring = uring.Ring(max(qds) if qds else 2) if any(b == "uring" for _, b, _ in engines) else None
    cases = [(m, s, e) for m in panels for s in sizes for e in engines]
    names = [f"{m}|{s}|{e[0]}" for m, s, e in cases]
    lookup = dict(zip(names, cases))
    rows = []
    new, old = Path(directory) / ".f1-new.bin", Path(directory) / ".f1-old.bin"
    try:
        if any(F1_PANELS[p][1] == "overwrite" for p in panels):
            measure.precondition(old, src.nbytes)
        for r, warm, name in progress(measure.rounds(names, repeats, warmup), desc="F1 request sizes"):
            panel, size, (label, be, qd) = lookup[name]
            direct, layout = F1_PANELS[panel]
            total = totals[size]
            t = measure.write_pattern(old if layout == "overwrite" else new, src[:total], size, direct=direct,
                                      backend=be, queue_depth=qd, ring=ring if be == "uring" else None, layout=layout)
            rows.append({"mode": panel, "request_bytes": size, "engine": label, "queue_depth": qd, "round": r,
                         "warmup": warm, "bytes": total, "seconds": t, "gbps": total / t / 1e9})
    finally:
        new.unlink(missing_ok=True)
        old.unlink(missing_ok=True)
        if ring:
            ring.close()
    df = pd.DataFrame(rows)
    df.attrs["o_direct"] = why
    df.attrs["seconds"] = time.perf_counter() - t_start
    return df


def f1_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Median GB/s per (panel, request size) and engine, engines by queue depth."""
    t = measure.medians(df, ["mode", "request_bytes", "engine"], "gbps").unstack("engine")
    engines = list(dict.fromkeys(df.sort_values("queue_depth", kind="stable")["engine"]))
    panels = [p for p in F1_PANELS if p in set(df["mode"])]
    t = t[engines].reindex(pd.MultiIndex.from_product([panels, sorted(set(df["request_bytes"]))]))
    t.index = t.index.set_names(["panel", "request"]).set_levels(
        [panels, [_size_label(b) for b in sorted(set(df["request_bytes"]))]], level=[0, 1], verify_integrity=False)
    return t


def queue_gain(df: pd.DataFrame, panel: str) -> pd.Series:
    """Per request size in one F1 panel: the best median GB/s at a queue depth above 1 over POSIX QD1
    (how much queue depth changes throughput there; printed under F1 rather than asserted in its caption)."""
    med = measure.medians(df[df["mode"] == panel], ["request_bytes", "engine"], "gbps").unstack("engine")
    qd1 = "POSIX pwrite QD1"
    gain = med.drop(columns=qd1).max(axis=1) / med[qd1]
    return gain.sort_index().rename(index=_size_label).rename("best QD / QD1")


def f1_ratios(df: pd.DataFrame, panel: str = "O_DIRECT, overwrite") -> dict:
    """The F1 acceptance ratios in one panel: O_DIRECT 4 KiB QD1 / 16 MiB QD1, and the best io_uring
    QD >= 32 over POSIX QD1 at 4 KiB and at 64 KiB (absent when io_uring did not run: a thread pool is not it)."""
    med = measure.medians(df, ["mode", "request_bytes", "engine"], "gbps")
    out: dict = {}
    if panel not in set(df["mode"]):
        return out
    d = med.loc[panel]
    qd1 = "POSIX pwrite QD1"
    sizes = set(d.index.get_level_values(0))
    deep = [e for e in d.index.get_level_values(1).unique()
            if e.startswith("io_uring QD") and int(e.rsplit("QD", 1)[1]) >= 32]
    if 4 * KiB in sizes and 16 * MiB in sizes:
        out["direct_4k_over_16m"] = d[(4 * KiB, qd1)] / d[(16 * MiB, qd1)]
    for s, key in ((4 * KiB, "uring_qd_4k"), (64 * KiB, "uring_qd_64k")):
        if s in sizes and deep:
            out[key] = max(d[(s, e)] for e in deep) / d[(s, qd1)]
    return out


# ------------------------------------------------------------------------------------------ F2
# "aggregated, O_DIRECT, pwrite QD1" differs from "per-tensor, O_DIRECT, pwrite QD1" in coalescing alone
# (claim aggregation_restores); the io_uring QD4 method adds queue depth on top.
F2_METHODS = {
    "per-tensor, O_DIRECT, pwrite QD1": {"coalesce": "per-tensor", "direct": True, "backend": "pwrite", "queue_depth": 1},
    "per-tensor, O_DIRECT, io_uring QD32": {"coalesce": "per-tensor", "direct": True, "backend": "uring", "queue_depth": 32,
                                                "chunk_bytes": 4 * MiB},
    "aggregated, O_DIRECT, pwrite QD1": {"coalesce": "stage", "direct": True, "backend": "pwrite", "queue_depth": 1},
    "aggregated, O_DIRECT, io_uring QD4": {"coalesce": "stage", "direct": True, "backend": "uring", "queue_depth": 4},
    "per-tensor, buffered, pwrite QD1": {"coalesce": "per-tensor", "direct": False, "backend": "pwrite", "queue_depth": 1},
    "aggregated, buffered, io_uring writev": {"coalesce": "iovec", "direct": False, "backend": "uring", "queue_depth": 4},
}


def _fallback_label(name: str) -> str:
    """A method's label when io_uring is unavailable and a pwrite thread pool runs in its place."""
    return name.replace("io_uring writev", "pwritev threads").replace("io_uring", "pwrite threads")


def _method_options(opts: dict, directory: Path) -> dict | None:
    """Adapt a method to this machine: None if it needs O_DIRECT here unavailable; io_uring -> threads."""
    o = dict(opts)
    if o.get("direct") is True and not engine.direct_capability(directory)[0]:
        return None
    if o.get("backend") == "uring" and not uring.availability()[0]:
        o["backend"] = "threads" if o.get("queue_depth", 1) > 1 else "pwrite"
    return o


def f2_methods(directory: Path, methods: dict | None = None) -> dict[str, dict]:
    """The F2 methods that can run here, labelled by the backend that runs (io_uring or its fallback)."""
    out = {}
    for k, v in (methods or F2_METHODS).items():
        o = _method_options(v, directory)
        if o is not None:
            out[k if o.get("backend") == v.get("backend") else _fallback_label(k)] = o
    return out


def _f2_order(present) -> list[str]:
    """Method labels in :data:`F2_METHODS` order (a fallback label where the original's would stand)."""
    present = list(dict.fromkeys(present))
    out = [lab for k in F2_METHODS for lab in (k, _fallback_label(k)) if lab in present]
    out = list(dict.fromkeys(out))
    return out + [m for m in present if m not in out]


def mix_vs_synthetic(directory: Path, mix_list: list[mixes.Mix], *, seed: int = 0, repeats: int = 5,
                     warmup: int = 1, methods: dict | None = None) -> pd.DataFrame:
    """F2: every mix and its synthetic control (same bytes, uniform tensors of at most 64 MiB), written with
    each method (labelled by the backend that runs); one row per (mix, method, round), GB/s with fsync."""
    t_start = time.perf_counter()
    data = {}
    for m in mix_list:
        data[m.name] = (m, mixes.materialize(m, seed))
        u = mixes.uniform(m.nbytes)
        data[f"{m.name}|synthetic"] = (u, mixes.materialize(u, seed))
    usable = f2_methods(directory, methods)
    names = [f"{dname}||{meth}" for dname in data for meth in usable]
    rows = []
    for r, warm, name in progress(measure.rounds(names, repeats, warmup), desc="F2 mixes"):
        dname, meth = name.split("||")
        mix, tensors = data[dname]
        d = measure.fresh_dir(directory, "f2")
        t, _ = measure.timed_write(lambda p, t=tensors, o=usable[meth]: engine.save(p / "rank0.ckpt", t, **o), d)
        shutil.rmtree(d)
        base = dname.split("|")[0]
        rows.append({"mix": base, "workload": "synthetic uniform" if dname.endswith("|synthetic") else "realistic",
                     "method": meth, "round": r, "warmup": warm, "bytes": mix.nbytes, "tensors": mix.count,
                     "seconds": t, "gbps": mix.nbytes / t / 1e9})
    df = pd.DataFrame(rows)
    df.attrs["seconds"] = time.perf_counter() - t_start
    return df


def f2_table(df: pd.DataFrame) -> pd.DataFrame:
    """Median GB/s per mix and method (rows in method order), realistic vs synthetic side by side."""
    t = measure.medians(df, ["mix", "method", "workload"], "gbps").unstack("workload")
    rows = [(m, k) for m in dict.fromkeys(df["mix"]) for k in _f2_order(df["method"]) if (m, k) in t.index]
    t = t.reindex(pd.MultiIndex.from_tuples(rows, names=["mix", "method"]))
    t["realistic / synthetic"] = t["realistic"] / t["synthetic uniform"]
    return t


def f2_ratios(df: pd.DataFrame, mix_name: str, mode: str = "O_DIRECT") -> dict:
    """Throughput of a mix relative to per-tensor pwrite QD1 writes of its synthetic control, in one I/O mode:
    per tensor at QD1 (halving), aggregated at QD1 (only coalescing differs) and aggregated with a queue.

    ``aggregated_*`` is the pwrite QD1 method, ``queued_*`` the other aggregated one (io_uring or threads);
    ``*_over_synthetic_aggregated`` divides by the synthetic control written with that same method."""
    med = measure.medians(df, ["mix", "workload", "method"], "gbps")
    m = med.loc[mix_name]
    per, agg = f"per-tensor, {mode}, pwrite QD1", f"aggregated, {mode}, pwrite QD1"
    queued = next((k for k in _f2_order(df["method"]) if k.startswith(f"aggregated, {mode},") and k != agg), None)
    if (("synthetic uniform", per) not in m.index) or (("realistic", per) not in m.index):
        return {}
    syn = m[("synthetic uniform", per)]
    out = {"per_tensor_over_synthetic": m[("realistic", per)] / syn, "synthetic_gbps": syn}
    for tag, meth in (("aggregated", agg), ("queued", queued)):
        if meth is not None and ("realistic", meth) in m.index:
            real, syn_same = m[("realistic", meth)], m.get(("synthetic uniform", meth), np.nan)
            out.update({f"{tag}_method": meth, f"{tag}_over_synthetic": real / syn,
                        f"{tag}_over_synthetic_aggregated": real / syn_same, f"synthetic_{tag}_gbps": syn_same})
    return out


# ------------------------------------------------------------------------------------------ F3
def alignment_sweep(directory: Path, mix: mixes.Mix, *, seed: int = 0, alignments=("none", "512B", "4KiB", "1MiB"),
                    repeats: int = 5, warmup: int = 1) -> pd.DataFrame:
    """F3: aggregated writes at each alignment, O_DIRECT where legal (an unaligned layout falls back to
    buffered I/O and says so) and buffered; GB/s of tensor bytes and the padding overhead."""
    t_start = time.perf_counter()
    tensors = mixes.materialize(mix, seed)
    be = "uring" if uring.availability()[0] else "threads"
    cases = {}
    for a in alignments:
        cases[f"{a}|O_DIRECT"] = {"alignment": a, "direct": "auto", "coalesce": "stage", "backend": be}
        cases[f"{a}|buffered"] = {"alignment": a, "direct": False, "coalesce": "iovec", "backend": be}
    rows = []
    for r, warm, name in progress(measure.rounds(list(cases), repeats, warmup), desc="F3 alignment"):
        a, mode = name.split("|")
        d = measure.fresh_dir(directory, "f3")
        stats: dict = {}
        t, size = measure.timed_write(
            lambda p, st=stats, o=cases[name]: st.update(s=engine.save(p / "rank0.ckpt", tensors, **o)), d)
        shutil.rmtree(d)
        s = stats["s"]
        rows.append({"alignment": a, "requested": mode, "actual": "O_DIRECT" if s.direct else "buffered",
                     "round": r, "warmup": warm, "seconds": t, "gbps": mix.nbytes / t / 1e9,
                     "file_bytes": size, "padding_overhead": size / mix.nbytes - 1})
    df = pd.DataFrame(rows)
    df.attrs["seconds"] = time.perf_counter() - t_start
    return df


# ------------------------------------------------------------------------------------------ F4
def bucket_sweep(directory: Path, mix: mixes.Mix, *, seed: int = 0,
                 buckets: tuple[int | None, ...] = (0, 1 * MiB, 4 * MiB, 16 * MiB, 64 * MiB, None),
                 repeats: int = 5, warmup: int = 1) -> pd.DataFrame:
    """F4: aggregation granularity: one file per tensor (0), per bucket of N bytes, or one file (None);
    GB/s, files and metadata operations (create, rename, file fsync, directory fsync per file)."""
    t_start = time.perf_counter()
    tensors = mixes.materialize(mix, seed)
    opts = _method_options({"coalesce": "stage", "direct": "auto", "backend": "uring", "queue_depth": 4}, directory)
    label = {b: ("file per tensor" if b == 0 else "one file" if b is None else f"{b // MiB} MiB") for b in buckets}
    names = [label[b] for b in buckets]
    by_label = {label[b]: b for b in buckets}
    rows = []
    for r, warm, name in progress(measure.rounds(names, repeats, warmup), desc="F4 buckets"):
        b = by_label[name]
        d = measure.fresh_dir(directory, "f4")
        info = {}
        size = mix.nbytes * 2 if b is None else b
        t, _ = measure.timed_write(lambda p, i=info, s=size: i.update(engine.save_buckets(p, tensors, s, **opts)), d)
        shutil.rmtree(d)
        rows.append({"bucket": name, "bucket_bytes": b, "files": info["files"], "metadata_ops": info["metadata_ops"],
                     "round": r, "warmup": warm, "seconds": t, "gbps": mix.nbytes / t / 1e9})
    df = pd.DataFrame(rows)
    df.attrs["seconds"] = time.perf_counter() - t_start
    return df


# ------------------------------------------------------------------------------------------ T1
def end_to_end(directory: Path, mix: mixes.Mix, *, seed: int = 0, repeats: int = 5, warmup: int = 1,
               include: tuple[str, ...] | None = None, ours_options: dict | None = None,
               disk_limit: bool = True) -> pd.DataFrame:
    """T1: every engine saves and restores the same tensors, interleaved; one row per (engine, round) with
    write and cold-read GB/s; the warm-up round also checks that the restore is bitwise equal.
    A "disk limit" case (large O_DIRECT writes of the same bytes) runs in the same rounds. A peer that
    raises is recorded as failed; our engine raising (the subject, not a peer) propagates its error."""
    t_start = time.perf_counter()
    tensors = mixes.materialize(mix, seed)
    subject = peers.ours_label(ours_options)
    engines = {p.name: p for p in peers.all_peers(include, ours_options) if p.available}
    names = list(engines) + (["disk limit"] if disk_limit else [])
    direct_ok = posix.o_direct_support(directory)[0]
    src = posix.aligned_buffer(min(256 * MiB, mix.nbytes // (16 * MiB) * 16 * MiB or 16 * MiB)) if disk_limit else None
    if src is not None:
        src[:] = 0x5A
    rows, failed = [], {}
    for r, warm, name in progress(measure.rounds(names, repeats, warmup), desc="T1 end-to-end"):
        d = measure.fresh_dir(directory, "t1")
        row = {"engine": name, "round": r, "warmup": warm, "bytes": mix.nbytes}
        if name == "disk limit":
            be = "uring" if uring.availability()[0] else "threads"
            total = -(-mix.nbytes // (16 * MiB)) * 16 * MiB
            t = measure.write_pattern(d / "limit.bin", src, 16 * MiB, direct=direct_ok, backend=be, queue_depth=4,
                                      total=total)
            row.update(write_s=t, write_gbps=total / t / 1e9, files=1)
        elif name in failed:
            shutil.rmtree(d)
            continue
        else:
            p = engines[name]
            try:
                tw, size = measure.timed_write(lambda q, p=p: p.save(tensors, q), d)
                tr, restored = measure.timed_read(lambda q, p=p: p.load(q, tensors), d)
            except Exception as e:  # a peer that breaks on this mix is reported, not fatal; ours re-raises
                shutil.rmtree(d)
                if name == subject:
                    raise
                failed[name] = f"{type(e).__name__}: {str(e)[:200]}"
                continue
            row.update(write_s=tw, write_gbps=mix.nbytes / tw / 1e9, read_s=tr, read_gbps=mix.nbytes / tr / 1e9,
                       files=len(measure.files_under(d)), disk_bytes=size)
            if warm or r == 0:
                row["bitwise_equal"] = peers.bitwise_equal(tensors, restored)
            del restored
        shutil.rmtree(d)
        rows.append(row)
    df = pd.DataFrame(rows)
    df = df[~df.engine.isin(list(failed))].reset_index(drop=True)
    df.attrs["unavailable"] = {p.name: p.reason for p in peers.all_peers(include, ours_options) if not p.available}
    df.attrs["unavailable"].update(failed)
    df.attrs["failed"] = failed
    df.attrs["seconds"] = time.perf_counter() - t_start
    return df


def t1_table(df: pd.DataFrame) -> pd.DataFrame:
    """Median write / read GB/s per engine and our ratio over each (same run); ours is the engine named
    :func:`peers.ours_label` (no notebook parameter or benchmark option relabels it)."""
    ours = peers.ours_label()
    order = [p.name for p in peers.all_peers()] + ["disk limit"]
    unknown = sorted(set(df["engine"]) - set(order))
    if unknown:  # e.g. ours run under another label: it would drop out of the table silently
        raise ValueError(f"t1_table: engines {unknown} are not T1 engines ({', '.join(order)})")
    order = [e for e in order if e in set(df["engine"])]
    w = measure.medians(df, "engine", "write_gbps").reindex(order)
    rd = measure.medians(df, "engine", "read_gbps").reindex(order) if "read_gbps" in df else pd.Series(dtype=float)
    tab = pd.DataFrame({"write GB/s": w, "read GB/s": rd})
    tab["ours / engine (write)"] = w[ours] / w
    tab["ours / engine (read)"] = rd.get(ours, np.nan) / rd
    if "bitwise_equal" in df:
        eq = df.dropna(subset=["bitwise_equal"]).groupby("engine")["bitwise_equal"].all()
        tab["bitwise equal"] = eq.reindex(tab.index)
    files = df.groupby("engine")["files"].max()
    tab["files"] = files.reindex(tab.index)
    return tab


def roundtrip_check(t1: pd.DataFrame, t1tab: pd.DataFrame, mix_name: str) -> tuple[bool, str]:
    """The roundtrip claim: every engine restored bitwise-equal tensors, and no installed engine failed.

    An engine that raised on save or load is a failure, not an absence (only a missing install is)."""
    failed = t1.attrs.get("failed", {})
    eq = t1tab["bitwise equal"].dropna().astype(bool) if "bitwise equal" in t1tab else pd.Series(dtype=bool)
    ok = bool(len(eq)) and bool(eq.all()) and not failed
    note = f"{len(eq)} engines on {mix_name}"
    if not eq.all():
        note += "; not bitwise equal: " + ", ".join(eq.index[~eq])
    if failed:
        note += "; installed but failed: " + "; ".join(f"{k} ({v})" for k, v in failed.items())
    return ok, note


# ------------------------------------------------------------------------------------------ exact checks
def determinism(directory: Path, mix: mixes.Mix, seed: int = 0) -> dict:
    """Save the mix twice from freshly generated tensors (same seed) and through two I/O paths (the engine's
    default: io_uring and O_DIRECT where available; POSIX pwrite buffered); the files must be byte-identical.
    ``paths`` names the backend and mode each run actually used (a thread pool stands in for io_uring without it)."""
    hashes, paths = {}, []
    for label, opts in (("run 1", {"coalesce": "stage", "direct": "auto", "backend": "auto"}),
                        ("run 2 (POSIX, buffered)", {"coalesce": "stage", "direct": False, "backend": "pwrite"})):
        tensors = mixes.materialize(mix, seed)
        p = Path(directory) / f"det-{len(hashes)}.ckpt"
        st = engine.save(p, tensors, **opts)
        hashes[label] = sha256_of(p)
        paths.append(f"{st.backend} {'O_DIRECT' if st.direct else 'buffered'}")
        p.unlink()
    return {"identical": len(set(hashes.values())) == 1, **hashes, "paths": paths}


def corruption_detection(directory: Path, seed: int = 0) -> pd.DataFrame:
    """Plant faults in a valid checkpoint (truncation, a flipped bit in tensor data, in the header and in
    the superblock); each must raise :class:`CheckpointCorruptError` on load."""
    mix = mixes.many_small(16, seed=seed)
    tensors = mixes.materialize(mix, seed)
    good = Path(directory) / "good.ckpt"
    engine.save(good, tensors)
    h = engine.read_header(good)
    e = next(iter(h.entries.values()))
    faults = {
        "truncated (last 4 KiB cut)": ("truncate", h.file_size - 4096),
        "truncated inside tensor data": ("truncate", e.offset + e.nbytes // 2),
        "bit flip in tensor data": ("flip", e.offset + e.nbytes // 3),
        "bit flip in JSON header": ("flip", h.header_offset + 10),
        "bit flip in superblock": ("flip", 20),
    }
    rows = []
    for name, (kind, pos) in faults.items():
        bad = Path(directory) / "bad.ckpt"
        shutil.copyfile(good, bad)
        if kind == "truncate":
            os.truncate(bad, pos)
        else:
            with open(bad, "r+b") as f:
                f.seek(pos)
                b = f.read(1)[0]
                f.seek(pos)
                f.write(bytes([b ^ 0x10]))
        try:
            engine.load(bad)
            rows.append({"fault": name, "detected": False, "error": "(loaded without error)"})
        except CheckpointCorruptError as err:
            rows.append({"fault": name, "detected": True, "error": str(err).replace(str(directory), "…")})
        bad.unlink()
    good.unlink()
    return pd.DataFrame(rows)


_KILL_SCRIPT = r"""
import sys, time
from support.ckpt_io import engine, mixes
path, seed = sys.argv[1], int(sys.argv[2])
t = mixes.materialize(mixes.many_small(64, seed=seed), seed, as_torch=False)
def slow(i):
    if i == 2:
        print("WRITING", flush=True)
    time.sleep(0.05)
engine.save(path, t, chunk_bytes=64 * 1024, queue_depth=1, backend="pwrite", _on_request=slow)
print("FINISHED", flush=True)
"""


def crash_consistency(directory: Path, seed: int = 0, timeout: float = 60.0) -> dict:
    """Write checkpoint v1; start a writer of v2 to the same path in a subprocess and SIGKILL it mid-write;
    the path must still load as v1, bitwise."""
    path = Path(directory) / "rank0.ckpt"
    v1 = mixes.materialize(mixes.many_small(32, seed=seed + 1), seed + 1)
    engine.save(path, v1)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(path), str(seed)], stdout=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT)
    killed = False
    try:
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.strip() == "WRITING":
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    leftovers = [p.name for p in Path(directory).glob(".rank0.ckpt.tmp-*")]
    restored = engine.load(path).to_torch()
    intact = peers.bitwise_equal(v1, restored)
    for p in Path(directory).glob(".rank0.ckpt.tmp-*"):
        p.unlink()
    path.unlink()
    return {"killed_mid_write": killed, "previous_intact": intact, "temp_files_left": len(leftovers),
            "ok": killed and intact}


# ------------------------------------------------------------------------------------------ figures
def _limit_line(ax, limit_gbps: float | None) -> None:
    if limit_gbps:
        ax.axhline(limit_gbps, color="black", lw=1, ls="--", label=f"disk limit ({limit_gbps:.2f} GB/s)")


def _size_label(b: int) -> str:
    return f"{b // MiB} MiB" if b >= MiB else f"{b // KiB} KiB"


def _legend_right(ax) -> None:
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def plot_request_sweep(df: pd.DataFrame, limit_gbps: float | None = None):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator

    modes = list(dict.fromkeys(df["mode"]))
    sizes = sorted(set(df["request_bytes"]))
    fig, axes = plt.subplots(1, len(modes), figsize=(4.6 * len(modes) + 1.6, 4), sharey=True, squeeze=False)
    # sorted index: .loc on an unsorted MultiIndex prints a PerformanceWarning into the report
    med = measure.medians(df, ["mode", "engine", "request_bytes"], "gbps").sort_index()
    engines = list(dict.fromkeys(df.sort_values("queue_depth", kind="stable")["engine"]))
    for ax, mode in zip(axes[0], modes):
        for eng in engines:
            s = med.loc[(mode, eng)].sort_index()
            ax.plot(s.index / KiB, s.values, "o-", ms=4, label=eng)
        if limit_gbps:
            ax.axhline(limit_gbps, color="black", lw=1, ls="--", label=f"disk limit, new file ({limit_gbps:.2f} GB/s)")
        ax.set(xscale="log", yscale="log", xlabel="request size (log scale)", title=f"{mode} (+ fsync)")
        ax.xaxis.set_major_locator(FixedLocator([s / KiB for s in sizes]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([_size_label(s) for s in sizes], rotation=45, fontsize=8)
    axes[0][0].set_ylabel("write throughput (GB/s)")
    _legend_right(axes[0][-1])
    fig.tight_layout()
    return fig


def plot_mixes(df: pd.DataFrame, limit_gbps: float | None = None):
    import matplotlib.pyplot as plt

    med = measure.medians(df, ["mix", "workload", "method"], "gbps").reset_index()
    mixes_ = list(dict.fromkeys(med["mix"]))
    fig, axes = plt.subplots(1, len(mixes_), figsize=(5.5 * len(mixes_) + 1.8, 4.4), sharey=True, squeeze=False)
    methods = _f2_order(med["method"])
    for ax, m in zip(axes[0], mixes_):
        sub = med[med.mix == m]
        x = np.arange(len(methods))
        for j, wl in enumerate(["realistic", "synthetic uniform"]):
            v = [sub[(sub.workload == wl) & (sub.method == meth)].gbps.squeeze() if len(
                sub[(sub.workload == wl) & (sub.method == meth)]) else np.nan for meth in methods]
            ax.bar(x + (j - 0.5) * 0.38, v, 0.38, label=wl)
        _limit_line(ax, limit_gbps)
        ax.set_xticks(x, [t.replace(", ", "\n") for t in methods], fontsize=7)
        ax.set(title=m, xlabel="")
    axes[0][0].set_ylabel("write throughput (GB/s, fsync included)")
    _legend_right(axes[0][-1])
    fig.tight_layout()
    return fig


def f3_table(df: pd.DataFrame) -> pd.DataFrame:
    order = [a for a in ("none", "512B", "4KiB", "1MiB") if a in set(df["alignment"])]
    t = measure.medians(df, ["alignment", "requested"], "gbps").unstack("requested").reindex(order)
    t.columns = [f"{c} requested (GB/s)" for c in t.columns]
    t["ran O_DIRECT"] = df[df.requested == "O_DIRECT"].groupby("alignment")["actual"].first().reindex(order)
    t["padding overhead"] = df.groupby("alignment")["padding_overhead"].first().reindex(order).round(4)
    return t


def f4_table(df: pd.DataFrame) -> pd.DataFrame:
    """Median GB/s, files and metadata operations per granularity, and each one's share of the one-file GB/s."""
    t = df[~df.warmup].groupby("bucket").agg(bucket_bytes=("bucket_bytes", "first"), files=("files", "first"),
                                             metadata_ops=("metadata_ops", "first"), gbps=("gbps", "median"))
    if "one file" in t.index:
        t["of one file"] = t["gbps"] / t.loc["one file", "gbps"]
    return t.sort_values("files", ascending=False)


def plot_alignment(df: pd.DataFrame, limit_gbps: float | None = None):
    import matplotlib.pyplot as plt

    order = list(dict.fromkeys(a for a in ("none", "512B", "4KiB", "1MiB") if a in set(df["alignment"])))
    med = measure.medians(df, ["alignment", "requested"], "gbps").unstack("requested").reindex(order)
    med = med[[c for c in ("O_DIRECT", "buffered") if c in med.columns]]
    over = df.groupby("alignment", sort=False)["padding_overhead"].first()
    actual = df.groupby(["alignment", "requested"], sort=False)["actual"].first()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    x = np.arange(len(med.index))
    for j, col in enumerate(med.columns):
        a1.bar(x + (j - 0.5) * 0.38, med[col].values, 0.38, label=f"{col} requested")
        for i, al in enumerate(med.index):
            if actual.get((al, col)) != col:  # two lines, so the note stays over its own bar
                a1.annotate(f"ran\n{actual.get((al, col))}", (x[i] + (j - 0.5) * 0.38, med[col].values[i]),
                            ha="center", va="bottom", fontsize=7)
    _limit_line(a1, limit_gbps)
    a1.set_xticks(x, med.index)
    a1.set(xlabel="tensor alignment in the file", ylabel="write throughput (GB/s)")
    a1.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1.0, 0.9))
    pct = 100 * over.reindex(med.index).values
    a2.bar(x, pct, color="grey")
    for i, v in enumerate(pct):  # the small overheads are invisible as bars: print every value
        a2.annotate(f"{v:.2g} %" if v < 10 else f"{v:.0f} %", (x[i], v), ha="center", va="bottom", fontsize=8)
    a2.set_xticks(x, med.index)
    a2.set(xlabel="tensor alignment in the file", ylabel="file size overhead from padding (%)")
    fig.tight_layout()
    return fig


def plot_buckets(df: pd.DataFrame, limit_gbps: float | None = None):
    import matplotlib.pyplot as plt

    order = list(df.sort_values("bucket_bytes", na_position="last", kind="stable")["bucket"].drop_duplicates())
    order = ["file per tensor"] + [b for b in order if b != "file per tensor"] if "file per tensor" in order else order
    med = measure.medians(df, "bucket", "gbps").reindex(order)
    files = df.groupby("bucket", sort=False)["files"].first().reindex(med.index)
    fig, a1 = plt.subplots(figsize=(8.5, 4))
    x = np.arange(len(med))
    a1.bar(x, med.values, color="C0", label="throughput")
    _limit_line(a1, limit_gbps)
    a1.set_xticks(x, [str(b).replace("file per ", "file per\n") for b in med.index])
    a1.set(xlabel="aggregation granularity (bucket size)", ylabel="write throughput (GB/s)")
    a2 = a1.twinx()
    a2.plot(x, files.values, "o-", color="C3", label="files written")
    # headroom above the largest count, so its marker does not sit on the disk-limit line of the left axis
    a2.set(yscale="log", ylabel="files written (count, log scale)", ylim=(0.7, 3 * max(files.max(), 1)))
    a2.grid(False)
    h1, l1 = a1.get_legend_handles_labels()
    h2, l2 = a2.get_legend_handles_labels()
    a1.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper left", bbox_to_anchor=(1.12, 1.0))
    fig.tight_layout()
    return fig


def plot_end_to_end(tab: pd.DataFrame, limit_gbps: float | None = None):
    import matplotlib.pyplot as plt

    t = tab.drop(index="disk limit", errors="ignore")
    fig, ax = plt.subplots(figsize=(9.5, 4))
    x = np.arange(len(t))
    ax.bar(x - 0.2, t["write GB/s"].values, 0.4, label="write (fsync included)")
    ax.bar(x + 0.2, t["read GB/s"].values, 0.4, label="cold read")
    _limit_line(ax, limit_gbps)
    ax.set_xticks(x, t.index, rotation=25, ha="right", rotation_mode="anchor")  # long names must not collide
    ax.set(ylabel="throughput (GB/s)", xlabel="checkpoint engine")
    _legend_right(ax)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------ scales
def plan(scale: str) -> dict:
    """Sizes of every experiment at a scale (smoke: CI, under 90 s; default: under 10 min; paper: the
    largest this kind of machine holds)."""
    sizes = (4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB, 16 * MiB, 64 * MiB)
    buckets = (0, 1 * MiB, 4 * MiB, 16 * MiB, 64 * MiB, None)
    plans = {
        "smoke": {  # CI, under 90 s
            "f1_sizes": (4 * KiB, 64 * KiB, 16 * MiB), "f1_panels": ("O_DIRECT, overwrite", "buffered, new file"),
            "f1_requests": 256, "f1_min": 1 * MiB, "f1_max": 16 * MiB, "f1_repeats": 3,
            "f2_mixes": [mixes.many_small(160)], "f2_repeats": 2,
            "f3_mix": mixes.many_small(96), "f3_repeats": 2,
            "f4_mix": mixes.many_small(48), "f4_buckets": (0, 1 * MiB, None), "f4_repeats": 2,
            "t1_mix": mixes.llama2_7b_tp8(layers=2), "t1_repeats": 1, "t1_warmup": 0, "limit_bytes": 128 * MiB},
        "default": {  # under 10 min
            "f1_sizes": sizes, "f1_panels": tuple(F1_PANELS), "f1_requests": 512, "f1_min": 4 * MiB,
            "f1_max": 64 * MiB, "f1_repeats": 3,
            "f2_mixes": [mixes.many_small(1024), mixes.gpt_neox_biased(layers=1)], "f2_repeats": 3,
            "f3_mix": mixes.many_small(512), "f3_repeats": 3,
            "f4_mix": mixes.many_small(512), "f4_buckets": buckets, "f4_repeats": 3,
            "t1_mix": mixes.llama2_7b_tp8(layers=8), "t1_repeats": 5, "t1_warmup": 1, "limit_bytes": 1 * GiB},
        "paper": {  # the full Llama-2-7B TP=8 rank; about 45 min on a shared 2-core VM
            "f1_sizes": sizes, "f1_panels": tuple(F1_PANELS), "f1_requests": 1024, "f1_min": 8 * MiB,
            "f1_max": 256 * MiB, "f1_repeats": 5,
            "f2_mixes": [mixes.many_small(4096), mixes.gpt_neox_biased(layers=4), mixes.llama2_7b_tp8()],
            "f2_repeats": 5, "f3_mix": mixes.many_small(1024), "f3_repeats": 5,
            "f4_mix": mixes.many_small(2048), "f4_buckets": buckets, "f4_repeats": 5,
            "t1_mix": mixes.llama2_7b_tp8(), "t1_repeats": 7, "t1_warmup": 1, "limit_bytes": 2 * GiB},
    }
    if scale not in plans:
        raise ValueError(f"scale must be one of {', '.join(plans)}; got {scale!r}")
    return plans[scale]


def mixes_table(p: dict) -> pd.DataFrame:
    """The mixes this run uses, plus the full reference mixes (shapes only)."""
    ms = {m.name: m for m in [*p["f2_mixes"], p["f3_mix"], p["f4_mix"], p["t1_mix"], mixes.llama2_7b_tp8(),
                               mixes.llama2_7b_tp8(optimizer=True), mixes.gpt_neox_biased()]}
    return pd.DataFrame([m.summary() for m in ms.values()]).set_index("mix").round(3)


MEMORY_FS = ("tmpfs", "ramfs")  # file systems held in RAM: a write there never reaches a storage device


def memory_target(directory: str | os.PathLike) -> str | None:
    """None unless ``directory`` is on a RAM file system (:data:`MEMORY_FS`; /tmp is tmpfs on several
    distributions, and tmpfs takes O_DIRECT since Linux 6.6), else why the storage claims cannot be judged there."""
    kind = posix.fs_type(directory)
    if kind not in MEMORY_FS:
        return None
    return (f"the target directory is on {kind} (memory, not a storage device), so this I/O ratio says nothing about "
            f"a disk; give -p target_dir=<a directory on a local disk>")


def claim_values(f1: pd.DataFrame, f2: pd.DataFrame, f2_mix: str, f4: pd.DataFrame, t1: pd.DataFrame,
                 t1tab: pd.DataFrame, memory: str | None = None) -> dict[str, tuple[float | None, str]]:
    """Measured value and note of each throughput claim (None with the reason where it cannot be measured, and
    every one of them where the target is in memory: ``memory``, :func:`memory_target`'s reason)."""
    out: dict[str, tuple[float | None, str]] = {}
    over, new = f1_ratios(f1, "O_DIRECT, overwrite"), f1_ratios(f1, "O_DIRECT, new file")
    src = over or new
    panel = "fio-style overwrite of a written file" if over else "new file"
    ran_uring = f1["engine"].astype(str).str.startswith("io_uring").any()
    for k in ("direct_4k_over_16m", "uring_qd_4k", "uring_qd_64k"):
        name = {"direct_4k_over_16m": "direct_4k_vs_16m"}.get(k, k)
        if k in src:
            extra = f"; new-file panel: {new[k]:.3g}" if over and k in new else ""
            out[name] = (src[k], f"{panel}, median of the F1 rounds{extra}")
        elif not src:
            out[name] = (None, "O_DIRECT is not supported in the target directory")
        elif k.startswith("uring") and not ran_uring:
            why = uring.availability()[1]
            out[name] = (None, f"io_uring is unavailable here ({why}); F1 ran a pwrite thread pool in its place")
        else:
            out[name] = (None, "the F1 plan lacks a request size this ratio needs")
    r = f2_ratios(f2, f2_mix, "O_DIRECT")
    if r:
        syn = f2[(f2["mix"] == f2_mix) & (f2["workload"] == "synthetic uniform")]
        n = f"{int(syn['tensors'].iloc[0])} tensor(s)" if "tensors" in syn and len(syn) else "tensors"
        note = (f"{f2_mix}, O_DIRECT; synthetic = the same bytes in {n} of at most 64 MiB, written per tensor by "
                f"pwrite QD1 in requests of at most 16 MiB ({r['synthetic_gbps']:.2f} GB/s)")
        out["halving"] = (r["per_tensor_over_synthetic"], note)
        rb = f2_ratios(f2, f2_mix, "buffered")
        if rb:
            out["halving"] = (r["per_tensor_over_synthetic"],
                              note + f"; buffered + fsync: {rb['per_tensor_over_synthetic']:.2f}")
        if "aggregated_over_synthetic" in r:
            agg = (f"; aggregated pwrite QD1 against the synthetic mix also aggregated at QD1 "
                   f"({r['synthetic_aggregated_gbps']:.2f} GB/s): {r['aggregated_over_synthetic_aggregated']:.2f}")
            if "queued_over_synthetic" in r:
                agg += (f"; {r['queued_method']}: {r['queued_over_synthetic']:.2f} over the per-tensor synthetic, "
                        f"{r['queued_over_synthetic_aggregated']:.2f} over the synthetic written the same way")
            out["aggregation_restores"] = (r["aggregated_over_synthetic"], note + agg)
        else:
            out["aggregation_restores"] = (None, "the aggregated pwrite QD1 method did not run")
    else:
        out["halving"] = out["aggregation_restores"] = (None, "O_DIRECT is not supported in the target directory")
    med = measure.medians(f4, "bucket", "gbps")
    files = f4.groupby("bucket")["files"].first()
    if "one file" in med and "file per tensor" in med:
        out["metadata_reduction"] = (med["one file"] / med["file per tensor"],
                                     (f"{files['file per tensor']} files vs 1; "
                                      f"{4 * files['file per tensor']} vs 4 metadata operations"))
    w = t1tab["write GB/s"]
    ours = peers.ours_label()  # T1's subject, named by the one rule end_to_end and t1_table follow
    for key, eng in (("vs_datastates", "DataStates-style"), ("vs_torchsnapshot", "torchsnapshot"),
                     ("vs_torch_save", "torch.save")):
        if eng in w and ours in w:
            out[key] = (w[ours] / w[eng], f"median write GB/s: ours {w[ours]:.2f}, {eng} {w[eng]:.2f}")
            alt = "DataStates-style O_DIRECT"
            if key == "vs_datastates" and alt in w and pd.notna(w[alt]):
                out[key] = (out[key][0], out[key][1] + f"; vs the same stand-in with O_DIRECT ({w[alt]:.2f} GB/s): "
                            f"{w[ours] / w[alt]:.2f}x")
        else:
            out[key] = (None, t1.attrs.get("unavailable", {}).get(eng, f"{eng} not measured"))
    if "disk limit" in w and ours in w:
        out["disk_fraction"] = (w[ours] / w["disk limit"],
                                f"ours {w[ours]:.2f} GB/s, disk limit {w['disk limit']:.2f} GB/s (same rounds)")
    if memory:  # not applicable, with what was measured kept in the reason
        out = {k: (None, f"{memory}; " + (f"measured {v:.4g} ({note})" if v is not None else note))
               for k, (v, note) in out.items()}
    return out


def scratch(target: str | os.PathLike | None = None) -> Path:
    """A scratch directory for the notebook under ``target`` (default: the system temp dir), from the shared
    :mod:`support.scratch` (removed by :func:`cleanup` and, failing that, at exit); a missing ``target`` is a
    ParameterError naming it, as is one that is not a path or where no folder can be made (read-only, full)."""
    return _scratch.make("ckpt_io-", target, what="target_dir", error=ParameterError)  # a usage error (exit 2)


def cleanup(d: Path) -> bool:
    """Remove the scratch directory; True when nothing is left."""
    return _scratch.remove(d)
