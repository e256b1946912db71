// Built with -sPTHREAD_POOL_SIZE=1: an export that joins a std::thread works on Node's
// main thread with stock glue because the glue prewarmed one worker. Patched glue must
// behave the same when no manager routes it.
#include <emscripten/bind.h>

#include <thread>

namespace {

int join_one_thread() {
  int value = 0;
  std::thread worker([&] { value = 42; });
  worker.join();
  return value;
}

}  // namespace

EMSCRIPTEN_BINDINGS(prewarm_module) {
  emscripten::function("joinOneThread", &join_one_thread);
}
