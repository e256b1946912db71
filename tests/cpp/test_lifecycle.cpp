// The global pool's lifecycle, shutdown while idle and busy, and the runtime hooks.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#if defined(__linux__) && !defined(__EMSCRIPTEN__)
#include <dirent.h>
#endif

#include "test_util.hpp"

using namespace wasmpool;
using namespace std::chrono_literals;

TEST_CASE("init/exit semantics", "[lifecycle]") {
  test::GlobalPoolGuard guard;
  CHECK(global_pool() == nullptr);
  exit_global_pool();  // no pool: no-op
  CHECK_THROWS_AS(init_global_pool(0), std::invalid_argument);
  CHECK_THROWS_AS(init_global_pool(kMaxWorkers + 1), std::invalid_argument);
  CHECK(global_pool() == nullptr);

  init_global_pool(2);
  ThreadPool* p = global_pool();
  REQUIRE(p != nullptr);
  CHECK(p->num_threads() == 2);
  init_global_pool(2);  // same size: no-op
  CHECK(global_pool() == p);
  CHECK_THROWS_AS(init_global_pool(3), std::logic_error);  // different size: refused
  CHECK(global_pool() == p);
  // init/exit from inside a worker is refused
  CHECK_THROWS_AS(p->install([] { init_global_pool(2); }), std::logic_error);
  CHECK_THROWS_AS(p->install([] { exit_global_pool(); }), std::logic_error);

  exit_global_pool();
  CHECK(global_pool() == nullptr);
  exit_global_pool();   // twice: no-op
  init_global_pool(3);  // re-init with another size after exit
  CHECK(global_pool()->num_threads() == 3);
  CHECK(test::fib_join(18) == test::fib_serial(18));
  exit_global_pool();
}

TEST_CASE("startup does not wait for the workers: work submitted at once is queued",
          "[lifecycle]") {
  for (int rep = 0; rep < 20; ++rep) {
    ThreadPool pool(2);
    CHECK(pool.install([] { return current_worker_index() >= 0; }));
  }
  // create and destroy without ever using it
  for (int rep = 0; rep < 20; ++rep) {
    ThreadPool pool(3);
  }
}

