#include "wasmpool/errors.hpp"

#include <cstdio>
#include <cstdlib>

#if defined(__EMSCRIPTEN__)
#include <emscripten/emscripten.h>

// The glue's abort(what): "Aborted(what)" on stderr, then a WebAssembly.RuntimeError with
// that text, which a host classifies as an abort and reports with the message (C's abort()
// would only say "Aborted()").
// The body is JavaScript: keep clang-format out of it.
// clang-format off
EM_JS(void, wasmpool_js_abort, (const char* what), {
  abort(UTF8ToString(what));
});
// clang-format on
#endif

namespace wasmpool::detail {

void fatal_error(const char* what) noexcept {
  char text[512];
  std::snprintf(text, sizeof text, "fatal error (built without C++ exceptions): %s", what);
#if defined(__EMSCRIPTEN__)
  wasmpool_js_abort(text);
#else
  std::fprintf(stderr, "%s\n", text);
  std::fflush(stderr);
#endif
  std::abort();
}

}  // namespace wasmpool::detail
