#include "runtime/exception_text.hpp"

#include <cxxabi.h>
#include <emscripten/emscripten.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <typeinfo>

// Provided by libc++abi for Emscripten's JS-based exceptions.
extern "C" bool __cxa_can_catch(const std::type_info* catch_type, const std::type_info* thrown_type,
                                void** adjusted);

// Emscripten 3.1.6 keeps this state in the glue: `exceptionCaught` (a stack of CatchInfo
// for exceptions being handled) and, for one thrown but not caught yet (a noexcept
// violation reaches std::terminate without a catch), `exceptionLast` with
// `uncaughtExceptionCount`. Other versions may differ: then this answers 0.
// The body is JavaScript: keep clang-format out of it.
// clang-format off
EM_JS(uintptr_t, wasmpool_js_current_caught_exception, (), {
  if (typeof exceptionCaught !== 'undefined' && exceptionCaught.length) {
    var info = exceptionCaught[exceptionCaught.length - 1];
    if (info && typeof info.get_base_ptr === 'function') return info.get_base_ptr();
  }
  if (typeof uncaughtExceptionCount !== 'undefined' && uncaughtExceptionCount > 0 &&
      typeof exceptionLast !== 'undefined' && exceptionLast) {
    return exceptionLast;
  }
  return 0;
});
// clang-format on

namespace wasmpool::runtime {

namespace {

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> text(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                              std::free);
  return status == 0 && text ? std::string(text.get()) : std::string(name);
}

}  // namespace

ExceptionText describe_thrown_exception(uintptr_t thrown) {
#if !defined(__cpp_exceptions)
  // Built without exceptions (-fno-exceptions): no C++ exception is ever thrown.
  (void)thrown;
  return {"C++ exception", "unknown exception (built without C++ exceptions)"};
#else
  // Emscripten 3.1.6's header before a thrown object is 16 bytes: refcount, then the
  // std::type_info* of the thrown type at offset 4, then the destructor.
  auto* type = *reinterpret_cast<const std::type_info* const*>(thrown - 12);
  if (type == nullptr) return {"C++ exception", "unknown exception"};
  const std::string name = demangle(type->name());
  void* adjusted = reinterpret_cast<void*>(thrown);
  if (__cxa_can_catch(&typeid(std::exception), type, &adjusted)) {
    return {name, static_cast<const std::exception*>(adjusted)->what()};
  }
  return {name, "C++ exception of type " + name};
#endif
}

uintptr_t current_caught_exception() noexcept {
  return wasmpool_js_current_caught_exception();
}

}  // namespace wasmpool::runtime
