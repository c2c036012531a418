"""Start-up: no rank starts its channels (and their silence clocks) before every rank has its whole mesh."""

from __future__ import annotations

import time

import pytest

from support.r2ccl import experiments as ex
from support.r2ccl.testbed import Testbed, run_job
from support.r2ccl.transport import TransportConfig


def _host(addr: str) -> int:
    """The host (rank) an address of the testbed belongs to: its last octet is the host + 1 in both modes."""
    return int(addr.rsplit(".", 1)[1]) - 1


@pytest.mark.budget(60)
@pytest.mark.parametrize("cfg", [ex.fast_cfg(), TransportConfig()], ids=["fast", "default"])
def test_a_rank_slow_to_finish_connecting_is_not_taken_for_a_failure(monkeypatch, cfg):
    """Rank 0 connects to rank 1, then stalls 1 s before its first connection to rank 2 (a loaded machine). Rank 1
    has its whole mesh meanwhile; before the start barrier it started its channels at once, heard nothing from
    rank 0 for t_det = 0.3 s (rank 0 starts its heartbeats only once its own mesh is complete) and declared NICs
    towards rank 0 dead. Now every rank starts its channels together and the job runs without a detection. The
    silence clock must start with the channel too: stamped when the connection was built, it ran through the
    barrier, and with the default settings (heartbeat 0.1 s, t_det 0.6 s) every link was declared dead on the
    first quiet poll after it (3 of 3 runs failed with AllNicsFailed). The rank processes are forked, so the
    patched function runs in them (each with its own ``stalled``)."""
    from support.r2ccl import transport as tr_mod

    real, stalled = tr_mod._connect_bound, []

    def connect(src, dst, deadline, cc=None):
        if not stalled and _host(src) == 0 and _host(dst[0]) == 2:
            stalled.append(dst)
            time.sleep(1.0)
        return real(src, dst, deadline, cc)

    monkeypatch.setattr(tr_mod, "_connect_bound", connect)
    with Testbed(3, 2, rate_mbit=100) as tb:
        r = run_job(tb, [{"kind": "allreduce", "n": 20_000}] * 2, "balance", cfg=cfg, timeout=40)
    assert not r.errors, r.errors
    assert r.exact
    assert [x["detections"] for x in r.ranks] == [[], [], []]
