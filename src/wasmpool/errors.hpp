// Exception capture for a group of tasks: first exception wins, and its presence is the
// group's cooperative cancellation flag.
#pragma once

#include <atomic>
#include <exception>
#include <stdexcept>

namespace wasmpool {

/// Thrown to the waiter of work that the pool cancelled because it was shutting down
/// (ThreadPool destructor, exit_global_pool) before the work started, or when work is
/// submitted to a pool that is already shutting down.
class cancelled_error : public std::runtime_error {
 public:
  cancelled_error()
      : std::runtime_error("wasmpool: the thread pool shut down before the task ran") {}
};

namespace detail {

/// The first exception of a task group. capture() may be called from any thread; the stored
/// exception is read by rethrow_if_set() only after every task of the group has finished,
/// i.e. after the latch that proves it (release/acquire) - that is what orders the write of
/// `error_` before its read. `cancelled()` is a relaxed hint polled by tasks that have not
/// started yet (skipping them is an optimisation, never needed for correctness).
class ErrorSlot {
 public:
  /// Returns true if this exception is the group's first (and the one that will be rethrown).
  bool capture(std::exception_ptr e) noexcept {
    if (flag_.load(std::memory_order_relaxed) || flag_.exchange(true, std::memory_order_acq_rel))
      return false;
    error_ = std::move(e);
    return true;
  }
  bool cancelled() const noexcept { return flag_.load(std::memory_order_relaxed); }
  void rethrow_if_set() const {
    if (flag_.load(std::memory_order_acquire)) std::rethrow_exception(error_);
  }

 private:
  std::atomic<bool> flag_{false};
  std::exception_ptr error_;
};

}  // namespace detail
}  // namespace wasmpool
