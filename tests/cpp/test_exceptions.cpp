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

namespace {

std::atomic<int> g_live_errors{0};

/// An exception that counts its live instances (copies included).
struct CountedError : std::runtime_error {
  explicit CountedError(int t) : std::runtime_error("counted " + std::to_string(t)), tag(t) {
    g_live_errors.fetch_add(1);
  }
  CountedError(const CountedError& other) : std::runtime_error(other), tag(other.tag) {
    g_live_errors.fetch_add(1);
  }
  ~CountedError() override { g_live_errors.fetch_sub(1); }
  int tag;
};

}  // namespace

TEST_CASE("first exception wins: exactly one of many is rethrown, after all ended",
          "[exceptions]") {
  ThreadPool pool(3);
  for (int rep = 0; rep < 10; ++rep) {
    constexpr int kN = 1000;
    std::vector<std::atomic<bool>> threw(kN);
    std::atomic<int> thrown{0}, in_flight{0}, in_flight_at_catch{-1}, live_at_catch{-1};
    int tag = -1;
    REQUIRE(g_live_errors.load() == 0);
    try {
      pool.install([&] {
        parallel_for(0, kN, 1, [&](int i) {
          struct InFlight {  // counts the leaf as running until it is left, also by a throw
            std::atomic<int>& n;
            explicit InFlight(std::atomic<int>& c) : n(c) { n.fetch_add(1); }
            ~InFlight() { n.fetch_sub(1); }
          } guard(in_flight);
          if (i % 7 == 3) {
            threw[static_cast<std::size_t>(i)] = true;
            thrown.fetch_add(1);
            throw CountedError(i);
          }
          std::this_thread::sleep_for(std::chrono::microseconds(20));
        });
      });
      FAIL("expected an exception");
    } catch (const CountedError& e) {
      tag = e.tag;
      in_flight_at_catch = in_flight.load();
      // Every other exception object has been destroyed: one survives, the one rethrown.
      live_at_catch = g_live_errors.load();
    }
    REQUIRE(tag >= 0);
    CHECK(tag % 7 == 3);
    CHECK(threw[static_cast<std::size_t>(tag)].load());  // one that was really thrown
    CHECK(thrown >= 1);
    CHECK(in_flight_at_catch == 0);  // rethrown only after every started leaf ended
    CHECK(live_at_catch == 1);
    CHECK(g_live_errors.load() == 0);  // nothing kept alive after the handler
  }
}

TEST_CASE("first exception wins: the earlier of two, not the later", "[exceptions]") {
  // join(a, b) with b stolen: a throws first; b throws only after it saw a task that the
  // joining worker runs after it recorded a's exception, so a's capture happens-before b's.
  // A "last exception wins" slot would rethrow b's.
  ThreadPool pool(2);
  for (int rep = 0; rep < 10; ++rep) {
    std::atomic<bool> b_started{false}, marker_ran{false};
    int tag = -1;
    try {
      pool.install([&] {
        scope([&](Scope& s) {
          join(
              [&] {
                while (!b_started.load()) std::this_thread::yield();  // b was stolen
                // Pushed on this worker's deque; the join pops it after recording a's error.
                s.spawn([&] { marker_ran = true; });
                throw CountedError(1);
              },
              [&] {
                b_started = true;
                while (!marker_ran.load()) std::this_thread::yield();
                throw CountedError(2);
              });
        });
      });
      FAIL("expected an exception");
    } catch (const CountedError& e) {
      tag = e.tag;
    }
    CHECK(tag == 1);
    CHECK(marker_ran.load());
  }
  CHECK(g_live_errors.load() == 0);
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
  // A combine that throws, with a result type that forks through join_into (no handler
  // around the fork): the exception still reaches the caller, once.
  CHECK_THROWS_WITH(
      parallel_reduce(
          0, 100000, 100, 0L, [](int lo, int hi, long acc) { return acc + (hi - lo); },
          [](long a, long b) -> long {
            if (a + b == 100000) throw std::runtime_error("combine");
            return a + b;
          }),
      "combine");
  // A join whose halves are noexcept runs them without a handler: results as ever.
  auto [x, y] = join([]() noexcept { return 1; }, []() noexcept { return 2; });
  CHECK(x + y == 3);
}
