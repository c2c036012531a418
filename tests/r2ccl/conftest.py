"""Every test in this folder is bounded in time: SIGALRM fails it after its budget."""

from __future__ import annotations

import signal

import pytest


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
