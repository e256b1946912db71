// scope(): fork any number of tasks that may borrow from the enclosing stack frame; the
// scope returns only when all of them have finished.
#pragma once

#include <functional>
#include <type_traits>
#include <utility>

#include "wasmpool/dispatch.hpp"

namespace wasmpool {

class Scope;

namespace detail {
template <class F>
std::invoke_result_t<F, Scope&> scope_impl(WorkerThread* worker, F&& body);
}

/// The handle passed to the body of scope(). Tasks spawned on it may capture references to
/// anything that outlives the scope() call.
class Scope {
 public:
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

  /// Queues `f()` (a callable taking no arguments) to run on the pool; it may spawn more
  /// tasks on this scope. Call it from the scope's body or from tasks of this scope.
  /// In serial mode (no pool) f runs immediately on the caller. If a task of this scope
  /// already threw, f is skipped. Throws what allocation throws, or cancelled_error if the
  /// pool is shutting down and the task could not be queued.
  template <class F>
  void spawn(F&& f) {
    if (registry_ == nullptr) {  // serial mode
      if (errors_.cancelled()) return;
      WASMPOOL_TRY {
        std::invoke(f);
      }
      WASMPOOL_CATCH_ALL {
        errors_.capture(WASMPOOL_CURRENT_EXCEPTION);
      }
      return;
    }
    auto* job = new detail::HeapJob<std::decay_t<F>, Scope>(std::forward<F>(f), this);
    latch_.increment();
    detail::WorkerThread* w = detail::WorkerThread::current();
    if (w != nullptr && w->registry() == registry_) {
      w->push(job);
      return;
    }
    WASMPOOL_TRY {
      registry_->inject(job);
    }
    WASMPOOL_CATCH_ALL {
      delete job;
      latch_.decrement();
      WASMPOOL_RETHROW;
    }
  }

 private:
  // Spawned tasks (HeapJob) record their exception and their end here.
  template <class G, class Owner>
  friend class detail::HeapJob;
  template <class F>
  friend std::invoke_result_t<F, Scope&> detail::scope_impl(detail::WorkerThread*, F&&);
  detail::ErrorSlot& errors() noexcept { return errors_; }
  void task_done() noexcept { latch_.decrement(); }
  explicit Scope(detail::WorkerThread* worker) noexcept
      : registry_(worker ? worker->registry() : nullptr),
        latch_(registry_, worker ? worker->index() : 0) {}

  detail::Registry* registry_;
  detail::CountLatch latch_;
  detail::ErrorSlot errors_;
};

namespace detail {

template <class F>
std::invoke_result_t<F, Scope&> scope_impl(WorkerThread* worker, F&& body) {
  using R = std::invoke_result_t<F, Scope&>;
  Scope s(worker);
  Result<R> result;
  WASMPOOL_TRY {
    result.run([&]() -> R { return std::invoke(std::forward<F>(body), s); });
  }
  WASMPOOL_CATCH_ALL {
    s.errors_.capture(WASMPOOL_CURRENT_EXCEPTION);
  }
  if (worker != nullptr) {
    s.latch_.decrement();  // the body's own count
    worker->wait_until(s.latch_.latch());
  }
  s.errors_.rethrow_if_set();
  return result.take();
}

}  // namespace detail

/// Calls `body(scope)` and returns its result once the body and every task spawned on the
/// scope have finished. Runs on the current worker's pool, else in the global pool (the
/// caller waits), else serially. The first exception thrown by the body or any task is
/// rethrown after all tasks have finished; tasks that had not started by then are skipped.
template <class F>
std::invoke_result_t<F, Scope&> scope(F&& body) {
  return detail::dispatch(
      [&](detail::WorkerThread& w) { return detail::scope_impl(&w, std::forward<F>(body)); },
      [&] { return detail::scope_impl(nullptr, std::forward<F>(body)); });
}

}  // namespace wasmpool
