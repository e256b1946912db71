// C++ that creates its own threads, as users' libraries do: std::thread started and joined
// inside an export (from the host thread and from pool threads), many at once, a pool of
// std::threads that outlives the call that made it, threads that crash, threads that log,
// and work that cannot report progress. The JS tests host it through ThreadPoolManager.
#include <emscripten/bind.h>
#include <emscripten/emscripten.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <wasmpool/pool.hpp>

#include "runtime/crash_record.hpp"
#include "runtime/thread_log.hpp"

namespace {

using Clock = std::chrono::steady_clock;

void busy_for(double ms) {
  const auto until = Clock::now() + std::chrono::duration<double, std::milli>(ms);
  volatile unsigned sink = 0;
  while (Clock::now() < until) sink = sink + 1;
}

// One std::thread, started and joined by the export (on the host thread).
int join_one_thread() {
  int value = 0;
  std::thread worker([&] { value = 42; });
  worker.join();
  return value;
}

// `count` std::threads alive at the same time (each waits until all have started), then
// joined. Returns the sum of their indexes. Past the host's thread limit, std::thread's
// constructor throws std::system_error: the threads already started are released and
// joined, and the error propagates.
double join_many_threads(int count) {
  std::atomic<int> started{0};
  std::atomic<bool> release{false};
  std::atomic<double> sum{0};
  std::vector<std::thread> threads;
  auto body = [&](int index) {
    started.fetch_add(1);
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    double expected = sum.load();
    while (!sum.compare_exchange_weak(expected, expected + index)) {
    }
  };
  try {
    for (int i = 0; i < count; ++i) threads.emplace_back(body, i);
    while (started.load() < count) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  } catch (...) {
    release.store(true);
    for (auto& t : threads) t.join();
    throw;
  }
  release.store(true);
  for (auto& t : threads) t.join();
  return sum.load();
}

// Pool tasks that each start and join a std::thread: pthread_create from a pool thread is
// proxied to the host thread, which is blocked in the parallel call.
double threads_from_pool_tasks(int tasks) {
  return wasmpool::parallel_reduce(
      0, tasks, 1, 0.0,
      [](int begin, int end, double acc) {
        for (int i = begin; i < end; ++i) {
          double value = 0;
          std::thread worker([&] { value = i * 2; });
          worker.join();
          acc += value;
        }
        return acc;
      },
      [](double a, double b) { return a + b; });
}

// A pool of std::threads kept between calls, as a library's own thread pool would be.
class PersistentPool {
 public:
  // Returns once every thread runs, as pools that hand out work by thread usually do: the
  // calls after it then find them all (and their start does not need the host's event
  // loop, which is blocked in this call).
  explicit PersistentPool(int threads) {
    for (int i = 0; i < threads; ++i) {
      workers_.emplace_back([this] {
        {
          std::lock_guard<std::mutex> lock(mutex_);
          ++started_;
        }
        ready_.notify_all();
        run();
      });
    }
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [&] { return started_ == static_cast<int>(workers_.size()); });
  }
  ~PersistentPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    ready_.notify_all();
    for (auto& t : workers_) t.join();
  }
  // Runs `jobs` jobs on the pool's threads and waits for them; returns how many distinct
  // threads ran one.
  int run_jobs(int jobs) {
    std::mutex seen_mutex;
    std::vector<std::thread::id> seen;
    std::atomic<int> remaining{jobs};
    std::condition_variable finished;
    std::mutex finished_mutex;
    for (int i = 0; i < jobs; ++i) {
      push([&] {
        busy_for(2);
        {
          std::lock_guard<std::mutex> lock(seen_mutex);
          bool known = false;
          for (auto id : seen) known = known || id == std::this_thread::get_id();
          if (!known) seen.push_back(std::this_thread::get_id());
        }
        if (remaining.fetch_sub(1) == 1) {
          std::lock_guard<std::mutex> lock(finished_mutex);
          finished.notify_all();
        }
      });
    }
    std::unique_lock<std::mutex> lock(finished_mutex);
    finished.wait(lock, [&] { return remaining.load() == 0; });
    return static_cast<int>(seen.size());
  }

 private:
  void push(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(job));
    }
    ready_.notify_one();
  }
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [&] { return done_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
  }
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  int started_ = 0;
  bool done_ = false;
};

std::unique_ptr<PersistentPool> g_persistent;

void start_persistent_pool(int threads) {
  g_persistent = std::make_unique<PersistentPool>(threads);
}

