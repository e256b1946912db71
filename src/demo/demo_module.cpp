// The demo module: real parallel workloads, typed-array and shared-heap entry points,
// and deliberate faults of every kind the runtime must survive. The demo, the JS tests
// and the benchmarks all call these exports through ThreadPoolManager.
#include <emscripten/bind.h>
#include <emscripten/emscripten.h>
#include <emscripten/val.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <wasmpool/pool.hpp>
#include <wasmpool/runtime_hooks.hpp>

#include "runtime/thread_log.hpp"

using emscripten::val;

namespace {

// ---------------------------------------------------------------- workloads

double parallel_sum(double n_double) {
  const auto n = static_cast<uint64_t>(n_double);
  const uint64_t total = wasmpool::parallel_reduce(
      uint64_t{0}, n, uint64_t{1} << 14, uint64_t{0},
      [](uint64_t begin, uint64_t end, uint64_t acc) {
        for (uint64_t i = begin; i < end; ++i) acc += i;
        return acc;
      },
      [](uint64_t a, uint64_t b) { return a + b; });
  return static_cast<double>(total);
}

double serial_sum(double n_double) {
  const auto n = static_cast<uint64_t>(n_double);
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; ++i) acc += i;
  return static_cast<double>(acc);
}

int fib_join(int n) {
  if (n < 2) return n;
  auto [a, b] = wasmpool::join([n] { return fib_join(n - 1); }, [n] { return fib_join(n - 2); });
  return a + b;
}

// Sorts n pseudo-random integers in parallel and returns whether the result is ordered
// and holds the same multiset (by checksum).
bool sort_check(int n, int seed) {
  std::vector<uint32_t> data(static_cast<std::size_t>(n));
  std::mt19937 rng(static_cast<uint32_t>(seed));
  uint64_t checksum = 0;
  for (auto& x : data) {
    x = rng();
    checksum += x;
  }
  wasmpool::parallel_sort(data.begin(), data.end());
  uint64_t after = 0;
  for (auto x : data) after += x;
  return after == checksum && std::is_sorted(data.begin(), data.end());
}

// Mandelbrot in parallel tiles. Progress (tiles done) is a word in the shared heap that
// main reads directly while the call runs: see renderProgressAddress().
std::atomic<uint32_t> g_tiles_done{0};

uintptr_t render_progress_address() {
  return reinterpret_cast<uintptr_t>(&g_tiles_done);
}

void fault_now(const std::string& kind);

// fault_kind "" renders normally; otherwise one tile in the middle of the image performs
// that fault (see fault_now), which is how the demo shows a crash mid-work.
val render_mandelbrot(int width, int height, int max_iter, int tile, bool log_tiles,
                      std::string fault_kind) {
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384) {
    throw std::invalid_argument("renderMandelbrot: width and height must be between 1 and 16384");
  }
  if (tile <= 0) throw std::invalid_argument("renderMandelbrot: tile must be positive");
  std::vector<uint8_t> rgba(static_cast<std::size_t>(width) * height * 4);
  const int tiles_x = (width + tile - 1) / tile;
  const int tiles_y = (height + tile - 1) / tile;
  g_tiles_done.store(0, std::memory_order_relaxed);
  const int fault_tile = (tiles_x * tiles_y) / 2;
  wasmpool::parallel_for(0, tiles_x * tiles_y, 1, [&](int t) {
    if (t == fault_tile && !fault_kind.empty()) fault_now(fault_kind);
    const int tx = t % tiles_x, ty = t / tiles_x;
    for (int y = ty * tile; y < std::min(height, (ty + 1) * tile); ++y) {
      for (int x = tx * tile; x < std::min(width, (tx + 1) * tile); ++x) {
        const double cr = -2.2 + 3.2 * x / width, ci = -1.2 + 2.4 * y / height;
        double zr = 0, zi = 0;
        int i = 0;
        while (i < max_iter && zr * zr + zi * zi < 4.0) {
          const double t2 = zr * zr - zi * zi + cr;
          zi = 2 * zr * zi + ci;
          zr = t2;
          ++i;
        }
        uint8_t* px = &rgba[(static_cast<std::size_t>(y) * width + x) * 4];
        const double s = i == max_iter ? 0.0 : std::sqrt(static_cast<double>(i) / max_iter);
        px[0] = static_cast<uint8_t>(255 * std::min(1.0, 1.6 * s));
        px[1] = static_cast<uint8_t>(255 * s * s);
        px[2] = static_cast<uint8_t>(255 * std::min(1.0, 0.3 + s) * (i == max_iter ? 0 : 1));
        px[3] = 255;
      }
    }
    const uint32_t done = g_tiles_done.fetch_add(1, std::memory_order_relaxed) + 1;
    if (log_tiles) {
      wasmpool::logf(wasmpool::LogLevel::info, "tile %d done (%u/%d)", t, done, tiles_x * tiles_y);
    }
  });
  return val(emscripten::typed_memory_view(rgba.size(), rgba.data()))
      .call<val>("slice");  // copy out: rgba dies with this frame
}

