// Exceptions: captured, first wins, the rest cancelled, rethrown after all children ended.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "test_util.hpp"

using namespace wasmpool;

namespace {

struct TaggedError : std::runtime_error {
  explicit TaggedError(int t) : std::runtime_error("tagged " + std::to_string(t)), tag(t) {}
  int tag;
};

// A binary tree of joins of the given depth; the leaves listed in `throwers` throw.
int tree(int depth, int id, const std::vector<int>& throwers, std::atomic<int>& leaves_run) {
  if (depth == 0) {
    leaves_run.fetch_add(1);
    for (int t : throwers)
      if (t == id) throw TaggedError(id);
    return 1;
  }
  auto [a, b] = join([&] { return tree(depth - 1, id * 2, throwers, leaves_run); },
                     [&] { return tree(depth - 1, id * 2 + 1, throwers, leaves_run); });
  return a + b;
}

}  // namespace

TEST_CASE("exceptions from deep inside nested joins propagate, pool stays usable", "[exceptions]") {
  for (std::size_t threads : {1u, 2u, 4u}) {
    ThreadPool pool(threads);
    for (int rep = 0; rep < 20; ++rep) {
      const int depth = 10;
      std::vector<int> throwers;
      const int count = 1 + static_cast<int>(test::random_size(4));
      for (int k = 0; k < count; ++k)
        throwers.push_back((1 << depth) + static_cast<int>(test::random_size((1 << depth) - 1)));
      std::atomic<int> leaves_run{0};
      try {
        pool.install([&] { return tree(depth, 1, throwers, leaves_run); });
        FAIL("expected an exception");
      } catch (const TaggedError& e) {
        CHECK(std::find(throwers.begin(), throwers.end(), e.tag) != throwers.end());
      }
      // healthy afterwards
      CHECK(pool.install([] { return test::fib_join(15); }) == test::fib_serial(15));
    }
  }
}

TEST_CASE("join: if a throws before b starts, b is skipped", "[exceptions]") {
  ThreadPool pool(1);  // one worker: nobody can steal b
  bool b_ran = false;
  CHECK_THROWS_AS(
      pool.install([&] { join([] { throw std::logic_error("a"); }, [&] { b_ran = true; }); }),
      std::logic_error);
  CHECK_FALSE(b_ran);
  // b throws: a's result is discarded and b's exception comes out
  CHECK_THROWS_WITH(pool.install([] {
    return join([] { return 1; }, []() -> int { throw std::runtime_error("b"); });
  }),
                    "b");
}

TEST_CASE("first exception wins: exactly one of many is rethrown", "[exceptions]") {
  ThreadPool pool(3);
  std::atomic<int> thrown{0};
  try {
    pool.install([&] {
      parallel_for(0, 1000, 1, [&](int i) {
        if (i % 7 == 3) {
          thrown.fetch_add(1);
          throw TaggedError(i);
        }
      });
    });
    FAIL("expected an exception");
  } catch (const TaggedError& e) {
    CHECK(e.tag % 7 == 3);
  }
  CHECK(thrown >= 1);
}

TEST_CASE("cancellation: work not yet started is skipped after a failure", "[exceptions]") {
  ThreadPool pool(1);  // deterministic: one worker, nothing runs behind our back
  std::atomic<int> ran{0};
  CHECK_THROWS_AS(pool.install([&] {
    parallel_for(0, 1000, 1, [&](int i) {
      ran.fetch_add(1);
      if (i == 0) throw std::runtime_error("first");
    });
  }),
                  std::runtime_error);
  CHECK(ran == 1);

  std::atomic<int> spawned_ran{0};
  CHECK_THROWS_AS(pool.install([&] {
    scope([&](Scope& s) {
      for (int i = 0; i < 100; ++i) s.spawn([&] { spawned_ran.fetch_add(1); });
      throw std::runtime_error("body");
    });
  }),
                  std::runtime_error);
  CHECK(spawned_ran == 0);

  std::atomic<int> sorted_calls{0};
  std::vector<int> v(100'000);
  for (auto& x : v) x = static_cast<int>(test::rng()() % 1000);
  ThreadPool two(2);
  CHECK_THROWS_AS(two.install([&] {
    parallel_sort(v.begin(), v.end(), [&](int a, int b) {
      if (sorted_calls.fetch_add(1) == 5000) throw std::out_of_range("comp");
      return a < b;
    });
  }),
                  std::out_of_range);
  CHECK(two.install([] { return test::fib_join(12); }) == 144);
}

TEST_CASE("exceptions in scope tasks and reduce, with the global pool", "[exceptions]") {
  test::GlobalPoolGuard guard;
  init_global_pool(2);
  CHECK_THROWS_WITH(scope([](Scope& s) {
                      for (int i = 0; i < 50; ++i)
                        s.spawn([i] {
                          if (i == 25) throw std::runtime_error("task 25");
                        });
                    }),
                    "task 25");
  CHECK_THROWS_WITH(parallel_reduce(
                        0, 100000, 100, 0L,
                        [](int lo, int hi, long acc) {
                          if (lo <= 5000 && 5000 < hi) throw std::runtime_error("fold");
                          return acc + (hi - lo);
                        },
                        std::plus<>{}),
                    "fold");
  CHECK(parallel_map_reduce(
            0, 1000, 10, 0, [](int) { return 1; }, std::plus<>{}) == 1000);
}
