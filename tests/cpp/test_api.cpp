// ThreadPool, install, join, scope, current_worker_index.
#include <atomic>
#include <chrono>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "test_util.hpp"

using namespace wasmpool;

TEST_CASE("ThreadPool: sizes and install", "[pool]") {
  test::GlobalPoolGuard guard;
  CHECK_THROWS_AS(ThreadPool(0), std::invalid_argument);
  CHECK_THROWS_AS(ThreadPool(kMaxWorkers + 1), std::invalid_argument);
  for (std::size_t n : {1u, 2u, 3u, 8u}) {
    ThreadPool pool(n);
    CHECK(pool.num_threads() == n);
    CHECK(pool.install([] { return 42; }) == 42);
    int x = 0;
    pool.install([&] { x = 7; });  // void
    CHECK(x == 7);
    int& ref = pool.install([&]() -> int& { return x; });  // references stay references
    CHECK(&ref == &x);
    auto s = pool.install([] { return std::string(1000, 'x'); });  // move-only-ish results
    CHECK(s.size() == 1000);
    auto up = pool.install([] { return std::make_unique<int>(5); });
    CHECK(*up == 5);
  }
}

TEST_CASE("ThreadPool: a pool with kMaxWorkers threads works", "[pool]") {
  ThreadPool pool(kMaxWorkers);
  std::atomic<int> count{0};
  pool.install([&] { parallel_for(0, 10000, 1, [&](int) { count.fetch_add(1); }); });
  CHECK(count == 10000);
}

TEST_CASE("current_worker_index", "[pool]") {
  test::GlobalPoolGuard guard;
  CHECK(current_worker_index() == -1);
  ThreadPool pool(3);
  // Catch2 v2 assertions are not thread-safe: tasks record, the test thread checks.
  std::vector<std::atomic<int>> seen(3);
  std::atomic<int> out_of_range{0};
  pool.install([&] {
    parallel_for(0, 3000, 1, [&](int) {
      const int w = current_worker_index();
      if (w < 0 || w >= 3) {
        out_of_range.fetch_add(1);
        return;
      }
      seen[static_cast<std::size_t>(w)].fetch_add(1);
      std::this_thread::yield();
    });
  });
  CHECK(out_of_range == 0);
  int total = 0;
  for (auto& s : seen) total += s.load();
  CHECK(total == 3000);
  CHECK(current_worker_index() == -1);
  // No pool: serial, on the caller.
  CHECK(join([] { return current_worker_index(); }, [] { return 1; }).first == -1);
}

TEST_CASE("join: results, void, mixed, references", "[join]") {
  ThreadPool pool(2);
  pool.install([] {
    auto [a, b] = join([] { return 1; }, [] { return std::string("two"); });
    CHECK(a == 1);
    CHECK(b == "two");
    int x = 0, y = 0;
    join([&] { x = 1; }, [&] { y = 2; });
    CHECK(x + y == 3);
    auto [m, v] = join([&] { x = 5; }, [] { return 9; });
    CHECK(std::is_same_v<decltype(m), std::monostate>);
    CHECK(v == 9);
    auto [r1, r2] = join([&]() -> int& { return x; }, [&]() -> int& { return y; });
    CHECK(&r1 == &x);
    CHECK(&r2 == &y);
  });
}

TEST_CASE("join: nested recursion matches serial for random sizes", "[join]") {
  for (std::size_t threads : {1u, 2u, 4u}) {
    ThreadPool pool(threads);
    for (int rep = 0; rep < 5; ++rep) {
      const int n = 5 + static_cast<int>(test::random_size(15));
      CHECK(pool.install([n] { return test::fib_join(n); }) == test::fib_serial(n));
    }
  }
}

