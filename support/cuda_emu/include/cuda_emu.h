// CPU emulation of the CUDA C execution model, for testing our kernels without a GPU (support.cuda_emu).
//
// A kernel compiles as an ordinary C++20 function that runs the body of ONE thread. The launcher (emu_run,
// below) runs the blocks of a grid one after another and, inside a block, one OS thread per CUDA thread, so
// __syncthreads() is a real barrier and block-shared memory (`__shared__` -> `static`) is shared by the
// threads of the running block only. Not emulated: warps (no lock-step; code that relies on implicit warp
// synchronisation fails here, as it may on Volta+), timing, memory coalescing, texture/surface memory.
#pragma once
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __constant__
#define __shared__ static

struct dim3 {
    unsigned int x = 1, y = 1, z = 1;
};
using uint3 = dim3;

static thread_local dim3 threadIdx, blockIdx;
static dim3 blockDim, gridDim;
static unsigned char* emu_dynamic_smem = nullptr;

namespace emu {
struct Barrier {
    std::mutex m;
    std::condition_variable cv;
    int expected = 0, arrived = 0;
    unsigned long gen = 0;
    bool failed = false;
};
static Barrier bar;
static double timeout_s = 30.0;
}  // namespace emu

// A barrier over the live threads of the block. A thread that returns from the kernel leaves the barrier
// (emu_thread_exit), as an exited warp does on the GPU. A wait longer than the timeout marks the launch failed
// (a thread skipped a __syncthreads the others reached) instead of hanging the test.
static void __syncthreads() {
    std::unique_lock<std::mutex> l(emu::bar.m);
    if (emu::bar.failed) return;
    const unsigned long g = emu::bar.gen;
    if (++emu::bar.arrived >= emu::bar.expected) {
        emu::bar.arrived = 0;
        ++emu::bar.gen;
        emu::bar.cv.notify_all();
        return;
    }
    const auto limit = std::chrono::duration<double>(emu::timeout_s);
    if (!emu::bar.cv.wait_for(l, limit, [&] { return emu::bar.gen != g || emu::bar.failed; })) {
        emu::bar.failed = true;
        emu::bar.cv.notify_all();
    }
}

static inline unsigned int __funnelshift_r(unsigned int lo, unsigned int hi, unsigned int shift) {
    return (unsigned int)((((unsigned long long)hi << 32) | lo) >> (shift & 31u));
}
static inline unsigned int __funnelshift_l(unsigned int lo, unsigned int hi, unsigned int shift) {
    return (unsigned int)(((((unsigned long long)hi << 32) | lo) << (shift & 31u)) >> 32);
}

// Byte permute: byte i of the result is byte (s >> 4i) & 7 of the 8-byte value y:x (the sign-replicate mode of
// selector bit 3 is not emulated).
static inline unsigned int __byte_perm(unsigned int x, unsigned int y, unsigned int s) {
    const unsigned long long v = ((unsigned long long)y << 32) | x;
    unsigned int r = 0;
    for (int i = 0; i < 4; i++) r |= (unsigned int)((v >> (8 * ((s >> (4 * i)) & 7))) & 0xFF) << (8 * i);
    return r;
}

// CUDA's integer/float min and max (device overloads) for mixed argument types.
template <typename A, typename B>
static inline std::common_type_t<A, B> min(A a, B b) { return a < b ? a : b; }
template <typename A, typename B>
static inline std::common_type_t<A, B> max(A a, B b) { return a < b ? b : a; }

template <typename T>
static inline T atomicAdd(T* address, T val) {
    return std::atomic_ref<T>(*address).fetch_add(val);
}

extern "C" {
void emu_set_grid(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz) {
    gridDim = dim3{gx, gy, gz};
    blockDim = dim3{bx, by, bz};
}
void emu_set_smem(unsigned char* p) { emu_dynamic_smem = p; }
void emu_thread_exit() {
    std::lock_guard<std::mutex> l(emu::bar.m);
    --emu::bar.expected;
    if (emu::bar.arrived > 0 && emu::bar.arrived >= emu::bar.expected) {
        emu::bar.arrived = 0;
        ++emu::bar.gen;
        emu::bar.cv.notify_all();
    }
}
}

