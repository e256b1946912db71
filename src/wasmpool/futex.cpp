#include "wasmpool/futex.hpp"

#include <climits>
#include <cmath>

#if defined(__EMSCRIPTEN__)
#include <emscripten/threading.h>
#elif defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#else
#include <chrono>
#include <thread>
#endif

namespace wasmpool::detail {

#if defined(__EMSCRIPTEN__)

// emscripten_futex_wait is memory.atomic.wait32 on pthreads. On the main runtime thread it
// also runs proxied calls and honours Emscripten's "a thread crashed" flag on entry, which
// is why the outside waiter (latch.hpp) waits in short slices rather than forever.
void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                double timeout_ms) noexcept {
  emscripten_futex_wait(reinterpret_cast<volatile void*>(word), expected,
                        timeout_ms < 0 ? INFINITY : timeout_ms);
}

void futex_wake(std::atomic<std::uint32_t>* word, int count) noexcept {
  emscripten_futex_wake(reinterpret_cast<volatile void*>(word), count);
}

#elif defined(__linux__)

// The raw futex syscall (private: the words never leave this process).
void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                double timeout_ms) noexcept {
  timespec ts{};
  timespec* timeout = nullptr;
  if (timeout_ms >= 0) {
    const double whole = std::floor(timeout_ms / 1000.0);
    ts.tv_sec = static_cast<time_t>(whole);
    ts.tv_nsec = static_cast<long>((timeout_ms - whole * 1000.0) * 1e6);
    timeout = &ts;
  }
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, timeout,
          nullptr, 0);
}

void futex_wake(std::atomic<std::uint32_t>* word, int count) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, count, nullptr,
          nullptr, 0);
}

#else

// Portable fallback (not used on the supported platforms): short sleeps. Correct, because
// every waiter re-checks its condition, but adds latency.
void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                double timeout_ms) noexcept {
  if (word->load(std::memory_order_acquire) != expected) return;
  const double slice = timeout_ms < 0 ? 0.05 : std::min(timeout_ms, 0.05);
  std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(slice));
}

void futex_wake(std::atomic<std::uint32_t>*, int) noexcept {}

#endif

}  // namespace wasmpool::detail
