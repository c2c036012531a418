// CPU emulation of the CUDA C execution model, for testing our kernels without a GPU (support.cuda_emu).
//
// A kernel compiles as an ordinary C++20 function that runs the body of ONE thread. The launcher (emu_run, below)
// runs the blocks of a grid one after another. Inside a block, each CUDA thread is a fiber (ucontext, its own stack)
// started on a worker OS thread; a fiber that reaches __syncthreads() before the rest of its block is suspended and
// its worker starts or resumes the others, so __syncthreads() is a real barrier without an OS thread (and a thread
// switch) per CUDA thread. A fiber runs uninterrupted from one barrier to the next, so a missing barrier shows only
// when the schedule puts a reader before the writer it needed: threads start in index order by default, in reverse
// index order, or in a seeded shuffle (emu_set_order), and after a barrier the thread that completed it goes on
// first, then the others in the order they arrived (shuffled again in shuffle mode). Index order hides a race where
// a lower thread writes what a higher one reads, reverse order the opposite, so kernel tests run in both; a race
// inside one phase (two unsynchronised read-modify-writes of one cell) is never seen. A CUDA thread that runs long
// without returning or waiting (a spin loop on a flag another thread sets) makes the launcher start the rest of the
// block on another worker, so a block never waits on a thread that was not started; "runs" is measured in the CPU
// time of the worker's OS thread, so a worker that is merely descheduled (a loaded machine) or whose thread sleeps
// keeps the block to itself and the order above holds (up to a long stall: see emu_run). A fiber stays on the worker
// that started it (thread-local threadIdx), so a thread that spins on the progress of a thread suspended on the SAME
// worker stalls the launch, which then fails with a named error. Block-shared memory (`__shared__` -> `static`) is
// shared by the threads of the running block only. Not emulated: warps (no lock-step; code that relies on implicit
// warp synchronisation fails here, as it may on Volta+), timing, memory coalescing, texture/surface memory.
//
// A CUDA thread that crashes (SIGSEGV/SIGBUS: a bad address, often an index read from shared memory before another
// thread wrote it; SIGFPE: an integer division by zero; SIGILL) does not kill the host process: while emu_run runs,
// a handler (on a per-worker signal stack) sends a fault raised in kernel code back to the fiber's worker, which
// abandons the fiber, drops the rest of the block (no thread of it that waits or has not started runs again) and
// ends the launch with status 3 (emu_fault tells which thread, which signal, which address). A fault anywhere else
// goes to the handler that was installed before, and emu_run puts those handlers back when it returns.
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <pthread.h>
#include <random>
#include <thread>
#include <time.h>
#include <type_traits>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
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
// One lock for the barrier and the launcher: workers rarely contend (one per block unless a thread is stuck).
struct Fiber {
    ucontext_t ctx;
    char* stack = nullptr;
    unsigned tid = 0;
    unsigned long wait_gen = 0;  // the barrier generation it waits to pass
    bool waiting = false, done = false;
    int fault_sig = 0;  // the signal that ended it (a crash in kernel code), else 0
    void* fault_addr = nullptr;
    std::chrono::steady_clock::time_point since;
};
struct Worker {  // a worker OS thread: its scheduler context and the fibers it started
    ucontext_t sched;
    Fiber* cur = nullptr;
    std::vector<Fiber*> waiting, ready, spare;  // at a barrier; released, to resume in order; finished
    std::size_t next_ready = 0;
    unsigned long starter_gen = 0;
    clockid_t cpu_clock{};  // this OS thread's CPU-time clock (cpu_clock_ok: it could be had)
    bool cpu_clock_ok = false;
};
struct State {
    std::mutex m;
    std::condition_variable work;  // workers: a barrier released, the starter role free, stop
    std::condition_variable sup;   // the supervisor (emu_run): the block ended
    int expected = 0, arrived = 0;  // barrier: live threads of the block (exits leave it), arrivals
    unsigned long gen = 0;
    bool failed = false;
    int fault_sig = 0;  // the first crash of the launch: signal, CUDA thread (index in its block), address
    unsigned fault_tid = 0;
    void* fault_addr = nullptr;
    void (*tramp)(void**) = nullptr;
    void** args = nullptr;
    unsigned nt = 0, next = 0, exited = 0;
    unsigned long nblocks = 0, cur = 0, starter_gen = 0;
    std::vector<unsigned> order;  // the block's threads in the order they start (a permutation of 0..nt-1)
    int order_mode = 0;  // 0: index order, 1: reverse, 2: seeded shuffle (also of each barrier's release order)
    unsigned long long order_seed = 0;
    unsigned long gen0 = 0;  // the barrier generation when the running block started (seeds its shuffles)
    bool open = false, starter = false, stop = false;
    clockid_t starter_clock{};  // the starter's CPU-time clock (the supervisor reads it, with m held, to hand over)
    bool starter_clock_ok = false;
    double starter_cpu0 = 0;  // its reading when the starter took the role (NaN: none)
    int idle = 0;
    std::vector<std::thread> workers;
};
static State S;
static double timeout_s = 30.0;
static std::atomic<unsigned long> progress{0};  // CUDA threads started, returned, arrived at or left a barrier
static thread_local Worker* me = nullptr;
static thread_local bool in_kernel = false;  // running kernel code, not the emulator's: a fault is the kernel's
static constexpr std::size_t STACK = 256 * 1024;
static constexpr std::size_t ALT_STACK = 64 * 1024;  // the fault handler's stack (a fiber's may be what overflowed)
static constexpr int FAULTS[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
static struct sigaction before[std::size(FAULTS)];  // the handlers emu_run replaced, put back when it returns

// A fault raised by kernel code on a worker returns to the worker (setcontext: as if the fiber had yielded, with
// the worker's signal mask); the worker abandons the fiber. Any other fault, or a signal sent by kill/raise, goes
// to the handler installed before emu_run: restored here, it gets the fault when the instruction runs again.
static void on_fault(int sig, siginfo_t* info, void*) {
    Worker* w = me;
    if (w != nullptr && w->cur != nullptr && in_kernel && info->si_code > 0) {
        in_kernel = false;
        w->cur->fault_sig = sig;
        w->cur->fault_addr = info->si_addr;
        setcontext(&w->sched);
    }
    for (std::size_t i = 0; i < std::size(FAULTS); i++)
        if (FAULTS[i] == sig) sigaction(sig, &before[i], nullptr);
    if (info->si_code <= 0) raise(sig);  // sent, not raised by an instruction: send it again, to that handler
}
}  // namespace emu

