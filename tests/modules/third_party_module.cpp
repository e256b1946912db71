// Third-party code, not written here, driven through exports: moodycamel::ConcurrentQueue's
// own test programs (from Debian's libconcurrentqueue-dev; each main() turned into a
// function at build time by upstream_main.h, assert() kept on) and rvaser/thread_pool (Debian's
// libthread-pool-dev), a pool of std::threads, created in one call and used by the next.
#include <emscripten/bind.h>

#include <cstdint>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <thread_pool/thread_pool.hpp>

void concurrentqueue_test1();
void concurrentqueue_test2();
void concurrentqueue_test3();

namespace {

// Runs the upstream test program `n` and returns its exit status; its assertions abort
// on failure.
int run_concurrentqueue_test(int n) {
  switch (n) {
    case 1:
      concurrentqueue_test1();
      return 0;
    case 2:
      concurrentqueue_test2();
      return 0;
    case 3:
      concurrentqueue_test3();
      return 0;
    default:
      throw std::invalid_argument("concurrentqueue has tests 1 to 3");
  }
}

std::unique_ptr<thread_pool::ThreadPool> g_pool;

int create_thread_pool(int threads) {
  g_pool = std::make_unique<thread_pool::ThreadPool>(static_cast<std::size_t>(threads));
  return static_cast<int>(g_pool->num_threads());
}

// Sum of squares below n, split into `chunks` futures on the rvaser pool.
double thread_pool_sum_of_squares(int n, int chunks) {
  if (!g_pool) throw std::logic_error("createThreadPool() was not called on this host");
  std::vector<std::future<double>> parts;
  for (int c = 0; c < chunks; ++c) {
    const int begin = static_cast<int>(static_cast<int64_t>(n) * c / chunks);
    const int end = static_cast<int>(static_cast<int64_t>(n) * (c + 1) / chunks);
    parts.push_back(g_pool->Submit([begin, end] {
      double acc = 0;
      for (int i = begin; i < end; ++i) acc += static_cast<double>(i) * i;
      return acc;
    }));
  }
  double total = 0;
  for (auto& part : parts) total += part.get();
  return total;
}

// An exception thrown by a task: std::future carries it to the caller.
void thread_pool_task_throws() {
  if (!g_pool) throw std::logic_error("createThreadPool() was not called on this host");
  g_pool->Submit([] { throw std::runtime_error("thrown inside a thread_pool task"); }).get();
}

void destroy_thread_pool() {
  g_pool.reset();
}

}  // namespace

EMSCRIPTEN_BINDINGS(third_party_module) {
  emscripten::function("runConcurrentQueueTest", &run_concurrentqueue_test);
  emscripten::function("createThreadPool", &create_thread_pool);
  emscripten::function("threadPoolSumOfSquares", &thread_pool_sum_of_squares);
  emscripten::function("threadPoolTaskThrows", &thread_pool_task_throws);
  emscripten::function("destroyThreadPool", &destroy_thread_pool);
}
