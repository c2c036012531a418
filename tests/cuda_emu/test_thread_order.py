"""The emulator's thread schedules: a missing barrier between a writer and a reader shows in index order or in
reverse order (whichever runs the reader first), never in both; with the barrier every order agrees."""

import numpy as np
import pytest

from support.cuda_emu import ORDERS, EmuModule, compiler, thread_order

pytestmark = pytest.mark.skipif(compiler() is None, reason="no host C++ compiler")

SRC = r"""
#define NT 32
// thread t publishes base + t, then reads its neighbour t + step (-1: the lower one, +1: the higher one); the barrier
// in between is left out when sync is 0
extern "C" __global__ void neighbour(int* out, int base, int step, int sync) {
    __shared__ int s[NT];
    s[threadIdx.x] = base + threadIdx.x;
    if (sync) __syncthreads();
    const int j = (int)threadIdx.x + step;
    out[blockIdx.x * blockDim.x + threadIdx.x] = (j >= 0 && j < (int)blockDim.x) ? s[j] : -1;
}
// the order the threads of a block run in, before and after a barrier
extern "C" __global__ void schedule(unsigned int* count, int* before, int* after) {
    before[atomicAdd(&count[0], 1u)] = threadIdx.x;
    __syncthreads();
    after[atomicAdd(&count[1], 1u)] = threadIdx.x;
}
"""
N = 32


@pytest.fixture(scope="module")
def mod():
    return EmuModule(code=SRC)


def _neighbour(mod, step: int, sync: bool, base: int, **kw) -> np.ndarray:
    out = np.zeros(2 * N, np.int32)
    mod.get_function("neighbour")((2,), (N,), (out, np.int32(base), np.int32(step), np.int32(sync)), **kw)
    return out


def _want(step: int, base: int) -> np.ndarray:
    j = np.tile(np.arange(N), 2) + step
    return np.where((j >= 0) & (j < N), base + j, -1)


def _schedule(mod, **kw) -> tuple[list, list]:
    count, before, after = np.zeros(2, np.uint32), np.zeros(N, np.int32), np.zeros(N, np.int32)
    mod.get_function("schedule")((1,), (N,), (count, before, after), **kw)
    return before.tolist(), after.tolist()


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("step", [-1, 1])
def test_with_the_barrier_every_order_reads_the_neighbours_value(mod, order, step):
    base = 1000 * (ORDERS.index(order) + 1) + step  # a value no earlier launch left in shared memory
    assert _neighbour(mod, step, True, base, order=order, seed=7).tolist() == _want(step, base).tolist()


@pytest.mark.parametrize(("step", "shown_by", "hidden_by"), [(-1, "reverse", "forward"), (1, "forward", "reverse")])
def test_a_missing_barrier_is_shown_by_the_order_that_runs_the_reader_first(mod, step, shown_by, hidden_by):
    base = 50_000 + step
    assert _neighbour(mod, step, False, base, order=hidden_by).tolist() == _want(step, base).tolist()
    base += 10
    got = _neighbour(mod, step, False, base, order=shown_by)
    assert np.sum(got != _want(step, base)) >= N - 1  # every reader but the edge one saw a stale value


def test_the_schedules_are_index_order_its_reverse_and_a_seeded_shuffle(mod):
    fwd = list(range(N))  # after the barrier: the thread that completed it goes on, then the others as they came
    assert _schedule(mod, order="forward") == (fwd, [N - 1, *fwd[:-1]])
    assert _schedule(mod, order="reverse") == (fwd[::-1], [0, *fwd[::-1][:-1]])
    before, after = _schedule(mod, order="shuffle", seed=3)
    assert sorted(before) == fwd and sorted(after) == fwd
    assert before not in (fwd, fwd[::-1]) and after != before  # reshuffled at the barrier
    assert _schedule(mod, order="shuffle", seed=3) == (before, after)  # reproducible by seed
    assert _schedule(mod, order="shuffle", seed=4)[0] != before


def test_thread_order_sets_the_default_of_launches_inside_it_only(mod):
    fwd = list(range(N))
    with thread_order("reverse"):
        assert _schedule(mod)[0] == fwd[::-1]
        assert _schedule(mod, order="forward")[0] == fwd  # a launch's own order wins
    assert _schedule(mod)[0] == fwd


@pytest.mark.parametrize(("order", "seed", "message"), [
    ("backwards", 0, "order must be one of forward, reverse, shuffle; got 'backwards'"),
    ("shuffle", -1, r"seed must be an integer in \[0, 2\*\*64\); got -1"),
    ("shuffle", 1.5, "seed must be an integer"),
])
def test_a_bad_order_or_seed_is_named(mod, order, seed, message):
    with pytest.raises(ValueError, match=message):
        _schedule(mod, order=order, seed=seed)
    with pytest.raises(ValueError, match=message), thread_order(order, seed):
        pass
