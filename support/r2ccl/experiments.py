"""What the notebook and the benchmark call: campaigns on the testbed, the gloo peer, the simulator."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd

from support.claims import worst_of
from support.progress import progress
from support.r2ccl import simulator as sim
from support.r2ccl.testbed import (
    COLLAPSED_MBIT,
    FAULT_KINDS,
    MAX_HOSTS,
    MAX_NICS,
    Fault,
    Testbed,
    nft_available,
    op_done_at,
    op_span_seconds,
    run_job,
)
from support.r2ccl.transport import TransportConfig
from support.validate import ParameterError, check_int, check_range

METHODS = ("hot_repair", "balance", "resilient")
OPS = ("allreduce", "reduce_scatter", "allgather", "broadcast")


def check_parameters(hosts: int, nics: int, rate_mbit: float, n_faults: int) -> None:
    """The notebook's testbed parameters, checked right after ``start`` so a bad value fails before the
    testbed is built (ParameterError, a usage error); 0 picks by scale for each of them."""
    what = f"0 (picks by scale) or an integer in 2..{MAX_HOSTS}"  # one /24 address per host
    if check_int(hosts, "hosts", minimum=0, maximum=MAX_HOSTS, what=what, error=ParameterError) == 1:
        raise ParameterError(f"hosts must be {what}, got 1")
    what = f"0 (picks by scale) or an integer in 2..{MAX_NICS}"  # failover needs a surviving NIC
    if check_int(nics, "nics", minimum=0, maximum=MAX_NICS, what=what, error=ParameterError) == 1:
        raise ParameterError(f"nics must be {what}, got 1")
    what = f"0 (picks by scale) or a rate in Mbit/s above {COLLAPSED_MBIT:g} (the rate_collapse fault's 8 kbit/s)"
    try:
        rate = check_range(rate_mbit, "rate_mbit", low=0, error=ParameterError)
    except ParameterError:
        rate = -1.0
    if rate != 0 and not rate > COLLAPSED_MBIT:  # at or below it the gray failure slows nothing down: tests nothing
        raise ParameterError(f"rate_mbit must be {what}, got {rate_mbit!r}")
    check_int(n_faults, "n_faults", minimum=0, what="0 (picks by scale) or an integer >= 1", error=ParameterError)


def fault_kinds(tb: Testbed) -> list[str]:
    """Fault kinds this testbed can inject (nftables only when ``nft`` is installed)."""
    if tb.mode != "netns":
        return ["transport"]
    return [k for k in FAULT_KINDS if k != "nft_drop" or nft_available()]


def unavailable_fault_kinds(tb: Testbed) -> list[str]:
    """Fault kinds of :data:`FAULT_KINDS` this testbed cannot inject (the campaign skips them)."""
    ok = fault_kinds(tb)
    return [k for k in FAULT_KINDS if k not in ok]


# Healthy jobs (no fault injected) detect a dead connection after 2 s of silence, not fast_cfg's 0.3 s: nothing
# fails in them, so detection speed measures nothing there, while a rank stalled 0.3 s on a loaded machine would
# have every NIC towards it declared dead and end the job (heartbeats, acks and retention, the cost that
# no_fault_overhead measures, do not depend on t_det).
HEALTHY_T_DET = 2.0


def fast_cfg(reliable: bool = True, **kw) -> TransportConfig:
    base = {"reliable": reliable, "t_det": 0.3, "hb_interval": 0.05, "op_timeout": 30.0, "chunk_bytes": 32 * 1024}
    base.update(kw)
    return TransportConfig(**base)


# ---------------------------------------------------------------------------- correctness under faults

def fault_campaign(tb: Testbed, n_faults: int, rng: np.random.Generator, n_elems: int = 40_000,
                   ops_per_job: int = 4, faults_per_job: int = 2, cfg: TransportConfig | None = None) -> pd.DataFrame:
    """Inject ``n_faults`` failures (random method, kind, NIC, op and time within the op), each job
    checked bit for bit against the NumPy oracle on every rank. One row per fault that took effect
    while the job's collectives were still running (or that broke the job); a fault that lands after
    the last collective ended (short ops, slow ``ip``/``nft`` calls) tests nothing and is not counted
    (their number is in ``df.attrs["missed"]``). Column ``job`` numbers the jobs: a job's counters
    (``frames_resent`` ...) are repeated on each of its faults' rows. ``cfg``: the jobs' transport settings
    (default :func:`fast_cfg`)."""
    check_int(n_faults, "n_faults", minimum=1, error=ParameterError)
    cfg = cfg or fast_cfg()
    if tb.nics < 2:  # one NIC: every fault kills the only path, nothing can fail over
        raise ValueError(f"the fault campaign needs >= 2 NICs per host (a surviving path); got nics={tb.nics}")
    kinds = fault_kinds(tb)
    rows = []
    done = missed = jobs = 0
    bar = progress(range(10**6), desc="fault campaign", total=n_faults)
    it = iter(bar)
    while done < n_faults:
        jobs += 1
        if jobs > 10 * n_faults + 10:
            raise RuntimeError(f"{missed} faults landed after their job ended and only {done} during it: "
                               "the collectives are too short for the fault injection latency")
        method = METHODS[int(rng.integers(len(METHODS)))]
        nf = int(min(faults_per_job, n_faults - done, tb.nics - 1))
        host_nics = []
        hosts = rng.permutation(tb.hosts)
        nics = rng.permutation(tb.nics)[:nf]  # distinct NICs: some path always survives
        for j in range(nf):
            host_nics.append((int(hosts[j % tb.hosts]), int(nics[j])))
        ops = [{"kind": OPS[int(rng.integers(len(OPS)))], "n": n_elems, "root": int(rng.integers(tb.hosts))}
               for _ in range(ops_per_job)]
        faults = [Fault(kinds[int(rng.integers(len(kinds)))], h, i, at_op=int(rng.integers(1, ops_per_job)),
                        frac=float(rng.uniform(0.05, 0.95))) for h, i in host_nics]
        # hold: a fault of a short op whose injection outlasts it takes effect before the next op, not after the job
        r = run_job(tb, ops, method, faults, seed=int(rng.integers(2**31)), cfg=cfg, timeout=60, hold=True)
        migr = sum(len(x["migrations"]) for x in r.ranks if x) if not r.errors else 0
        resent = sum(x["frames_resent"] for x in r.ranks if x) if not r.errors else 0
        dups = sum(x["dup_dropped"] for x in r.ranks if x) if not r.errors else 0
        last_end = None if r.errors else op_done_at([x["ops"] for x in r.ranks], -1)
        for f in faults:
            if not r.errors and (f.injected_at is None or f.injected_at > last_end):
                missed += 1  # took effect after every rank had finished the job's last collective
                continue
            rows.append({"job": jobs, "method": method, "fault": f.kind, "host": f.host, "nic": f.nic, "op": ops[f.at_op]["kind"],
                         "at_frac": round(f.frac, 2), "completed": not r.errors, "exact": r.exact,
                         "migrations": migr, "frames_resent": resent, "dups_dropped": dups,
                         "errors": "; ".join(r.errors.values())})
            done += 1
            next(it, None)
    bar.close()
    df = pd.DataFrame(rows)
    df.attrs["missed"] = missed
    return df


def campaign_table(camp: pd.DataFrame) -> pd.DataFrame:
    """Per (method, fault kind): faults, jobs, all exact, all completed, and frames re-sent summed over
    the group's jobs, each job once (its counter is repeated on every fault row of the job)."""
    keys = ["method", "fault"]
    tab = camp.groupby(keys).agg(faults=("exact", "size"), jobs=("job", "nunique"), exact=("exact", "all"),
                                 completed=("completed", "all"))
    tab["frames_resent"] = camp.drop_duplicates(keys + ["job"]).groupby(keys)["frames_resent"].sum()
    return tab


