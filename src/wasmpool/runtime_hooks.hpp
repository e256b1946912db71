// Hooks for the JavaScript runtime: a small struct in the module's linear memory that
// JavaScript reads with Atomics through the shared WebAssembly.Memory (the ThreadPoolManager
// watchdog), plus per-worker start/exit callbacks.
//
// Layout (byte offsets from wasmpool_runtime_hooks(), little-endian uint32 counters that
// wrap at 2^32; the constants below name them, and the runtime reports them to JavaScript):
//   kProgressOffset (0)          progress: report_progress(), and +1 per completed task of
//                                every pool that is not the global pool
//   4 .. 63                      padding (progress has a cache line of its own)
//   kWorkerProgressOffset (64)   worker_progress[i], i < kMaxWorkers (64), one per
//     + i * kWorkerProgressStride (64)   worker index of the global pool: +1 per task that
//                                worker completed; 4 bytes of counter, 60 bytes of padding
// A reader that wants "did anything happen?" sums all 65 counters (or compares them one
// by one). Slots of indices the current global pool does not have stay unchanged; they keep
// their values across exit_global_pool()/init_global_pool(), so only differences mean
// anything.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "wasmpool/config.hpp"

namespace wasmpool {

/// The progress counter of one worker of the global pool, alone in its cache line: only that
/// worker writes it, so counting a task never contends with another thread.
struct alignas(detail::kCacheLine) WorkerProgress {
  std::atomic<std::uint32_t> count;
};

/// All counters are advanced with relaxed fetch_add, one per completed task, at once (no
/// batching). Relaxed suffices: the watchdog only asks "did a value change since I last
/// looked?", it never uses a counter to order other memory accesses, and atomicity alone
/// guarantees that increments are never lost and become visible to other threads (and to
/// JS's Atomics.load) in bounded time.
struct RuntimeHooks {
  /// report_progress(), and the workers of pools that are not the global pool.
  std::atomic<std::uint32_t> progress;
  /// Worker i of the global pool (init_global_pool) counts its tasks in slot i.
  alignas(detail::kCacheLine) WorkerProgress worker_progress[kMaxWorkers];
};

/// Byte offset of RuntimeHooks::progress.
inline constexpr std::size_t kProgressOffset = 0;
/// Byte offset of worker_progress[0].count.
inline constexpr std::size_t kWorkerProgressOffset = 64;
/// Bytes from worker_progress[i].count to worker_progress[i + 1].count.
inline constexpr std::size_t kWorkerProgressStride = 64;

static_assert(std::is_standard_layout_v<RuntimeHooks>);
static_assert(sizeof(std::atomic<std::uint32_t>) == 4 &&
              std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(offsetof(RuntimeHooks, progress) == kProgressOffset);
static_assert(offsetof(RuntimeHooks, worker_progress) == kWorkerProgressOffset);
static_assert(offsetof(WorkerProgress, count) == 0);
static_assert(sizeof(WorkerProgress) == kWorkerProgressStride);
static_assert(sizeof(RuntimeHooks) == kWorkerProgressOffset + kMaxWorkers * kWorkerProgressStride);

/// The one process-wide instance (static storage, valid before any pool exists).
RuntimeHooks& runtime_hooks() noexcept;

/// Tells the watchdog that the calling code is alive: long serial code (inside a task or
/// not) may call it periodically. One relaxed atomic increment of `progress`.
void report_progress() noexcept;

/// Called on each pool worker thread when it starts, before it takes any work, with its
/// worker index (all pools, not only the global one). nullptr clears it. Set it before
/// creating the pool; a callback must not throw.
void set_worker_start_callback(void (*callback)(std::size_t worker_index)) noexcept;

/// Called on each pool worker thread just before it exits (after its last job).
void set_worker_exit_callback(void (*callback)(std::size_t worker_index)) noexcept;

namespace detail {
void call_worker_start(std::size_t index) noexcept;
void call_worker_exit(std::size_t index) noexcept;
}  // namespace detail

}  // namespace wasmpool

/// The address of runtime_hooks(), for JavaScript (exported, kept alive under Emscripten).
extern "C" wasmpool::RuntimeHooks* wasmpool_runtime_hooks();
