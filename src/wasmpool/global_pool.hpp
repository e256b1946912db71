// The process-wide pool used by parallel calls made outside any pool (the JS runtime's
// initThreadPool / exitThreadPool map onto these).
#pragma once

#include <cstddef>
#include <memory>

#include "wasmpool/thread_pool.hpp"

namespace wasmpool {

/// Creates the global pool with `threads` workers (1..kMaxWorkers, else
/// std::invalid_argument). Returns at once, without waiting for the workers to run (see
/// ThreadPool), so it cannot deadlock on Emscripten's main runtime thread.
///  * Called again while a global pool exists: a no-op if `threads` equals its size,
///    otherwise std::logic_error (call exit_global_pool() first to resize).
///  * Called from a pool worker: std::logic_error.
/// Thread-safe.
void init_global_pool(std::size_t threads);

/// Shuts the global pool down and joins its threads; then global_pool() is nullptr and
/// parallel calls from outside run serially until the next init_global_pool().
///  * No global pool (never created, or already exited): a no-op.
///  * Work in flight: tasks already running finish; queued tasks that have not started are
///    cancelled; every call waiting on cancelled work (from any thread) throws
///    wasmpool::cancelled_error, and calls that were just entering the pool during the
///    shutdown throw it too. None hangs. A task that never finishes blocks the shutdown
///    (C++ cannot interrupt it; the JS runtime's watchdog terminates the whole host).
///  * Called from a worker of the global pool: std::logic_error (it would join itself).
/// Thread-safe; a concurrent second call returns without waiting for the first to finish.
void exit_global_pool();

/// The global pool, or nullptr. The pointer is valid until exit_global_pool().
ThreadPool* global_pool() noexcept;

namespace detail {
/// A strong reference for an outside call, so a concurrent exit cannot free the pool under it.
std::shared_ptr<ThreadPool> acquire_global_pool() noexcept;
}  // namespace detail

}  // namespace wasmpool