# ---------------------------------------------------------------------------- throughput, no faults

def no_fault_overhead(tb: Testbed, n_elems: int, reps: int, rounds: int = 3) -> dict:
    """Median allreduce time with failover on (balance) and off (``none``), interleaved in rounds.
    Op 0 of every job is a warm-up and is dropped, so ``reps`` must be at least 2."""
    if reps < 2 or rounds < 1:
        raise ValueError(f"no_fault_overhead needs reps >= 2 (op 0 is a warm-up) and rounds >= 1; "
                         f"got reps={reps}, rounds={rounds}")
    on, off = [], []
    for _ in range(rounds):
        for pol, acc in (("none", off), ("balance", on)):
            r = run_job(tb, [{"kind": "allreduce", "n": n_elems}] * reps, pol,
                        cfg=fast_cfg(reliable=pol != "none", op_timeout=60.0, t_det=HEALTHY_T_DET), timeout=120)
            if r.errors or not r.exact:
                raise RuntimeError(f"healthy run failed: {r.errors}")
            acc += [r.op_seconds(j) for j in range(1, reps)]  # op 0 warms up
    t_on, t_off = float(np.median(on)), float(np.median(off))
    nbytes = n_elems * 4
    return {"t_on": t_on, "t_off": t_off, "overhead_pct": 100 * (t_on / t_off - 1),
            "algbw_on_mbit": nbytes * 8 / t_on / 1e6, "algbw_off_mbit": nbytes * 8 / t_off / 1e6,
            "samples_on": on, "samples_off": off}