TEST_CASE("scope: spawn many, nested, borrowing", "[scope]") {
  ThreadPool pool(3);
  for (int rep = 0; rep < 10; ++rep) {
    const std::size_t n = test::random_size(2000);
    std::vector<int> out(n, 0);
    std::atomic<int> nested{0};
    const int r = pool.install([&] {
      return scope([&](Scope& s) {
        for (std::size_t i = 0; i < n; ++i) {
          s.spawn([&, i] {
            out[i] = static_cast<int>(i) * 2;
            if (i % 100 == 0) s.spawn([&] { nested.fetch_add(1); });
          });
        }
        return 17;
      });
    });
    CHECK(r == 17);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(out[i] == static_cast<int>(i) * 2);
    CHECK(nested == static_cast<int>((n + 99) / 100));
  }
}

TEST_CASE("scope: nested scopes and joins inside spawned tasks", "[scope]") {
  ThreadPool pool(2);
  std::atomic<long> sum{0};
  pool.install([&] {
    scope([&](Scope& s) {
      for (int i = 0; i < 20; ++i) {
        s.spawn([&, i] {
          scope([&](Scope& inner) {
            for (int j = 0; j < 10; ++j) inner.spawn([&, j] { sum.fetch_add(i * 10 + j); });
          });
          auto [a, b] = join([] { return test::fib_join(10); }, [] { return 1; });
          sum.fetch_add(static_cast<long>(a) + b - 56);
        });
      }
    });
  });
  CHECK(sum == 199 * 200 / 2);
}

TEST_CASE("cross-pool install: a worker of one pool calls into another", "[pool]") {
  ThreadPool outer(2);
  ThreadPool inner(2);
  std::atomic<int> not_on_worker{0};
  const long total = outer.install([&] {
    return parallel_reduce(
        0, 64, 1, 0L,
        [&](int lo, int hi, long acc) {
          for (int i = lo; i < hi; ++i) {
            acc += inner.install([&not_on_worker, i] {
              if (current_worker_index() < 0) not_on_worker.fetch_add(1);
              return static_cast<long>(test::fib_join(12)) + i;
            });
          }
          return acc;
        },
        std::plus<>{});
  });
  CHECK(total == 64 * 144 + 63 * 64 / 2);
  CHECK(not_on_worker == 0);
}

TEST_CASE("many external threads submit at once", "[pool]") {
  test::GlobalPoolGuard guard;
  ThreadPool pool(2);
  init_global_pool(2);
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      for (int rep = 0; rep < 20; ++rep) {
        const int n = 1000 + t * 100 + rep;
        // explicit pool
        const long a = pool.install([n] {
          return parallel_map_reduce(
              0, n, 0, 0L, [](int i) { return long{i}; }, std::plus<>{});
        });
        // global pool, no install
        const long b = parallel_map_reduce(
            0, n, 7, 0L, [](int i) { return long{i}; }, std::plus<>{});
        if (a == long{n} * (n - 1) / 2 && b == a) ok.fetch_add(1);
      }
    });
  }
  for (auto& c : clients) c.join();
  CHECK(ok == 8 * 20);
}

TEST_CASE("install: a result is seen whether it comes while the caller yields or sleeps",
          "[pool]") {
  // A thread outside the pool first waits for its latch yielding the core (natively, up to
  // detail::kOutsideSpinTime), then sleeps on the latch's futex: results that come in
  // either phase, or that are already there, reach it, with everything the job wrote.
  test::GlobalPoolGuard guard;
  ThreadPool pool(2);
  const auto spin = std::chrono::duration_cast<std::chrono::microseconds>(detail::kOutsideSpinTime);
  for (const auto work : {std::chrono::microseconds(0), spin / 10, spin * 3}) {
    std::vector<int> written(1000, 0);
    const int result = pool.install([&] {
      const auto until = std::chrono::steady_clock::now() + work;
      while (std::chrono::steady_clock::now() < until) std::this_thread::yield();
      std::iota(written.begin(), written.end(), 0);
      return 17;
    });
    CHECK(result == 17);
    CHECK(written[999] == 999);
  }
}
