#include "runtime/thread_log.hpp"

#include <emscripten/emscripten.h>

// __wasmpoolHooks is defined by glue/pthread/pthread-hooks.js in the glue's scope; a module
// linked without the hooks still logs, to stderr.
// The body is JavaScript: keep clang-format out of it.
// clang-format off
EM_JS(void, wasmpool_js_log, (int level, const char* text, int length), {
  var message = UTF8ToString(text, length);
  if (typeof __wasmpoolHooks !== 'undefined') __wasmpoolHooks.log(level, message);
  else err(message);
});
// clang-format on

namespace wasmpool {

void log(LogLevel level, std::string_view message) noexcept {
  wasmpool_js_log(static_cast<int>(level), message.data(), static_cast<int>(message.size()));
}

}  // namespace wasmpool