# ---------------------------------------------------------------------------- one failed NIC

def failover_run(tb: Testbed, method: str, n_elems: int, before: int, after: int, host: int = 0,
                 nic: int | None = None, kind: str | None = None, frac: float = 0.3, seed: int = 0):
    """``before`` healthy allreduces, a fault during the next one, ``after`` more. Returns the job. The ranks
    begin op ``before + 1`` only once the fault has taken effect (``run_job(hold=True)``): a short op at smoke
    scale (30 ms) can end before a slow ``ip link set down`` returns, which then lands between the two ops."""
    nic = tb.nics - 1 if nic is None else nic
    kind = kind or ("link_down" if tb.mode == "netns" else "transport")
    ops = [{"kind": "allreduce", "n": n_elems}] * (before + 1 + after)
    f = Fault(kind, host, nic, at_op=before, frac=frac)
    return run_job(tb, ops, method, [f], seed=seed, cfg=fast_cfg(op_timeout=60.0), timeout=180, hold=True)


def fault_in_op(r, j: int) -> bool:
    """Whether the job's first fault took effect during op ``j``: after every rank had finished op j-1
    and before every rank had finished op j (the spans :func:`op_span_seconds` times)."""
    inj = r.faults[0].injected_at if r.faults else None
    if inj is None:
        return False
    end = [op_done_at([x["ops"] for x in r.ranks], i) for i in (j - 1, j) if i >= 0]
    return (j == 0 or inj > end[0]) and inj <= end[-1]


def failure_op(r, j: int) -> int | None:
    """The op that met the job's first fault, injected during op ``j``: ``j`` when it took effect during op j
    (:func:`fault_in_op`); ``j + 1`` when it took effect after every rank had finished op j and before rank 0
    began op j+1 (where ``run_job(hold=True)`` puts an injection slower than op j); else None."""
    if fault_in_op(r, j):
        return j
    inj, began = r.faults[0].injected_at if r.faults else None, r.op_starts.get(j + 1)
    if inj is not None and began is not None and inj <= began and fault_in_op(r, j + 1):
        return j + 1
    return None


def failover_slowdowns(tb: Testbed, n_elems: int, before: int = 3, after: int = 4,
                       methods=METHODS, reps: int = 1) -> tuple[pd.DataFrame, dict]:
    """One row per (rep, method): healthy median, failure-op time, post-failure median, slowdown,
    recovery latency. The methods alternate on one testbed (hot_repair, balance, resilient,
    hot_repair, ...) ``reps`` times. The failure op (column ``failure_op``) is op ``before``, or op
    ``before + 1`` when the injection outlasted op ``before`` and took effect before op ``before + 1`` began
    (:func:`failure_op`; only with ``after >= 3``, which leaves a post-failure op); the op after it settles
    and the rest are post-failure. A rep whose fault met neither is re-run once, then it is an error
    naming the method; a rep whose job fails (an error on some rank) is re-run too, its errors kept in column
    ``failed_try_errors``, and failing twice is an error. ``jobs``: each method's first job."""
    check_int(reps, "reps", minimum=1)
    rows, jobs = [], {}
    for rep, m in progress([(i, m) for i in range(reps) for m in methods], desc="failover"):
        failed = []  # the errors of a try whose job failed, kept in the row (a real bug must stay visible)
        for attempt in range(2):
            r = failover_run(tb, m, n_elems, before, after, host=1 if tb.hosts > 2 else 0, seed=rep)
            if r.errors:  # e.g. the surviving NIC falsely declared dead too (a rank stalled 0.3 s): once more
                failed.append("; ".join(f"rank {k}: {v}" for k, v in sorted(r.errors.items())))
                continue
            jf = failure_op(r, before)
            if jf == before or (jf == before + 1 and after >= 3):
                break
        else:
            if r.errors:
                raise RuntimeError(f"{m}: the failover job failed in the second try too: {r.errors}")
            raise RuntimeError(f"{m}: the NIC failure did not land in op {before} (nor just before op {before + 1} "
                               f"began) in two tries (injected at {r.faults[0].injected_at}); the collectives are "
                               "too short")
        jobs.setdefault(m, r)
        t = [r.op_seconds(j) for j in range(before + 1 + after)]
        healthy = float(np.median(t[1:before])) if before > 1 else t[0]
        post = float(np.median(t[jf + 2:])) if len(t) > jf + 2 else t[-1]
        inj = r.faults[0].injected_at
        resend = [x["first_resend"] for x in r.ranks if x["first_resend"]]
        dets = [d[0] for x in r.ranks for d in x["detections"]]
        rows.append({"rep": rep, "method": m, "healthy_s": healthy, "failure_op": jf, "failure_op_s": t[jf],
                     "post_s": post,
                     "slowdown": post / healthy, "exact": r.exact,
                     "detect_s": (min(dets) - inj) if dets and inj else np.nan,
                     "recovery_s": (min(resend) - inj) if resend and inj else np.nan,
                     "algo_after": r.ranks[0]["ops"][-1]["algo"], "reruns": attempt,
                     "failed_try_errors": " | ".join(failed)})
    return pd.DataFrame(rows), jobs


