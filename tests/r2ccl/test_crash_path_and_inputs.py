"""The abort-and-restart overhead depends on restart time and window alone; job inputs replay the recorded streams."""

from __future__ import annotations

import numpy as np
import pytest

from support.r2ccl import experiments as ex
from support.r2ccl import simulator as sim
from support.r2ccl.testbed import make_input
from support.r2ccl.transport import TransportConfig


def test_crash_overhead_is_restart_time_over_the_window():
    # median restart 68 min over a 24 h window: 4080 s / 86400 s = 4.7222 %
    assert sim.crash_overhead() == pytest.approx(100 * 4080 / 86400, rel=1e-12)
    assert sim.crash_overhead(3600.0, 7200.0) == pytest.approx(50.0, rel=1e-12)
    assert ex.paper_overheads()["crash"] == pytest.approx(100 * 4080 / 86400, rel=1e-12)


@pytest.mark.parametrize(("seed", "op", "rank"), [(0, 0, 0), (1, 3, 2), (12345, 7, 63)])
def test_job_input_is_the_recorded_seed_op_rank_stream(seed, op, rank):
    # recorded runs drew rank inputs from default_rng([seed, op, rank]); the inputs must replay bit for bit
    want = np.random.default_rng([seed, op, rank]).integers(-1024, 1025, size=257).astype("float32")
    assert make_input(seed, op, rank, 257).tobytes() == want.tobytes()
    assert make_input(seed, np.int64(op), np.int32(rank), 257).tobytes() == want.tobytes()


@pytest.mark.parametrize("chunk", [0, 63])
def test_transport_refuses_a_chunk_below_64_bytes(chunk):
    with pytest.raises(ValueError, match=rf"^chunk_bytes must be >= 64, got {chunk}"):
        TransportConfig(chunk_bytes=chunk)
