// A module built with add_wasm_threadpool_module(... EXCEPTIONS OFF): the pool without
// C++ exceptions (no invoke_* trampolines around every join). An error the pool or the
// library would throw aborts instead, which the runtime turns into a WasmPanicError.
#include <emscripten/bind.h>

#include <vector>

#include <wasmpool/pool.hpp>

namespace {

int fib(int n) {
  if (n < 2) return n;
  auto [a, b] = wasmpool::join([n] { return fib(n - 1); }, [n] { return fib(n - 2); });
  return a + b;
}

// std::vector::at past the end: std::out_of_range with exceptions, an abort without.
int vector_at(int index) {
  std::vector<int> values{1, 2, 3};
  return values.at(static_cast<std::size_t>(index));
}

// A pool error (ThreadPool(0) throws std::invalid_argument with exceptions): aborts with
// its message.
int pool_of_zero() {
  wasmpool::ThreadPool pool(0);
  return static_cast<int>(pool.num_threads());
}

}  // namespace

EMSCRIPTEN_BINDINGS(noexcept_module) {
  emscripten::function("fib", &fib);
  emscripten::function("vectorAt", &vector_at);
  emscripten::function("poolOfZero", &pool_of_zero);
}
