// Where a parallel call runs: on the current worker's pool, else inside the global pool,
// else serially on the caller.
#pragma once

#include <memory>
#include <utility>

#include "wasmpool/global_pool.hpp"
#include "wasmpool/registry.hpp"

namespace wasmpool {

/// Index of the calling thread among its pool's workers (0..num_threads-1), or -1 when the
/// caller is not a pool worker.
inline int current_worker_index() noexcept {
  detail::WorkerThread* w = detail::WorkerThread::current();
  return w == nullptr ? -1 : static_cast<int>(w->index());
}

namespace detail {

/// Calls on_worker(WorkerThread&) on a pool worker (the current thread if it is one, else a
/// worker of the global pool, the caller waiting), or serial() when there is no pool at all.
template <class OnWorker, class Serial>
decltype(auto) dispatch(OnWorker&& on_worker, Serial&& serial) {
  if (WorkerThread* w = WorkerThread::current()) return on_worker(*w);
  if (std::shared_ptr<ThreadPool> pool = acquire_global_pool()) {
    return run_in_registry(registry_of(*pool),
                           [&]() -> decltype(auto) { return on_worker(*WorkerThread::current()); });
  }
  return serial();
}

}  // namespace detail
}  // namespace wasmpool
