import pytest

from support.crms.latency_model import MonotoneLatency

# Fixture models shaped like the profiled workloads (CPU-bound, single-thread saturating, memory-sensitive).
MODELS = {
    "cpu_bound": MonotoneLatency(a=0.005, b=0.0, beta=1.0, h=0.09, g=0.0, gamma=1.0),
    "saturating": MonotoneLatency(a=0.07, b=0.6, beta=6.0, h=0.01, g=0.0, gamma=1.0),
    "mem_cache": MonotoneLatency(a=0.01, b=0.0, beta=1.0, h=0.09, g=0.12, gamma=6.0),
    "mem_join": MonotoneLatency(a=0.02, b=0.0, beta=1.0, h=0.06, g=0.5, gamma=9.0),
}


@pytest.fixture
def models():
    return dict(MODELS)