// ---------------------------------------------------------------- data in and out

double sum_float64(val array) {
  const std::vector<double> values = emscripten::convertJSArrayToNumberVector<double>(array);
  return wasmpool::parallel_reduce(
      std::size_t{0}, values.size(), std::size_t{1} << 14, 0.0,
      [&](std::size_t b, std::size_t e, double acc) {
        for (std::size_t i = b; i < e; ++i) acc += values[i];
        return acc;
      },
      [](double a, double b) { return a + b; });
}

// The shared-heap path: main wrote the data straight into the host's heap at `address`.
double sum_float64_at(uintptr_t address, double count) {
  const auto* values = reinterpret_cast<const double*>(address);
  const auto n = static_cast<std::size_t>(count);
  return wasmpool::parallel_reduce(
      std::size_t{0}, n, std::size_t{1} << 14, 0.0,
      [&](std::size_t b, std::size_t e, double acc) {
        for (std::size_t i = b; i < e; ++i) acc += values[i];
        return acc;
      },
      [](double a, double b) { return a + b; });
}

val scale_float64(val array, double factor) {
  std::vector<double> values = emscripten::convertJSArrayToNumberVector<double>(array);
  wasmpool::parallel_for(std::size_t{0}, values.size(), std::size_t{1} << 12,
                         [&](std::size_t i) { values[i] *= factor; });
  return val(emscripten::typed_memory_view(values.size(), values.data())).call<val>("slice");
}

int add(int a, int b) {
  return a + b;
}
void noop() {}
std::string echo(std::string text) {
  return text;
}

int thread_count() {
  wasmpool::ThreadPool* pool = wasmpool::global_pool();
  return pool ? static_cast<int>(pool->num_threads()) : 0;
}

// ---------------------------------------------------------------- output and logs

void print_from_threads(int lines) {
  wasmpool::parallel_for(0, lines, 1, [](int i) {
    std::printf("printf line %d from worker %d\n", i, wasmpool::current_worker_index());
    // One write per line: stream insertions from several threads interleave otherwise.
    std::cout << ("cout line " + std::to_string(i) + "\n") << std::flush;
  });
}

void log_from_threads(int lines) {
  wasmpool::parallel_for(0, lines, 1, [](int i) {
    wasmpool::logf(wasmpool::LogLevel::info, "log line %d from worker %d", i,
                   wasmpool::current_worker_index());
  });
}

// Healthy but slow: many small tasks, each busy for ~1 ms, for about `ms` in total. The
// progress counter advances with every task, so the watchdog must never fire.
int slow_progress(int ms) {
  const int tasks = std::max(1, ms * static_cast<int>(std::max<std::size_t>(1, thread_count())));
  std::atomic<int> done{0};
  wasmpool::parallel_for(0, tasks, 1, [&](int) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1);
    while (std::chrono::steady_clock::now() < until) {
    }
    done.fetch_add(1, std::memory_order_relaxed);
  });
  return done.load();
}

// ---------------------------------------------------------------- faults

volatile int g_sink = 0;

[[gnu::noinline]] int overflow_stack(int depth) {
  volatile char frame[4096];
  frame[depth % 4096] = static_cast<char>(depth);
  return overflow_stack(depth + 1) + frame[(depth + 1) % 4096];
}

[[gnu::noinline]] void throw_deep(int depth) {
  if (depth == 0) throw std::runtime_error("deliberate failure deep inside nested joins");
  wasmpool::join([depth] { throw_deep(depth - 1); }, [] {});
}

