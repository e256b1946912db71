// The smallest useful pool-enabled module: one embind export that runs in parallel on
// the work-stealing pool, and one that throws a C++ exception back to JavaScript.
#include <cstdint>
#include <stdexcept>

#include <emscripten/bind.h>

#include <wasmpool/pool.hpp>

namespace {

// Sum of i*i for i in [0, n), folded in parallel chunks.
double sumOfSquares(double n_double) {
  if (n_double < 0) throw std::invalid_argument("n must not be negative");
  const auto n = static_cast<uint64_t>(n_double);
  const uint64_t total = wasmpool::parallel_reduce(
      uint64_t{0}, n, uint64_t{4096}, uint64_t{0},
      [](uint64_t lo, uint64_t hi, uint64_t acc) {
        for (uint64_t i = lo; i < hi; ++i) acc += i * i;
        return acc;
      },
      [](uint64_t a, uint64_t b) { return a + b; });
  return static_cast<double>(total);
}

}  // namespace

EMSCRIPTEN_BINDINGS(minimal) {
  emscripten::function("sumOfSquares", &sumOfSquares);
}
