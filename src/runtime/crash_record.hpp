// The crash record: one fixed-size slot in the module's shared memory where the first
// fatal error of any thread is written before the thread dies. Main keeps the memory of
// every host it created, so it can read the record even after the host and all its
// threads are gone (glue/main/crash-record.js). JavaScript writes it too
// (glue/pthread/pthread-hooks.js) for faults C++ never sees (traps). This header is the one
// definition of the layout and of the kinds: runtimeInfo() (lifecycle_bindings.cpp) reports the
// offsets and the kind names at start-up, and every JavaScript reader and writer uses what it
// reports.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wasmpool::runtime {

// The names JavaScript sees are kCrashKindNames[kind].
enum class CrashKind : uint32_t {
  unknown = 0,
  trap = 1,
  abort = 2,
  oob = 3,
  stack_overflow = 4,
  exception = 5,
  terminate = 6,
  out_of_memory = 7,
};

inline constexpr const char* kCrashKindNames[] = {
    "unknown", "trap", "abort", "oob", "stack-overflow", "exception", "terminate", "out-of-memory",
};

inline constexpr std::size_t kCrashMessageCapacity = 2048;

// The writer that moves the record empty -> writing owns it (first crash wins); readers
// trust the other fields only after seeing complete, which is stored with release order
// after them. runtimeInfo() reports the values (crashRecord.states), so JavaScript spells
// none of them.
enum class CrashRecordState : uint32_t {
  empty = 0,
  writing = 1,
  complete = 2,
};

struct CrashRecord {
  std::atomic<uint32_t> state;    // CrashRecordState
  std::atomic<int32_t> thread;    // pool worker index, -1 for a thread outside the pool
  std::atomic<uint32_t> kind;     // CrashKind
  std::atomic<uint32_t> length;   // bytes of message, without terminator
  std::atomic<uint32_t> pthread;  // pthread_self() of the faulting thread (0: unknown)
  char message[kCrashMessageCapacity];
};

static_assert(offsetof(CrashRecord, state) == 0);
static_assert(offsetof(CrashRecord, thread) == 4);
static_assert(offsetof(CrashRecord, kind) == 8);
static_assert(offsetof(CrashRecord, length) == 12);
static_assert(offsetof(CrashRecord, pthread) == 16);
static_assert(offsetof(CrashRecord, message) == 20);

CrashRecord& crash_record() noexcept;

// Writes the record unless another crash already did. Returns whether it wrote.
bool record_crash(CrashKind kind, std::string_view message) noexcept;

// std::terminate and operator new failures become crash records with a precise kind and
// message (the JS hook would otherwise only see "Aborted(...)"), then abort().
void install_fatal_handlers() noexcept;

}  // namespace wasmpool::runtime
