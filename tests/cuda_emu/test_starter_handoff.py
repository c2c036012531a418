"""When the emulator hands the starting of a block's threads to another worker: only when the starter is running a
CUDA thread (its OS thread uses CPU), not when it is merely off the CPU (descheduled on a loaded machine, or asleep),
which would run the block on two workers at once and break the documented thread order.

A sleeping CUDA thread stands in for a descheduled worker: neither uses CPU while no thread of the block progresses.
A thread that spins on a later thread's flag must still see it started: test_emulator.py's
``test_a_thread_spinning_on_a_later_thread_of_its_block_sees_it_run`` and
``test_a_barrier_one_thread_never_reaches_fails_the_launch_and_names_the_block`` (forward order) cover that."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from support.cuda_emu import EmuModule, compiler
from support.paths import REPO_ROOT

pytestmark = pytest.mark.skipif(compiler() is None, reason="no host C++ compiler")

SRC = r"""
#include <time.h>
#include <unistd.h>
// the order the threads of a block run in, before and after a barrier (as test_thread_order.py's schedule), but
// thread `sleeper` first sleeps `ms` milliseconds, using no CPU, before it counts itself in
extern "C" __global__ void sleepy_schedule(unsigned int* count, int* before, int* after, int sleeper, int ms) {
    if ((int)threadIdx.x == sleeper) {
        timespec ts{ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0) {}  // interrupted: sleep the rest
    }
    before[atomicAdd(&count[0], 1u)] = threadIdx.x;
    __syncthreads();
    after[atomicAdd(&count[1], 1u)] = threadIdx.x;
}
// no barrier: thread 0 polls, sleeping 20 ms between reads, until the block's last thread has set the flag
extern "C" __global__ void poll_for_last(volatile int* flag, int* seen) {
    if (threadIdx.x == 0) {
        while (flag[blockIdx.x] == 0) usleep(20000);
        seen[blockIdx.x] = 1;
    } else if (threadIdx.x == blockDim.x - 1) {
        flag[blockIdx.x] = 1;
    }
}
// every thread spins on a flag no thread sets
extern "C" __global__ void spin_forever(volatile int* flag) {
    while (flag[0] == 0) {}
}
"""
N = 32


@pytest.fixture(scope="module")
def mod():
    return EmuModule(code=SRC)


def _sleepy_schedule(mod, sleeper: int, ms: int, order: str) -> tuple[list, list]:
    count, before, after = np.zeros(2, np.uint32), np.full(N, -1, np.int32), np.full(N, -1, np.int32)
    mod.get_function("sleepy_schedule")((1,), (N,), (count, before, after, np.int32(sleeper), np.int32(ms)),
                                        order=order, timeout=5.0)
    return before.tolist(), after.tolist()


@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_a_thread_that_sleeps_without_spinning_keeps_its_block_in_the_documented_order(mod, order):
    # 50 ms asleep is five hand-over intervals (10 ms) with no progress, but no CPU used: the block stays on one
    # worker, so threads start in index order (or its reverse) and, after the barrier, the one that completed it
    # goes on first, then the others as they came (the sleeper among them, in its place)
    fwd = list(range(N))
    start = fwd if order == "forward" else fwd[::-1]
    for sleeper in (start[5], start[-1]):  # one with threads still to start after it, and the last one
        assert _sleepy_schedule(mod, sleeper, 50, order) == (start, [start[-1], *start[:-1]])


def test_a_thread_that_polls_with_sleeps_for_a_later_thread_still_sees_it_run(mod):
    # thread 0 uses next to no CPU while it waits (about 0.1%: it would take seconds to use the 5 ms that count as
    # running), yet it waits for a thread not started: after timeout / 2 (0.5 s) without progress the rest of its
    # block is started elsewhere anyway, before the launch would end stuck (2 s without progress: an error)
    flag, seen = np.zeros(2, np.int32), np.zeros(2, np.int32)
    mod.get_function("poll_for_last")((2,), (8,), (flag, seen), order="forward", timeout=1.0)
    assert flag.tolist() == [1, 1] and seen.tolist() == [1, 1]


def test_a_block_whose_threads_all_spin_forever_still_ends_the_launch_with_a_named_stall():
    # in a child Python: the spinning workers cannot be stopped, so they must not stay in this process
    steps = textwrap.dedent("""
        import json, os, sys, time
        import numpy as np
        from support.cuda_emu import EmulationError, EmuModule
        spin = EmuModule(code=sys.argv[1]).get_function("spin_forever")
        t0 = time.perf_counter()
        try:
            spin((1,), (2,), (np.zeros(1, np.int32),), order="forward", timeout=0.2)
            msg = ""
        except EmulationError as e:
            msg = str(e)
        print(json.dumps([msg, time.perf_counter() - t0]), flush=True)
        os._exit(0)  # the workers spin on
    """)
    r = subprocess.run([sys.executable, "-c", steps, SRC], cwd=REPO_ROOT, capture_output=True, text=True,
                       timeout=300, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    msg, seconds = json.loads(r.stdout.splitlines()[-1])
    assert msg == ("spin_forever: block (0, 0, 0) made no progress for 0.4 s (a thread spins or waits forever); "
                   "the process should be restarted")
    assert 0.4 <= seconds < 10
