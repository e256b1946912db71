// parallel_for / parallel_reduce / parallel_sort against serial results, with and without a
// pool.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "test_util.hpp"

using namespace wasmpool;

namespace {

void check_all_algorithms() {
  for (int rep = 0; rep < 20; ++rep) {
    const std::size_t n = test::random_size(rep < 10 ? 100 : 200'000);
    const std::size_t grain = test::random_size(3) == 0 ? 0 : 1 + test::random_size(5000);

    std::vector<std::atomic<int>> hits(n);
    parallel_for(std::size_t{0}, n, grain, [&](std::size_t i) { hits[i].fetch_add(1); });
    for (std::size_t i = 0; i < n; ++i) REQUIRE(hits[i].load() == 1);

    // signed indices, negative start
    const long lo = -static_cast<long>(n / 2);
    std::atomic<long> s{0};
    parallel_for_range(lo, lo + static_cast<long>(n), static_cast<long>(grain),
                       [&](long a, long b) {
                         long local = 0;
                         for (long i = a; i < b; ++i) local += i;
                         s.fetch_add(local);
                       });
    long expect = 0;
    for (long i = lo; i < lo + static_cast<long>(n); ++i) expect += i;
    REQUIRE(s == expect);

    std::vector<std::uint64_t> v(n);
    for (auto& x : v) x = test::rng()() % 1000;
    const std::uint64_t serial = std::accumulate(v.begin(), v.end(), std::uint64_t{0});
    const std::uint64_t par = parallel_reduce(
        std::size_t{0}, n, grain, std::uint64_t{0},
        [&](std::size_t a, std::size_t b, std::uint64_t acc) {
          for (; a < b; ++a) acc += v[a];
          return acc;
        },
        std::plus<>{});
    REQUIRE(par == serial);
    // non-commutative combine: concatenation keeps the order
    const std::string cat = parallel_map_reduce(
        0, static_cast<int>(std::min<std::size_t>(n, 3000)), static_cast<int>(grain % 50),
        std::string(), [](int i) { return std::string(1, static_cast<char>('a' + i % 26)); },
        [](std::string a, const std::string& b) { return a + b; });
    std::string cat_serial;
    for (int i = 0; i < static_cast<int>(std::min<std::size_t>(n, 3000)); ++i)
      cat_serial += static_cast<char>('a' + i % 26);
    REQUIRE(cat == cat_serial);

    std::vector<int> a(n);
    for (auto& x : a) x = static_cast<int>(test::rng()() % (rep % 2 ? 100 : 1'000'000'000));
    std::vector<int> b = a;
    parallel_sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    REQUIRE(a == b);
    parallel_sort(a.begin(), a.end(), std::greater<>{});
    std::sort(b.begin(), b.end(), std::greater<>{});
    REQUIRE(a == b);
  }
  // strings: non-trivial value type
  std::vector<std::string> words(50'000);
  for (auto& w : words) w = std::to_string(test::rng()() % 100000);
  auto sorted = words;
  std::sort(sorted.begin(), sorted.end());
  parallel_sort(words.begin(), words.end());
  CHECK(words == sorted);
  // empty and tiny ranges
  std::vector<int> empty;
  parallel_sort(empty.begin(), empty.end());
  parallel_for(5, 5, 1, [](int) { FAIL("must not run"); });
  parallel_for(5, 3, 1, [](int) { FAIL("must not run"); });
  CHECK(parallel_reduce(
            3, 3, 1, 42, [](int, int, int acc) { return acc + 1; }, std::plus<>{}) == 42);
  // A result type whose copy may throw forks through join() rather than join_into(): the
  // same result, in order (left before right at every level).
  const std::vector<int> collected = parallel_reduce(
      0, 1000, 16, std::vector<int>{},
      [](int lo, int hi, std::vector<int> acc) {
        for (int i = lo; i < hi; ++i) acc.push_back(i);
        return acc;
      },
      [](std::vector<int> a, std::vector<int> b) {
        a.insert(a.end(), b.begin(), b.end());
        return a;
      });
  CHECK(collected.size() == 1000);
  CHECK(std::is_sorted(collected.begin(), collected.end()));
}

}  // namespace

TEST_CASE("parallel algorithms inside a pool match serial results", "[parallel]") {
  for (std::size_t threads : {1u, 2u, 3u}) {
    ThreadPool pool(threads);
    pool.install([] { check_all_algorithms(); });
  }
}

TEST_CASE("parallel algorithms from outside use the global pool", "[parallel]") {
  test::GlobalPoolGuard guard;
  init_global_pool(2);
  check_all_algorithms();
  std::atomic<int> on_worker{0};
  parallel_for(0, 100, 1, [&](int) {
    if (current_worker_index() >= 0) on_worker.fetch_add(1);
  });
  CHECK(on_worker == 100);
}

TEST_CASE("no pool: every parallel call runs serially on the caller", "[parallel]") {
  test::GlobalPoolGuard guard;
  REQUIRE(global_pool() == nullptr);
  check_all_algorithms();
  std::vector<int> order;
  parallel_for(0, 100, 3, [&](int i) {
    CHECK(current_worker_index() == -1);
    order.push_back(i);  // serial: no data race, and in order
  });
  std::vector<int> expect(100);
  std::iota(expect.begin(), expect.end(), 0);
  CHECK(order == expect);
  int spawned = 0;
  const int r = scope([&](Scope& s) {
    for (int i = 0; i < 10; ++i) s.spawn([&] { ++spawned; });
    return 3;
  });
  CHECK(r == 3);
  CHECK(spawned == 10);
  CHECK(test::fib_join(15) == test::fib_serial(15));
}
