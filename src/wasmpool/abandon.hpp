// Abandoning the global pool: how the JS host takes its pool threads back after a crash
// without terminating them (docs/ARCHITECTURE.md, "Warm restart").
//
// After a thread of the module crashed, its memory may be corrupt and the pool is never
// used again: the host puts the memory back as it was before the pool started (or, without
// a reset point, makes a new instance with a new memory), in the same workers. For that,
// every surviving pool thread has to return to its worker's event loop. abandon_global_pool()
// raises one process-wide flag and wakes every sleeping worker of the global pool; a worker that
// sees the flag, before a job it takes, in its one wait loop (WorkerThread::wait_until_cold) or in
// the sleep protocol's re-check, leaves at once, wherever it is: under Emscripten by unwinding to
// its event loop (emscripten_unwind_to_js_event_loop), with nothing run, joined or freed. That is
// only right because nothing of this memory is used again as it is: it is overwritten or dropped.
//
// The flag goes up first from the thread that crashed: its pthread hooks store it
// (runtimeInfo().abandoned) right after the crash notice, so the other pool threads stop
// taking the dead instance's jobs at once; the sleepers are left asleep until the host's
// abandon_global_pool() wakes them. Before, they worked on until the host renewed (measured:
// ~2 ms of a pool thread's CPU per crash of the bench's faulting call).
//
// A worker inside a task keeps running it until the task returns or forks; a thread the
// module started itself, or a worker of another ThreadPool, does not look at the flag. The
// host gives every thread a bounded time to come back and terminates those that do not.
//
// Native builds never set the flag (nothing calls abandon_global_pool() there), and only the
// sleep re-check looks at it there (leave_if_abandoned() is empty).
#pragma once
#include <atomic>

namespace wasmpool::detail {

class Registry;

/// The global pool's registry while it exists (set and cleared by global_pool.cpp), for
/// abandon_global_pool(), which must not take the global pool's mutex.
extern std::atomic<Registry*> g_abandonable_registry;

/// Raised once by abandon_global_pool(), never lowered (the memory it lives in is dropped).
inline std::atomic<bool> g_abandoned{false};

/// Relaxed: a worker that misses the store now sees it on its next round, and a sleeper
/// sees it in the sleep protocol's re-check, which the waker's fence orders (POOL.md, S3/W2).
inline bool abandoned() noexcept {
  return g_abandoned.load(std::memory_order_relaxed);
}

/// Called by a worker that saw abandoned(): does not return.
[[noreturn]] void leave_abandoned_pool() noexcept;

/// Where a worker looks at the flag: before each job it takes (WorkerThread::pop and
/// execute: a worker going through its own share of a parallel_for may not reach its wait
/// loop for a long time) and in its wait loop. Only under Emscripten: natively nothing
/// abandons a pool, and the hot paths stay as they were.
inline void leave_if_abandoned() noexcept {
#if defined(__EMSCRIPTEN__)
  if (abandoned()) leave_abandoned_pool();
#endif
}

}  // namespace wasmpool::detail

namespace wasmpool {

/// Raises the flag and wakes every sleeping worker of the global pool. Called by the JS
/// host (abandonThreadPool()) after a crash, on its own thread, once the instance is dead.
/// Takes no lock: the thread that crashed may have died holding one.
void abandon_global_pool() noexcept;

}  // namespace wasmpool
