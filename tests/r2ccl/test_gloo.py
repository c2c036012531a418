"""The gloo peer (paper §1: a stock library aborts on a NIC failure): a link-down raises after the
process-group timeout, and the group stays dead once the link is healed (told apart from a dead link)."""

from __future__ import annotations

import pytest

from support.r2ccl import experiments as ex
from support.r2ccl.gloo_baseline import run_gloo, torch_available
from support.r2ccl.testbed import Fault, Testbed

pytestmark = pytest.mark.skipif(not torch_available(), reason="torch (gloo) is not installed")


@pytest.mark.budget(90)
def test_gloo_under_a_link_down_raises_and_its_group_is_dead_after_the_link_is_healed():
    # An allreduce of 600k floats takes ~1 s at 20 Mbit (gloo uses one NIC): the link-down, due ~0.3 s into the last
    # one, lands inside it even when `ip link set down` waits ~0.1 s for the rtnl lock (at 100k floats, ~0.16 s per
    # op, it had a ~0.1 s window). gloo raises when its 2 s timeout expires: not before, and well before a missing
    # timeout would show (run_gloo's own limit is 120 s); a rank process delayed on a loaded machine may add a
    # second or two.
    with Testbed(2, 2, rate_mbit=20) as tb:
        if tb.mode != "netns":
            pytest.skip("gloo's sockets can be faulted only on the netns testbed")
        g = ex.gloo_compare(tb, 600_000, iters=3, pg_timeout=2.0)
    assert g["fault_landed"] and g["exact"]
    assert "Timed out" in g["error"] and 2.0 - 0.5 <= g["error_after_s"] <= 2.0 + 3.0, g["error_after_s"]
    assert g["pg_dead"] is True and g["probe_error"]


@pytest.mark.budget(90)
def test_gloo_without_a_fault_is_exact_raises_nothing_and_probes_nothing():
    with Testbed(2, 2, rate_mbit=50) as tb:
        g = ex.gloo_compare(tb, 50_000, iters=3, fault=False)
    assert g["exact"] and g["error"] is None and g["pg_dead"] is None and not g["fault_landed"]
    assert g["t_healthy"] > 0


@pytest.mark.budget(90)
def test_the_group_is_probed_after_the_link_is_healed_and_reported_alive_when_it_works(monkeypatch):
    # every rank's third allreduce raises by script, without touching the network, while (netns) NIC 0 of host 0
    # is down; once every rank has failed the link must be healed before the probe, which then runs on an intact
    # group and must succeed: pg_dead False. Probing on the dead link (or reporting every group dead) fails here.
    import time

    import torch.distributed as dist

    real = dist.all_reduce
    calls = []

    def third_call_fails(t, *a, **kw):
        calls.append(1)  # per rank process: the list is copied at fork
        if len(calls) == 3:
            time.sleep(1.0)  # the parent takes the link down at the start of this iteration
            raise RuntimeError("scripted failure")
        return real(t, *a, **kw)

    monkeypatch.setattr(dist, "all_reduce", third_call_fails)
    with Testbed(2, 2, rate_mbit=50) as tb:
        fault = Fault("link_down", 0, 0, at_op=2, frac=0.0) if tb.mode == "netns" else None
        r = run_gloo(tb, 10_000, iters=4, nic=0, fault=fault, pg_timeout=3.0)
    assert not r["errors"], r["errors"]
    assert fault is None or fault.injected_at is not None
    for rk in r["ranks"]:
        assert rk["error"] == "scripted failure" and len(rk["ops"]) == 2
        assert rk["pg_dead"] is False and rk["probe_error"] is None
