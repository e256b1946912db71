#include "wasmpool/global_pool.hpp"

#include <mutex>
#include <stdexcept>
#include <string>

#include "wasmpool/abandon.hpp"

namespace wasmpool {
namespace {

std::mutex g_mutex;
std::shared_ptr<ThreadPool> g_pool;

}  // namespace

void init_global_pool(std::size_t threads) {
  if (detail::WorkerThread::current() != nullptr) {
    WASMPOOL_THROW(std::logic_error("wasmpool::init_global_pool called from a pool worker"));
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_pool) {
    if (g_pool->num_threads() == threads) return;
    WASMPOOL_THROW(std::logic_error("wasmpool::init_global_pool(" + std::to_string(threads) +
                                    "): a global pool of " + std::to_string(g_pool->num_threads()) +
                                    " threads exists; call exit_global_pool() first"));
  }
  g_pool.reset(new ThreadPool(threads, /*publish_hooks=*/true));
  detail::g_abandonable_registry.store(&detail::registry_of(*g_pool), std::memory_order_release);
}

void exit_global_pool() {
  std::shared_ptr<ThreadPool> pool;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    detail::WorkerThread* worker = detail::WorkerThread::current();
    if (worker != nullptr && g_pool && worker->registry() == &detail::registry_of(*g_pool)) {
      WASMPOOL_THROW(
          std::logic_error("wasmpool::exit_global_pool called from a worker of the global pool"));
    }
    pool = std::move(g_pool);
    detail::g_abandonable_registry.store(nullptr, std::memory_order_release);
  }
  if (!pool) return;
  // Cancel, drain, join; outside users still holding a reference keep the (now empty)
  // object alive until they return.
  detail::registry_of(*pool).terminate();
}

ThreadPool* global_pool() noexcept {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_pool.get();
}

namespace detail {
std::shared_ptr<ThreadPool> acquire_global_pool() noexcept {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_pool;
}
}  // namespace detail

}  // namespace wasmpool
