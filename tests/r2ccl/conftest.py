"""Every test in this folder is bounded in time: SIGALRM fails it after its budget."""

from __future__ import annotations

import signal

import pytest

from support.r2ccl import experiments as ex
from support.r2ccl.transport import TransportConfig

# Detection in the fault tests waits 1 s of silence, not fast_cfg's 0.3 s: on a loaded 2-core machine a rank process
# stopped for 0.31 s had every NIC towards it declared dead (AllNicsFailed) or a healthy rail failed with the real one.
FAULT_TEST_T_DET = 1.0


@pytest.fixture
def fault_cfg():
    """``fault_cfg(**kw)``: the notebook's fast transport settings, but detecting a failure after
    ``FAULT_TEST_T_DET`` of silence (one value for every fault test in this folder)."""
    def make(**kw) -> TransportConfig:
        return ex.fast_cfg(t_det=FAULT_TEST_T_DET, **kw)
    return make


@pytest.fixture(autouse=True)
def time_bound(request):
    marker = request.node.get_closest_marker("budget")
    seconds = int(marker.args[0]) if marker else 60

    def boom(signum, frame):
        raise TimeoutError(f"test exceeded its {seconds}s budget")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def pytest_configure(config):
    config.addinivalue_line("markers", "budget(seconds): wall-clock budget of one r2ccl test")
