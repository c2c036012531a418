"""A kernel that crashes under the emulator (a missing barrier lets a thread read an index, a pointer or a divisor
from shared memory before it was written) fails its launch with a named error instead of killing the process.

Each crash runs in a child Python, so that if this regresses the child dies (and the test fails), not pytest."""

import json
import platform
import re
import signal
import subprocess
import sys
import textwrap

import pytest

from support.cuda_emu import compiler
from support.paths import REPO_ROOT

pytestmark = pytest.mark.skipif(compiler() is None, reason="no host C++ compiler")

SRC = r"""
// thread 0 reads where the block's segment ends; without the barrier (sync 0) the threads that run before it index
// by the end never written (0): x[2**32 - 1 - t], 16 GiB past the array
extern "C" __global__ void segment_tail(const unsigned int* ends, const float* x, float* y, int sync) {
    __shared__ unsigned int end;
    if (threadIdx.x == 0) end = ends[blockIdx.x];
    if (sync) __syncthreads();
    y[blockIdx.x * blockDim.x + threadIdx.x] = x[end - 1 - threadIdx.x];
}
// thread 0 publishes the block's output row; without the barrier the others write through the null pointer
extern "C" __global__ void unpublished_row(int* out, int sync) {
    __shared__ int* row;
    if (threadIdx.x == 0) row = out + blockIdx.x * blockDim.x;
    if (sync) __syncthreads();
    row[threadIdx.x] = (int)threadIdx.x;
}
// thread 0 reads the block's divisor; without the barrier the others divide by the one never written (0)
extern "C" __global__ void shared_divisor(const int* d, const int* x, int* y, int sync) {
    __shared__ int div;
    if (threadIdx.x == 0) div = d[blockIdx.x];
    if (sync) __syncthreads();
    y[threadIdx.x] = x[threadIdx.x] / div;
}
// every thread counts itself in and waits at the barrier, but thread 5 of block 1 writes 2**40 ints past `passed`
extern "C" __global__ void wild_in_block_one(int* arrived, int* passed) {
    atomicAdd(&arrived[blockIdx.x], 1);
    if (blockIdx.x == 1 && threadIdx.x == 5) passed[1ll << 40] = 1;
    __syncthreads();
    atomicAdd(&passed[blockIdx.x], 1);
}
// thread 0's locals (288 KiB) do not fit its fiber stack (256 KiB); the barrier first makes every thread's stack
// exist, so what lies below thread 0's stack is memory in use (another stack), not a gap that faults anyway
extern "C" __global__ void oversized_locals(int* out) {
    __syncthreads();
    if (threadIdx.x == 0) {
        volatile int big[72 * 1024];
        for (int i = 0; i < 72 * 1024; i += 512) big[i] = i;
        out[0] = big[512];
    }
    __syncthreads();
    out[threadIdx.x + 1] = 1;
}
"""

PRELUDE = textwrap.dedent("""
    import ctypes, faulthandler, json, sys
    import numpy as np
    from support.cuda_emu import EmulationError, EmuModule, thread_order
    faulthandler.enable()  # as under pytest: the handler that a crash outside a launch must still reach
    mod = EmuModule(code=sys.argv[1])

    def launch(name, *a, **kw):
        try:
            mod.get_function(name)(*a, **kw)
            msg = ""
        except EmulationError as e:
            msg = str(e)
        print(json.dumps(msg), flush=True)  # at once: if a later step kills this process, the test still sees it

    def show(x):
        print(json.dumps(x), flush=True)
""")
CRASH = (r"the emulated launch crashed \((SIG\w+): ([^)]*)\) in thread (\(.*?\)) of block (\(.*?\)), "
         r"in (\w+(?: \(seed \d+\))?) thread order")
HINT = "Look for a missing __syncthreads() (a thread read shared memory before the thread that writes it ran"


def _child(steps: str) -> tuple[subprocess.CompletedProcess, list]:
    """Runs ``steps`` after :data:`PRELUDE` (``mod`` compiled from :data:`SRC`) in a child Python: what it printed
    (one JSON value a line) and how it ended. A crash there fails the test instead of killing pytest."""
    r = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(steps), SRC], cwd=REPO_ROOT,
                       capture_output=True, text=True, timeout=300, check=False)
    return r, [json.loads(line) for line in r.stdout.splitlines()]


def _crash(message: str) -> tuple:
    """(kernel, signal, what, thread, block, order) of a crash message; AssertionError if it is not one."""
    m = re.match(r"(\w+): " + CRASH, message)
    assert m is not None and HINT in message, message
    return m.groups()


def test_a_missing_barrier_that_indexes_by_an_unwritten_shared_value_fails_the_launch_by_name():
    r, out = _child("""
        ends, x, y = np.array([32, 64], np.uint32), np.arange(64, dtype=np.float32), np.zeros(64, np.float32)
        launch("segment_tail", (2,), (32,), (ends, x, y, np.int32(0)), order="reverse")
        launch("segment_tail", (2,), (32,), (ends, x, y, np.int32(1)), order="reverse")  # the same process goes on
        show(y.tolist())
    """)
    assert r.returncode == 0, r.stderr[-3000:]
    kernel, sig, what, thread, block, order = _crash(out[0])
    # thread 31 runs first in reverse order and reads x[2**32 - 1 - 31]: an address, not a value, so only its form
    assert (kernel, sig, thread, block, order) == ("segment_tail", "SIGSEGV", "(31, 0, 0)", "(0, 0, 0)", "reverse")
    assert re.fullmatch(r"an invalid memory access at 0x[0-9a-f]+", what)
    assert out[1] == ""
    assert out[2] == [31 - t for t in range(32)] + [63 - t for t in range(32)]  # x[end - 1 - t], end 32 then 64