std::mutex g_left, g_right;

// Performs the fault `kind` on the calling thread. Hangs never return.
void fault_now(const std::string& kind) {
  if (kind == "trap") __builtin_trap();
  if (kind == "abort") std::abort();
  if (kind == "oob") g_sink = *reinterpret_cast<volatile int*>(uintptr_t{0xFFFFFFF0u});
  if (kind == "stack-overflow") g_sink = overflow_stack(0);
  if (kind == "terminate") std::terminate();
  if (kind == "uncaught") {
    // An exception escaping a noexcept boundary: std::terminate with it still current.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wexceptions"
    []() noexcept { throw std::logic_error("exception escaped a noexcept pool task"); }();
#pragma clang diagnostic pop
  }
  if (kind == "exception") throw_deep(4);
  if (kind == "oom") {
    // Larger than the 2 GiB maximum memory: operator new fails at once.
    g_sink = static_cast<int>(reinterpret_cast<uintptr_t>(new char[std::size_t{3} << 30]));
  }
  if (kind == "hang") {
    for (;;) g_sink = g_sink + 1;
  }
  if (kind == "host-exit") EM_ASM(process.exit(7));
  throw std::invalid_argument("unknown fault kind '" + kind + "'");
}

void deadlock_pair() {
  std::atomic<int> locked{0};
  wasmpool::join(
      [&] {
        std::lock_guard<std::mutex> a(g_left);
        locked.fetch_add(1);
        while (locked.load() < 2) std::this_thread::yield();
        std::lock_guard<std::mutex> b(g_right);
      },
      [&] {
        std::lock_guard<std::mutex> b(g_right);
        locked.fetch_add(1);
        while (locked.load() < 2) std::this_thread::yield();
        std::lock_guard<std::mutex> a(g_left);
      });
}

// fault(kind, where):
//   where = "pool": inside parallel work; the host thread is blocked waiting on the pool
//   where = "host": on the host thread itself, outside the pool
//   where = "idle": a pool task faults ~delay ms later, after this call has returned and
//                   the host is idle
void fault(std::string kind, std::string where, int delay_ms) {
  if (where == "host") {
    if (kind == "deadlock") deadlock_pair();
    fault_now(kind);
    return;
  }
  if (where == "pool") {
    if (kind == "deadlock") {
      deadlock_pair();
      return;
    }
    // Some healthy tasks run first, so the fault strikes in the middle of real work.
    wasmpool::parallel_for(0, 64, 1, [&](int i) {
      if (i == 37) fault_now(kind);
      volatile double x = 0;
      for (int k = 0; k < 20000; ++k) x = x + std::sqrt(static_cast<double>(k + i));
    });
    return;
  }
  if (where == "idle") {
    std::thread([kind, delay_ms] {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      wasmpool::ThreadPool* pool = wasmpool::global_pool();
      if (pool == nullptr) return;
      pool->install([&] {
        if (kind == "deadlock")
          deadlock_pair();
        else
          fault_now(kind);
      });
    }).detach();
    return;
  }
  throw std::invalid_argument("fault(kind, where): where must be 'pool', 'host' or 'idle', not '" +
                              where + "'");
}

}  // namespace

EMSCRIPTEN_BINDINGS(demo) {
  emscripten::function("parallelSum", &parallel_sum);
  emscripten::function("serialSum", &serial_sum);
  emscripten::function("fib", &fib_join);
  emscripten::function("sortCheck", &sort_check);
  emscripten::function("renderMandelbrot", &render_mandelbrot);
  emscripten::function("renderProgressAddress", &render_progress_address);
  emscripten::function("sumFloat64", &sum_float64);
  emscripten::function("sumFloat64At", &sum_float64_at);
  emscripten::function("scaleFloat64", &scale_float64);
  emscripten::function("add", &add);
  emscripten::function("noop", &noop);
  emscripten::function("echo", &echo);
  emscripten::function("threadCount", &thread_count);
  emscripten::function("printFromThreads", &print_from_threads);
  emscripten::function("logFromThreads", &log_from_threads);
  emscripten::function("slowProgress", &slow_progress);
  emscripten::function("fault", &fault);
}
