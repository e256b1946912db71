// Hooks for the JavaScript runtime: a small struct in the module's linear memory that
// JavaScript reads with Atomics through the shared WebAssembly.Memory (the ThreadPoolManager
// watchdog, the crash records), plus per-worker start/exit callbacks.
//
// Layout (byte offsets from wasmpool_runtime_hooks(), all little-endian uint32):
//   0                progress       +1 per completed task (wraps at 2^32)
//   4                worker_count   workers of the current global pool (0 when none)
//   8 + 4*i          worker_state[i], i < kMaxWorkers (64):
//                      0 idle / sleeping, 1 working, 2 faulted (written by the runtime,
//                      never by the pool), 3 exited
// Entries at i >= worker_count are meaningless. Only the global pool (init_global_pool)
// writes worker_count and worker_state; every pool, and report_progress(), advance progress.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "wasmpool/config.hpp"

namespace wasmpool {

enum WorkerState : std::uint32_t {
  kWorkerIdle = 0,
  kWorkerWorking = 1,
  kWorkerFaulted = 2,
  kWorkerExited = 3,
};

struct RuntimeHooks {
  /// +1 per completed task. Relaxed increments suffice: the watchdog only asks "did the
  /// value change since I last looked?", it never uses the counter to order other memory
  /// accesses, and atomicity alone already guarantees that increments are never lost and
  /// become visible to other threads (and to JS's Atomics.load) in a bounded time. Workers
  /// add in batches of up to 64 and flush whenever they go idle.
  std::atomic<std::uint32_t> progress;
  std::atomic<std::uint32_t> worker_count;
  std::atomic<std::uint32_t> worker_state[kMaxWorkers];
};

static_assert(std::is_standard_layout_v<RuntimeHooks>);
static_assert(sizeof(std::atomic<std::uint32_t>) == 4 &&
              std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(offsetof(RuntimeHooks, progress) == 0);
static_assert(offsetof(RuntimeHooks, worker_count) == 4);
static_assert(offsetof(RuntimeHooks, worker_state) == 8);
static_assert(sizeof(RuntimeHooks) == 8 + 4 * kMaxWorkers);

/// The one process-wide instance (static storage, valid before any pool exists).
RuntimeHooks& runtime_hooks() noexcept;

/// Tells the watchdog that the calling code is alive: long serial code (inside a task or
/// not) may call it periodically. One relaxed atomic increment.
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
