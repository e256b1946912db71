#include "wasmpool/registry.hpp"

#include <climits>
#include <stdexcept>
#include <system_error>

#include "wasmpool/runtime_hooks.hpp"

namespace wasmpool::detail {

constinit thread_local WorkerThread* WorkerThread::current_ = nullptr;

// ---------------------------------------------------------------------------------------
// Latch

void Latch::set() noexcept {
  // Copy what we need first: once state_ is 1 the waiter may return and free *this.
  Registry* registry = registry_;
  const std::size_t owner = owner_;
  if (registry != nullptr) {
    state_.store(1, std::memory_order_release);
    registry->sleep().wake_worker(owner);  // the registry outlives its waiting worker
  } else {
    state_.store(1, std::memory_order_release);
    futex_wake(&state_, INT_MAX);  // address only; harmless if the waiter already left
  }
}

void Latch::wait_outside() noexcept {
  while (state_.load(std::memory_order_acquire) == 0) {
    futex_wait(&state_, 0, kOutsideSliceMs);
  }
}

// ---------------------------------------------------------------------------------------
// Registry

Registry::Registry(std::size_t threads, bool publish_hooks)
    : sleep_(threads), publish_hooks_(publish_hooks) {
  deques_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    deques_.push_back(std::make_unique<ChaseLevDeque<Job*>>());
  }
  RuntimeHooks& hooks = runtime_hooks();
  if (publish_hooks_) {
    for (std::size_t i = 0; i < threads; ++i) {
      hooks.worker_state[i].store(kWorkerIdle, std::memory_order_relaxed);
    }
    hooks.worker_count.store(static_cast<std::uint32_t>(threads), std::memory_order_release);
  }
  // No waiting for the threads to run: under Emscripten a new pthread may need an event-loop
  // turn of this very thread before it starts, so blocking here could deadlock. Work that
  // arrives before the workers run waits in the injector.
  threads_.reserve(threads);
  try {
    for (std::size_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this, i] { worker_main(i); });
    }
  } catch (...) {
    terminate();
    throw;
  }
}

Registry::~Registry() {
  terminate();
}

void Registry::inject(Job* job) {
  if (!injector_.push(job)) throw cancelled_error();
  sleep_.notify_new_work(1);
}

bool Registry::has_queued_work() const noexcept {
  if (!injector_.looks_empty()) return true;
  for (const auto& d : deques_) {
    if (!d->looks_empty()) return true;
  }
  return false;
}

void Registry::terminate() {
  if (terminate_started_.exchange(true, std::memory_order_acq_rel)) {
    // Someone else is terminating (or did): still make sure our caller returns only after
    // the threads are gone if it is the same thread later; concurrent callers just return.
    return;
  }
  cancelling_.store(true, std::memory_order_seq_cst);
  terminating_.store(true, std::memory_order_seq_cst);
  // Jobs still queued in the injector: complete them as cancelled here, so that their
  // (outside) waiters get cancelled_error. After close() nothing new can be injected.
  for (Job* job : injector_.close()) job->run(true);
  sleep_.wake_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  if (publish_hooks_) runtime_hooks().worker_count.store(0, std::memory_order_release);
}

void Registry::worker_main(std::size_t index) {
  WorkerThread worker(this, index, publish_hooks_);
  WorkerThread::current_ = &worker;
  worker.set_state(kWorkerWorking);
  call_worker_start(index);
  worker.main_loop();
  worker.flush_progress();
  call_worker_exit(index);
  worker.set_state(kWorkerExited);
  WorkerThread::current_ = nullptr;
}

// ---------------------------------------------------------------------------------------
// WorkerThread

WorkerThread::WorkerThread(Registry* registry, std::size_t index, bool publish_hooks) noexcept
    : registry_(registry),
      index_(index),
      deque_(&registry->deque(index)),
      rng_(0x9E3779B97F4A7C15ull * (index + 1) ^ reinterpret_cast<std::uintptr_t>(registry)),
      publish_hooks_(publish_hooks) {
  if (rng_ == 0) rng_ = 1;
}

void WorkerThread::flush_progress() noexcept {
  if (pending_progress_ != 0) {
    runtime_hooks().progress.fetch_add(pending_progress_, std::memory_order_relaxed);
    pending_progress_ = 0;
  }
}

void WorkerThread::set_state(std::uint32_t state) noexcept {
  if (publish_hooks_) runtime_hooks().worker_state[index_].store(state, std::memory_order_relaxed);
}

std::uint64_t WorkerThread::next_random() noexcept {
  // xorshift64: victim selection needs speed and spread, not quality.
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  return rng_;
}

Job* WorkerThread::steal() {
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
    // shutdown condition of main_loop relies on that.
    if (!contended) return nullptr;
  }
}

Job* WorkerThread::find_work() {
  if (Job* job = deque_->pop()) return job;
  if (Job* job = steal()) return job;
  return registry_->injector().pop();
}

void WorkerThread::wait_until_cold(const Latch& latch) {
  IdleSpin idle;
  while (!latch.probe()) {
    if (Job* job = find_work()) {
      execute(job);
      idle.reset();
      continue;
    }
    if (idle.keep_spinning()) continue;
    flush_progress();
    set_state(kWorkerIdle);
    registry_->sleep().sleep(index_, [&] { return latch.probe() || registry_->has_queued_work(); });
    set_state(kWorkerWorking);
    idle.reset();
  }
}

void WorkerThread::main_loop() {
  IdleSpin idle;
  for (;;) {
    if (Job* job = find_work()) {
      execute(job);
      idle.reset();
      continue;
    }
    // Nothing anywhere. Leave only now, so that jobs queued at shutdown are all drained
    // (run as cancelled) and every waiter released.
    if (registry_->terminating()) return;
    if (idle.keep_spinning()) continue;
    flush_progress();
    set_state(kWorkerIdle);
    registry_->sleep().sleep(
        index_, [&] { return registry_->terminating() || registry_->has_queued_work(); });
    set_state(kWorkerWorking);
    idle.reset();
  }
}

}  // namespace wasmpool::detail