def slowdown_medians(per_rep: pd.DataFrame) -> pd.DataFrame:
    """Per method (in the order first seen): the median over reps of each timing column and of the
    slowdown, ``exact`` if every rep was exact, ``algo_after`` the reps' algorithms, and ``reps``."""
    cols = ["healthy_s", "failure_op_s", "post_s", "slowdown", "detect_s", "recovery_s"]
    g = per_rep.groupby("method", sort=False)
    out = g[cols].median()
    out["exact"] = g["exact"].all()
    out["algo_after"] = g["algo_after"].agg(lambda a: "/".join(sorted(set(a))))
    out["reps"] = g.size()
    return out.reset_index()


def balance_over_hot_repair(med: pd.DataFrame) -> float:
    """Hot repair's median slowdown over Balance's (both per-method medians over reps): > 1 when
    Balance is faster after the failure (paper §Balance)."""
    s = med.set_index("method")["slowdown"]
    return float(s["hot_repair"] / s["balance"])


def sim_error(med: pd.DataFrame, predicted: dict, col: str = "slowdown") -> float:
    """Largest relative error of the load model's prediction against each method's median measured ``col``: the
    slowdown (``sim_predicts_testbed``, independent of the fit), or ``post_s`` for the absolute time after the failure
    (metric ``sim_abs_time_max_rel_err``, which depends on the fitted latency and bandwidth)."""
    meas = med[col].to_numpy(float)
    pred = np.array([predicted[m] for m in med["method"]], float)
    return worst_of(np.abs(pred - meas) / meas)  # NaN if any method's median is NaN


# the notes' §4.2 bars for HR/Balance exist for these NIC counts only, one claim each
BALANCE_BARS = {3: "balance_over_hot_repair", 4: "balance_over_hot_repair_k4"}


def hot_repair_over_balance_theory(nics: int) -> float:
    """Bandwidth-only HR/Balance slowdown ratio with one of ``nics`` NICs failed: hot repair puts two lanes on its
    backup NIC (2x), Balance spreads k lanes over k-1 NICs (k/(k-1)x), so 2(k-1)/k (the load model's busiest NICs)."""
    k = check_int(nics, "nics", minimum=2)
    return sim.nic_load("hot_repair", 2, k) / sim.nic_load("balance", 2, k)


def balance_bar_claims(ratio: float, nics: int, note: str) -> dict[str, tuple[float | None, str]]:
    """``balance_over_hot_repair`` (k = 3) and ``_k4`` as :meth:`record_all` takes them: the measured HR/Balance
    ``ratio`` for the claim whose k is the testbed's ``nics`` (with ``note``), (None, why) for the other; at a k with
    no bar the reason gives the measured ratio beside the bandwidth-only theory."""
    k = check_int(nics, "nics", minimum=2)
    other = ("" if k in BALANCE_BARS else
             f" (bars exist for k = {' and '.join(map(str, BALANCE_BARS))} only; measured {ratio:.2f}x, "
             f"theory {hot_repair_over_balance_theory(k):.2f}x)")
    return {name: (ratio, f"k={k}; HR/Balance of the per-method medians; {note}") if k == bar
            else (None, f"this bar is for k={bar} NICs and the testbed has k={k}{other}")
            for bar, name in BALANCE_BARS.items()}


