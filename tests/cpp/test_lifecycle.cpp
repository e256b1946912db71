// The global pool's lifecycle, shutdown while idle and busy, and the runtime hooks.
#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

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

TEST_CASE("shutdown while idle joins every thread", "[lifecycle]") {
  test::GlobalPoolGuard guard;
  std::atomic<int> started{0}, exited{0};
  set_worker_start_callback([](std::size_t) {});
  for (int rep = 0; rep < 5; ++rep) {
    init_global_pool(4);
    CHECK(parallel_map_reduce(
              0, 1000, 1, 0, [](int) { return 1; }, std::plus<>{}) == 1000);
    std::this_thread::sleep_for(5ms);  // let workers fall asleep
    exit_global_pool();
  }
  (void)started;
  (void)exited;
  set_worker_start_callback(nullptr);
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
}  // namespace

TEST_CASE("runtime hooks: layout, progress, worker count and states, callbacks", "[hooks]") {
  test::GlobalPoolGuard guard;
  RuntimeHooks& hooks = runtime_hooks();
  CHECK(wasmpool_runtime_hooks() == &hooks);
  CHECK(hooks.worker_count.load() == 0);

  g_started = 0;
  g_exited = 0;
  g_start_mask = 0;
  set_worker_start_callback([](std::size_t i) {
    if (current_worker_index() != static_cast<int>(i)) g_wrong_index.fetch_add(1);
    g_start_mask.fetch_or(1u << i);
    g_started.fetch_add(1);
  });
  set_worker_exit_callback([](std::size_t) { g_exited.fetch_add(1); });

  init_global_pool(3);
  CHECK(hooks.worker_count.load() == 3);
  const std::uint32_t before = hooks.progress.load();
  std::atomic<bool> saw_working{false};
  parallel_for(0, 3000, 1, [&](int) {
    const int w = current_worker_index();
    if (hooks.worker_state[static_cast<std::size_t>(w)].load() == kWorkerWorking)
      saw_working = true;
  });
  CHECK(saw_working);
  // Progress is flushed when workers go idle: wait for that (bounded).
  for (int i = 0; i < 2000 && hooks.progress.load() - before < 1000; ++i)
    std::this_thread::sleep_for(1ms);
  CHECK(hooks.progress.load() - before >= 1000);
  // Idle workers eventually report idle.
  bool all_idle = false;
  for (int i = 0; i < 2000 && !all_idle; ++i) {
    all_idle = true;
    for (std::size_t w = 0; w < 3; ++w)
      all_idle = all_idle && hooks.worker_state[w].load() == kWorkerIdle;
    if (!all_idle) std::this_thread::sleep_for(1ms);
  }
  CHECK(all_idle);
  const std::uint32_t p0 = hooks.progress.load();
  report_progress();
  CHECK(hooks.progress.load() - p0 >= 1);

  exit_global_pool();
  CHECK(g_started == 3);
  CHECK(g_start_mask == 7u);
  CHECK(g_wrong_index == 0);
  CHECK(g_exited == 3);
  CHECK(hooks.worker_count.load() == 0);
  for (std::size_t w = 0; w < 3; ++w) CHECK(hooks.worker_state[w].load() == kWorkerExited);

  // A private pool does not touch worker_count / worker_state.
  {
    ThreadPool pool(2);
    pool.install([] {});
    CHECK(hooks.worker_count.load() == 0);
  }
  set_worker_start_callback(nullptr);
  set_worker_exit_callback(nullptr);
}
