// Compile-time constants (every tuning number of the scheduler, each with its reason) and
// tiny portability helpers shared by the scheduler.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>

// ThreadSanitizer builds: the pool runs the same algorithm with the same memory orderings as
// every other build. The macro only switches GCC's "TSan does not model fences" warning off
// around full_fence() (see below and docs/POOL.md, "ThreadSanitizer").
#if defined(__SANITIZE_THREAD__)
#define WASMPOOL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WASMPOOL_TSAN 1
#endif
#endif
#ifndef WASMPOOL_TSAN
#define WASMPOOL_TSAN 0
#endif

namespace wasmpool {

/// Upper bound on the number of worker threads of one pool. It sizes the fixed
/// `RuntimeHooks::worker_progress` array that JavaScript reads from shared memory and the
/// 64-bit "who is asleep" mask of the sleep module (one bit per worker). `ThreadPool(n)` with
/// `n > kMaxWorkers` throws std::invalid_argument.
inline constexpr std::size_t kMaxWorkers = 64;

namespace detail {

/// Size of the false-sharing unit that per-thread hot data is padded to.
inline constexpr std::size_t kCacheLine = 64;

// --- Idle spinning (registry.hpp, IdleSpin) ---

/// How long a worker that found no work keeps searching before it sleeps: a futex round trip
/// costs microseconds natively and tens of them under Node's Atomics.wait/notify, while in
/// fork-join code the next piece of work usually appears within microseconds.
/// Under Emscripten it is shorter: a Web Worker cannot give its core away while it spins
/// (spin_yield below), and in Node the pool's threads share the cores with the main thread
/// and the host, which run the caller's JavaScript. A server whose requests each run a
/// small parallel call paid two full spins per request on 2 cores (measured in the bench's
/// serving section without crashes: 0.60-0.63x the direct server with 100 us, 0.68-0.73x
/// with 20 us; crash latency and the routed sort sweep did not move).
#if defined(__EMSCRIPTEN__)
inline constexpr std::chrono::microseconds kSpinTime{20};
#else
inline constexpr std::chrono::microseconds kSpinTime{100};
#endif
/// Search rounds before the spin first reads the clock: a short idle gap never pays for it.
/// Natively, every round after these also yields the core (spin_yield below), so there they
/// are few: a thread outside the pool that spins in install() for its result (kOutsideSpinTime)
/// shares a core with an idle worker, and gets it only at that worker's first yield. With 64
/// rounds of searching first (~10 us on 2 cores) that was most of what an install() of
/// fib(30) with a serial cutoff paid on its way out (docs/BENCHMARKS.md, oneTBB row); a yield
/// with nothing else runnable costs one cheap system call. Under Emscripten a round only
/// pauses, and the clock is a call out to JavaScript, so it reads the clock later.
#if defined(__EMSCRIPTEN__)
inline constexpr unsigned kSpinRoundsBeforeClock = 64;
#else
inline constexpr unsigned kSpinRoundsBeforeClock = 8;
#endif
/// After that, the clock is read every this many rounds (a power of two; a clock read costs
/// about as much as a search round).
inline constexpr unsigned kSpinRoundsPerClockRead = 16;
static_assert((kSpinRoundsPerClockRead & (kSpinRoundsPerClockRead - 1)) == 0);

// --- Queues ---

/// Initial slots of a worker's deque: covers the recursion depth of ordinary fork-join code
/// (one slot per level), so growing is rare; it doubles when full.
inline constexpr std::int64_t kDequeInitialCapacity = 256;

/// Milliseconds per futex wait slice of a thread waiting from outside the pool: bounds how
/// long Emscripten's main runtime thread defers its proxied calls and crash checks.
inline constexpr double kOutsideWaitSliceMs = 2.0;

/// How long a native thread outside the pool that waits in install() checks for its result
/// while yielding the core (Latch::wait_outside) before it sleeps on the latch's futex.
/// Why: waking a sleeping thread means an inter-processor interrupt, and in a virtual machine
/// that costs tens of microseconds (measured on the 2-core VM of docs/BENCHMARKS.md: the
/// latch's futex wake-up took 13 us in the waker and the caller ran 35 us after the result,
/// ~6% of a 0.6 ms install()). A thread that yields in a loop is runnable but takes a core
/// only when its run queue has nothing else to run, so while the pool's workers compute it
/// costs them next to nothing; on a machine with idle cores it keeps one busy for at most
/// this long per call. Calls longer than this pay the wake-up, a few percent of them at most.
/// Not under Emscripten: there the waiting thread is the JS host (or a pthread), which has
/// no way to give its core away, and must run proxied calls between its waits.
inline constexpr std::chrono::microseconds kOutsideSpinTime{1000};

// --- Splitting (parallel_for, parallel_reduce, parallel_sort) ---

/// grain == 0 splits a range into about this many chunks per worker: enough slack for
/// stealing to balance uneven chunks, few enough that the splitting overhead is negligible.
inline constexpr std::size_t kChunksPerWorker = 8;

/// parallel_sort below this many elements is std::sort: below it a join costs more than
/// the partition it would split.
inline constexpr std::ptrdiff_t kSortSerialCutoff = std::ptrdiff_t{1} << 14;
/// Leaves (ranges handed to std::sort) per worker: the partitions are uneven, so stealing
/// needs a few leaves per worker to balance them; more leaves cost nothing extra (every
/// partition level is one level of std::sort's own recursion done in parallel).
inline constexpr std::ptrdiff_t kSortLeavesPerWorker = 8;
/// Chunks per worker of one parallel partition: each chunk is partitioned serially and the
/// chunks' results are combined by swapping blocks, one pass per level of halving.
inline constexpr std::ptrdiff_t kPartitionChunksPerWorker = 2;
/// Elements a block partition scans from each end before it swaps (offsets fit a byte):
/// large enough to amortise the swap loop, small enough for the offsets to stay in L1.
inline constexpr int kPartitionBlock = 128;
/// Elements sampled for a pivot (their median): within ~2% of the true median's rank on
/// random input, exact on sorted or reversed input.
inline constexpr std::ptrdiff_t kSortPivotSample = 63;
/// Smallest sort leaf and partition chunk, in elements: below this a join costs more than it saves.
inline constexpr std::ptrdiff_t kSortMinChunk = 4096;

// --- Helpers ---

/// A polite busy-wait hint. WebAssembly has no pause instruction, so it is a no-op there.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

/// The pause of an idle worker's spin once it has lasted kSpinRoundsBeforeClock rounds.
/// Natively it gives the core away (sched_yield) if another thread is runnable on it, as
/// rayon-core's idle loop does. The thread that needs it is most often the one the pool just
/// released: a thread outside the pool that waits in install() (yielding, kOutsideSpinTime,
/// or woken by the latch) while every core is held by a spinning worker (a pool has as many
/// workers as cores); without the yield it waited until a spinner gave up its kSpinTime and
/// slept (measured on 2 cores: ~40% of those wake-ups took 50-100 us or more, a mean of
/// 60-85 us per call, 6-8% of a 1 ms install(); docs/POOL.md). A yield with nothing else runnable
/// returns at once, and the spin's length is measured by the clock, so it stays kSpinTime.
/// A Web Worker has no way to give its core away (sched_yield does nothing under
/// Emscripten), so there the spin only pauses, as before.
inline void spin_yield() noexcept {
#if defined(__EMSCRIPTEN__)
  cpu_relax();
#else
  std::this_thread::yield();
#endif
}

// The seq_cst fence of the deque (Chase-Lev) and of the sleep protocol (Dekker), in one
// place. It is the same instruction in every build. ThreadSanitizer does not model fences,
// and GCC says so with -Wtsan (an error under -Werror); that warning is switched off here
// only. TSan loses nothing it could check: no happens-before edge of the pool goes through
// a fence (every hand-off of data is a release store or RMW read by an acquire load or
// RMW, which TSan sees), the fences only order a store before a later load (store-load),
// which TSan does not model in any build because it never reorders memory operations.
// docs/POOL.md, "ThreadSanitizer", has the full argument.
#if WASMPOOL_TSAN && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
#endif
inline void full_fence() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
}
#if WASMPOOL_TSAN && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace detail
}  // namespace wasmpool