int run_on_persistent_pool(int jobs) {
  if (!g_persistent) throw std::logic_error("startPersistentPool() was not called on this host");
  return g_persistent->run_jobs(jobs);
}

void stop_persistent_pool() {
  g_persistent.reset();
}

// Faults on a thread that is not a pool thread.
void trap_on_std_thread() {
  std::thread worker([] { __builtin_trap(); });
  worker.join();
}

void abort_on_std_thread() {
  std::thread worker([] { std::abort(); });
  worker.join();
}

// A detached thread that traps `ms` after the call returned: a fault while no call is
// pending.
void trap_on_detached_thread_later(int ms) {
  std::thread([ms] {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    __builtin_trap();
  }).detach();
}

// A trap on the host thread itself, from its event loop, `ms` after the call returned.
void trap_on_host_later(int ms) {
  emscripten_async_call([](void*) { __builtin_trap(); }, nullptr, ms);
}

// Output of a std::thread: printf from JS's point of view, and wasmpool::log.
void log_from_std_thread() {
  std::thread worker([] {
    std::printf("printf from a std::thread\n");
    std::fflush(stdout);
    wasmpool::log(wasmpool::LogLevel::warn, "wasmpool::log from a std::thread");
  });
  worker.join();
}

// `tasks` pool tasks of `ms` each, none reporting progress itself: finished tasks are the
// only sign of life the watchdog gets.
double long_pool_tasks(int tasks, double ms) {
  return wasmpool::parallel_reduce(
      0, tasks, 1, 0.0,
      [ms](int begin, int end, double acc) {
        for (int i = begin; i < end; ++i) {
          busy_for(ms);
          acc += 1;
        }
        return acc;
      },
      [](double a, double b) { return a + b; });
}

// Work on a std::thread that can report no progress at all.
double busy_std_thread(double ms) {
  std::thread worker([ms] { busy_for(ms); });
  worker.join();
  return ms;
}

// A pool thread that spins forever after the call has returned (nobody waits for it): the
// host's orderly stop (exitThreadPool) would wait for it forever.
// Returns once the spin has begun.
void spin_pool_thread_after_return() {
  static std::atomic<bool> spinning{false};
  spinning.store(false);
  std::thread([] {
    wasmpool::global_pool()->install([] {
      spinning.store(true);
      volatile bool forever = true;
      while (forever) {
      }
    });
  }).detach();
  while (!spinning.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// An embind class: its JS handles live in one instance and must never cross to another.
class Box {
 public:
  explicit Box(double value) : value_(value) {}
  double value() const { return value_; }

 private:
  double value_;
};

double unbox(const Box& box) {
  return box.value();
}

// Writes the crash record from C++ without dying, and advances the progress word: the JS
// decoders read both by the layout runtimeInfo() reports (tests/js/layout.test.js).
bool write_crash_record(int kind, std::string message) {
  return wasmpool::runtime::record_crash(static_cast<wasmpool::runtime::CrashKind>(kind), message);
}

void report_progress_times(int times) {
  for (int i = 0; i < times; ++i) wasmpool::report_progress();
}

}  // namespace

EMSCRIPTEN_BINDINGS(threads_module) {
  emscripten::function("writeCrashRecord", &write_crash_record);
  emscripten::function("reportProgressTimes", &report_progress_times);
  emscripten::class_<Box>("Box").constructor<double>().function("value", &Box::value);
  emscripten::function("unbox", &unbox);
  emscripten::function("joinOneThread", &join_one_thread);
  emscripten::function("joinManyThreads", &join_many_threads);
  emscripten::function("threadsFromPoolTasks", &threads_from_pool_tasks);
  emscripten::function("startPersistentPool", &start_persistent_pool);
  emscripten::function("runOnPersistentPool", &run_on_persistent_pool);
  emscripten::function("stopPersistentPool", &stop_persistent_pool);
  emscripten::function("trapOnStdThread", &trap_on_std_thread);
  emscripten::function("abortOnStdThread", &abort_on_std_thread);
  emscripten::function("trapOnDetachedThreadLater", &trap_on_detached_thread_later);
  emscripten::function("trapOnHostLater", &trap_on_host_later);
  emscripten::function("logFromStdThread", &log_from_std_thread);
  emscripten::function("longPoolTasks", &long_pool_tasks);
  emscripten::function("busyStdThread", &busy_std_thread);
  emscripten::function("spinPoolThreadAfterReturn", &spin_pool_thread_after_return);
}
