// A growable Chase-Lev work-stealing deque with the memory orderings of
// N. M. Le, A. Pop, A. Cohen, F. Zappa Nardelli, "Correct and Efficient Work-Stealing for
// Weak Memory Models", PPoPP 2013 (figure 1), for pointer-sized items.
//
// One owner thread pushes and pops at the bottom (LIFO: the most recently forked job is the
// one whose data is hottest in cache); any number of thieves steal at the top (FIFO: the
// oldest job, which in fork-join code is the biggest piece of remaining work).
//
// Invariants
//   * top only ever increases (only by a successful CAS); bottom is written by the owner only.
//   * The live items are the indices [top, bottom) of the current buffer (index & mask).
//   * An item is handed out exactly once: to the owner by pop() or to a thief by steal();
//     when both race for the last item, the CAS on top decides.
//   * top and bottom are 64-bit so they never wrap in the life of a process (2^63 pushes),
//     also on wasm32 where size_t is 32-bit.
//
// Reclamation of old buffers: when push() finds the buffer full it copies the live items
// into a buffer twice as large and publishes it. A thief that loaded the old buffer pointer
// just before may still read a slot from it (and then fail or succeed its CAS on top, which
// is what decides ownership, not the buffer it read from). Freeing the old buffer would need
// hazard pointers or epochs; instead retired buffers are kept, owned by the deque, until the
// deque is destroyed, which happens only after every thread of the pool has been joined.
// Sizes double, so the retired buffers together are smaller than the current one: the cost
// is bounded by 2x the peak size, and in fork-join code the peak is the recursion depth.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "wasmpool/config.hpp"

namespace wasmpool::detail {

template <class T>
class ChaseLevDeque {
  static_assert(std::is_pointer_v<T>, "the deque stores pointers (null means 'nothing')");
  static_assert(std::atomic<std::int64_t>::is_always_lock_free,
                "64-bit atomics must be lock-free (they are on x86-64 and wasm32 + threads)");

 public:
  enum class Steal { kEmpty, kAbort, kSuccess };
  struct StealResult {
    Steal status;
    T item;
  };

  explicit ChaseLevDeque(std::int64_t initial_capacity = kDequeInitialCapacity) {
    std::int64_t cap = 1;
    while (cap < initial_capacity) cap <<= 1;
    buffers_.push_back(std::make_unique<Buffer>(cap));
    buffer_.store(buffers_.back().get(), std::memory_order_relaxed);
  }

  ChaseLevDeque(const ChaseLevDeque&) = delete;
  ChaseLevDeque& operator=(const ChaseLevDeque&) = delete;

  /// Owner only.
  void push(T item) {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed);
    const std::int64_t t = top_.load(std::memory_order_acquire);
    Buffer* a = buffer_.load(std::memory_order_relaxed);
    if (b - t > a->capacity - 1) a = grow(a, t, b);
    a->put(b, item);
    // Le et al.: fence(release); bottom.store(b + 1, relaxed). A release store is the same
    // guarantee here (it orders the slot write and the job's contents before the new bottom)
    // and is what ThreadSanitizer understands.
    bottom_.store(b + 1, std::memory_order_release);
  }

  /// Owner only. Returns nullptr when empty (or when a thief won the last item).
  T pop() noexcept {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    Buffer* a = buffer_.load(std::memory_order_relaxed);
    // Reserve slot b before looking at top. The store-load ordering between "bottom = b" and
    // "load top" is the crux of Chase-Lev: a thief must either see the reservation or we
    // must see its increment of top. As in Le et al., a seq_cst fence between the two gives
    // it (it pairs with the fence in steal()). The stores of bottom are release (free on x86
    // and wasm) so that a thief that reads any bottom value also sees the items pushed
    // before it. The load of top can be relaxed: when t < b the item is our own; when
    // t == b the CAS below (seq_cst) is what synchronises with the thieves.
    bottom_.store(b, std::memory_order_release);
    full_fence();
    std::int64_t t = top_.load(std::memory_order_relaxed);
    if (t <= b) {
      T item = a->get(b);
      if (t == b) {
        // Last item: race the thieves for it through top.
        if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                          std::memory_order_relaxed)) {
          item = nullptr;
        }
        bottom_.store(b + 1, std::memory_order_release);
      }
      return item;
    }
    bottom_.store(b + 1, std::memory_order_release);  // was empty: undo the reservation
    return nullptr;
  }

  /// Any thread. kAbort means a concurrent pop/steal won the race; the caller may retry.
  StealResult steal() noexcept {
    std::int64_t t = top_.load(std::memory_order_acquire);
    full_fence();  // pairs with the fence in pop()
    const std::int64_t b = bottom_.load(std::memory_order_acquire);
    if (t >= b) return {Steal::kEmpty, nullptr};
    // Le et al. load the buffer with consume; acquire is what compilers implement anyway.
    Buffer* a = buffer_.load(std::memory_order_acquire);
    T item = a->get(t);
    // The CAS decides ownership; if it fails the item we read may be stale and is dropped.
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
      return {Steal::kAbort, nullptr};
    }
    return {Steal::kSuccess, item};
  }

  /// Any thread; a snapshot, used by the sleep protocol to decide whether to sleep.
  bool looks_empty() const noexcept {
    const std::int64_t t = top_.load(std::memory_order_acquire);
    const std::int64_t b = bottom_.load(std::memory_order_acquire);
    return b <= t;
  }

  /// Current capacity (owner only; for tests).
  std::int64_t capacity() const noexcept {
    return buffer_.load(std::memory_order_relaxed)->capacity;
  }

 private:
  struct Buffer {
    explicit Buffer(std::int64_t cap)
        : capacity(cap), mask(cap - 1), slots(new std::atomic<T>[static_cast<std::size_t>(cap)]) {}
    // Slots are atomics so that a thief's speculative read of a slot the owner is rewriting
    // is not a data race; relaxed suffices, ordering comes from top/bottom.
    T get(std::int64_t i) const noexcept { return slots[i & mask].load(std::memory_order_relaxed); }
    void put(std::int64_t i, T x) noexcept { slots[i & mask].store(x, std::memory_order_relaxed); }
    const std::int64_t capacity;
    const std::int64_t mask;
    std::unique_ptr<std::atomic<T>[]> slots;
  };

  Buffer* grow(Buffer* old, std::int64_t t, std::int64_t b) {
    auto bigger = std::make_unique<Buffer>(old->capacity * 2);
    for (std::int64_t i = t; i < b; ++i) bigger->put(i, old->get(i));
    Buffer* raw = bigger.get();
    buffers_.push_back(std::move(bigger));  // the old one stays alive: see the file comment
    buffer_.store(raw, std::memory_order_release);
    return raw;
  }

  alignas(kCacheLine) std::atomic<std::int64_t> top_{0};     // thieves and owner
  alignas(kCacheLine) std::atomic<std::int64_t> bottom_{0};  // owner writes, thieves read
  std::atomic<Buffer*> buffer_{nullptr};
  std::vector<std::unique_ptr<Buffer>> buffers_;  // owner only: current and retired buffers
};

}  // namespace wasmpool::detail
