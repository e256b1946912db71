#include "wasmpool/latch.hpp"

#include <chrono>
#include <climits>
#include <thread>

#if defined(__EMSCRIPTEN__)
#include <emscripten/threading.h>
#endif

#include "wasmpool/config.hpp"
#include "wasmpool/futex.hpp"
#include "wasmpool/registry.hpp"

namespace wasmpool::detail {

void Latch::set() noexcept {
  // Copy what we need first: once state_ is kSet the waiter may return and free *this.
  Registry* registry = registry_;
  const std::size_t owner = owner_;
  if (registry != nullptr) {
    state_.store(kSet, std::memory_order_release);  // W1 of the sleep protocol (docs/POOL.md)
    registry->sleep().wake_worker(owner);           // the registry outlives its waiting worker
    return;
  }
  // Release: the waiter's acquire load of kSet sees everything done before. The exchange
  // reads the latest value, so a waiter that marked kSleeper before it is woken; one that
  // marks it after finds kSet instead (its compare-exchange fails) and does not sleep.
  if (state_.exchange(kSet, std::memory_order_release) == kSleeper) {
    futex_wake(&state_, INT_MAX);  // address only; harmless if the waiter already left
  }
}

std::atomic<std::uintptr_t>& runtime_thread_wait_word() noexcept {
  static constinit std::atomic<std::uintptr_t> word{0};
  return word;
}

void Latch::wait_outside() noexcept {
#if defined(__EMSCRIPTEN__)
  // A proxied call run inside a slice may wait on a latch of its own: the outer word comes
  // back when it returns.
  const bool runtime_thread = emscripten_is_main_runtime_thread();
  const std::uintptr_t outer =
      runtime_thread
          ? runtime_thread_wait_word().exchange(reinterpret_cast<std::uintptr_t>(&state_))
          : 0;
#else
  // Natively: yield the core in a loop for up to kOutsideSpinTime (config.hpp says why),
  // then sleep. The clock is read as an idle worker's spin reads it (kSpinRoundsPerClockRead);
  // a check is one load.
  const auto spin_start = std::chrono::steady_clock::now();
  for (unsigned checks = 1; state_.load(std::memory_order_acquire) != kSet; ++checks) {
    std::this_thread::yield();
    if ((checks & (kSpinRoundsPerClockRead - 1)) == 0 &&
        std::chrono::steady_clock::now() - spin_start >= kOutsideSpinTime) {
      break;
    }
  }
#endif
  // Announce the sleep, then sleep while the latch is unset (set() wakes only a kSleeper).
  std::uint32_t seen = kUnset;
  if (state_.compare_exchange_strong(seen, kSleeper, std::memory_order_acquire)) seen = kSleeper;
  while (seen != kSet) {
    futex_wait(&state_, kSleeper, kOutsideWaitSliceMs);
    seen = state_.load(std::memory_order_acquire);
  }
#if defined(__EMSCRIPTEN__)
  if (runtime_thread) runtime_thread_wait_word().store(outer);
#endif
}

}  // namespace wasmpool::detail
