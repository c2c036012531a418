"""A fault injection slower than the op it targets (``ip link set down`` waits for the rtnl lock while other
testbeds are built or torn down, up to 0.1 s; an allreduce at the notebook's smoke scale takes 30 ms): with
``run_job(hold=True)`` no rank begins the next op before the fault took effect, so it lands in its op or just
after it, never later, and the notebook's slowdown rep is timed from the op that met it."""

from __future__ import annotations

import time

import numpy as np
import pytest

from support.r2ccl import experiments as ex
from support.r2ccl.testbed import Fault, Testbed, op_done_at, run_job

DELAY = 0.5  # s added before every injection: far longer than one smoke-scale op (~30 ms)


def _slow_injection(monkeypatch, delay: float = DELAY):
    real = Testbed.inject

    def inject(self, fault):
        time.sleep(delay)
        real(self, fault)

    monkeypatch.setattr(Testbed, "inject", inject)


def _began(rank: dict, j: int) -> float:
    """Wall time at which this rank began op j (its end minus its own duration; never earlier than the truth)."""
    op = rank["ops"][j]
    return op["t_end"] - op["seconds"]


@pytest.mark.budget(60)
def test_with_hold_no_rank_begins_the_op_after_a_slowly_injected_fault_before_it_took_effect(monkeypatch, fault_cfg):
    _slow_injection(monkeypatch)
    small = {"kind": "allreduce", "n": 20_000}
    with Testbed(2, 2, rate_mbit=50) as tb:
        fault = Fault("link_down" if tb.mode == "netns" else "transport", 0, 1, at_op=1, frac=0.2)
        r = run_job(tb, [small] * 4, "balance", [fault], cfg=fault_cfg(), timeout=40, hold=True)
    assert r.exact and not r.errors, r.errors
    inj = fault.injected_at  # op 1 (a few ms) ends long before it; without hold op 2 began at once
    assert inj is not None
    assert all(_began(x, 2) >= inj for x in r.ranks), [(_began(x, 2), inj) for x in r.ranks]


@pytest.mark.budget(60)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_with_hold_a_failed_injection_still_releases_the_ranks(monkeypatch):
    # an injection that raises (nft missing, say) must not leave the ranks waiting for a release until op_timeout
    def inject(self, fault):
        raise RuntimeError("scripted injection failure")

    monkeypatch.setattr(Testbed, "inject", inject)
    with Testbed(2, 2, rate_mbit=50) as tb:
        fault = Fault("transport", 0, 1, at_op=0, frac=0.0)
        r = run_job(tb, [{"kind": "allreduce", "n": 1000}] * 2, "balance", [fault], cfg=ex.fast_cfg(op_timeout=20.0),
                    timeout=40, hold=True)
    assert r.exact and not r.errors, r.errors
    assert fault.injected_at is None
    assert r.wall_s < 10.0, r.wall_s  # released at once, not after op_timeout (20 s)


@pytest.mark.budget(60)
def test_a_link_down_slower_than_the_failure_op_is_timed_from_the_op_that_met_it(monkeypatch):
    # Without hold the fault landed ~8 smoke-scale ops after op 3 and failover_slowdowns raised "did not land in
    # op 3 in two tries"; with it the ranks wait before op 4 until the link is down, so op 4 is the failure op,
    # op 5 settles and ops 6-7 are the post-failure ones.
    _slow_injection(monkeypatch)
    with Testbed(2, 2, rate_mbit=50) as tb:
        per_rep, jobs = ex.failover_slowdowns(tb, 100_000, methods=("hot_repair",))
    row = per_rep.iloc[0]
    r = jobs["hot_repair"]
    inj = r.faults[0].injected_at
    ops = [x["ops"] for x in r.ranks]
    assert op_done_at(ops, 3) < inj and all(_began(x, 4) >= inj for x in r.ranks)
    assert row["failure_op"] == 4 and row["reruns"] == 0 and row["exact"]
    t = [r.op_seconds(j) for j in range(8)]
    assert row["failure_op_s"] == pytest.approx(t[4]) and t[4] > ex.fast_cfg().t_det  # it waited out detection
    assert row["healthy_s"] == pytest.approx(np.median(t[1:3]))
    assert row["post_s"] == pytest.approx(np.median(t[6:]))
