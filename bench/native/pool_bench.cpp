// Google Benchmark: serial vs wasmpool vs oneTBB on fork-join (fib), a reduction and a
// sort. Run on an otherwise idle machine; the pool uses every hardware thread.
//
// The fib comparison with oneTBB that counts is BM_fib_cutoff_*: below kFibCutoff both
// pools recurse serially, as real code does, and both beat serial. Without a cutoff
// (BM_fib_pool, BM_fib_tbb_*) every node of the call tree is a fork, both pools are
// slower than serial, and the figures only tell each pool's per-join overhead.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <thread>

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_invoke.h>
#include <tbb/parallel_reduce.h>
#include <tbb/parallel_sort.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include "workloads.hpp"

namespace {

std::size_t threads() {
  const unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 2 : hc;
}

wasmpool::ThreadPool& pool() {
  static wasmpool::ThreadPool p(threads());
  return p;
}

tbb::task_arena& arena() {
  static tbb::task_arena a(static_cast<int>(threads()));
  return a;
}

std::uint64_t fib_tbb(int n) {
  if (n < 2) return n;
  std::uint64_t a = 0, b = 0;
  tbb::parallel_invoke([&] { a = fib_tbb(n - 1); }, [&] { b = fib_tbb(n - 2); });
  return a + b;
}

std::uint64_t fib_tbb_task_group(int n) {
  if (n < 2) return n;
  std::uint64_t a = 0, b = 0;
  tbb::task_group g;
  g.run([&] { a = fib_tbb_task_group(n - 1); });
  b = fib_tbb_task_group(n - 2);
  g.wait();
  return a + b;
}

std::uint64_t fib_tbb_cutoff(int n) {
  if (n < bench::kFibCutoff) return bench::fib_serial(n);
  std::uint64_t a = 0, b = 0;
  tbb::parallel_invoke([&] { a = fib_tbb_cutoff(n - 1); }, [&] { b = fib_tbb_cutoff(n - 2); });
  return a + b;
}

// ---- fib -----------------------------------------------------------------------------
void BM_fib_serial(benchmark::State& s) {
  for (auto _ : s) benchmark::DoNotOptimize(bench::fib_serial(bench::kFibN));
}
void BM_fib_pool(benchmark::State& s) {
  for (auto _ : s)
    benchmark::DoNotOptimize(pool().install([] { return bench::fib_pool(bench::kFibN); }));
}
void BM_fib_tbb_invoke(benchmark::State& s) {
  for (auto _ : s) benchmark::DoNotOptimize(arena().execute([] { return fib_tbb(bench::kFibN); }));
}
void BM_fib_tbb_task_group(benchmark::State& s) {
  for (auto _ : s)
    benchmark::DoNotOptimize(arena().execute([] { return fib_tbb_task_group(bench::kFibN); }));
}
void BM_fib_cutoff_pool(benchmark::State& s) {
  for (auto _ : s)
    benchmark::DoNotOptimize(pool().install([] { return bench::fib_pool_cutoff(bench::kFibN); }));
}
void BM_fib_cutoff_tbb(benchmark::State& s) {
  for (auto _ : s)
    benchmark::DoNotOptimize(arena().execute([] { return fib_tbb_cutoff(bench::kFibN); }));
}

// ---- entry ---------------------------------------------------------------------------
// The cost of entering each pool from the benchmark's own (non-pool) thread, with nothing
// (or one empty fork) to do inside: what every iteration of the rows above pays once.
//   entry_empty:  install() of an empty job    vs arena().execute() of an empty lambda
//   entry_join:   install() of join(noop,noop) vs arena().execute() of parallel_invoke(noop,noop)
//   entry_join_global: wasmpool::join(noop,noop) called directly from the outside thread (the
//                 public entry: it dispatches to the global pool) vs tbb::parallel_invoke from
//                 outside any arena (oneTBB's implicit arena).
void noop() {
  benchmark::ClobberMemory();
}
void BM_entry_empty_pool(benchmark::State& s) {
  for (auto _ : s) pool().install([] { noop(); });
}
void BM_entry_empty_tbb(benchmark::State& s) {
  for (auto _ : s) arena().execute([] { noop(); });
}
void BM_entry_join_pool(benchmark::State& s) {
  for (auto _ : s) pool().install([] { wasmpool::join(noop, noop); });
}
void BM_entry_join_tbb(benchmark::State& s) {
  for (auto _ : s) arena().execute([] { tbb::parallel_invoke(noop, noop); });
}
void BM_entry_join_global_pool(benchmark::State& s) {
  // The global pool is created for this row only and shut down after it, so its threads do
  // not idle beside the other rows.
  wasmpool::init_global_pool(threads());
  for (auto _ : s) wasmpool::join(noop, noop);
  wasmpool::exit_global_pool();
}
void BM_entry_join_global_tbb(benchmark::State& s) {
  for (auto _ : s) tbb::parallel_invoke(noop, noop);
}

// ---- reduce ----------------------------------------------------------------------------
const std::vector<std::uint32_t>& reduce_data() {
  static const std::vector<std::uint32_t> v = bench::reduce_input(bench::kReduceN);
  return v;
}
void BM_reduce_serial(benchmark::State& s) {
  const auto& v = reduce_data();
  for (auto _ : s) benchmark::DoNotOptimize(bench::reduce_serial(v));
}
void BM_reduce_pool(benchmark::State& s) {
  const auto& v = reduce_data();
  for (auto _ : s) benchmark::DoNotOptimize(pool().install([&] { return bench::reduce_pool(v); }));
}
void BM_reduce_tbb(benchmark::State& s) {
  const auto& v = reduce_data();
  for (auto _ : s) {
    benchmark::DoNotOptimize(arena().execute([&] {
      return tbb::parallel_reduce(
          tbb::blocked_range<std::size_t>(0, v.size()), std::uint64_t{0},
          [&](const tbb::blocked_range<std::size_t>& r, std::uint64_t acc) {
            for (std::size_t i = r.begin(); i < r.end(); ++i) acc += v[i];
            return acc;
          },
          std::plus<>{});
    }));
  }
}

// ---- sort ------------------------------------------------------------------------------
const std::vector<int>& sort_data() {
  static const std::vector<int> v = bench::sort_input(bench::kSortN);
  return v;
}
template <class Sort>
void run_sort(benchmark::State& s, Sort sort) {
  std::vector<int> v;
  for (auto _ : s) {
    s.PauseTiming();
    v = sort_data();
    s.ResumeTiming();
    sort(v);
    benchmark::ClobberMemory();
  }
}
void BM_sort_serial(benchmark::State& s) {
  run_sort(s, [](std::vector<int>& v) { std::sort(v.begin(), v.end()); });
}
void BM_sort_pool(benchmark::State& s) {
  run_sort(s, [](std::vector<int>& v) {
    pool().install([&] { wasmpool::parallel_sort(v.begin(), v.end()); });
  });
}
void BM_sort_tbb(benchmark::State& s) {
  run_sort(s, [](std::vector<int>& v) {
    arena().execute([&] { tbb::parallel_sort(v.begin(), v.end()); });
  });
}

}  // namespace

BENCHMARK(BM_fib_serial)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_fib_cutoff_pool)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_fib_cutoff_tbb)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_fib_pool)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_fib_tbb_invoke)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_fib_tbb_task_group)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_entry_empty_pool)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_entry_empty_tbb)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_entry_join_pool)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_entry_join_tbb)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_entry_join_global_pool)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_entry_join_global_tbb)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_reduce_serial)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_reduce_pool)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_reduce_tbb)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sort_serial)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sort_pool)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sort_tbb)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
