// The sleep module: how idle workers go to sleep and how they are woken without ever
// missing a wake-up. The protocol (steps S1-S6 of a sleeper, W1-W3 of a waker), why it loses
// no wake-up, and what it costs are written down once, in docs/POOL.md, "Sleep protocol";
// the step labels in the comments below refer to it.
//
// State: one futex word per worker (its wake sequence, in its own cache line) and one
// 64-bit mask `sleeping_` with bit i set while worker i is (about to be) asleep;
// kMaxWorkers == 64 is what lets the mask be one atomic word.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "wasmpool/config.hpp"
#include "wasmpool/futex.hpp"

namespace wasmpool::detail {

class Sleep {
 public:
  explicit Sleep(std::size_t workers) : slots_(new Slot[workers]) {}

  /// Worker `index` goes to sleep unless `should_wake()` (evaluated after announcing itself)
  /// says there is a reason to stay awake. Returns after a wake-up (possibly spurious).
  template <class Cond>
  void sleep(std::size_t index, Cond&& should_wake) {
    const std::uint64_t bit = std::uint64_t{1} << index;
    std::atomic<std::uint32_t>& word = slots_[index].word;
    const std::uint32_t seq = word.load(std::memory_order_acquire);  // S1
    sleeping_.fetch_or(bit, std::memory_order_seq_cst);              // S2
    full_fence();                                                    // S3
    if (!should_wake()) futex_wait(&word, seq, -1.0);                // S4, S5
    sleeping_.fetch_and(~bit, std::memory_order_relaxed);            // S6
  }

  /// W1 done by the caller (work published): wakes up to `count` sleeping workers.
  void notify_new_work(std::size_t count = 1) noexcept {
    std::uint64_t mask = publish_fence_and_load();  // W2, W3
    while (mask != 0 && count != 0) {
      const std::size_t i = static_cast<std::size_t>(__builtin_ctzll(mask));
      if (claim(i)) --count;
      mask = sleeping_.load(std::memory_order_relaxed);
    }
  }

  /// W1 done by the caller (the pool was abandoned, abandon.hpp): wakes every sleeper.
  void wake_all() noexcept {
    for (std::uint64_t mask = publish_fence_and_load(); mask != 0; mask &= mask - 1) {
      claim(static_cast<std::size_t>(__builtin_ctzll(mask)));
    }
  }
  /// W1 done by the caller (a latch that worker `index` waits for is set): wakes it.
  void wake_worker(std::size_t index) noexcept {
    const std::uint64_t mask = publish_fence_and_load();
    if (mask & (std::uint64_t{1} << index)) claim(index);
  }

 private:
  struct alignas(kCacheLine) Slot {
    std::atomic<std::uint32_t> word{0};
  };

  /// W2 and the load of W3: the fence pairs with S3 (see docs/POOL.md, "Sleep protocol").
  std::uint64_t publish_fence_and_load() noexcept {
    full_fence();
    return sleeping_.load(std::memory_order_relaxed);
  }

  /// W3: wakes worker i if it is still announced as sleeping and nobody else claimed it.
  bool claim(std::size_t i) noexcept {
    const std::uint64_t bit = std::uint64_t{1} << i;
    if ((sleeping_.fetch_and(~bit, std::memory_order_acq_rel) & bit) == 0) return false;
    slots_[i].word.fetch_add(1, std::memory_order_release);
    futex_wake(&slots_[i].word, 1);
    return true;
  }

  std::unique_ptr<Slot[]> slots_;
  alignas(kCacheLine) std::atomic<std::uint64_t> sleeping_{0};
};

}  // namespace wasmpool::detail
