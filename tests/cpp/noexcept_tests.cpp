// The pool built with -fno-exceptions (wasmpool_noexcept; docs/POOL.md, "Exceptions off"):
// join, scope, parallel_for, parallel_reduce and parallel_sort give the same results as
// serial code, on a ThreadPool, on the global pool and with no pool at all; and an error the
// pool would throw (an invalid argument) or rethrow to a waiter (cancelled_error) aborts
// the process with its message. No Catch2 (it needs exceptions): a failed check prints and
// the program exits with status 1. Quick by design: it runs on every native build.
#if defined(__cpp_exceptions)
#error "noexcept_tests.cpp must be compiled with -fno-exceptions"
#endif

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#if !defined(__EMSCRIPTEN__)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <wasmpool/pool.hpp>

namespace {

int g_failures = 0;

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      ++g_failures;                                                                 \
    }                                                                               \
  } while (0)

std::uint64_t fib_serial(int n) {
  return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

std::uint64_t fib_join(int n) {
  if (n < 2) return n;
  auto [a, b] = wasmpool::join([n] { return fib_join(n - 1); }, [n] { return fib_join(n - 2); });
  return a + b;
}

/// Every parallel API once; called on a worker of some pool, from outside (global pool) or
/// with no pool at all.
void exercise_api() {
  CHECK(fib_join(20) == fib_serial(20));

  int left = 0, right = 0;
  wasmpool::join([&] { left = 1; }, [&] { right = 2; });
  CHECK(left == 1 && right == 2);
  auto [x, unit] = wasmpool::join([] { return 7; }, [] {});
  CHECK(x == 7);
  (void)unit;

  std::atomic<int> spawned{0};
  const int from_scope = wasmpool::scope([&](wasmpool::Scope& s) {
    for (int i = 0; i < 100; ++i) {
      s.spawn([&spawned, &s] {
        spawned.fetch_add(1);
        s.spawn([&spawned] { spawned.fetch_add(1); });  // nested spawn on the same scope
      });
    }
    return 42;
  });
  CHECK(from_scope == 42);
  CHECK(spawned.load() == 200);

  std::vector<int> filled(100'000, 0);
  wasmpool::parallel_for(std::size_t{0}, filled.size(), std::size_t{0},
                         [&](std::size_t i) { filled[i] = static_cast<int>(i) * 3; });
  bool all = true;
  for (std::size_t i = 0; i < filled.size(); ++i) all = all && filled[i] == static_cast<int>(i) * 3;
  CHECK(all);

  const long long sum = wasmpool::parallel_reduce(
      0, 1'000'000, 0, 0LL,
      [](int lo, int hi, long long acc) {
        for (; lo < hi; ++lo) acc += lo;
        return acc;
      },
      std::plus<>{});
  CHECK(sum == 999'999LL * 1'000'000LL / 2);
  CHECK(wasmpool::parallel_map_reduce(
            0, 1000, 7, 0, [](int) { return 1; }, std::plus<>{}) == 1000);

  std::mt19937 gen(7);
  std::vector<int> v(300'000);
  for (int& e : v) e = static_cast<int>(gen());
  std::vector<int> expected = v;
  std::sort(expected.begin(), expected.end());
  wasmpool::parallel_sort(v.begin(), v.end());
  CHECK(v == expected);
  wasmpool::parallel_sort(v.begin(), v.end(), std::greater<>{});
  CHECK(std::is_sorted(v.begin(), v.end(), std::greater<>{}));
}

#if !defined(__EMSCRIPTEN__)
/// Runs `body` in a forked child; checks that the child aborted (SIGABRT) and that its
/// stderr contains `expected`. Called while this process has no other thread.
template <class Body>
void expect_abort(const char* what, const std::string& expected, Body body) {
  int fds[2];
  if (pipe(fds) != 0) {
    std::perror("pipe");
    ++g_failures;
    return;
  }
  const pid_t child = fork();
  if (child == 0) {
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    body();
    _exit(0);  // not reached when the pool aborts as it should
  }
  close(fds[1]);
  std::string err;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) err.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  const bool aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  const bool said = err.find(expected) != std::string::npos &&
                    err.find("built without C++ exceptions") != std::string::npos;
  if (!aborted || !said) {
    std::fprintf(stderr, "%s: expected an abort saying \"%s\"; status %d, stderr: %s\n", what,
                 expected.c_str(), status, err.c_str());
    ++g_failures;
  }
}
#endif

}  // namespace

int main() {
#if !defined(__EMSCRIPTEN__)
  // First, while this process has no thread to lose in a fork: what used to be thrown.
  expect_abort("ThreadPool(0)", "thread count must be in 1..",
               [] { wasmpool::ThreadPool pool(0); });
  expect_abort("init_global_pool of another size", "call exit_global_pool() first", [] {
    wasmpool::init_global_pool(2);
    wasmpool::init_global_pool(3);
  });
  // A waiter whose work the pool cancelled (cancelled_error with exceptions).
  expect_abort("install on a pool that shut down", "shut down before the task ran", [] {
    wasmpool::ThreadPool pool(2);
    wasmpool::detail::registry_of(pool).terminate();
    pool.install([] {});
  });
#endif

  exercise_api();  // no pool: serial

  {
    wasmpool::ThreadPool pool(4);
    pool.install(exercise_api);
    CHECK(pool.install([] { return wasmpool::current_worker_index() >= 0; }));
  }

  wasmpool::init_global_pool(3);
  exercise_api();  // from outside: inside the global pool
  wasmpool::exit_global_pool();
  CHECK(wasmpool::global_pool() == nullptr);

  if (g_failures != 0) {
    std::fprintf(stderr, "noexcept_tests: %d check(s) failed\n", g_failures);
    return 1;
  }
  std::printf("noexcept_tests: all checks passed\n");
  return 0;
}