def per_rep_note(per_rep: pd.DataFrame, col: str = "slowdown") -> str:
    """``method: median (rep values)`` for every method, for a claim's note."""
    return "; ".join(f"{m}: {np.median(g[col]):.2f}x ({', '.join(f'{v:.2f}' for v in g[col])})"
                     for m, g in per_rep.groupby("method", sort=False))


def nic_timeseries(job, rank: int = 0) -> pd.DataFrame:
    """Per-NIC send throughput (Mbit/s) of one rank over its job, from the transport's byte counters."""
    s = job.ranks[rank]["samples"]
    t = np.array([x[0] for x in s])
    b = np.array([x[1] for x in s], float)
    rate = np.diff(b, axis=0) * 8 / 1e6 / np.diff(t)[:, None]
    t0 = job.faults[0].injected_at if job.faults and job.faults[0].injected_at else t[0]
    df = pd.DataFrame(rate, columns=[f"nic{i}" for i in range(b.shape[1])])
    df.insert(0, "t_s", t[1:] - t0)
    return df


# ---------------------------------------------------------------------------- the gloo peer

def gloo_compare(tb: Testbed, n_elems: int, iters: int = 4, fault: bool = True, pg_timeout: float = 3.0) -> dict:
    """gloo allreduce on one NIC: healthy times, then (netns) a link-down during iteration ``iters-1``."""
    from support.r2ccl.gloo_baseline import run_gloo

    f = Fault("link_down", 0, 0, at_op=iters - 1, frac=0.3) if (fault and tb.mode == "netns") else None
    r = run_gloo(tb, n_elems, iters=iters, nic=0, fault=f, pg_timeout=pg_timeout)
    if r["errors"]:
        raise RuntimeError(f"gloo: {r['errors']}")
    ops = [rk["ops"] for rk in r["ranks"]]
    times = [op_span_seconds(ops, j) for j in range(min(len(o) for o in ops))]  # timed as our ops are
    healthy = float(np.median(times[1:])) if len(times) > 1 else float(times[0])
    rk = r["ranks"][0]
    failed = any(x["error"] for x in r["ranks"])
    last_end = max((o[-1]["t_end"] for o in ops if o), default=float("-inf"))
    # the fault tested gloo if it broke an op or took effect before gloo's last op ended
    landed = f is not None and f.injected_at is not None and (failed or f.injected_at <= last_end)
    return {"t_healthy": healthy, "algbw_mbit": n_elems * 4 * 8 / healthy / 1e6,
            "exact": all(x["exact"] for x in r["ranks"]), "fault_injected": f is not None,
            "fault_landed": landed, "error": rk["error"], "error_after_s": rk["error_after_s"],
            "pg_dead": rk["pg_dead"], "probe_error": rk["probe_error"], "pg_timeout": pg_timeout}


def gloo_metrics(ov: dict, gl: dict, nics: int) -> dict[str, float]:
    """Our algorithm bandwidth without faults (failover on, ``ov`` of :func:`no_fault_overhead`) against gloo's on one
    NIC (``gl`` of :func:`gloo_compare`), in total and per NIC (ours stripes over ``nics``); none when gloo did not
    run."""
    if "t_healthy" not in gl:
        return {}
    ours, theirs = ov["algbw_on_mbit"], gl["algbw_mbit"]
    return {"ours_algbw_mbit": round(ours, 1), "gloo_algbw_mbit": round(theirs, 1),
            "ours_over_gloo": round(ours / theirs, 2), "ours_over_gloo_per_nic": round(ours / nics / theirs, 2)}


def lossless_failover_claim(camp: pd.DataFrame, unavailable=()) -> tuple[bool | None, str]:
    """``lossless_failover`` as :meth:`record_all` takes it: whether every injected failure that took effect during a
    collective left the job completed and bit-exact on every rank, with what was injected; (None, why) when no failure
    took effect (an empty campaign tests nothing, so it cannot count as lossless)."""
    missing = f"; not injectable here: {', '.join(unavailable)}" if len(unavailable) else ""
    if camp.empty:
        return None, "no injected failure took effect during a collective" + missing
    kinds = ", ".join(sorted(set(camp["fault"])))
    return (bool(camp["completed"].all() and camp["exact"].all()),
            (f"{len(camp)} injected failures that took effect during a collective ({kinds}); bit-exact vs NumPy on "
            f"every rank{missing}"))


