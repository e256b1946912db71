// Output a call makes before it returns: lines printed by the host thread (in the export)
// and by pool tasks (printf, proxied to the host thread), and wasmpool::log lines (each
// thread's own channel). The tests check that every line reached the log sink by the
// time the call settles.
#include <emscripten/bind.h>

#include <cstdio>

#include <wasmpool/pool.hpp>

#include "runtime/thread_log.hpp"

namespace {

// `lines` lines in all: every other one from the host thread, the rest from pool tasks.
int print_lines(int lines) {
  for (int i = 0; i < lines; i += 2) std::printf("line %d from the host thread\n", i);
  wasmpool::parallel_for(0, lines / 2, 1, [](int i) {
    std::printf("line %d from pool thread %d\n", 2 * i + 1, wasmpool::current_worker_index());
  });
  return lines;
}

int log_lines(int lines) {
  wasmpool::parallel_for(0, lines, 1, [](int i) {
    wasmpool::logf(wasmpool::LogLevel::info, "log line %d", i);
  });
  return lines;
}

}  // namespace

EMSCRIPTEN_BINDINGS(output_module) {
  emscripten::function("printLines", &print_lines);
  emscripten::function("logLines", &log_lines);
}
