// The registry: the shared state of one pool (its workers' deques and terminate latches,
// the injector, the sleep module, the cancel flag) and WorkerThread, the per-thread state of
// a pool worker, with the one loop in which a worker runs jobs, spins and sleeps.
//
// Where work is looked for (find_work), in order:
//   1. the worker's own deque, bottom end (LIFO; the job it forked most recently),
//   2. the other workers' deques, top end (FIFO; the oldest, biggest jobs), starting at a
//      random victim (xorshift per worker) so thieves spread out instead of all hammering
//      worker 0, and visiting each victim once per round,
//   3. the injector (work from outside the pool).
//
// One loop (WorkerThread::wait_until): run jobs until a latch is set; when no job is found,
// spin for a while (IdleSpin), then sleep (docs/POOL.md, "Sleep protocol"). Every wait of a
// worker goes through it: join and scope wait on their job's latch, and the worker's main
// loop is a wait on the worker's terminate latch (as in rayon-core), followed by a final
// drain.
//
// Shutdown (terminate): raise `cancelling_` (jobs that start from now on complete at once
// with cancelled_error instead of running), close the injector and cancel what it still
// holds, set every worker's terminate latch (which wakes it), join every thread. A worker
// whose terminate latch is set runs (cancelled) every job it can still find before it
// exits, and a worker still inside a job keeps running its own wait loops, so every job
// already in a deque is run by its owner or a thief and every waiter is released.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "wasmpool/abandon.hpp"
#include "wasmpool/config.hpp"
#include "wasmpool/deque.hpp"
#include "wasmpool/injector.hpp"
#include "wasmpool/job.hpp"
#include "wasmpool/latch.hpp"
#include "wasmpool/sleep.hpp"

namespace wasmpool::detail {

class WorkerThread;

/// The idle phase before sleeping: keep searching for about kSpinTime (config.hpp says why),
/// pausing for the first kSpinRoundsBeforeClock rounds and yielding the core after them.
class IdleSpin {
 public:
  void reset() noexcept { rounds_ = 0; }
  /// True while the worker should keep spinning; false when it is time to sleep.
  bool keep_spinning() noexcept {
    if (rounds_++ == 0) start_ = std::chrono::steady_clock::now();
    if (rounds_ < kSpinRoundsBeforeClock) {
      cpu_relax();  // a short gap: the next job usually appears within these rounds
      return true;
    }
    spin_yield();  // past that, leave the core to a runnable thread (config.hpp says why)
    if ((rounds_ & (kSpinRoundsPerClockRead - 1)) != 0) return true;
    return std::chrono::steady_clock::now() - start_ < kSpinTime;
  }

 private:
  unsigned rounds_ = 0;
  std::chrono::steady_clock::time_point start_{};
};

class Registry {
 public:
  /// Starts `threads` workers without waiting for them to run (see ThreadPool).
  /// `publish_hooks`: this is the global pool, whose worker i counts its tasks in
  /// RuntimeHooks::worker_progress[i] (other pools count into RuntimeHooks::progress).
  Registry(std::size_t threads, bool publish_hooks);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  std::size_t num_threads() const noexcept { return threads_info_.size(); }

  /// Queues a job from a thread that is not a worker of this pool.
  /// Throws cancelled_error if the pool is shutting down.
  void inject(Job* job);

  /// Idempotent. Must not be called from one of this registry's workers.
  void terminate();

  bool cancelling() const noexcept { return cancelling_.load(std::memory_order_relaxed); }

  Sleep& sleep() noexcept { return sleep_; }
  Injector& injector() noexcept { return injector_; }
  ChaseLevDeque<Job*>& deque(std::size_t i) noexcept { return threads_info_[i]->deque; }

  /// Snapshot: is there a queued job anywhere? (the sleep protocol's re-check)
  bool has_queued_work() const noexcept;

 private:
  friend class WorkerThread;

  /// What other threads need to reach of worker i.
  struct ThreadInfo {
    ThreadInfo(Registry* registry, std::size_t index) noexcept : terminate(registry, index) {}
    ChaseLevDeque<Job*> deque;
    /// Set by terminate(); the worker's main loop is a wait for it.
    Latch terminate;
  };

  void worker_main(std::size_t index);

  std::vector<std::unique_ptr<ThreadInfo>> threads_info_;
  Injector injector_;
  Sleep sleep_;
  std::atomic<bool> cancelling_{false};
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
  Job* pop() noexcept {
    leave_if_abandoned();
    return deque_->pop();
  }

  /// Runs a job taken from a queue (cancelled if the pool is shutting down).
  void execute(Job* job) noexcept {
    leave_if_abandoned();
    job->run(registry_->cancelling());
    count_task();
  }

  /// Publishes one completed task for the watchdog at once: a relaxed fetch_add on this
  /// worker's own RuntimeHooks slot (global pool) or on RuntimeHooks::progress (other pools).
  void count_task() noexcept { progress_->fetch_add(1, std::memory_order_relaxed); }

  /// Returns once `latch` is set, running other jobs meanwhile (never blocks the pool).
  /// noexcept, as every job is (job.hpp, Job): a wait inside join() costs no trampoline.
  void wait_until(const Latch& latch) noexcept {
    if (!latch.probe()) wait_until_cold(latch);
  }

 private:
  friend class Registry;
  /// The worker's life: wait for its terminate latch, then run what is still queued.
  void main_loop();
  /// The one loop of a worker: run jobs, spin, sleep, until `latch` is set.
  void wait_until_cold(const Latch& latch) noexcept;
  Job* find_work() noexcept;
  Job* steal() noexcept;
  std::uint64_t next_random() noexcept;

  static constinit thread_local WorkerThread* current_;

  Registry* registry_;
  std::size_t index_;
  ChaseLevDeque<Job*>* deque_;
  std::atomic<std::uint32_t>* progress_;
  std::uint64_t rng_;
};

}  // namespace wasmpool::detail
