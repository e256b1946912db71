// wasmpool: a work-stealing thread pool for C++ compiled natively or to WebAssembly with
// Emscripten pthreads. Umbrella header; see docs/POOL.md for the design.
//
//   ThreadPool pool(4);
//   auto [a, b] = pool.install([] { return wasmpool::join(f, g); });
//   wasmpool::parallel_for(0, n, 0, [&](int i) { ... });       // uses the global pool
//
// Which pool a call uses: the pool of the calling worker thread; from outside any pool, the
// global pool (init_global_pool), the caller waiting; with neither, the call runs serially
// on the caller (same results, same exception semantics).
#pragma once

#include "wasmpool/config.hpp"
#include "wasmpool/errors.hpp"
#include "wasmpool/global_pool.hpp"
#include "wasmpool/join.hpp"
#include "wasmpool/parallel_for.hpp"
#include "wasmpool/parallel_reduce.hpp"
#include "wasmpool/parallel_sort.hpp"
#include "wasmpool/runtime_hooks.hpp"
#include "wasmpool/scope.hpp"
#include "wasmpool/thread_pool.hpp"
