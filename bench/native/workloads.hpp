// The three benchmark workloads, shared by pool_bench (Google Benchmark, native) and
// pool_figures (dependency-free, native and wasm).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <random>
#include <vector>

#include <wasmpool/pool.hpp>

namespace bench {

inline constexpr int kFibN = 30;
// Below this the "cutoff" variants recurse serially: the headline join-vs-oneTBB comparison.
inline constexpr int kFibCutoff = 20;
inline constexpr std::size_t kReduceN = 100'000'000;
inline constexpr std::size_t kSortN = 10'000'000;

inline std::uint64_t fib_serial(int n) {
  return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

/// The classic fork-join overhead test: one join per call, no sequential cutoff.
inline std::uint64_t fib_pool(int n) {
  if (n < 2) return n;
  auto [a, b] = wasmpool::join([n] { return fib_pool(n - 1); }, [n] { return fib_pool(n - 2); });
  return a + b;
}

inline std::uint64_t fib_pool_cutoff(int n) {
  if (n < kFibCutoff) return fib_serial(n);
  auto [a, b] = wasmpool::join([n] { return fib_pool_cutoff(n - 1); },
                               [n] { return fib_pool_cutoff(n - 2); });
  return a + b;
}

inline std::vector<std::uint32_t> reduce_input(std::size_t n) {
  std::vector<std::uint32_t> v(n);
  std::uint32_t x = 12345;
  for (auto& e : v) {
    x = x * 1664525u + 1013904223u;
    e = x >> 8;
  }
  return v;
}

inline std::uint64_t reduce_serial(const std::vector<std::uint32_t>& v) {
  return std::accumulate(v.begin(), v.end(), std::uint64_t{0});
}

inline std::uint64_t reduce_pool(const std::vector<std::uint32_t>& v) {
  return wasmpool::parallel_reduce(
      std::size_t{0}, v.size(), std::size_t{0}, std::uint64_t{0},
      [&](std::size_t lo, std::size_t hi, std::uint64_t acc) {
        for (; lo < hi; ++lo) acc += v[lo];
        return acc;
      },
      std::plus<>{});
}

inline std::vector<int> sort_input(std::size_t n) {
  std::vector<int> v(n);
  std::mt19937 gen(42);
  for (auto& e : v) e = static_cast<int>(gen());
  return v;
}

}  // namespace bench
