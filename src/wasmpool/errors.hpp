// Exception capture for a group of tasks: first exception wins, and its presence is the
// group's cooperative cancellation flag.
//
// The pool builds with exceptions on (the default) or off (-fno-exceptions, i.e. without
// __cpp_exceptions; docs/POOL.md, "Exceptions off"). Every try/catch/throw of the pool is
// spelled with the macros below, so this header is the one place that knows the mode:
//
//   WASMPOOL_TRY { ... } WASMPOOL_CATCH_ALL { ... }   try { ... } catch (...) { ... }
//   WASMPOOL_THROW(e)                                throw e
//   WASMPOOL_RETHROW                                 throw   (inside a handler)
//   WASMPOOL_CURRENT_EXCEPTION                       std::current_exception() (inside a handler)
//
// With exceptions on they are exactly those tokens. With exceptions off nothing is ever
// thrown, so the try body simply runs and the handler is dead code; WASMPOOL_THROW(e)
// becomes detail::fatal_error(e.what()), and an error that would have been rethrown to the
// waiter of a task group (cancelled_error when a pool shuts down before the work started)
// calls detail::fatal_error at that waiter: the message goes to stderr and the program
// aborts. A library compiled in one mode must only be linked with code of the same mode
// (the inline functions here differ): CMake's wasmpool_noexcept is the -fno-exceptions one.
#pragma once

#include <atomic>
#include <exception>
#include <stdexcept>
#include <utility>

#if defined(__cpp_exceptions)
#define WASMPOOL_EXCEPTIONS 1
#define WASMPOOL_TRY try
#define WASMPOOL_CATCH_ALL catch (...)
#define WASMPOOL_THROW(...) throw __VA_ARGS__
#define WASMPOOL_RETHROW throw
#define WASMPOOL_CURRENT_EXCEPTION std::current_exception()
#else
#define WASMPOOL_EXCEPTIONS 0
#define WASMPOOL_TRY if (true)
#define WASMPOOL_CATCH_ALL else
#define WASMPOOL_THROW(...) ::wasmpool::detail::fatal_error((__VA_ARGS__).what())
#define WASMPOOL_RETHROW ::wasmpool::detail::fatal_error("wasmpool: unreachable handler")
#define WASMPOOL_CURRENT_EXCEPTION ::wasmpool::detail::NoException()
#endif

namespace wasmpool {

namespace detail {
inline constexpr const char kCancelledWhat[] =
    "wasmpool: the thread pool shut down before the task ran";
}

/// Thrown to the waiter of work that the pool cancelled because it was shutting down
/// (ThreadPool destructor, exit_global_pool) before the work started, or when work is
/// submitted to a pool that is already shutting down. Built without exceptions, that waiter
/// calls detail::fatal_error with this what() instead.
class cancelled_error : public std::runtime_error {
 public:
  cancelled_error() : std::runtime_error(detail::kCancelledWhat) {}
};

namespace detail {

/// Built without exceptions: the end of every error the pool would throw or rethrow.
/// Writes `what` to stderr and aborts (std::abort natively; under Emscripten the runtime's
/// abort with `what` as its reason, which a ThreadPoolManager host reports as a
/// WasmPanicError of kind 'abort' carrying the message). Defined in both modes.
[[noreturn]] void fatal_error(const char* what) noexcept;

#if WASMPOOL_EXCEPTIONS

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
  /// A task of the group was cancelled by a pool shutdown: captures a cancelled_error.
  bool capture_cancelled() noexcept { return capture(std::make_exception_ptr(cancelled_error())); }
  bool cancelled() const noexcept { return flag_.load(std::memory_order_relaxed); }
  void rethrow_if_set() const {
    if (flag_.load(std::memory_order_acquire)) std::rethrow_exception(error_);
  }

 private:
  std::atomic<bool> flag_{false};
  std::exception_ptr error_;
};

#else

/// What WASMPOOL_CURRENT_EXCEPTION stands for in a (dead) handler without exceptions.
struct NoException {};

/// The group's first failure without exceptions: only a cancellation can be captured (no
/// task can throw), and the waiter's rethrow_if_set() turns it into fatal_error. The
/// cancellation flag works as with exceptions: tasks not yet started are skipped.
class ErrorSlot {
 public:
  bool capture(NoException) noexcept { return set("wasmpool: a task failed"); }
  bool capture_cancelled() noexcept { return set(kCancelledWhat); }
  bool cancelled() const noexcept { return flag_.load(std::memory_order_relaxed); }
  void rethrow_if_set() const noexcept {
    if (flag_.load(std::memory_order_acquire)) fatal_error(what_);
  }

 private:
  bool set(const char* what) noexcept {
    if (flag_.load(std::memory_order_relaxed) || flag_.exchange(true, std::memory_order_acq_rel))
      return false;
    what_ = what;
    return true;
  }
  std::atomic<bool> flag_{false};
  const char* what_ = nullptr;
};

#endif

}  // namespace detail
}  // namespace wasmpool
