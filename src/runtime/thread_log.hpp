// Per-thread logging: from any pool thread, a line goes straight to Node's main thread
// over that thread's own MessagePort, with the thread index, the level and the time.
// It never passes through the host thread, so it arrives even while the host is blocked
// waiting on the pool. Outside a hosted pool it falls back to the module's stderr.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

namespace wasmpool {

enum class LogLevel : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4 };

// The names JavaScript shows for each level, by its number (runtimeInfo().logLevels).
inline constexpr const char* kLogLevelNames[] = {"trace", "debug", "info", "warn", "error"};

void log(LogLevel level, std::string_view message) noexcept;

// printf-style convenience: wasmpool::logf(LogLevel::info, "tile %d done", i);
template <class... Args>
void logf(LogLevel level, const char* format, Args&&... args) noexcept {
  char buffer[512];
  std::snprintf(buffer, sizeof buffer, format, std::forward<Args>(args)...);
  log(level, buffer);
}

}  // namespace wasmpool
