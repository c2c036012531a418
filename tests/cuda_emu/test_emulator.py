"""The CUDA emulator itself, on kernels whose answers are known (NumPy computes them independently)."""

import numpy as np
import pytest

from support.cuda_emu import EmulationError, EmuModule, compiler, thread_order

pytestmark = pytest.mark.skipif(compiler() is None, reason="no host C++ compiler")

SRC = r"""
#include <cuda_fp16.h>
#define NT 64
// block-wide reversal through shared memory: wrong without the barrier
extern "C" __global__ void reverse(const float* x, float* y, int n) {
    __shared__ float buf[NT];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    buf[threadIdx.x] = i < n ? x[i] : 0.f;
    __syncthreads();
    int j = blockIdx.x * blockDim.x + (blockDim.x - 1 - threadIdx.x);
    if (i < n && j < n) y[i] = buf[blockDim.x - 1 - threadIdx.x];
}
// every thread adds into one cell
extern "C" __global__ void count(float* acc, unsigned int* n) {
    atomicAdd(acc, 1.0f);
    atomicAdd(n, 1u);
}
// dynamic shared memory and 2-D grids
extern "C" __global__ void tile_sum(const int* x, int* out, int w) {
    extern __shared__ int s[];
    int t = threadIdx.y * blockDim.x + threadIdx.x;
    int gx = blockIdx.x * blockDim.x + threadIdx.x, gy = blockIdx.y * blockDim.y + threadIdx.y;
    s[t] = x[gy * w + gx];
    __syncthreads();
    for (int off = (blockDim.x * blockDim.y) / 2; off > 0; off >>= 1) {
        if (t < off) s[t] += s[t + off];
        __syncthreads();
    }
    if (t == 0) out[blockIdx.y * gridDim.x + blockIdx.x] = s[0];
}
extern "C" __global__ void funnel(const unsigned int* lo, const unsigned int* hi, unsigned int* out) {
    int i = threadIdx.x;
    out[i] = __funnelshift_r(lo[i], hi[i], i);
}
extern "C" __global__ void halves(const __half* h, float* out) { out[threadIdx.x] = __half2float(h[threadIdx.x]); }
// in block 1, thread 0 waits for a flag that the others set only after a barrier it never reaches
extern "C" __global__ void missed_barrier(volatile int* flag) {
    if (blockIdx.x == 1 && threadIdx.x == 0) {
        while (flag[1] == 0) {}
        return;
    }
    __syncthreads();
    flag[blockIdx.x] = 1;
}
// a 1024-thread block sums its values by halving, one barrier per step (ten barriers)
extern "C" __global__ void block_sum(const int* x, int* out) {
    __shared__ int s[1024];
    s[threadIdx.x] = x[blockIdx.x * blockDim.x + threadIdx.x];
    __syncthreads();
    for (int off = blockDim.x / 2; off > 0; off >>= 1) {
        if (threadIdx.x < off) s[threadIdx.x] += s[threadIdx.x + off];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = s[0];
}
// no barrier: thread 0 spins until the block's last thread has set the flag
extern "C" __global__ void wait_for_last(volatile int* flag, int* seen) {
    if (threadIdx.x == 0) {
        while (flag[blockIdx.x] == 0) {}
        seen[blockIdx.x] = 1;
    } else if (threadIdx.x == blockDim.x - 1) {
        flag[blockIdx.x] = 1;
    }
}
// threads leave a block at different points; a thread that returned no longer holds the barrier
extern "C" __global__ void early_exit(int* x) {
    if (threadIdx.x % 2 == 0) return;
    __syncthreads();
    atomicAdd(x, 1);
}
"""


@pytest.fixture(scope="module")
def mod():
    return EmuModule(code=SRC)


@pytest.fixture(autouse=True, params=["forward", "reverse"])
def order(request):
    """Every test in both thread schedules: the answers must not depend on the order threads run in."""
    with thread_order(request.param):
        yield request.param


def test_shared_memory_reversal_with_a_barrier_matches_numpy(mod):
    x = np.arange(200, dtype=np.float32)
    y = np.full_like(x, -1)
    mod.get_function("reverse")((4,), (64,), (x, y, np.int32(200)))
    want = np.concatenate([x[k:k + 64][::-1] for k in range(0, 192, 64)])
    assert np.array_equal(y[:192], want) and np.all(y[192:] == -1)  # the partial last block is skipped


def test_atomics_count_every_thread_of_every_block(mod):
    acc, n = np.zeros(1, np.float32), np.zeros(1, np.uint32)
    mod.get_function("count")((3, 2), (5, 4), (acc, n))
    assert acc[0] == 120 and n[0] == 120