def test_a_null_pointer_read_from_shared_memory_is_named_with_the_address_it_wrote():
    r, out = _child("""
        row = np.zeros(64, np.int32)
        with thread_order("reverse"):
            launch("unpublished_row", (2,), (32,), (row, np.int32(0)))
            launch("unpublished_row", (2,), (32,), (row, np.int32(1)))
        show(row.tolist())
    """)
    assert r.returncode == 0, r.stderr[-3000:]
    # thread 31 writes row[31] through the null pointer: 31 * 4 bytes = 0x7c
    assert _crash(out[0]) == ("unpublished_row", "SIGSEGV", "an invalid memory access at 0x7c", "(31, 0, 0)",
                              "(0, 0, 0)", "reverse")
    assert out[1] == "" and out[2] == list(range(32)) * 2


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="only x86 traps an integer division by 0")
def test_a_division_by_an_unwritten_shared_divisor_is_named_as_an_arithmetic_fault():
    r, out = _child("""
        d, x, y = np.array([7], np.int32), np.arange(32, dtype=np.int32) * 7, np.zeros(32, np.int32)
        launch("shared_divisor", (1,), (32,), (d, x, y, np.int32(0)), order="reverse")
        launch("shared_divisor", (1,), (32,), (d, x, y, np.int32(1)), order="reverse")
        show(y.tolist())
    """)
    assert r.returncode == 0, r.stderr[-3000:]
    assert _crash(out[0]) == ("shared_divisor", "SIGFPE", "an arithmetic fault, e.g. an integer division by zero",
                              "(31, 0, 0)", "(0, 0, 0)", "reverse")
    assert out[1] == "" and out[2] == list(range(32))


def test_a_crash_drops_the_rest_of_its_block_and_every_later_block_at_once():
    r, out = _child("""
        import time
        arrived, passed = np.zeros(3, np.int32), np.zeros(3, np.int32)
        t0 = time.perf_counter()
        launch("wild_in_block_one", (3,), (32,), (arrived, passed), order="forward", timeout=60.0)
        show([time.perf_counter() - t0, arrived.tolist(), passed.tolist()])
        launch("wild_in_block_one", (3,), (32,), (arrived, passed), order="shuffle", seed=3)
    """)
    assert r.returncode == 0, r.stderr[-3000:]
    kernel, sig, _, thread, block, order = _crash(out[0])
    assert (kernel, sig, thread, block, order) == ("wild_in_block_one", "SIGSEGV", "(5, 0, 0)", "(1, 0, 0)",
                                                   "forward")
    seconds, arrived, passed = out[1]
    assert seconds < 20  # the threads waiting at the barrier are dropped, not left to its 60 s timeout
    # block 0 completes; in block 1 threads 0-4 (and any started on another worker) wait at the barrier when thread 5
    # crashes, and none passes it (thread 5 never arrives); block 2 never starts
    assert arrived[0] == 32 and 6 <= arrived[1] <= 31 and arrived[2] == 0
    assert passed == [32, 0, 0]
    assert _crash(out[2])[3:] == ("(5, 0, 0)", "(1, 0, 0)", "shuffle (seed 3)")  # a shuffle is named by its seed


def test_a_crash_outside_a_launch_still_reaches_the_process_own_handler():
    r, out = _child("""
        launch("unpublished_row", (1,), (32,), (np.zeros(32, np.int32), np.int32(0)), order="reverse")
        ctypes.string_at(0)  # a crash of this process's own, after the launch
        show("survived")
    """)
    assert _crash(out[0])[0] == "unpublished_row" and len(out) == 1
    assert r.returncode == -signal.SIGSEGV and "Fatal Python error: Segmentation fault" in r.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="reads glibc's struct sigaction")
def test_a_launch_leaves_the_process_signal_handlers_as_it_found_them():
    r, out = _child("""
        libc = ctypes.CDLL(None, use_errno=True)
        def handlers():  # the handler address of each fault signal (the first field of struct sigaction)
            got = []
            for sig in (11, 7, 8, 4):  # SIGSEGV, SIGBUS, SIGFPE, SIGILL
                buf = ctypes.create_string_buffer(1024)
                assert libc.sigaction(sig, None, buf) == 0
                got.append(ctypes.c_void_p.from_buffer(buf).value or 0)
            return got
        show(handlers())
        launch("unpublished_row", (1,), (32,), (np.zeros(32, np.int32), np.int32(0)), order="reverse")
        show(handlers())
        launch("unpublished_row", (1,), (32,), (np.zeros(32, np.int32), np.int32(1)))
        show(handlers())
    """)
    assert r.returncode == 0, r.stderr[-3000:]
    before, crashed, after_crash, ok, after_ok = out
    assert _crash(crashed)[0] == "unpublished_row" and ok == ""
    assert before[0] != 0 and after_crash == before and after_ok == before  # faulthandler's, kept


def test_a_thread_whose_locals_overflow_its_stack_fails_the_launch_instead_of_writing_over_memory():
    r, out = _child("""
        got = np.zeros(33, np.int32)
        launch("oversized_locals", (1,), (32,), (got,))
        show(got.tolist())
    """)
    assert r.returncode == 0, r.stderr[-3000:]
    kernel, sig, _, thread, block, _ = _crash(out[0])  # thread 0 hits the guard page below its stack
    assert (kernel, sig, thread, block) == ("oversized_locals", "SIGSEGV", "(0, 0, 0)", "(0, 0, 0)")
    assert out[1] == [0] * 33  # thread 0 never finished its locals and no thread passed the second barrier
