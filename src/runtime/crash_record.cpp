#include "runtime/crash_record.hpp"

#include "runtime/exception_text.hpp"

#include <pthread.h>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include <wasmpool/pool.hpp>

namespace wasmpool::runtime {

CrashRecord& crash_record() noexcept {
  static CrashRecord record{};
  return record;
}

bool record_crash(CrashKind kind, std::string_view message) noexcept {
  CrashRecord& r = crash_record();
  uint32_t expected = static_cast<uint32_t>(CrashRecordState::empty);
  if (!r.state.compare_exchange_strong(expected, static_cast<uint32_t>(CrashRecordState::writing),
                                       std::memory_order_acquire))
    return false;
  const std::size_t n = std::min(message.size(), kCrashMessageCapacity - 1);
  std::memcpy(r.message, message.data(), n);
  r.message[n] = '\0';
  r.thread.store(wasmpool::current_worker_index(), std::memory_order_relaxed);
  r.kind.store(static_cast<uint32_t>(kind), std::memory_order_relaxed);
  r.length.store(static_cast<uint32_t>(n), std::memory_order_relaxed);
  r.pthread.store(static_cast<uint32_t>(reinterpret_cast<uintptr_t>(pthread_self())),
                  std::memory_order_relaxed);
  r.state.store(static_cast<uint32_t>(CrashRecordState::complete), std::memory_order_release);
  return true;
}

namespace {

[[noreturn]] void on_terminate() noexcept {
  // An exception escaping a noexcept boundary (or a thread entry) lands here while it is
  // being handled: report it as an uncaught exception with its type and what().
  // (std::current_exception() cannot see it: Emscripten keeps that state in JS.)
  if (const uintptr_t thrown = current_caught_exception()) {
    const ExceptionText text = describe_thrown_exception(thrown);
    record_crash(CrashKind::exception,
                 "uncaught C++ exception: " + text.what + " (" + text.type + ")");
  } else {
    record_crash(CrashKind::terminate, "std::terminate() was called");
  }
  std::abort();
}

[[noreturn]] void on_allocation_failure() {
  record_crash(CrashKind::out_of_memory,
               "memory allocation failed (operator new): the heap cannot grow further");
  std::abort();
}

}  // namespace

void install_fatal_handlers() noexcept {
  std::set_terminate(on_terminate);
  std::set_new_handler(on_allocation_failure);
}

}  // namespace wasmpool::runtime

extern "C" wasmpool::runtime::CrashRecord* wasmpool_crash_record() {
  return &wasmpool::runtime::crash_record();
}