def resilient_exact_claim(per_rep: pd.DataFrame, hosts: int) -> tuple[bool | None, str]:
    """``resilient_allreduce_exact`` as :meth:`record_all` takes it: whether every resilient job's allreduces after
    the failure were exact and used the R2CCL split; (None, why) below 3 hosts (no degraded server to localize) or
    when no resilient job ran (nothing tested)."""
    if hosts < 3:
        return None, "needs >= 3 hosts to localize the degraded server"
    rows = per_rep[per_rep["method"] == "resilient"]
    if rows.empty:
        return None, "no resilient job ran"
    return (bool(rows["exact"].all() and (rows["algo_after"] == "resilient").all()),
            (f"{len(rows)} resilient job(s): allreduces after the failure used the R2CCL split with the degraded host "
            "localized"))


def gloo_abort_claim(gl: dict) -> tuple[bool | None, str]:
    """``stock_library_aborts`` as :meth:`record_all` takes it: whether gloo raised and its process group stayed dead
    with the link healed, with what it said; or (None, why) when the run tested nothing: gloo not run (the setup
    error), the link-down took effect after gloo's last allreduce, or the loopback fallback could not fault it."""
    if "t_healthy" not in gl:
        return None, gl.get("error_setup", "gloo not run")
    if gl["fault_landed"]:
        said = (f"gloo raised after {gl['error_after_s']:.1f} s (timeout {gl['pg_timeout']} s): {gl['error'][:90]}"
                if gl["error"] else "gloo raised nothing")
        probe = {True: f"failed {gl['probe_error']}", False: "succeeded", None: "not run"}[gl["pg_dead"]]
        return (bool(gl["error"] and gl["pg_dead"]),
                f"{said}; with the link healed, one more allreduce on every rank {probe}")
    if gl["fault_injected"]:
        return None, "the link-down took effect after gloo's last allreduce had ended: it tested nothing"
    return None, "loopback fallback: gloo's sockets cannot be faulted"


# ---------------------------------------------------------------------------- simulator

def calibrate_on_testbed(tb: Testbed, sizes: list[int], reps: int = 3) -> tuple[sim.Cluster, list]:
    """Fit the simulator's alpha and per-NIC bandwidth on healthy allreduces of several sizes."""
    samples = []
    chunk = fast_cfg().chunk_bytes
    for n in sizes:
        r = run_job(tb, [{"kind": "allreduce", "n": n}] * (reps + 1), "balance",
                    cfg=fast_cfg(op_timeout=60.0, t_det=HEALTHY_T_DET), timeout=120)
        if r.errors:
            raise RuntimeError(r.errors)
        samples += [(n * 4, "healthy", r.op_seconds(j)) for j in range(1, reps + 1)]
    return sim.calibrate(samples, tb.hosts, tb.nics, chunk), samples


def predicted_slowdowns(cl: sim.Cluster, nbytes: float, methods=METHODS) -> dict:
    """Steady-state slowdown per method at alpha = 0, where the fitted bandwidth cancels: the closed-form load
    ratio (plus one chunk of fill), not a test of the calibration, as the claim sim_predicts_testbed says. (It
    used the fitted alpha: a smoke fit of 13.8 ms per step predicted 1.34x for every method against 1.87-2.11x
    measured, where the closed form gives 1.86x.)"""
    cl0 = replace(cl, alpha=0.0)
    return {m: sim.slowdown(cl0, m, nbytes) for m in methods}


def predicted_times(cl: sim.Cluster, nbytes: float, methods=METHODS) -> dict:
    """Absolute allreduce time (s) per method after the failure: depends on the fitted alpha and B."""
    return {m: sim.collective_time(nbytes, cl, m) for m in methods}


def scale_sweep(servers=(2, 4, 8, 16, 32, 64, 128), nics: int = 8, size: float = 1 << 30) -> pd.DataFrame:
    """Collective overhead (%) under one failed NIC vs cluster size, per policy (paper hardware)."""
    rows = []
    for n in servers:
        cl = sim.Cluster(n, nics, sim.PAPER.bw, sim.PAPER.alpha, sim.PAPER.chunk)
        for m in METHODS:
            rows.append({"servers": n, "gpus": n * cl.gpus_per_server, "method": m,
                         "overhead_pct": 100 * (sim.slowdown(cl, m, size) - 1)})
    return pd.DataFrame(rows)


