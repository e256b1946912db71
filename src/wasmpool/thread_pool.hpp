// ThreadPool: an owned set of worker threads, and install(), the way into it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "wasmpool/registry.hpp"

namespace wasmpool {

class ThreadPool;
void init_global_pool(std::size_t threads);

namespace detail {
/// The registry behind a pool: for the library's own dispatch and shutdown code, not an API.
inline Registry& registry_of(ThreadPool& pool) noexcept;
}  // namespace detail

/// A work-stealing thread pool.
///
/// Construction starts `threads` workers (1..kMaxWorkers, otherwise std::invalid_argument)
/// and returns at once, without waiting for them to run: under Emscripten a new pthread may
/// need an event-loop turn of the creating thread before it starts, so waiting could
/// deadlock. Work submitted before the workers run waits in the pool's injector.
///
/// Destruction shuts the pool down: work not yet started is cancelled (its waiters get
/// wasmpool::cancelled_error), running tasks are finished, and every thread is joined.
/// Destroying a pool from one of its own workers, or while another thread is still calling
/// install() on it, is undefined (use the global pool for calls that may race a shutdown).
class ThreadPool {
 public:
  explicit ThreadPool(std::size_t threads) : ThreadPool(threads, false) {}
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  std::size_t num_threads() const noexcept { return registry_->num_threads(); }

  /// Runs `f()` on a worker of this pool and returns its result; the calling thread waits.
  /// Inside f, join/scope/parallel_* use this pool. Called from a worker of this pool, f
  /// simply runs inline. From a worker of another pool, that worker keeps running its own
  /// pool's jobs while it waits. From any other thread, the thread waits in bounded futex
  /// slices. An exception thrown by f is rethrown here; if the pool shuts down before f
  /// starts, wasmpool::cancelled_error is thrown.
  template <class F>
  decltype(auto) install(F&& f);

 private:
  friend void init_global_pool(std::size_t threads);
  friend detail::Registry& detail::registry_of(ThreadPool& pool) noexcept;
  ThreadPool(std::size_t threads, bool publish_hooks);
  std::unique_ptr<detail::Registry> registry_;
};

namespace detail {

inline Registry& registry_of(ThreadPool& pool) noexcept {
  return *pool.registry_;
}

/// Runs f on a worker of `registry` (see ThreadPool::install).
template <class F>
std::invoke_result_t<F> run_in_registry(Registry& registry, F&& f) {
  WorkerThread* worker = WorkerThread::current();
  if (worker != nullptr && worker->registry() == &registry) {
    return std::invoke(std::forward<F>(f));
  }
  ErrorSlot errors;
  if (worker != nullptr) {
    // A worker of another pool: it keeps working for its own pool while it waits.
    StackJob<F> job(f, Latch(worker->registry(), worker->index()), &errors);
    registry.inject(&job);
    worker->wait_until(job.latch());
    errors.rethrow_if_set();
    return job.take();
  }
  StackJob<F> job(f, Latch(nullptr, 0), &errors);
  registry.inject(&job);
  job.latch().wait_outside();
  errors.rethrow_if_set();
  return job.take();
}

}  // namespace detail

template <class F>
decltype(auto) ThreadPool::install(F&& f) {
  return detail::run_in_registry(*registry_, std::forward<F>(f));
}

}  // namespace wasmpool