// A barrier over the live threads of the block. A thread that returns from the kernel leaves the barrier
// (emu_thread_exit), as an exited warp does on the GPU. A thread that waits longer than the timeout marks the
// launch failed (a thread skipped a __syncthreads the others reached) instead of hanging the test. After a crash
// in the block, a thread that reaches a barrier is parked there for its worker to drop.
static void __syncthreads() {
    using namespace emu;
    in_kernel = false;
    progress.fetch_add(1, std::memory_order_relaxed);
    std::unique_lock<std::mutex> l(S.m);
    if (S.fault_sig == 0 && (S.failed || ++S.arrived >= S.expected)) {
        if (!S.failed) {
            S.arrived = 0;
            ++S.gen;
            S.work.notify_all();
        }
        in_kernel = true;
        return;
    }
    Fiber* f = me->cur;
    f->wait_gen = S.gen;
    f->waiting = true;
    f->since = std::chrono::steady_clock::now();
    me->waiting.push_back(f);
    l.unlock();
    swapcontext(&f->ctx, &me->sched);  // the worker runs the others; it resumes this fiber once released
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
void emu_set_order(int mode, unsigned long long seed) {  // the thread order of the next launches (see the top)
    emu::S.order_mode = mode;
    emu::S.order_seed = seed;
}
void emu_thread_exit() {
    std::lock_guard<std::mutex> l(emu::S.m);
    --emu::S.expected;
    if (emu::S.arrived > 0 && emu::S.arrived >= emu::S.expected) {
        emu::S.arrived = 0;
        ++emu::S.gen;
        emu::S.work.notify_all();
    }
}
}

