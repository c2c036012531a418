"""The CuPy stand-in refuses what CUDA refuses in a stream capture, and a graph replays what was captured."""

import numpy as np
import pytest

from support.cuda_emu import compiler
from support.cuda_emu import cupy_stub as cp

pytestmark = pytest.mark.skipif(compiler() is None, reason="no host C++ compiler")

SRC = r"""
extern "C" __global__ void add_one(int* x, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] += 1;
}
"""


@pytest.fixture(scope="module")
def add_one():
    return cp.RawModule(code=SRC).get_function("add_one")


def test_launches_run_at_once_outside_a_capture(add_one):
    x = cp.zeros(5, cp.int32)
    add_one((1,), (8,), (x, np.int32(5)))
    assert x.tolist() == [1] * 5


def test_a_capture_records_launches_and_each_replay_runs_them(add_one):
    x = cp.zeros(5, cp.int32)
    s = cp.cuda.Stream()
    with s:
        s.begin_capture()
        add_one((1,), (8,), (x, np.int32(5)))
        add_one((1,), (8,), (x, np.int32(3)))
        graph = s.end_capture()
    assert x.tolist() == [0] * 5
    graph.launch(s)
    graph.launch(s)
    assert x.tolist() == [4, 4, 4, 2, 2]


def _forked_capture(add_one, x, join: bool):
    cap, side = cp.cuda.Stream(), cp.cuda.Stream()
    with cap:
        cap.begin_capture()
        fork = cp.cuda.Event()
        fork.record(cap)
        side.wait_event(fork)
        with side:
            add_one((1,), (8,), (x, np.int32(5)))
        if join:
            done = cp.cuda.Event()
            done.record(side)
            cap.wait_event(done)
        return cap.end_capture()


def test_a_forked_stream_joins_the_capture_and_must_be_joined_back(add_one):
    x = cp.zeros(5, cp.int32)
    _forked_capture(add_one, x, join=True).launch()
    assert x.tolist() == [1] * 5
    with pytest.raises(cp.CaptureError, match="not joined back"):
        _forked_capture(add_one, x, join=False)


def test_large_dynamic_shared_memory_needs_the_opt_in(add_one):
    x = cp.zeros(5, cp.int32)
    with pytest.raises(RuntimeError, match="max_dynamic_shared_size_bytes"):
        add_one((1,), (8,), (x, np.int32(5)), shared_mem=64 * 1024)
    add_one.max_dynamic_shared_size_bytes = 64 * 1024
    add_one((1,), (8,), (x, np.int32(5)), shared_mem=64 * 1024)
    assert x.tolist() == [1] * 5


def test_dynamic_shared_memory_up_to_48_kib_needs_no_opt_in_and_one_byte_more_does():
    """CUDA's default limit of dynamic shared memory per block is 48 KiB (CUDA C++ Programming Guide); above it a
    kernel needs cudaFuncAttributeMaxDynamicSharedMemorySize (CuPy: max_dynamic_shared_size_bytes)."""
    k = cp.RawModule(code=SRC).get_function("add_one")  # a fresh kernel: no opt-in set by another test
    x = cp.zeros(5, cp.int32)
    k((1,), (8,), (x, np.int32(5)), shared_mem=48 * 1024)
    assert x.tolist() == [1] * 5
    with pytest.raises(RuntimeError, match="max_dynamic_shared_size_bytes"):
        k((1,), (8,), (x, np.int32(5)), shared_mem=48 * 1024 + 1)


def test_a_stream_refuses_a_second_capture_a_synchronize_while_capturing_and_ending_twice(add_one):
    """What CUDA refuses: cudaStreamBeginCapture on a capturing stream, cudaStreamSynchronize during a capture
    (cudaErrorStreamCaptureUnsupported), cudaStreamEndCapture without a capture."""
    s = cp.cuda.Stream()
    with s:
        s.begin_capture()
        with pytest.raises(cp.CaptureError, match="already capturing"):
            s.begin_capture()
        with pytest.raises(cp.CaptureError, match="synchronize on a capturing stream"):
            s.synchronize()
        s.end_capture()
        with pytest.raises(cp.CaptureError, match="did not begin the capture"):
            s.end_capture()
    s.synchronize()  # after the capture: fine
