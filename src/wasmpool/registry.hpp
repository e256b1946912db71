// The registry: the shared state of one pool (its workers' deques, the injector, the sleep
// module, the shutdown flags) and WorkerThread, the per-thread state of a pool worker,
// including its main loop and the "wait while working" loop every blocking operation of a
// worker goes through.
//
// Where work is looked for (find_work), in order:
//   1. the worker's own deque, bottom end (LIFO; the job it forked most recently),
//   2. the other workers' deques, top end (FIFO; the oldest, biggest jobs), starting at a
//      random victim (xorshift per worker) so thieves spread out instead of all hammering
//      worker 0, and visiting each victim once per round,
//   3. the injector (work from outside the pool).
// A worker that finds nothing spins kSpinRounds rounds, then sleeps (sleep.hpp).
//
// Shutdown (terminate): close the injector and cancel what it still holds, raise
// `cancelling_` (jobs that start from now on complete at once with cancelled_error instead
// of running) and `terminating_`, wake everyone, join every thread. A worker leaves its main
// loop only when termination was requested and it found no job anywhere; a worker still
// inside a job keeps running its own wait loops, so every job already in a deque is run
// (cancelled) by its owner or a thief and every waiter is released.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "wasmpool/config.hpp"
#include "wasmpool/deque.hpp"
#include "wasmpool/injector.hpp"
#include "wasmpool/job.hpp"
#include "wasmpool/latch.hpp"
#include "wasmpool/sleep.hpp"

namespace wasmpool::detail {

class WorkerThread;

/// The idle phase before sleeping: spin (re-searching for work) for about kSpinTime.
/// Falling asleep and being woken costs a futex round trip (a few microseconds natively,
/// tens to hundreds under Node's Atomics.wait/notify), so a worker that runs out of work in
/// the middle of a fork-join computation should not sleep at once: a thief that finished its
/// piece typically finds the next one within microseconds.
class IdleSpin {
 public:
  static constexpr std::chrono::microseconds kSpinTime{100};
  void reset() noexcept { rounds_ = 0; }
  /// True while the worker should keep spinning; false when it is time to sleep.
  bool keep_spinning() noexcept {
    if (rounds_++ == 0) start_ = std::chrono::steady_clock::now();
    cpu_relax();
    if (rounds_ < 64 || (rounds_ & 15) != 0) return true;  // read the clock now and then
    return std::chrono::steady_clock::now() - start_ < kSpinTime;
  }

 private:
  unsigned rounds_ = 0;
  std::chrono::steady_clock::time_point start_{};
};

class Registry {
 public:
  /// Starts `threads` workers without waiting for them to run (see ThreadPool).
  /// `publish_hooks`: this is the global pool, whose workers report to RuntimeHooks.
  Registry(std::size_t threads, bool publish_hooks);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  std::size_t num_threads() const noexcept { return deques_.size(); }

  /// Queues a job from a thread that is not a worker of this pool.
  /// Throws cancelled_error if the pool is shutting down.
  void inject(Job* job);

  /// Idempotent. Must not be called from one of this registry's workers.
  void terminate();

  bool cancelling() const noexcept { return cancelling_.load(std::memory_order_relaxed); }
  bool terminating() const noexcept { return terminating_.load(std::memory_order_acquire); }

  Sleep& sleep() noexcept { return sleep_; }
  Injector& injector() noexcept { return injector_; }
  ChaseLevDeque<Job*>& deque(std::size_t i) noexcept { return *deques_[i]; }

  /// Snapshot: is there a queued job anywhere? (the sleep protocol's re-check)
  bool has_queued_work() const noexcept;

 private:
  void worker_main(std::size_t index);

  std::vector<std::unique_ptr<ChaseLevDeque<Job*>>> deques_;
  Injector injector_;
  Sleep sleep_;
  std::atomic<bool> cancelling_{false};
  std::atomic<bool> terminating_{false};
  std::atomic<bool> terminate_started_{false};
  bool publish_hooks_;
  std::vector<std::thread> threads_;
};

/// Per-thread state of a pool worker; lives on the worker thread's stack.
class WorkerThread {
 public:
  WorkerThread(Registry* registry, std::size_t index, bool publish_hooks) noexcept;

  /// The worker running on this thread, or nullptr outside any pool.
  static WorkerThread* current() noexcept { return current_; }

  Registry* registry() const noexcept { return registry_; }
  std::size_t index() const noexcept { return index_; }

  /// Makes a job available to thieves (and wakes a sleeper if there is one).
  void push(Job* job) {
    deque_->push(job);
    registry_->sleep().notify_new_work(1);
  }
  Job* pop() { return deque_->pop(); }

  /// Runs a job taken from a queue (cancelled if the pool is shutting down).
  void execute(Job* job) {
    job->run(registry_->cancelling());
    count_task();
  }

  /// Counts one completed task for the watchdog (RuntimeHooks::progress), in batches.
  void count_task() noexcept {
    if (++pending_progress_ >= kProgressBatch) flush_progress();
  }
  void flush_progress() noexcept;

  /// Returns once `latch` is set, running other jobs meanwhile (never blocks the pool).
  void wait_until(const Latch& latch) {
    if (!latch.probe()) wait_until_cold(latch);
  }

  void main_loop();

  /// Tasks per relaxed fetch_add on the shared progress counter.
  static constexpr std::uint32_t kProgressBatch = 64;

 private:
  friend class Registry;
  void wait_until_cold(const Latch& latch);
  Job* find_work();
  Job* steal();
  std::uint64_t next_random() noexcept;
  void set_state(std::uint32_t state) noexcept;

  static constinit thread_local WorkerThread* current_;

  Registry* registry_;
  std::size_t index_;
  ChaseLevDeque<Job*>* deque_;
  std::uint64_t rng_;
  std::uint32_t pending_progress_ = 0;
  bool publish_hooks_;
};

}  // namespace wasmpool::detail
