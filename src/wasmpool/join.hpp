// join(a, b): fork-join of two callables, the primitive everything else is built on.
#pragma once

#include <functional>
#include <type_traits>
#include <utility>
#include <variant>

#include "wasmpool/dispatch.hpp"

namespace wasmpool {

namespace detail {

/// void results become std::monostate inside the pair join() returns.
template <class R>
using JoinValue = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

template <class A, class B>
using JoinResult = std::conditional_t<
    std::is_void_v<std::invoke_result_t<A>> && std::is_void_v<std::invoke_result_t<B>>, void,
    std::pair<JoinValue<std::invoke_result_t<A>>, JoinValue<std::invoke_result_t<B>>>>;

/// Moves a finished callable's result out as the element of join's pair.
template <class R, class Holder>
JoinValue<R> take_value(Holder& holder) {
  if constexpr (std::is_void_v<R>) {
    holder.take();
    return std::monostate{};
  } else {
    return holder.take();
  }
}

/// Step 3 of the protocol below, shared by join_on_worker and join_into: after the first
/// half, the second (`job_b`, pushed before it) runs here if no thief took it; else other
/// jobs run here until the thief sets its latch.
template <class B>
void finish_second_half(WorkerThread& worker, StackJob<B>& job_b) noexcept {
  while (!job_b.latch().probe()) {
    Job* job = worker.pop();
    if (job == &job_b) {
      job_b.run_inline(worker.registry()->cancelling());
      worker.count_task();
      break;
    }
    if (job == nullptr) {
      worker.wait_until(job_b.latch());
      break;
    }
    worker.execute(job);
  }
}

/// join on a pool worker. The protocol (rayon's join_context):
///   1. b goes into a StackJob on this frame and is pushed on this worker's deque, where a
///      thief may take it;
///   2. a runs here;
///   3. we pop our deque: if we get b back, nobody stole it and it runs inline (the common,
///      cheap case: no latch, no wake-up); if we get another job, it was pushed above b by
///      code in a (e.g. Scope::spawn) and we run it; if the deque is empty, b was stolen and
///      we wait for its latch while running other jobs.
///   4. only then, with both halves finished, the first exception (if any) is rethrown.
/// If a throws, b is skipped if it has not started (its StackJob sees the group's error).
template <class A, class B>
JoinResult<A, B> join_on_worker(WorkerThread& worker, A&& a, B&& b) {
  using RA = std::invoke_result_t<A>;
  using RB = std::invoke_result_t<B>;
  ErrorSlot errors;
  StackJob<B> job_b(b, Latch(worker.registry(), worker.index()), &errors);
  worker.push(&job_b);

  Result<RA> result_a;
  if constexpr (kRunsNothrow<A>) {
    result_a.run(std::forward<A>(a));  // no handler, no trampoline (job.hpp, Job)
  } else {
    WASMPOOL_TRY {
      result_a.run(std::forward<A>(a));
    }
    WASMPOOL_CATCH_ALL {
      errors.capture(WASMPOOL_CURRENT_EXCEPTION);
    }
  }

  finish_second_half(worker, job_b);
  errors.rethrow_if_set();

  if constexpr (!std::is_void_v<JoinResult<A, B>>) {
    return JoinResult<A, B>(take_value<RA>(result_a), take_value<RB>(job_b));
  }
}

/// join() for the pool's own recursions (parallel_for's split_range, parallel_reduce's
/// reduce_range, parallel_sort's quick_sort and parallel_partition), on a worker: `a` and `b`
/// cannot throw (they record their failures in the group's `errors` and return their
/// results through their captures), and b's cancellation at a shutdown is recorded there
/// too, so nothing is rethrown and the caller needs no handler around the call. Why it
/// matters: under Emscripten's JavaScript-based C++ exceptions every call that may throw
/// made inside a try block, or while a destructor is pending, goes through a JavaScript
/// invoke_* trampoline; a join() inside a try cost two per level of the recursion, more
/// than the leaf's work for small chunks. If the job cannot be queued (the deque failed to
/// grow), the failure is recorded and neither half runs: the caller sees
/// `errors.cancelled()`.
template <class A, class B>
void join_into(ErrorSlot& errors, A&& a, B&& b) noexcept {
  static_assert(kRunsNothrow<A> && kRunsNothrow<B> && std::is_void_v<std::invoke_result_t<A>> &&
                    std::is_void_v<std::invoke_result_t<B>>,
                "join_into runs void callables that cannot throw");
  WorkerThread& worker = *WorkerThread::current();
  StackJob<B> job_b(b, Latch(worker.registry(), worker.index()), &errors);
  WASMPOOL_TRY {
    worker.push(&job_b);  // a call only when the deque grows
  }
  WASMPOOL_CATCH_ALL {
    errors.capture(WASMPOOL_CURRENT_EXCEPTION);
    return;
  }
  std::forward<A>(a)();
  finish_second_half(worker, job_b);
}

template <class A, class B>
JoinResult<A, B> join_serial(A&& a, B&& b) {
  // No pool: a then b on the caller; an exception from a propagates and b never starts.
  Result<std::invoke_result_t<A>> result_a;
  result_a.run(std::forward<A>(a));
  Result<std::invoke_result_t<B>> result_b;
  result_b.run(std::forward<B>(b));
  if constexpr (!std::is_void_v<JoinResult<A, B>>) {
    return JoinResult<A, B>(take_value<std::invoke_result_t<A>>(result_a),
                            take_value<std::invoke_result_t<B>>(result_b));
  }
}

}  // namespace detail

/// Runs `a()` and `b()`, potentially in parallel, and returns when both have finished.
///
/// Returns void if both return void, otherwise std::pair of the two results, where a void
/// result is represented by std::monostate. References are returned as references.
///
/// On a pool worker, `a` runs on the calling thread and `b` is offered to thieves; a worker
/// waiting for a stolen `b` keeps running other jobs, so nested joins never deadlock. From
/// outside any pool the call runs inside the global pool (the caller waits); with no global
/// pool it runs a then b serially on the caller.
///
/// Exceptions: if either throws, the first exception thrown (in time) is rethrown after both
/// have finished; if `a` throws before `b` started, `b` is skipped.
template <class A, class B>
detail::JoinResult<A&&, B&&> join(A&& a, B&& b) {
  return detail::dispatch(
      [&](detail::WorkerThread& w) {
        return detail::join_on_worker(w, std::forward<A>(a), std::forward<B>(b));
      },
      [&] { return detail::join_serial(std::forward<A>(a), std::forward<B>(b)); });
}

}  // namespace wasmpool
