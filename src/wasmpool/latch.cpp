#include "wasmpool/latch.hpp"

#include <climits>

#include "wasmpool/config.hpp"
#include "wasmpool/futex.hpp"
#include "wasmpool/registry.hpp"

namespace wasmpool::detail {

void Latch::set() noexcept {
  // Copy what we need first: once state_ is 1 the waiter may return and free *this.
  Registry* registry = registry_;
  const std::size_t owner = owner_;
  state_.store(1, std::memory_order_release);  // W1 of the sleep protocol (docs/POOL.md)
  if (registry != nullptr) {
    registry->sleep().wake_worker(owner);  // the registry outlives its waiting worker
  } else {
    futex_wake(&state_, INT_MAX);  // address only; harmless if the waiter already left
  }
}

void Latch::wait_outside() noexcept {
  while (state_.load(std::memory_order_acquire) == 0) {
    futex_wait(&state_, 0, kOutsideWaitSliceMs);
  }
}

}  // namespace wasmpool::detail