def split_sweep(servers: int = 32, nics: int = 8, grid: int = 101) -> pd.DataFrame:
    """Busiest-NIC load of the resilient split vs f (relative to healthy)."""
    from support.r2ccl.balance import resilient_loads, subring_weight

    healthy = sim.nic_load("healthy", servers, nics)
    rows = []
    for f in np.linspace(0.5, 1.0, grid):
        w = subring_weight(f, servers, nics)
        rows.append({"f": f, "time_rel": max(resilient_loads(f, w, servers, nics)) / healthy})
    return pd.DataFrame(rows)


def failures_sweep(servers: int = 32, nics: int = 8, size: float = 1 << 30) -> pd.DataFrame:
    """Allreduce slowdown (x) with m = 1 .. k-1 NICs failed on one server, per policy (paper hardware)."""
    cl = sim.Cluster(servers, nics, sim.PAPER.bw, sim.PAPER.alpha, sim.PAPER.chunk)
    return pd.DataFrame([{"failed": m, "method": p, "slowdown": sim.slowdown(cl, p, size, failed=m)}
                         for m in range(1, nics) for p in METHODS])


def paper_overheads(cl: sim.Cluster = sim.PAPER) -> dict:
    """Inference overheads on ``cl`` (assumed serving parameters, :class:`sim.ServingJob`) and the crash path
    (restart time over the window, the same on any cluster); training overheads come from
    :func:`training_overhead_sweep`."""
    serve = {m: sim.inference_overhead(sim.ServingJob(), cl, m) for m in METHODS}
    return {"serve": serve, "crash": sim.crash_overhead()}  # restart time / window: no compute fit


def training_overhead_sweep(servers=(2, 3, 4, 8, 16, 32, 128), nics: int = 8, job: sim.TrainingJob = sim.DP_2P7B,
                            target_pct: float = 1.3, base: sim.Cluster = sim.PAPER) -> pd.DataFrame:
    """DP training overhead (%) per policy under one failed NIC on N servers, the compute time fitted
    on the same N servers so that Balance costs ``target_pct`` (the README's -1.3 %): one row per N."""
    rows = []
    for n in servers:
        cl = sim.Cluster(n, nics, base.bw, base.alpha, base.chunk, base.gpus_per_server)
        fitted = sim.calibrate_compute(job, cl, "balance", target_pct)  # fitted and evaluated on cl
        rows.append({"servers": n, "gpus": n * cl.gpus_per_server, "compute_s": fitted.compute_s,
                     **{m: sim.training_overhead(fitted, cl, m) for m in METHODS}})
    return pd.DataFrame(rows)


def timed(fn, *a, **kw):
    t0 = time.perf_counter()
    out = fn(*a, **kw)
    return out, time.perf_counter() - t0


# ---------------------------------------------------------------------------- one call per scale