namespace {

std::atomic<int> g_idle_started{0};
std::atomic<int> g_idle_exited{0};

#if defined(__linux__) && !defined(__EMSCRIPTEN__)
#define WASMPOOL_TEST_COUNTS_THREADS 1
/// Threads of this process, from /proc/self/task (one directory per thread).
int process_threads() {
  int n = 0;
  if (DIR* dir = opendir("/proc/self/task")) {
    while (const dirent* e = readdir(dir)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(dir);
  }
  return n;
}

/// The kernel may list a joined thread for a moment after pthread_join returned (it clears
/// the joiner's futex before the task is reaped): poll, bounded.
int process_threads_settled(int expected) {
  int n = process_threads();
  for (int i = 0; i < 2000 && n != expected; ++i) {
    std::this_thread::sleep_for(1ms);
    n = process_threads();
  }
  return n;
}
#endif

}  // namespace

TEST_CASE("shutdown while idle joins every thread", "[lifecycle]") {
  test::GlobalPoolGuard guard;
  g_idle_started = 0;
  g_idle_exited = 0;
  set_worker_start_callback([](std::size_t) { g_idle_started.fetch_add(1); });
  set_worker_exit_callback([](std::size_t) { g_idle_exited.fetch_add(1); });
#if WASMPOOL_TEST_COUNTS_THREADS
  // A sanitizer runtime may start a helper thread at the first pthread_create: have it first.
  std::thread([] {}).join();
  const int threads_before = process_threads();
  REQUIRE(threads_before >= 1);
#endif
  constexpr int kReps = 5;
  for (int rep = 0; rep < kReps; ++rep) {
    init_global_pool(4);
#if WASMPOOL_TEST_COUNTS_THREADS
    // std::thread creates the thread before init returns: the count is a real measurement.
    CHECK(process_threads() == threads_before + 4);
#endif
    CHECK(parallel_map_reduce(
              0, 1000, 1, 0, [](int) { return 1; }, std::plus<>{}) == 1000);
    std::this_thread::sleep_for(5ms);  // let workers fall asleep
    exit_global_pool();
    // Every worker that started has run its exit callback (exit_global_pool joined it).
    CHECK(g_idle_exited.load() == g_idle_started.load());
#if WASMPOOL_TEST_COUNTS_THREADS
    CHECK(process_threads_settled(threads_before) == threads_before);
#endif
  }
  CHECK(g_idle_started.load() == 4 * kReps);
  CHECK(g_idle_exited.load() == 4 * kReps);
  set_worker_start_callback(nullptr);
  set_worker_exit_callback(nullptr);
}

TEST_CASE("shutdown while busy: waiters get the result or cancelled_error, never hang",
          "[lifecycle]") {
  test::GlobalPoolGuard guard;
  for (int rep = 0; rep < 5; ++rep) {
    init_global_pool(2);
    std::atomic<int> finished{0}, cancelled{0}, started{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t) {
      clients.emplace_back([&] {
        try {
          parallel_for(0, 2000, 1, [&](int) {
            started.fetch_add(1);
            std::this_thread::sleep_for(std::chrono::microseconds(200));
          });
          finished.fetch_add(1);
        } catch (const cancelled_error&) {
          cancelled.fetch_add(1);
        }
      });
    }
    while (started.load() < 10) std::this_thread::yield();
    exit_global_pool();  // cancels the queued work and joins the threads
    for (auto& c : clients) c.join();
    CHECK(finished + cancelled == 4);
    CHECK(cancelled >= 1);
    CHECK(global_pool() == nullptr);
  }
  // After the shutdown, calls run serially.
  CHECK(parallel_map_reduce(
            0, 100, 1, 0, [](int) { return 1; }, std::plus<>{}) == 100);
}

TEST_CASE("ThreadPool destructor with queued scope tasks from outside", "[lifecycle]") {
  // Tasks spawned from the pool are finished or cancelled before the destructor returns.
  std::atomic<int> ran{0};
  {
    ThreadPool pool(2);
    pool.install([&] {
      scope([&](Scope& s) {
        for (int i = 0; i < 100; ++i) s.spawn([&] { ran.fetch_add(1); });
      });
    });
  }
  CHECK(ran == 100);
}

namespace {
std::atomic<int> g_started{0};
std::atomic<int> g_exited{0};
std::atomic<unsigned> g_start_mask{0};
std::atomic<int> g_wrong_index{0};

std::uint32_t sum_of_worker_slots() {
  std::uint32_t sum = 0;
  for (const WorkerProgress& slot : runtime_hooks().worker_progress) sum += slot.count.load();
  return sum;
}

/// Polls `done` every millisecond for up to `seconds`; returns its last value.
template <class Pred>
bool eventually(Pred done, int seconds = 10) {
  for (int i = 0; i < seconds * 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return done();
}
}  // namespace

TEST_CASE("runtime hooks: layout the JavaScript side reads", "[hooks]") {
  RuntimeHooks& hooks = runtime_hooks();
  CHECK(wasmpool_runtime_hooks() == &hooks);
  const auto* base = reinterpret_cast<const unsigned char*>(&hooks);
  CHECK(reinterpret_cast<std::uintptr_t>(base) % 64 == 0);
  CHECK(reinterpret_cast<const unsigned char*>(&hooks.progress) - base ==
        static_cast<std::ptrdiff_t>(kProgressOffset));
  for (std::size_t i = 0; i < kMaxWorkers; ++i) {
    CHECK(reinterpret_cast<const unsigned char*>(&hooks.worker_progress[i].count) - base ==
          static_cast<std::ptrdiff_t>(kWorkerProgressOffset + i * kWorkerProgressStride));
  }
  CHECK(kProgressOffset == 0);
  CHECK(kWorkerProgressOffset == 64);
  CHECK(kWorkerProgressStride == 64);
  CHECK(sizeof(RuntimeHooks) == 64 + 64 * 64);
}

TEST_CASE("runtime hooks: a worker's slot advances after each task, while it is busy", "[hooks]") {
  test::GlobalPoolGuard guard;
  init_global_pool(1);  // one worker: index 0, and the tasks run one after the other
  std::atomic<std::uint32_t>& slot = runtime_hooks().worker_progress[0].count;
  constexpr int kTasks = 6;
  std::atomic<int> started{0};   // tasks that began
  std::atomic<int> released{0};  // tasks allowed to return
  std::atomic<bool> give_up{false};
  std::thread client([&] {
    scope([&](Scope& s) {
      for (int k = 0; k < kTasks; ++k) {
        s.spawn([&] {
          const int me = started.fetch_add(1);
          while (released.load() <= me && !give_up.load()) std::this_thread::yield();
        });
      }
    });
  });
  // Task k blocks until the test has seen task k-1 counted: the worker is busy inside a
  // task, never idle, so only a per-task publication can move the slot here.
  bool counted_each = true;
  for (int k = 0; k < kTasks && counted_each; ++k) {
    counted_each = eventually([&] { return started.load() > k; });
    if (!counted_each) break;
    const std::uint32_t before = slot.load();
    released.store(k + 1);  // task k returns; task k + 1 (if any) starts and blocks
    counted_each = eventually([&] { return slot.load() - before >= 1; });
    if (counted_each && k + 1 < kTasks) {
      // Task k + 1 has begun, so task k is fully counted, and nothing else was: one each.
      counted_each = eventually([&] { return started.load() > k + 1; });
      counted_each = counted_each && slot.load() - before == 1;
    }
  }
  give_up.store(true);
  client.join();
  CHECK(counted_each);
  CHECK(started.load() == kTasks);
}

TEST_CASE("runtime hooks: other pools count into progress, per task", "[hooks]") {
  test::GlobalPoolGuard guard;
  RuntimeHooks& hooks = runtime_hooks();
  const std::uint32_t slots_before = sum_of_worker_slots();
  ThreadPool pool(1);  // not the global pool
  constexpr std::uint32_t kTasks = 100;
  const std::uint32_t counted = pool.install([&] {
    const std::uint32_t before = hooks.progress.load();
    scope([](Scope& s) {
      for (std::uint32_t i = 0; i < kTasks; ++i) s.spawn([] {});
    });
    // One worker ran every task before scope() returned on it, and counted each at once.
    return hooks.progress.load() - before;
  });
  CHECK(counted >= kTasks);
  CHECK(sum_of_worker_slots() == slots_before);
}

TEST_CASE("runtime hooks: progress of the global pool, callbacks", "[hooks]") {
  test::GlobalPoolGuard guard;
  RuntimeHooks& hooks = runtime_hooks();
  g_started = 0;
  g_exited = 0;
  g_start_mask = 0;
  set_worker_start_callback([](std::size_t i) {
    if (current_worker_index() != static_cast<int>(i)) g_wrong_index.fetch_add(1);
    g_start_mask.fetch_or(1u << i);
    g_started.fetch_add(1);
  });
  set_worker_exit_callback([](std::size_t) { g_exited.fetch_add(1); });

  std::uint32_t unused_before[kMaxWorkers];
  for (std::size_t w = 0; w < kMaxWorkers; ++w)
    unused_before[w] = hooks.worker_progress[w].count.load();
  init_global_pool(3);
  const std::uint32_t before = sum_of_worker_slots();
  parallel_for(0, 3000, 1, [](int) {});
  // 2999 joins (each counts its second half once) and the call itself: 3000 tasks. The
  // outside caller may return just before the worker counts the last one.
  CHECK(eventually([&] { return sum_of_worker_slots() - before >= 3000; }));
  for (std::size_t w = 3; w < kMaxWorkers; ++w)
    CHECK(hooks.worker_progress[w].count.load() == unused_before[w]);
  const std::uint32_t p0 = hooks.progress.load();
  report_progress();
  CHECK(hooks.progress.load() - p0 >= 1);

  exit_global_pool();
  CHECK(g_started == 3);
  CHECK(g_start_mask == 7u);
  CHECK(g_wrong_index == 0);
  CHECK(g_exited == 3);
  set_worker_start_callback(nullptr);
  set_worker_exit_callback(nullptr);
}
