// Stress: fib via join, a big reduce, a big sort; repeated small operations (wake-ups).
#include <algorithm>
#include <cstdint>
#include <functional>
#include <numeric>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "test_util.hpp"

using namespace wasmpool;

TEST_CASE("stress: fib via join without cutoff", "[stress]") {
  ThreadPool pool(2);
  CHECK(pool.install([] { return test::fib_join(test::kFibN); }) == test::fib_serial(test::kFibN));
}

TEST_CASE("stress: big reduce and big sort", "[stress]") {
  test::GlobalPoolGuard guard;
  init_global_pool(2);
  const std::size_t n = test::kBigN;
  std::vector<std::uint32_t> v(n);
  std::mt19937 gen(12345);
  for (auto& x : v) x = gen();
  const std::uint64_t serial = std::accumulate(v.begin(), v.end(), std::uint64_t{0});
  const std::uint64_t par = parallel_reduce(
      std::size_t{0}, n, std::size_t{0}, std::uint64_t{0},
      [&](std::size_t lo, std::size_t hi, std::uint64_t acc) {
        for (; lo < hi; ++lo) acc += v[lo];
        return acc;
      },
      std::plus<>{});
  CHECK(par == serial);
  std::vector<std::uint32_t> w = v;
  parallel_sort(v.begin(), v.end());
  std::sort(w.begin(), w.end());
  CHECK(v == w);
}

TEST_CASE("stress: many tiny parallel calls (sleep/wake protocol)", "[stress]") {
  ThreadPool pool(2);
  for (int rep = 0; rep < test::kRepeat * 30; ++rep) {
    const int n = static_cast<int>(test::random_size(64));
    const long r = pool.install([n] {
      return parallel_map_reduce(
          0, n, 1, 0L, [](int i) { return long{i}; }, std::plus<>{});
    });
    REQUIRE(r == long{n} * (n - 1) / 2 + (n == 0 ? 0 : 0));
  }
}