def test_dynamic_shared_memory_tree_reduction_over_a_2d_grid(mod):
    rng = np.random.default_rng(0)
    x = rng.integers(-100, 100, size=(16, 24)).astype(np.int32)
    out = np.zeros((2, 3), np.int32)
    mod.get_function("tile_sum")((3, 2), (8, 8), (x, out, np.int32(24)), shared_mem=64 * 4)
    assert np.array_equal(out, x.reshape(2, 8, 3, 8).sum(axis=(1, 3)))


def test_funnelshift_and_half_conversions_match_numpy(mod):
    rng = np.random.default_rng(1)
    lo, hi = (rng.integers(0, 2**32, 32, dtype=np.uint64).astype(np.uint32) for _ in range(2))
    out = np.zeros(32, np.uint32)
    mod.get_function("funnel")((1,), (32,), (lo, hi, out))
    want = ((hi.astype(np.uint64) << 32 | lo) >> np.arange(32, dtype=np.uint64)).astype(np.uint32)
    assert np.array_equal(out, want)
    h = rng.normal(size=16).astype(np.float16)
    f = np.zeros(16, np.float32)
    mod.get_function("halves")((1,), (16,), (h, f))
    assert np.array_equal(f, h.astype(np.float32))


def test_threads_that_return_early_leave_the_barrier(mod):
    x = np.zeros(1, np.int32)
    mod.get_function("early_exit")((3,), (8,), (x,), timeout=5.0)
    assert x[0] == 12


def test_a_1024_thread_block_passes_ten_barriers_and_matches_numpy(mod):
    x = np.random.default_rng(2).integers(-1000, 1000, 3 * 1024).astype(np.int32)
    out = np.zeros(3, np.int32)
    mod.get_function("block_sum")((3,), (1024,), (x, out), timeout=10.0)
    assert out.tolist() == x.reshape(3, 1024).sum(axis=1).tolist()


def test_a_thread_spinning_on_a_later_thread_of_its_block_sees_it_run(mod):
    # a thread that neither returns nor waits at a barrier must not keep the rest of its block from starting
    flag, seen = np.zeros(2, np.int32), np.zeros(2, np.int32)
    mod.get_function("wait_for_last")((2,), (64,), (flag, seen), timeout=1.0)
    assert flag.tolist() == [1, 1] and seen.tolist() == [1, 1]


def test_a_barrier_one_thread_never_reaches_fails_the_launch_and_names_the_block(mod, order):
    if order == "reverse":  # thread 0 would start last, on the worker holding the waiters, and spin there: a stall
        pytest.skip("in reverse order this kernel stalls its worker (the header's documented limit), no timeout")
    flag = np.zeros(3, np.int32)
    with pytest.raises(EmulationError, match=r"block \(1, 0, 0\): __syncthreads\(\) waited over 0.3 s"):
        mod.get_function("missed_barrier")((3,), (4,), (flag,), timeout=0.3)
    assert flag.tolist() == [1, 1, 0]  # block 1's waiters were released (so its thread 0 finished); block 2 never ran


def test_bad_arguments_are_named(mod):
    k = mod.get_function("count")
    with pytest.raises(TypeError, match="takes 2 arguments, got 1"):
        k((1,), (1,), (np.zeros(1, np.float32),))
    with pytest.raises(TypeError, match="plain Python number"):
        k((1,), (1,), (np.zeros(1, np.float32), 3))
    with pytest.raises(ValueError, match="1024"):
        k((1,), (2048,), (np.zeros(1, np.float32), np.zeros(1, np.uint32)))
    with pytest.raises(EmulationError, match="not found"):
        mod.get_function("nope")
    with pytest.raises(EmulationError, match="compile failed"):
        EmuModule(code='extern "C" __global__ void k() { undefined_thing(); }')


def test_a_strided_array_or_a_zero_grid_or_block_dimension_is_refused_by_name(mod):
    """The kernel sees a raw pointer: a strided view would hand it the wrong elements; a zero dimension is no launch."""
    k = mod.get_function("count")
    acc, n = np.zeros(4, np.float32), np.zeros(1, np.uint32)
    with pytest.raises(ValueError, match="C-contiguous"):
        k((1,), (1,), (acc[::2], n))
    for grid, block in (((0,), (1,)), ((1,), (4, 0)), ((1, 1, 1, 1), (1,))):
        with pytest.raises(ValueError, match="1-3 positive integers"):
            k(grid, block, (acc, n))
    assert acc[0] == 0 and n[0] == 0  # nothing ran
