// Latches: "this job is done" signals that a waiter polls and may sleep on.
//
// Two kinds of waiter exist and the latch knows which one it has:
//
//  * a pool worker (registry != nullptr): it never blocks on the latch itself. It keeps
//    running other jobs (WorkerThread::wait_until) and, when there are none, sleeps in the
//    sleep module; set() therefore wakes that specific worker through the sleep module.
//  * a thread outside the pool (registry == nullptr; e.g. Emscripten's main runtime thread
//    calling install()): it waits on the latch word itself (wait_outside). Natively it first
//    yields the core in a loop for up to kOutsideSpinTime, since waking a sleeping thread
//    costs an inter-processor interrupt (tens of microseconds in a VM); then, and at once
//    under Emscripten, it sleeps with futex waits in bounded slices (kOutsideWaitSliceMs in
//    config.hpp). The slices matter under Emscripten:
//    each emscripten_futex_wait call on the main runtime thread first runs proxied calls (pthread
//    printf goes through them) and checks Emscripten's "a thread crashed" flag, so one unbounded
//    wait could hang and a bare spin would starve them.
//
// Lifetime: the latch usually lives in the waiter's stack frame, and the waiter may return
// the moment it observes the state change, so set() copies everything it needs before the
// store and touches only the (longer-lived) registry or the bare address afterwards. A
// futex wake on an address whose object is gone is harmless: at worst a spurious wake-up.
//
// The bodies are in latch.cpp (set() needs the registry's sleep module).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace wasmpool::detail {

class Registry;

class Latch {
 public:
  /// registry == nullptr: the waiter is outside any pool.
  Latch(Registry* registry, std::size_t owner) noexcept : registry_(registry), owner_(owner) {}
  Latch(const Latch& other) noexcept : registry_(other.registry_), owner_(other.owner_) {}

  /// Acquire: everything written before set() is visible after probe() returns true.
  bool probe() const noexcept { return state_.load(std::memory_order_acquire) == kSet; }

  /// Completes the latch and wakes its waiter.
  void set() noexcept;

  /// Outside-thread wait in slices of kOutsideWaitSliceMs; returns once set() happened.
  void wait_outside() noexcept;

 private:
  // kUnset, then kSet once. An outside waiter that is about to sleep first marks the latch
  // kSleeper (wait_outside), and set() makes the futex wake only then: a native caller
  // still yielding its core, the usual case, costs the setting worker no system call.
  static constexpr std::uint32_t kUnset = 0;
  static constexpr std::uint32_t kSet = 1;
  static constexpr std::uint32_t kSleeper = 2;
  std::atomic<std::uint32_t> state_{kUnset};
  Registry* registry_;
  std::size_t owner_;
};

/// The futex word Emscripten's main runtime thread is waiting on in Latch::wait_outside, as
/// an address, or 0 while it waits on none (0 always, natively and on other threads).
///
/// Why: that thread (the JS host) leaves such a wait early only at the start of a slice,
/// when emscripten_futex_wait finds Emscripten's "a thread crashed" flag set. A pool thread
/// that crashes sets the flag and then wakes this word (the pthread hooks, reportCrash), so
/// the host unwinds to its event loop at once instead of up to kOutsideWaitSliceMs later.
/// Ordering (all seq_cst): the waiter publishes the word, then reads the flag at the start of
/// each slice; the crashing thread sets the flag, then reads the word. Either the waiter sees
/// the flag, or the crashing thread sees the word. Only a crash landing between a slice's
/// flag check and its wait is left to the slice's end, as before. A stale word (the wait
/// ended, or was unwound past) costs at most a spurious wake-up of whatever waits there.
std::atomic<std::uintptr_t>& runtime_thread_wait_word() noexcept;

/// A counter latch for Scope: starts at 1 (the scope body itself), +1 per spawned job, and
/// completes its latch when the count drops to zero.
class CountLatch {
 public:
  CountLatch(Registry* registry, std::size_t owner) noexcept : latch_(registry, owner) {}
  void increment() noexcept { count_.fetch_add(1, std::memory_order_relaxed); }
  void decrement() noexcept {
    // acq_rel: the last decrement must see (and publish through the latch) the effects of
    // every earlier task.
    if (count_.fetch_sub(1, std::memory_order_acq_rel) == 1) latch_.set();
  }
  Latch& latch() noexcept { return latch_; }

 private:
  std::atomic<std::size_t> count_{1};
  Latch latch_;
};

}  // namespace wasmpool::detail
