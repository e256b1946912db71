// Shared helpers for the pool tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>

#include <wasmpool/pool.hpp>

// Stress sizes: full under a plain native build, reduced where every instruction is expensive
// (ThreadSanitizer) or where the whole suite must stay quick on 2 cores.
#if defined(__SANITIZE_THREAD__)
#define WASMPOOL_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WASMPOOL_TEST_TSAN 1
#endif
#endif

namespace test {

#if defined(WASMPOOL_TEST_TSAN)
inline constexpr std::size_t kBigN = 1'000'000;
inline constexpr int kFibN = 20;
inline constexpr int kRepeat = 3;
#elif defined(__SANITIZE_ADDRESS__) || defined(__EMSCRIPTEN__)
inline constexpr std::size_t kBigN = 10'000'000;
inline constexpr int kFibN = 25;
inline constexpr int kRepeat = 10;
#else
inline constexpr std::size_t kBigN = 10'000'000;
inline constexpr int kFibN = 30;
inline constexpr int kRepeat = 30;
#endif

inline std::mt19937_64& rng() {
  static std::mt19937_64 gen(std::random_device{}());
  return gen;
}

inline std::size_t random_size(std::size_t max) {
  return std::uniform_int_distribution<std::size_t>(0, max)(rng());
}

inline std::uint64_t fib_serial(int n) {
  return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

inline std::uint64_t fib_join(int n) {
  if (n < 2) return n;
  auto [a, b] = wasmpool::join([n] { return fib_join(n - 1); }, [n] { return fib_join(n - 2); });
  return a + b;
}

/// Makes sure no global pool is left over by a failing test.
struct GlobalPoolGuard {
  GlobalPoolGuard() { wasmpool::exit_global_pool(); }
  ~GlobalPoolGuard() { wasmpool::exit_global_pool(); }
};

}  // namespace test
