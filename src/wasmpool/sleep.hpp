// The sleep module: how idle workers go to sleep and how they are woken without ever
// missing a wake-up. See docs/POOL.md for the full protocol; in short:
//
// State: one futex word per worker (its "wake sequence") and one 64-bit mask `sleeping_`
// with bit i set while worker i is (about to be) asleep. kMaxWorkers == 64 is what lets
// the mask be one atomic word.
//
// Sleeper (worker i, after spinning without finding work):
//   S1. seq = word[i]                              (before announcing)
//   S2. sleeping_ |= bit(i)                        (announce)
//   S3. full fence
//   S4. re-check: any queued job anywhere? the latch it waits for? termination?
//       if so: clear bit(i), return (do not sleep)
//   S5. futex_wait(word[i], seq)                   (sleeps only if nobody bumped word[i])
//   S6. clear bit(i)
// Waker (after publishing a job, completing a latch, or starting shutdown):
//   W1. publish (push to a deque or the injector, store the latch, set the flag)
//   W2. full fence
//   W3. m = sleeping_; if bit(i) is set for a worker it wants to wake, claim it by clearing
//       the bit with fetch_and (exactly one waker claims a sleep), then word[i] += 1 and
//       futex_wake(word[i]).
//
// Why no wake-up is lost: S2-S3-S4 and W1-W2-W3 are the two halves of Dekker's pattern. With
// both fences, either the sleeper's re-check S4 sees the published work, or the waker's W3
// sees bit(i). In the second case the waker bumps word[i], which the sleeper read in S1
// *before* S2, so the futex_wait in S5 either returns immediately (value changed) or is
// woken by the futex_wake. Spurious wake-ups are harmless: the worker loops and re-checks.
//
// Cost on the hot path: publishing a job costs one fence and one load of a cache line that
// only changes when someone falls asleep or wakes, so busy workers never write it.
// Under ThreadSanitizer (which does not model fences) W2 becomes a seq_cst read-modify-write
// of `sleeping_` (S2 already is one), which gives the same guarantee through the
// modification order of that one variable.
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
#if !WASMPOOL_TSAN
    std::atomic_thread_fence(std::memory_order_seq_cst);  // S3
#endif
    if (!should_wake()) futex_wait(&word, seq, -1.0);      // S4, S5
    sleeping_.fetch_and(~bit, std::memory_order_relaxed);  // S6
  }

  /// Called after publishing new work: wakes up to `count` sleeping workers.
  void notify_new_work(std::size_t count = 1) noexcept {
    std::uint64_t mask = publish_fence_and_load();  // W2, W3
    while (mask != 0 && count != 0) {
      const std::size_t i = static_cast<std::size_t>(__builtin_ctzll(mask));
      if (claim(i)) --count;
      mask = sleeping_.load(std::memory_order_relaxed);
    }
  }

  /// Called after completing a latch that worker `index` waits for.
  void wake_worker(std::size_t index) noexcept {
    const std::uint64_t mask = publish_fence_and_load();
    if (mask & (std::uint64_t{1} << index)) claim(index);
  }

  /// Called after setting the termination flag.
  void wake_all() noexcept {
    std::uint64_t mask = publish_fence_and_load();
    while (mask != 0) {
      claim(static_cast<std::size_t>(__builtin_ctzll(mask)));
      mask = sleeping_.load(std::memory_order_relaxed);
    }
  }

 private:
  struct alignas(kCacheLine) Slot {
    std::atomic<std::uint32_t> word{0};
  };

  std::uint64_t publish_fence_and_load() noexcept {
#if WASMPOOL_TSAN
    return sleeping_.fetch_or(0, std::memory_order_seq_cst);
#else
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return sleeping_.load(std::memory_order_relaxed);
#endif
  }

  /// Wakes worker i if it is still announced as sleeping and nobody else claimed it.
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