def testbed_suite(hosts: int, nics: int, rate_mbit: float, n_elems: int, n_faults: int,
                  rng: np.random.Generator, reps: int = 4, rounds: int = 2, gloo: bool = True,
                  slowdown_reps: int = 1) -> dict:
    """Everything measured on one testbed: fault campaign, overhead without faults, slowdowns under
    one failed NIC (``slowdown_reps`` rounds of the methods in turn: ``slowdowns_per_rep``, and their
    per-method medians: ``slowdowns``), simulator calibration and prediction, and the gloo peer. The
    testbed is torn down at the end, also on error."""
    out: dict = {}
    with Testbed(hosts, nics, rate_mbit=rate_mbit) as tb:
        out["mode"], out["note"] = tb.mode, tb.note
        out["fault_kinds_unavailable"] = unavailable_fault_kinds(tb)
        out["campaign"], out["t_campaign"] = timed(fault_campaign, tb, n_faults, rng,
                                                   n_elems=max(10_000, n_elems // 10), ops_per_job=3,
                                                   faults_per_job=max(1, nics - 1))
        out["overhead"], out["t_overhead"] = timed(no_fault_overhead, tb, n_elems, reps, rounds)
        (per_rep, jobs), out["t_slowdowns"] = timed(failover_slowdowns, tb, n_elems, reps=slowdown_reps)
        out["slowdowns_per_rep"], out["slowdowns"] = per_rep, slowdown_medians(per_rep)
        out["timeseries"] = {m: nic_timeseries(j, rank=1 if hosts > 2 else 0) for m, j in jobs.items()}
        (cl, samples), out["t_calibration"] = timed(calibrate_on_testbed, tb, [n_elems // 4, n_elems], reps=2)
        out["cluster"], out["calib_samples"] = cl, samples
        out["predicted"] = predicted_slowdowns(cl, n_elems * 4)
        out["predicted_s"] = predicted_times(cl, n_elems * 4)
        if gloo:
            try:
                out["gloo"], out["t_gloo"] = timed(gloo_compare, tb, n_elems)
            except RuntimeError as e:  # torch missing: say so
                out["gloo"] = {"error_setup": str(e)}
    out["leftovers"] = tb.leftovers()  # after tear-down: must be empty
    return out


def plot_timeseries(ts: dict):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(ts), figsize=(4.2 * len(ts), 3.4), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, (m, df) in zip(axes, ts.items()):
        for c in df.columns[1:]:
            ax.plot(df["t_s"], df[c].rolling(3, min_periods=1).mean(), label=c)
        ax.axvline(0, color="k", ls="--", lw=1)
        ax.set_title(m)
        ax.set_xlabel("time since NIC failure (s)")
    axes[0].set_ylabel("send rate per NIC (Mbit/s)")
    axes[-1].legend()
    fig.tight_layout()
    return fig


def plot_slowdowns(measured: pd.DataFrame, predicted: dict, nics: int, per_rep: pd.DataFrame | None = None):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.6, 3.6))  # wide enough for the legend beside the bars
    x = np.arange(len(measured))
    ax.bar(x - 0.2, measured["slowdown"], 0.4, label="measured (testbed, median over reps)")
    if per_rep is not None and per_rep["rep"].nunique() > 1:
        pos = {m: i for i, m in enumerate(measured["method"])}
        ax.scatter([pos[m] - 0.2 for m in per_rep["method"]], per_rep["slowdown"], s=12, color="k", zorder=3,
                   label="measured, one rep")
    ax.bar(x + 0.2, [predicted[m] for m in measured["method"]], 0.4, label="load model (closed form + one chunk)")
    ax.axhline(2.0, color="C3", ls=":", lw=1, label="hot-repair theory (2x)")
    ax.axhline(nics / (nics - 1), color="C2", ls=":", lw=1, label=f"balance theory ({nics}/{nics - 1})")
    ax.set_xticks(x, measured["method"])
    ax.set_ylabel("allreduce time after failure / healthy (x)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: inside it covered the bars
    fig.tight_layout()
    return fig


def plot_scale(df: pd.DataFrame, split: pd.DataFrame, nics: int, failures: pd.DataFrame | None = None):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2 if failures is None else 3, figsize=(10 if failures is None else 15, 3.6))
    a, b = axes[:2]
    for m, g in df.groupby("method"):
        a.plot(g["gpus"], g["overhead_pct"], marker="o", label=m)
    a.set_xscale("log", base=2)
    a.set_xlabel("GPUs (8 per server, 8 x 400 Gb/s NICs)")
    a.set_ylabel("extra allreduce time (%, 100 % = 2x)\n1 GiB, one failed NIC")
    a.legend()
    b.plot(split["f"], split["time_rel"])
    b.axvline((2 * nics - 3) / (2 * nics - 1), color="C2", ls="--", lw=1, label="f* = (2k-3)/(2k-1)")
    b.axvline((nics - 1) / nics, color="C3", ls=":", lw=1, label="public code: (k-1)/k")
    b.set_xlabel("split ratio f (fraction on the global ring)")
    b.set_ylabel("time / healthy (x)")
    b.legend(fontsize=8)
    if failures is not None:
        c = axes[2]
        for m, g in failures.groupby("method"):
            c.plot(g["failed"], g["slowdown"], marker="o", label=m)
        mm = np.arange(1, 2 * nics // 3 + 1)  # the closed form holds for m <= 2k/3
        c.plot(mm, 2 * nics / (2 * nics - mm), color="k", ls=":", lw=1, label="2k/(2k-m), large N")
        c.set_xlabel("failed NICs m on one server (count)")
        c.set_ylabel("allreduce time / healthy (x), 1 GiB")
        c.legend(fontsize=8)
    fig.tight_layout()
    return fig