// The launcher in C++: one std::thread per CUDA thread, looping over the blocks in turn behind a gate (a barrier
// whose last arrival picks the next block), so a launch runs without the Python interpreter. Kernels are called
// through a trampoline that unpacks an array of argument addresses (emu_tramp_<name>, generated per kernel).
namespace emu {
template <typename... P, std::size_t... I>
static void call(void (*f)(P...), void** a, std::index_sequence<I...>) {
    f(*static_cast<std::remove_reference_t<P>*>(a[I])...);
}
template <typename... P>
static void invoke(void (*f)(P...), void** a) { call(f, a, std::index_sequence_for<P...>{}); }
template <typename... P>
static int arity(void (*)(P...)) { return (int)sizeof...(P); }

struct Launch {
    std::mutex m;
    std::condition_variable cv;
    unsigned nt = 0, arrived = 0, done = 0;
    unsigned long gen = 0, next = 0, nblocks = 0, cur = 0;
    bool stop = false;
    int status = 0;  // 0 ok, 1 a __syncthreads timed out in block cur, 2 a block did not finish in time
};
static Launch launch;

static void reset_block() {
    std::lock_guard<std::mutex> l(bar.m);
    bar.expected = (int)launch.nt;
    bar.arrived = 0;
    bar.failed = false;
}

// Block coordinates of the c-th block, x fastest (the order blocks run in).
static dim3 block_of(unsigned long c) {
    return dim3{(unsigned)(c % gridDim.x), (unsigned)(c / gridDim.x % gridDim.y),
                (unsigned)(c / ((unsigned long)gridDim.x * gridDim.y))};
}

// All threads meet here between blocks; false once the grid is done or the launch failed.
static bool gate(dim3& blk) {
    std::unique_lock<std::mutex> l(launch.m);
    const unsigned long g = launch.gen;
    if (++launch.arrived == launch.nt) {
        launch.arrived = 0;
        if (bar.failed) {  // reset before the first block, so set only by the block that just ran
            launch.stop = true;
            launch.status = 1;
        } else if (launch.next >= launch.nblocks) {
            launch.stop = true;
        } else {
            launch.cur = launch.next++;
            reset_block();
        }
        ++launch.gen;
        launch.cv.notify_all();
    } else if (!launch.cv.wait_for(l, std::chrono::duration<double>(timeout_s), [&] { return launch.gen != g; })) {
        launch.stop = true;
        launch.status = 2;
        ++launch.gen;
        launch.cv.notify_all();
    }
    if (launch.stop) return false;
    blk = block_of(launch.cur);
    return true;
}
}  // namespace emu

extern "C" {
// Runs a launch to its end; returns Launch::status and, in block[3], the coordinates of the block it stopped in.
int emu_run(void (*tramp)(void**), void** args, double timeout, unsigned* block) {
    emu::Launch& L = emu::launch;
    {
        std::lock_guard<std::mutex> l(L.m);
        L.nt = blockDim.x * blockDim.y * blockDim.z;
        L.nblocks = (unsigned long)gridDim.x * gridDim.y * gridDim.z;
        L.arrived = L.done = 0;
        L.next = L.cur = 0;
        L.stop = false;
        L.status = 0;
        emu::timeout_s = timeout;
        emu::reset_block();
    }
    std::vector<std::thread> ts;
    ts.reserve(L.nt);
    for (unsigned z = 0; z < blockDim.z; z++)
        for (unsigned y = 0; y < blockDim.y; y++)
            for (unsigned x = 0; x < blockDim.x; x++)
                ts.emplace_back([=, &L] {
                    threadIdx = dim3{x, y, z};
                    dim3 b;
                    while (emu::gate(b)) {
                        blockIdx = b;
                        tramp(args);
                        emu_thread_exit();
                    }
                    std::lock_guard<std::mutex> l(L.m);
                    ++L.done;
                    L.cv.notify_all();
                });
    {
        std::unique_lock<std::mutex> l(L.m);
        L.cv.wait(l, [&] { return L.done == L.nt || L.status == 2; });
    }
    const int status = L.status;
    for (auto& t : ts) status == 2 ? t.detach() : t.join();  // a spinning thread cannot be joined
    const dim3 at = emu::block_of(L.cur);
    block[0] = at.x, block[1] = at.y, block[2] = at.z;
    return status;
}
}
