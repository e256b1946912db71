// The global injector: the FIFO through which threads outside a pool hand it work
// (install(), parallel calls from outside, Scope::spawn from a foreign thread).
//
// A mutex-protected std::deque: injections are coarse (one per outside call), so a
// lock-free MPMC queue would buy nothing measurable. Workers check `size_` first so that the
// hot path of an idle search does not touch the mutex. Once closed (pool shutdown) it refuses
// new work, and close() hands back what was still queued so it can be cancelled.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

#include "wasmpool/job.hpp"

namespace wasmpool::detail {

class Injector {
 public:
  /// Returns false if the injector is closed (the job was not queued).
  bool push(Job* job) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return false;
    queue_.push_back(job);
    size_.store(queue_.size(), std::memory_order_release);
    return true;
  }

  Job* pop() {
    if (size_.load(std::memory_order_acquire) == 0) return nullptr;
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.empty()) return nullptr;
    Job* job = queue_.front();
    queue_.pop_front();
    size_.store(queue_.size(), std::memory_order_release);
    return job;
  }

  bool looks_empty() const noexcept { return size_.load(std::memory_order_acquire) == 0; }

  /// Refuses all further pushes and returns the jobs still queued.
  std::vector<Job*> close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    std::vector<Job*> left(queue_.begin(), queue_.end());
    queue_.clear();
    size_.store(0, std::memory_order_release);
    return left;
  }

 private:
  std::mutex mutex_;
  std::deque<Job*> queue_;
  std::atomic<std::size_t> size_{0};
  bool closed_ = false;
};

}  // namespace wasmpool::detail