// The launcher in C++. Workers (OS threads) start the CUDA threads of the running block in order, each as a fiber;
// at any time at most one worker is the "starter". When the starter makes no progress for a while (a thread that
// spins), the supervisor (emu_run) revokes the role and another worker (idle, or new) starts the rest. Workers
// live for one launch and serve its blocks in turn. Kernels are called through a trampoline that unpacks an array
// of argument addresses (emu_tramp_<name>, generated per kernel).
namespace emu {
template <typename... P, std::size_t... I>
static void call(void (*f)(P...), void** a, std::index_sequence<I...>) {
    f(*static_cast<std::remove_reference_t<P>*>(a[I])...);
}
template <typename... P>
static void invoke(void (*f)(P...), void** a) { call(f, a, std::index_sequence_for<P...>{}); }
template <typename... P>
static int arity(void (*)(P...)) { return (int)sizeof...(P); }

// Block coordinates of the c-th block, x fastest (the order blocks run in).
static dim3 block_of(unsigned long c) {
    return dim3{(unsigned)(c % gridDim.x), (unsigned)(c / gridDim.x % gridDim.y),
                (unsigned)(c / ((unsigned long)gridDim.x * gridDim.y))};
}

static dim3 thread_of(unsigned t) {
    return dim3{t % blockDim.x, t / blockDim.x % blockDim.y, t / (blockDim.x * blockDim.y)};
}

static void reset_block() {  // with S.m held
    S.expected = (int)S.nt;
    S.arrived = 0;
    S.failed = false;
}

static bool needs_starter() { return S.open && !S.starter && S.next < S.nt; }

static void worker();

// With S.m held, when the starter role may be free: an idle worker takes it, else a new one.
static void kick() {
    if (!needs_starter()) return;
    if (S.idle == 0) S.workers.emplace_back(worker);
    S.work.notify_all();
}

static void fiber_main() {
    S.tramp(S.args);
    in_kernel = false;
    emu_thread_exit();
    me->cur->done = true;  // back to the worker through uc_link
}

// With S.m held: fiber f will not run again (it returned, crashed, or is dropped after a crash in its block).
static void retire(Fiber* f) {
    f->done = true;
    me->spare.push_back(f);
    if (++S.exited == S.nt) {
        S.open = false;
        S.sup.notify_all();
    }
}

// Runs fiber f on this worker until it returns, waits at a barrier or crashes (S.m held on entry and on return).
static void resume(Fiber* f, std::unique_lock<std::mutex>& l) {
    threadIdx = thread_of(f->tid);
    blockIdx = block_of(S.cur);
    me->cur = f;
    l.unlock();
    in_kernel = true;
    swapcontext(&me->sched, &f->ctx);
    in_kernel = false;
    progress.fetch_add(1, std::memory_order_relaxed);
    l.lock();
    me->cur = nullptr;
    if (f->fault_sig != 0) {
        if (S.fault_sig == 0) {
            S.fault_sig = f->fault_sig;
            S.fault_tid = f->tid;
            S.fault_addr = f->fault_addr;
        }
        S.failed = true;  // releases the block's waiting threads, for their workers to drop
        S.work.notify_all();
    }
    if (f->done || f->fault_sig != 0) retire(f);
}

// A fiber's stack with one inaccessible page below it: a thread that overflows its stack (large local arrays; the
// compiler probes every page of a large frame, -fstack-clash-protection) faults there, and the launch fails as a
// crash (status 3) instead of writing silently over other memory.
static std::size_t guard_bytes() {
    static const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    return page;
}
static char* new_stack() {
    void* p = mmap(nullptr, guard_bytes() + STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    mprotect(p, guard_bytes(), PROT_NONE);
    return static_cast<char*>(p);
}

static Fiber* start(unsigned t) {
    Fiber* f;
    if (me->spare.empty()) {
        f = new Fiber;
        f->stack = new_stack();
    } else {
        f = me->spare.back();
        me->spare.pop_back();
    }
    f->tid = t;
    f->done = f->waiting = false;
    f->fault_sig = 0;
    getcontext(&f->ctx);
    f->ctx.uc_stack.ss_sp = f->stack + guard_bytes();
    f->ctx.uc_stack.ss_size = STACK;
    f->ctx.uc_link = &me->sched;
    makecontext(&f->ctx, fiber_main, 0);
    return f;
}

// The CPU time (s) an OS thread has used, by its clock; NaN when the clock cannot be read, which the supervisor's
// comparisons treat as no CPU used.
static double cpu_s(clockid_t c, bool ok) {
    timespec ts{};
    if (!ok || clock_gettime(c, &ts) != 0) return std::nan("");
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// The starter's CPU time (NaN: no starter). With S.m held: the role changes hands under S.m and a worker never
// exits holding it, so the clock is a live thread's.
static double starter_cpu_s() { return S.starter ? cpu_s(S.starter_clock, S.starter_clock_ok) : std::nan(""); }

static void worker() {
    Worker w;
    me = &w;
    w.cpu_clock_ok = pthread_getcpuclockid(pthread_self(), &w.cpu_clock) == 0;
    std::unique_ptr<char[]> alt(new char[ALT_STACK]);  // where on_fault runs
    stack_t ss{};
    ss.ss_sp = alt.get();
    ss.ss_size = ALT_STACK;
    sigaltstack(&ss, nullptr);
    std::unique_lock<std::mutex> l(S.m);
    for (;;) {
        if (w.next_ready == w.ready.size()) {  // move the fibers released from their barrier, in arrival order
            w.ready.clear();
            w.next_ready = 0;
            std::size_t keep = 0;
            for (Fiber* f : w.waiting) {
                if (S.failed || S.gen != f->wait_gen) w.ready.push_back(f);
                else w.waiting[keep++] = f;
            }
            w.waiting.resize(keep);
            if (S.order_mode == 2 && w.ready.size() > 1) {  // shuffled: each release resumes in a new order
                std::mt19937_64 rng(S.order_seed ^ (0x9E3779B97F4A7C15ull * (S.gen - S.gen0)) ^ (S.cur << 20));
                std::shuffle(w.ready.begin(), w.ready.end(), rng);
            }
        }
        Fiber* ready = w.next_ready < w.ready.size() ? w.ready[w.next_ready++] : nullptr;
        const bool mine = S.starter && S.starter_gen == w.starter_gen;
        if (ready == nullptr && S.open && S.next < S.nt && (mine || !S.starter)) {
            if (!mine) {
                S.starter = true;
                w.starter_gen = ++S.starter_gen;
                S.starter_clock = w.cpu_clock;
                S.starter_clock_ok = w.cpu_clock_ok;
                S.starter_cpu0 = cpu_s(w.cpu_clock, w.cpu_clock_ok);
            }
            ready = start(S.order[S.next++]);
        }
        if (ready != nullptr) {
            ready->waiting = false;
            if (S.fault_sig != 0) retire(ready);  // a thread of the block crashed: drop this one, never run it
            else resume(ready, l);
            continue;
        }
        if (mine) S.starter = false;  // nothing left to start in this block
        if (!w.waiting.empty()) {  // fibers at a barrier: wait for its release, at most the timeout
            auto first = w.waiting[0]->since;
            for (Fiber* f : w.waiting) first = std::min(first, f->since);
            const auto limit = first + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                           std::chrono::duration<double>(timeout_s));
            const unsigned long g = S.gen;
            if (!S.work.wait_until(l, limit, [&] { return S.gen != g || S.failed; })) {
                S.failed = true;
                S.work.notify_all();
            }
            continue;
        }
        if (S.stop) break;
        ++S.idle;
        S.work.wait(l, [&] { return S.stop || needs_starter(); });
        --S.idle;
    }
    for (Fiber* f : w.spare) {
        munmap(f->stack, guard_bytes() + STACK);
        delete f;
    }
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, nullptr);
}
}  // namespace emu

