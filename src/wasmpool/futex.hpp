// The one blocking primitive of the pool: wait on / wake a 32-bit word.
//
// Why not std::atomic::wait: under Emscripten's libc++ it polls with sleeps of up to ~8 ms,
// which would put milliseconds on every wake-up. Why not std::condition_variable: a futex
// word can be woken without a mutex, so a waker never blocks, and a wake aimed at a word
// whose owner already left is harmless (at worst a spurious wake-up of a later waiter on the
// same address, which every waiter in this library tolerates by re-checking in a loop).
#pragma once

#include <atomic>
#include <cstdint>

namespace wasmpool::detail {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "futex words must be plain lock-free 32-bit atomics");

/// Blocks while `*word == expected`, for at most `timeout_ms` milliseconds (negative: no
/// limit). Returns on a wake, on a timeout, if the value differs, or spuriously; callers
/// always re-check their condition.
void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                double timeout_ms) noexcept;

/// Wakes up to `count` threads blocked in futex_wait on `word`.
void futex_wake(std::atomic<std::uint32_t>* word, int count) noexcept;

}  // namespace wasmpool::detail
