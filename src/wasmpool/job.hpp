// Jobs: what the deques and the injector carry.
//
// A Job is one function pointer; the payload lives in the derived object. Type erasure by a
// plain function pointer (no virtual destructor, no allocation) keeps a fork in join() down
// to constructing an object on the forking thread's stack.
//
// Every job is run exactly once, either normally or "cancelled" (when its pool is shutting
// down). A cancelled job must still complete its latch / counter so that whoever waits for it
// wakes up and sees wasmpool::cancelled_error: cancellation never leaves a waiter hanging.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "wasmpool/errors.hpp"
#include "wasmpool/latch.hpp"

namespace wasmpool::detail {

class Job {
 public:
  // noexcept: a job records its callable's failure itself (in its group's ErrorSlot), so
  // running one never throws. Saying so matters under Emscripten's JavaScript-based C++
  // exceptions, where a call that may throw, made while a destructor or a catch is pending,
  // goes through a JavaScript invoke_* trampoline: the waits of join() run other jobs.
  using ExecuteFn = void (*)(Job*, bool cancelled) noexcept;
  explicit Job(ExecuteFn fn) noexcept : execute_(fn) {}
  void run(bool cancelled) noexcept { execute_(this, cancelled); }

 private:
  ExecuteFn execute_;
};

/// Whether calling `F` and storing its result (Result::run) cannot throw: then a job or a
/// join runs it without a handler around it (see Job, on why a handler costs).
template <class F, class R = std::invoke_result_t<F>>
inline constexpr bool kRunsNothrow = std::is_nothrow_invocable_v<F> &&
                                     (std::is_void_v<R> || std::is_reference_v<R> ||
                                      std::is_nothrow_move_constructible_v<R>);

/// Storage for a callable's result; void and references handled uniformly.
template <class R>
class Result {
 public:
  template <class F>
  void run(F&& f) {
    value_.emplace(std::invoke(std::forward<F>(f)));
  }
  R take() { return std::move(*value_); }

 private:
  std::optional<R> value_;
};

template <class R>
class Result<R&> {
 public:
  template <class F>
  void run(F&& f) {
    ptr_ = &std::invoke(std::forward<F>(f));
  }
  R& take() { return *ptr_; }

 private:
  R* ptr_ = nullptr;
};

template <class R>
class Result<R&&> {
 public:
  template <class F>
  void run(F&& f) {
    ptr_ = &static_cast<R&>(std::invoke(std::forward<F>(f)));
  }
  R&& take() { return std::move(*ptr_); }

 private:
  R* ptr_ = nullptr;
};

template <>
class Result<void> {
 public:
  template <class F>
  void run(F&& f) {
    std::invoke(std::forward<F>(f));
  }
  void take() {}
};

/// A job whose frame lives on the stack of the thread that waits for it (join's second
/// half, install). `F` is a forwarding-reference type: the callable itself stays in the
/// waiter's frame and is invoked as std::forward<F>(f).
template <class F>
class StackJob : public Job {
 public:
  using R = std::invoke_result_t<F>;

  StackJob(std::remove_reference_t<F>& f, Latch latch, ErrorSlot* errors) noexcept
      : Job(&StackJob::execute), f_(&f), latch_(latch), errors_(errors) {}

  Latch& latch() noexcept { return latch_; }

  /// Runs the callable on the current thread, without completing the latch: the owner
  /// popped its own job back (the common, unstolen case of join).
  void run_inline(bool cancelled) noexcept { run_body(cancelled); }

  R take() { return result_.take(); }

 private:
  static void execute(Job* job, bool cancelled) noexcept {
    auto* self = static_cast<StackJob*>(job);
    self->run_body(cancelled);
    self->latch_.set();  // last access to *self: the waiter may return right after
  }

  void run_body(bool cancelled) noexcept {
    if (cancelled) {
      errors_->capture_cancelled();
      return;
    }
    if (errors_->cancelled()) return;  // the group already failed: skip, never started
    if constexpr (kRunsNothrow<F>) {
      result_.run(std::forward<F>(*f_));  // no handler: no trampoline (see Job)
    } else {
      WASMPOOL_TRY {
        result_.run(std::forward<F>(*f_));
      }
      WASMPOOL_CATCH_ALL {
        errors_->capture(WASMPOOL_CURRENT_EXCEPTION);
      }
    }
  }

  std::remove_reference_t<F>* f_;
  Latch latch_;
  ErrorSlot* errors_;
  Result<R> result_;
};

/// A heap-allocated, fire-and-forget job (Scope::spawn). `Done` is told when it finished
/// (normally, by exception, skipped or cancelled), after the callable has been destroyed.
template <class F, class Owner>
class HeapJob : public Job {
 public:
  template <class G>
  HeapJob(G&& f, Owner* owner) : Job(&HeapJob::execute), f_(std::forward<G>(f)), owner_(owner) {}

 private:
  static void execute(Job* job, bool cancelled) noexcept {
    std::unique_ptr<HeapJob> self(static_cast<HeapJob*>(job));
    Owner* owner = self->owner_;
    ErrorSlot& errors = owner->errors();
    if (cancelled) {
      errors.capture_cancelled();
    } else if (!errors.cancelled()) {
      WASMPOOL_TRY {
        self->f_();
      }
      WASMPOOL_CATCH_ALL {
        errors.capture(WASMPOOL_CURRENT_EXCEPTION);
      }
    }
    WASMPOOL_TRY {
      self.reset();  // destroy the captures before the owner may finish
    }
    WASMPOOL_CATCH_ALL {
      errors.capture(WASMPOOL_CURRENT_EXCEPTION);
    }
    owner->task_done();
  }

  F f_;
  Owner* owner_;
};

}  // namespace wasmpool::detail
