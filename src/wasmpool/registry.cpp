#include "wasmpool/registry.hpp"

#include <stdexcept>
#include <system_error>

#include "wasmpool/runtime_hooks.hpp"

namespace wasmpool::detail {

constinit thread_local WorkerThread* WorkerThread::current_ = nullptr;

// ---------------------------------------------------------------------------------------
// Registry

Registry::Registry(std::size_t threads, bool publish_hooks)
    : sleep_(threads), publish_hooks_(publish_hooks) {
  threads_info_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    threads_info_.push_back(std::make_unique<ThreadInfo>(this, i));
  }
  // No waiting for the threads to run: under Emscripten a new pthread may need an event-loop
  // turn of this very thread before it starts, so blocking here could deadlock. Work that
  // arrives before the workers run waits in the injector.
  threads_.reserve(threads);
  WASMPOOL_TRY {
    for (std::size_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this, i] { worker_main(i); });
    }
  }
  WASMPOOL_CATCH_ALL {
    terminate();
    WASMPOOL_RETHROW;
  }
}

Registry::~Registry() {
  terminate();
}

void Registry::inject(Job* job) {
  if (!injector_.push(job)) WASMPOOL_THROW(cancelled_error());
  sleep_.notify_new_work(1);
}

bool Registry::has_queued_work() const noexcept {
  if (!injector_.looks_empty()) return true;
  for (const auto& info : threads_info_) {
    if (!info->deque.looks_empty()) return true;
  }
  return false;
}

void Registry::terminate() {
  // Concurrent or repeated calls return at once; the first one does the work.
  if (terminate_started_.exchange(true, std::memory_order_acq_rel)) return;
  cancelling_.store(true, std::memory_order_relaxed);
  // Jobs still queued in the injector: complete them as cancelled here, so that their
  // (outside) waiters get cancelled_error. After close() nothing new can be injected.
  for (Job* job : injector_.close()) job->run(true);
  // Each set() publishes the latch, then wakes its worker if it sleeps (sleep protocol W1-W3).
  // The release store also publishes cancelling_ to a worker that acquires the latch.
  for (const auto& info : threads_info_) info->terminate.set();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void Registry::worker_main(std::size_t index) {
  WorkerThread worker(this, index, publish_hooks_);
  WorkerThread::current_ = &worker;
  call_worker_start(index);
  worker.main_loop();
  call_worker_exit(index);
  WorkerThread::current_ = nullptr;
}

// ---------------------------------------------------------------------------------------
// WorkerThread

WorkerThread::WorkerThread(Registry* registry, std::size_t index, bool publish_hooks) noexcept
    : registry_(registry),
      index_(index),
      deque_(&registry->deque(index)),
      progress_(publish_hooks ? &runtime_hooks().worker_progress[index].count
                              : &runtime_hooks().progress),
      rng_(0x9E3779B97F4A7C15ull * (index + 1) ^ reinterpret_cast<std::uintptr_t>(registry)) {
  if (rng_ == 0) rng_ = 1;
}

std::uint64_t WorkerThread::next_random() noexcept {
  // xorshift64: victim selection needs speed and spread, not quality.
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  return rng_;
}

Job* WorkerThread::steal() noexcept {
  const std::size_t n = registry_->num_threads();
  if (n <= 1) return nullptr;
  const std::size_t start = static_cast<std::size_t>(next_random() % n);
  for (;;) {
    bool contended = false;
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t victim = (start + k) % n;
      if (victim == index_) continue;
      auto [status, job] = registry_->deque(victim).steal();
      if (status == ChaseLevDeque<Job*>::Steal::kSuccess) return job;
      if (status == ChaseLevDeque<Job*>::Steal::kAbort) contended = true;
    }
    // nullptr only when every victim was seen empty, never because of a lost race: the
    // final drain of main_loop relies on that.
    if (!contended) return nullptr;
  }
}

Job* WorkerThread::find_work() noexcept {
  if (Job* job = deque_->pop()) return job;
  if (Job* job = steal()) return job;
  return registry_->injector().pop();
}

void WorkerThread::wait_until_cold(const Latch& latch) noexcept {
  IdleSpin idle;
  while (!latch.probe()) {
    leave_if_abandoned();
    if (Job* job = find_work()) {
      execute(job);
      idle.reset();
      continue;
    }
    if (idle.keep_spinning()) continue;
    // S1-S6 of the sleep protocol; the re-check (S4) is "my latch, any queued job, or the
    // pool abandoned" (abandon.hpp).
    registry_->sleep().sleep(
        index_, [&] { return latch.probe() || registry_->has_queued_work() || abandoned(); });
    idle.reset();
  }
}

void WorkerThread::main_loop() {
  wait_until(registry_->threads_info_[index_]->terminate);
  // Terminating: leave only once no job is found anywhere (find_work returns nullptr only
  // after seeing every deque empty without a lost race, and the injector empty), so every job
  // still queued is run - as cancelled, since cancelling_ is set - and its waiter released.
  while (Job* job = find_work()) execute(job);
}

}  // namespace wasmpool::detail
