// The JS-facing lifecycle of the pool, exported through embind:
//   initThreadPool(n)   start the process-wide pool (the host calls it once at start-up)
//   exitThreadPool()    drain or cancel outstanding work and join every thread
//   abandonThreadPool() after a crash: send every pool thread back to its event loop, with
//                       nothing joined or freed (wasmpool/abandon.hpp; the host then drops
//                       the instance and makes a new one in the same workers)
//   runtimeInfo()       shared-heap addresses and layouts the manager's watchdog, crash
//                       reader and the pthread hooks use: the C++ structs are the one
//                       definition, JavaScript reads the offsets from here
// plus wasmpoolDescribeException(ptr), which turns the bare number Emscripten throws for
// a C++ exception escaping an export into "type\nwhat()".
#include <emscripten/bind.h>
#include <emscripten/emscripten.h>
#include <emscripten/heap.h>
#include <emscripten/threading.h>

#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <typeinfo>

#include <wasmpool/abandon.hpp>
#include <wasmpool/latch.hpp>
#include <wasmpool/pool.hpp>
#include <wasmpool/runtime_hooks.hpp>

#include "runtime/crash_record.hpp"
#include "runtime/exception_text.hpp"
#include "runtime/thread_log.hpp"

// Each pool thread tells its pthread hooks its pool index, which also announces it to main
// over the thread's channel ({type: 'bind'}).
// The body is JavaScript: keep clang-format out of it.
// clang-format off
EM_JS(void, wasmpool_js_bind_thread, (int thread), {
  if (typeof __wasmpoolHooks !== 'undefined') __wasmpoolHooks.bindThread(thread);
});
// clang-format on

namespace {

// Pool threads that have started running, for the host: it must not take calls (and so
// block its event loop) before every pthread has started, or Emscripten could never
// finish creating the rest (thread creation needs the host's event loop).
std::atomic<uint32_t> g_started_workers{0};

void on_worker_start(std::size_t index) {
  g_started_workers.fetch_add(1, std::memory_order_release);
  // The host waits for the count with Atomics.waitAsync, not by polling.
  emscripten_futex_wake(&g_started_workers, INT_MAX);
  wasmpool_js_bind_thread(static_cast<int>(index));
}

void init_thread_pool(int threads) {
  if (threads < 1) WASMPOOL_THROW(std::invalid_argument("initThreadPool(n): n must be at least 1"));
  wasmpool::runtime::install_fatal_handlers();
  // Line-buffer stdout: the host's stdout is not a terminal, so musl would buffer whole
  // blocks and a pool thread's last printf lines could wait for a flush that never comes.
  std::setvbuf(stdout, nullptr, _IOLBF, BUFSIZ);
  wasmpool::set_worker_start_callback(on_worker_start);
  g_started_workers.store(0, std::memory_order_relaxed);
  wasmpool::init_global_pool(static_cast<std::size_t>(threads));
}

void exit_thread_pool() {
  wasmpool::exit_global_pool();
}

emscripten::val progress_layout() {
  emscripten::val layout = emscripten::val::object();
  layout.set("address", reinterpret_cast<uintptr_t>(&wasmpool::runtime_hooks()));
  layout.set("progressOffset", static_cast<int>(wasmpool::kProgressOffset));
  layout.set("workerProgressOffset", static_cast<int>(wasmpool::kWorkerProgressOffset));
  layout.set("workerProgressStride", static_cast<int>(wasmpool::kWorkerProgressStride));
  layout.set("workers", static_cast<int>(wasmpool::kMaxWorkers));
  return layout;
}

emscripten::val crash_record_layout() {
  using wasmpool::runtime::CrashRecord;
  emscripten::val layout = emscripten::val::object();
  layout.set("address", reinterpret_cast<uintptr_t>(&wasmpool::runtime::crash_record()));
  layout.set("state", static_cast<int>(offsetof(CrashRecord, state)));
  layout.set("thread", static_cast<int>(offsetof(CrashRecord, thread)));
  layout.set("kind", static_cast<int>(offsetof(CrashRecord, kind)));
  layout.set("length", static_cast<int>(offsetof(CrashRecord, length)));
  layout.set("pthread", static_cast<int>(offsetof(CrashRecord, pthread)));
  layout.set("message", static_cast<int>(offsetof(CrashRecord, message)));
  layout.set("capacity", static_cast<int>(wasmpool::runtime::kCrashMessageCapacity));
  emscripten::val kinds = emscripten::val::array();
  for (const char* name : wasmpool::runtime::kCrashKindNames)
    kinds.call<void>("push", std::string(name));
  layout.set("kinds", kinds);
  emscripten::val states = emscripten::val::object();
  using wasmpool::runtime::CrashRecordState;
  states.set("empty", static_cast<int>(CrashRecordState::empty));
  states.set("writing", static_cast<int>(CrashRecordState::writing));
  states.set("complete", static_cast<int>(CrashRecordState::complete));
  layout.set("states", states);
  return layout;
}

emscripten::val runtime_info() {
  emscripten::val info = emscripten::val::object();
  info.set("progress", progress_layout());
  info.set("crashRecord", crash_record_layout());
  info.set("startedWorkers", reinterpret_cast<uintptr_t>(&g_started_workers));
  // Where the heap's end (sbrk's break) is kept: a warm restart that resets the memory in
  // place restores what lies below the break it saw at the start, and clears up to the
  // break the crash left.
  info.set("heapBreak", reinterpret_cast<uintptr_t>(emscripten_get_sbrk_ptr()));
  // Where the host thread says which futex word it waits on for the pool: a pool thread
  // that crashes wakes it there (latch.hpp, runtime_thread_wait_word).
  // The global pool's abandon flag (abandon.hpp), one byte: a pool thread that crashes
  // raises it, so the other pool threads stop taking the dead instance's jobs at once.
  static_assert(sizeof(wasmpool::detail::g_abandoned) == 1 &&
                std::atomic<bool>::is_always_lock_free);
  info.set("abandoned", reinterpret_cast<uintptr_t>(&wasmpool::detail::g_abandoned));
  info.set("runtimeThreadWait",
           reinterpret_cast<uintptr_t>(&wasmpool::detail::runtime_thread_wait_word()));
  // wasmpool::log's levels by their numbers: protocol.js's LOG_LEVELS must read the same.
  emscripten::val levels = emscripten::val::array();
  for (const char* name : wasmpool::kLogLevelNames) levels.call<void>("push", std::string(name));
  info.set("logLevels", levels);
  return info;
}

// "type\nwhat()" for the number Emscripten throws when a C++ exception escapes an export.
std::string describe_exception(uintptr_t thrown) {
  const wasmpool::runtime::ExceptionText text =
      wasmpool::runtime::describe_thrown_exception(thrown);
  return text.type + "\n" + text.what;
}

}  // namespace

EMSCRIPTEN_BINDINGS(wasmpool_lifecycle) {
  emscripten::function("initThreadPool", &init_thread_pool);
  emscripten::function("exitThreadPool", &exit_thread_pool);
  emscripten::function("abandonThreadPool", &wasmpool::abandon_global_pool);
  emscripten::function("runtimeInfo", &runtime_info);
  emscripten::function("wasmpoolDescribeException", &describe_exception);
}
