// The JS-facing lifecycle of the pool, exported through embind:
//   initThreadPool(n)   start the process-wide pool (the host calls it once at start-up)
//   exitThreadPool()    drain or cancel outstanding work and join every thread
//   abandonThreadPool() after a crash: send every pool thread back to its event loop, with
//                       nothing joined or freed (wasmpool/abandon.hpp; the host then drops
//                       the instance and makes a new one in the same workers)
//   runtimeInfo()       shared-heap addresses and layouts the manager's watchdog, crash
//                       reader and the pthread hooks use: the C++ structs are the one
//                       definition, JavaScript reads the offsets from here
//   runtimeInfoJson()   the same as JSON text, which is what the host reads (cheaper)
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

// The layouts are written as JSON text, not built with embind's val: its first uses in an
// isolate generate JavaScript (a method caller per signature), which cost ~6 ms of every
// host's start, measured. The host parses the text (runtimeInfoJson); runtimeInfo() gives
// the same as an object.
class JsonObject {
 public:
  JsonObject& number(const char* key, std::uintptr_t value) {
    begin(key);
    text_ += std::to_string(value);
    return *this;
  }
  template <std::size_t N>
  JsonObject& names(const char* key, const char* const (&values)[N]) {
    begin(key);
    text_ += '[';
    for (std::size_t i = 0; i < N; ++i) {
      if (i > 0) text_ += ',';
      quote(values[i]);
    }
    text_ += ']';
    return *this;
  }
  JsonObject& object(const char* key, const JsonObject& value) {
    begin(key);
    text_ += value.text();
    return *this;
  }
  std::string text() const { return text_ + '}'; }

 private:
  void begin(const char* key) {
    if (text_.size() > 1) text_ += ',';
    quote(key);
    text_ += ':';
  }
  // The names are C++ literals of this runtime; escaping keeps the text valid whatever they hold.
  void quote(const char* value) {
    text_ += '"';
    for (const char* c = value; *c != '\0'; ++c) {
      if (*c == '"' || *c == '\\') text_ += '\\';
      if (static_cast<unsigned char>(*c) >= 0x20) text_ += *c;
    }
    text_ += '"';
  }
  std::string text_ = "{";
};

JsonObject progress_layout() {
  JsonObject layout;
  layout.number("address", reinterpret_cast<uintptr_t>(&wasmpool::runtime_hooks()))
      .number("progressOffset", wasmpool::kProgressOffset)
      .number("workerProgressOffset", wasmpool::kWorkerProgressOffset)
      .number("workerProgressStride", wasmpool::kWorkerProgressStride)
      .number("workers", wasmpool::kMaxWorkers);
  return layout;
}

JsonObject crash_record_layout() {
  using wasmpool::runtime::CrashRecord;
  using wasmpool::runtime::CrashRecordState;
  JsonObject states;
  states.number("empty", static_cast<std::uintptr_t>(CrashRecordState::empty))
      .number("writing", static_cast<std::uintptr_t>(CrashRecordState::writing))
      .number("complete", static_cast<std::uintptr_t>(CrashRecordState::complete));
  JsonObject layout;
  layout.number("address", reinterpret_cast<uintptr_t>(&wasmpool::runtime::crash_record()))
      .number("state", offsetof(CrashRecord, state))
      .number("thread", offsetof(CrashRecord, thread))
      .number("kind", offsetof(CrashRecord, kind))
      .number("length", offsetof(CrashRecord, length))
      .number("pthread", offsetof(CrashRecord, pthread))
      .number("message", offsetof(CrashRecord, message))
      .number("capacity", wasmpool::runtime::kCrashMessageCapacity)
      .names("kinds", wasmpool::runtime::kCrashKindNames)
      .object("states", states);
  return layout;
}

std::string runtime_info_json() {
  // The global pool's abandon flag (abandon.hpp) is one byte: a pool thread that crashes
  // raises it from JavaScript, so the other pool threads stop taking the dead instance's jobs.
  static_assert(sizeof(wasmpool::detail::g_abandoned) == 1 &&
                std::atomic<bool>::is_always_lock_free);
  JsonObject info;
  info.object("progress", progress_layout())
      .object("crashRecord", crash_record_layout())
      .number("startedWorkers", reinterpret_cast<uintptr_t>(&g_started_workers))
      // Where the heap's end (sbrk's break) is kept: a warm restart that resets the memory
      // in place restores what lies below the break it saw at the start.
      .number("heapBreak", reinterpret_cast<uintptr_t>(emscripten_get_sbrk_ptr()))
      .number("abandoned", reinterpret_cast<uintptr_t>(&wasmpool::detail::g_abandoned))
      // Where the host thread says which futex word it waits on for the pool: a pool thread
      // that crashes wakes it there (latch.hpp, runtime_thread_wait_word).
      .number("runtimeThreadWait",
              reinterpret_cast<uintptr_t>(&wasmpool::detail::runtime_thread_wait_word()))
      // wasmpool::log's levels by their numbers: protocol.js's LOG_LEVELS must read the same.
      .names("logLevels", wasmpool::kLogLevelNames);
  return info.text();
}

emscripten::val runtime_info() {
  return emscripten::val::global("JSON").call<emscripten::val>("parse", runtime_info_json());
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
  emscripten::function("runtimeInfoJson", &runtime_info_json);
  emscripten::function("wasmpoolDescribeException", &describe_exception);
}