extern "C" {
// Runs a launch to its end; returns 0 (ok), 1 (a __syncthreads timed out in the block given in block[3]), 2 (the
// block made no progress for twice the timeout: a thread spins or waits forever; its worker is left running) or 3
// (a thread of that block crashed: see emu_fault).
//
// The supervisor (this thread) wakes every `handoff` and moves the starter role to another worker when the block
// made no progress (no CUDA thread started, returned or arrived at a barrier) while the starter's OS thread used at
// least `spin` = handoff / 2 of CPU time since the later of the last progress it saw and the starter taking the role:
// it is running one CUDA thread (a spin loop, or a long computation), and the threads it has not started may be what
// that one waits for. Half of the wake interval: a spinning starter that has a core (or half of one, shared with one
// other thread) crosses it by the first or second wake, as it did when the rule was wall time alone (progress is
// seen at a wake, so what follows it is most of an interval, not all); one with a smaller share crosses it a few
// wakes later (its CPU time adds up). A starter that was only descheduled
// (a loaded machine) or whose CUDA thread sleeps uses (almost) none, and keeps the role, so the block runs in its
// order on one worker. It still loses the role after `stall` = min(timeout / 2, 1 s) without progress, so a thread
// that polls a flag with a sleep between reads, or a clock that cannot be read, still gets the rest of its block
// started, before any barrier waiter times out (after the timeout) and long before `stuck` = 2 * timeout ends it.
int emu_run(void (*tramp)(void**), void** args, double timeout, unsigned* block) {
    using clock = std::chrono::steady_clock;
    emu::State& S = emu::S;
    struct sigaction sa {};
    sa.sa_sigaction = emu::on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    emu::in_kernel = false;  // makes this thread's thread-locals exist before a fault here reads them
    for (std::size_t i = 0; i < std::size(emu::FAULTS); i++) sigaction(emu::FAULTS[i], &sa, &emu::before[i]);
    std::unique_lock<std::mutex> l(S.m);
    S.fault_sig = 0;
    S.tramp = tramp;
    S.args = args;
    S.nt = blockDim.x * blockDim.y * blockDim.z;
    S.nblocks = (unsigned long)gridDim.x * gridDim.y * gridDim.z;
    S.stop = S.open = S.starter = false;
    S.idle = 0;
    S.workers.clear();
    emu::timeout_s = timeout;
    const auto handoff = std::chrono::duration<double>(std::min(0.01, timeout / 10));
    const double spin = handoff.count() / 2;  // CPU seconds
    const auto stall = std::chrono::duration<double>(std::min(timeout / 2, 1.0));
    const auto stuck = std::chrono::duration<double>(2 * timeout);
    int status = 0;
    for (unsigned long c = 0; c < S.nblocks && status == 0; c++) {
        S.cur = c;
        S.next = S.exited = 0;
        S.order.resize(S.nt);
        for (unsigned t = 0; t < S.nt; t++) S.order[t] = S.order_mode == 1 ? S.nt - 1 - t : t;
        if (S.order_mode == 2) {
            std::mt19937_64 rng(S.order_seed ^ (0xD1B54A32D192ED03ull * (c + 1)));
            std::shuffle(S.order.begin(), S.order.end(), rng);
        }
        emu::reset_block();
        S.gen0 = S.gen;
        S.open = true;
        emu::kick();
        unsigned long seen = emu::progress.load();
        auto last = clock::now();
        unsigned long held = 0;  // the starter (its starter_gen; 0: none) whose CPU time at the last mark is cpu0
        double cpu0 = std::nan("");
        while (S.open) {
            S.sup.wait_for(l, handoff, [&] { return !S.open; });
            if (!S.open) break;
            const unsigned long now_p = emu::progress.load();
            const double cpu = emu::starter_cpu_s();
            const bool fresh = S.starter && S.starter_gen != held;  // it took the role since the last wake
            held = S.starter ? S.starter_gen : 0;
            if (now_p != seen) cpu0 = cpu;  // the starter's CPU time counts from the last progress seen
            else if (fresh) cpu0 = S.starter_cpu0;  // or from when it took the role
            if (now_p != seen) {
                seen = now_p;
                last = clock::now();
            } else if (clock::now() - last > stuck) {
                status = 2;
                break;
            } else if (S.starter && S.next < S.nt && (cpu - cpu0 >= spin || clock::now() - last > stall)) {
                S.starter = false;  // the starter is busy in one thread: start the rest elsewhere
                emu::kick();
            }
        }
        if (status == 0 && S.fault_sig != 0) status = 3;
        if (status == 0 && S.failed) status = 1;
    }
    S.stop = true;
    S.open = false;
    S.work.notify_all();
    std::vector<std::thread> ws = std::move(S.workers);
    S.workers.clear();
    l.unlock();
    for (auto& t : ws) status == 2 ? t.detach() : t.join();  // a spinning thread cannot be joined
    for (std::size_t i = 0; i < std::size(emu::FAULTS); i++) sigaction(emu::FAULTS[i], &emu::before[i], nullptr);
    const dim3 at = emu::block_of(S.cur);
    block[0] = at.x, block[1] = at.y, block[2] = at.z;
    return status;
}

// The crash that ended the last launch (status 3): its signal (0: none), the CUDA thread's index in its block
// (thread[3]) and the faulting address (for SIGSEGV/SIGBUS).
int emu_fault(unsigned* thread, unsigned long long* addr) {
    const dim3 t = emu::thread_of(emu::S.fault_tid);
    thread[0] = t.x, thread[1] = t.y, thread[2] = t.z;
    *addr = (unsigned long long)(std::uintptr_t)emu::S.fault_addr;
    return emu::S.fault_sig;
}
}
