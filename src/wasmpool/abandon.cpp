#include "wasmpool/abandon.hpp"

#include <cstdlib>

#include "wasmpool/registry.hpp"

#if defined(__EMSCRIPTEN__)
#include <emscripten/eventloop.h>
#endif

namespace wasmpool {
namespace detail {

// Set by init_global_pool, cleared by exit_global_pool (global_pool.cpp): the registry to
// wake, reachable without the global pool's mutex.
std::atomic<Registry*> g_abandonable_registry{nullptr};

void leave_abandoned_pool() noexcept {
#if defined(__EMSCRIPTEN__)
  // Throws 'unwind' through the wasm frames to the worker's message handler, which treats
  // it as a thread that stays alive: the worker is back on its event loop, reusable.
  emscripten_unwind_to_js_event_loop();
#endif
  std::abort();  // unreachable: only the JS host abandons a pool
}

}  // namespace detail

void abandon_global_pool() noexcept {
  detail::g_abandoned.store(true, std::memory_order_relaxed);
  // The fence in wake_all (W2) orders the store before reading who sleeps; a sleeper
  // announced itself before its re-check (S2, S3), so either it sees the flag there or
  // it is woken here.
  if (detail::Registry* registry = detail::g_abandonable_registry.load(std::memory_order_acquire)) {
    registry->sleep().wake_all();
  }
}

}  // namespace wasmpool
