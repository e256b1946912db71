// A module whose static initialisers start a thread that never ends: a detached
// std::thread blocked on a condition variable, as a library's background thread would
// be. Its instance on Node's main thread must not keep the process alive once the
// manager that routes it has shut down; and since that thread's state is in the memory
// from the start, a warm restart cannot reset the memory in place (trap() provokes one).
#include <emscripten/bind.h>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace {

std::mutex mutex;
std::condition_variable never;

struct BackgroundThread {
  BackgroundThread() {
    std::thread([] {
      std::unique_lock<std::mutex> lock(mutex);
      never.wait(lock, [] { return false; });
    }).detach();
  }
} background;

int add(int a, int b) { return a + b; }

void trap() { __builtin_trap(); }

}  // namespace

EMSCRIPTEN_BINDINGS(init_thread_module) {
  emscripten::function("add", &add);
  emscripten::function("trap", &trap);
}
