#include "wasmpool/thread_pool.hpp"

#include <stdexcept>
#include <string>

namespace wasmpool {

ThreadPool::ThreadPool(std::size_t threads, bool publish_hooks) {
  if (threads == 0 || threads > kMaxWorkers) {
    WASMPOOL_THROW(std::invalid_argument("wasmpool::ThreadPool: thread count must be in 1.." +
                                         std::to_string(kMaxWorkers) + ", got " +
                                         std::to_string(threads)));
  }
  registry_ = std::make_unique<detail::Registry>(threads, publish_hooks);
}

ThreadPool::~ThreadPool() {
  registry_->terminate();
}

}  // namespace wasmpool
