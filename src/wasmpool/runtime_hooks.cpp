#include "wasmpool/runtime_hooks.hpp"

#if defined(__EMSCRIPTEN__)
#include <emscripten/emscripten.h>
#define WASMPOOL_EXPORT EMSCRIPTEN_KEEPALIVE
#else
#define WASMPOOL_EXPORT
#endif

namespace wasmpool {
namespace {

constinit RuntimeHooks g_hooks{};
std::atomic<void (*)(std::size_t)> g_start_callback{nullptr};
std::atomic<void (*)(std::size_t)> g_exit_callback{nullptr};

}  // namespace

RuntimeHooks& runtime_hooks() noexcept {
  return g_hooks;
}

void report_progress() noexcept {
  g_hooks.progress.fetch_add(1, std::memory_order_relaxed);
}

void set_worker_start_callback(void (*callback)(std::size_t)) noexcept {
  g_start_callback.store(callback, std::memory_order_release);
}

void set_worker_exit_callback(void (*callback)(std::size_t)) noexcept {
  g_exit_callback.store(callback, std::memory_order_release);
}

namespace detail {

void call_worker_start(std::size_t index) noexcept {
  if (auto* cb = g_start_callback.load(std::memory_order_acquire)) cb(index);
}

void call_worker_exit(std::size_t index) noexcept {
  if (auto* cb = g_exit_callback.load(std::memory_order_acquire)) cb(index);
}

}  // namespace detail
}  // namespace wasmpool

// Defined in this translation unit on purpose: the registry references runtime_hooks(), so
// linking the pool always pulls this object file, and with it this export, out of the
// static library.
extern "C" WASMPOOL_EXPORT wasmpool::RuntimeHooks* wasmpool_runtime_hooks() {
  return &wasmpool::runtime_hooks();
}
