// Compile-time constants and tiny portability helpers shared by the scheduler.
#pragma once

#include <cstddef>

// ThreadSanitizer does not model std::atomic_thread_fence (GCC even warns about it, and the
// build uses -Werror). Under TSan the few places that rely on a stand-alone fence use an
// equivalent formulation built from seq_cst operations on the atomics themselves; see
// deque.hpp and sleep.hpp.
#if defined(__SANITIZE_THREAD__)
#define WASMPOOL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WASMPOOL_TSAN 1
#endif
#endif
#ifndef WASMPOOL_TSAN
#define WASMPOOL_TSAN 0
#endif

namespace wasmpool {

/// Upper bound on the number of worker threads of one pool. It sizes the fixed
/// `RuntimeHooks::worker_state` array that JavaScript reads from shared memory and the 64-bit
/// "who is asleep" mask of the sleep module (one bit per worker). `ThreadPool(n)` with
/// `n > kMaxWorkers` throws std::invalid_argument.
inline constexpr std::size_t kMaxWorkers = 64;

namespace detail {

inline constexpr std::size_t kCacheLine = 64;

/// A polite busy-wait hint. WebAssembly has no pause instruction, so it is a no-op there.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace detail
}  // namespace wasmpool
