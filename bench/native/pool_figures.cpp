// A dependency-free timing harness: the same workloads as pool_bench (fib via join, reduce,
// sort), serial and on the pool, N repetitions each (interleaved), printed as JSON
// (median/min/max in ms).
// Built natively and with Emscripten (pool_figures_wasm.js, run with node), so the two
// builds of the same pool can be compared; the Emscripten build also with -fno-exceptions
// (pool_figures_wasm_noexcept.js), the JSON's "exceptions" says which.
//
//   pool_figures [--reps N] [--threads T] [--reduce-n N] [--sort-n N] [--fib N] [--only fib]
//
// --only fib: the fib figures alone (no "reduce" or "sort" in the JSON).
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "workloads.hpp"

namespace {

struct Stats {
  double median, min, max;
};

// Each repetition is a call of its own, never inlined into the timing loop. V8 runs a wasm
// function in its baseline compiler (Liftoff) until the function is hot, and code compiled
// later serves only the *next* call of that function: it has no on-stack replacement for
// wasm. With the workload inlined into one long-running measure(), every repetition of a
// serial loop ran in baseline code (the serial wasm reduce took 143 ms, against 32 ms
// with --no-liftoff) while the pool's chunks, one call each, were optimized: speedups of
// 5-8x on 2 threads.
template <class F>
[[gnu::noinline]] void run_once(F& run) {
  run();
}

Stats summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  const std::size_t n = ms.size();
  const double median = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
  return {median, ms.front(), ms.back()};
}

template <class F>
double time_once(F& run) {
  const auto t0 = std::chrono::steady_clock::now();
  run_once(run);
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

/// The variants of one workload (serial, on the pool, ...), interleaved: one untimed
/// warm-up call of each (the engine's tier-up, first-touch page faults), then `reps`
/// rounds of one timed call of each, in turn. This VM's speed drifts within seconds (a
/// neighbour on a vCPU's physical core made one core 1.7x slower for a while), and with
/// each variant's calls in a block of its own the drift landed on whichever ran in the
/// slower spell: the serial and pool reduce are compared call for call instead.
template <class... F>
std::array<Stats, sizeof...(F)> measure(int reps, F&&... runs) {
  (run_once(runs), ...);
  std::array<std::vector<double>, sizeof...(F)> ms;
  for (int i = 0; i < reps; ++i) {
    std::size_t at = 0;
    ((ms[at++].push_back(time_once(runs))), ...);
  }
  std::array<Stats, sizeof...(F)> stats;
  for (std::size_t at = 0; at < stats.size(); ++at) stats[at] = summarize(std::move(ms[at]));
  return stats;
}

std::string json(const Stats& s) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "{\"median\": %.3f, \"min\": %.3f, \"max\": %.3f}", s.median,
                s.min, s.max);
  return buf;
}

volatile std::uint64_t g_sink;

}  // namespace

int main(int argc, char** argv) {
  int reps = 5;
  std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
  std::size_t reduce_n = bench::kReduceN;
  std::size_t sort_n = bench::kSortN;
  int fib_n = bench::kFibN;
  bool fib_only = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const long long value = std::atoll(argv[i + 1]);
    if (key == "--only" && std::string(argv[i + 1]) == "fib")
      fib_only = true;
    else if (key == "--reps")
      reps = static_cast<int>(value);
    else if (key == "--threads")
      threads = static_cast<std::size_t>(value);
    else if (key == "--reduce-n")
      reduce_n = static_cast<std::size_t>(value);
    else if (key == "--sort-n")
      sort_n = static_cast<std::size_t>(value);
    else if (key == "--fib")
      fib_n = static_cast<int>(value);
    else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
  }

  wasmpool::ThreadPool pool(threads);
  pool.install([] {});  // make sure the workers are up before timing

  // Named copies, not structured bindings: clang before 16 cannot capture those in lambdas.
  const auto fib = measure(
      reps, [&] { g_sink = bench::fib_serial(fib_n); },
      [&] { g_sink = pool.install([&] { return bench::fib_pool(fib_n); }); },
      [&] { g_sink = pool.install([&] { return bench::fib_pool_cutoff(fib_n); }); });
  const Stats fib_serial = fib[0], fib_pool = fib[1], fib_cutoff = fib[2];
#if defined(__EMSCRIPTEN__)
  const char* platform = "wasm";
#else
  const char* platform = "native";
#endif
#if defined(__cpp_exceptions)
  const char* exceptions = "true";
#else
  const char* exceptions = "false";
#endif
  const auto print_head = [&] {
    std::printf("{\n  \"platform\": \"%s\", \"exceptions\": %s, \"threads\": %zu, \"reps\": %d,\n",
                platform, exceptions, threads, reps);
    std::printf("  \"fib\": {\"n\": %d, \"serial\": %s, \"pool\": %s, \"pool_cutoff%d\": %s}%s\n",
                fib_n, json(fib_serial).c_str(), json(fib_pool).c_str(), bench::kFibCutoff,
                json(fib_cutoff).c_str(), fib_only ? "\n}" : ",");
  };
  if (fib_only) {
    print_head();
    return 0;
  }

  std::vector<std::uint32_t> data = bench::reduce_input(reduce_n);
  const auto reduce = measure(
      reps, [&] { g_sink = bench::reduce_serial(data); },
      [&] { g_sink = pool.install([&] { return bench::reduce_pool(data); }); });
  const Stats reduce_serial = reduce[0], reduce_pool = reduce[1];
  if (bench::reduce_serial(data) != pool.install([&] { return bench::reduce_pool(data); })) {
    std::fprintf(stderr, "reduce mismatch\n");
    return 1;
  }
  data.clear();
  data.shrink_to_fit();

  const std::vector<int> input = bench::sort_input(sort_n);
  std::vector<int> v;
  // Copying the input is part of each timed run for both variants (a few ms, identical).
  // The pool's call is the last of each round: `v` is checked once they are done.
  const auto sort = measure(
      reps,
      [&] {
        v = input;
        std::sort(v.begin(), v.end());
      },
      [&] {
        v = input;
        pool.install([&] { wasmpool::parallel_sort(v.begin(), v.end()); });
      });
  const Stats sort_serial = sort[0], sort_pool = sort[1];
  if (!std::is_sorted(v.begin(), v.end())) {
    std::fprintf(stderr, "sort failed\n");
    return 1;
  }

  print_head();
  std::printf("  \"reduce\": {\"n\": %zu, \"serial\": %s, \"pool\": %s},\n", reduce_n,
              json(reduce_serial).c_str(), json(reduce_pool).c_str());
  std::printf("  \"sort\": {\"n\": %zu, \"serial\": %s, \"pool\": %s}\n}\n", sort_n,
              json(sort_serial).c_str(), json(sort_pool).c_str());
  return 0;
}
