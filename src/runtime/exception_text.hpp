// Names and messages of C++ exceptions that JavaScript only sees as a number: with
// Emscripten's JS-based exceptions (-fexceptions), an exception escaping into JS is thrown
// as the address of the exception object, and libc++abi's own bookkeeping (such as
// std::current_exception inside a terminate handler) is kept in JS, not in C++.
#pragma once

#include <cstdint>
#include <string>

namespace wasmpool::runtime {

struct ExceptionText {
  std::string type;  // demangled, e.g. "std::runtime_error"
  std::string what;  // what() for std::exception subclasses, a description otherwise
};

// `thrown` is the address Emscripten throws (the exception object itself).
ExceptionText describe_thrown_exception(uintptr_t thrown);

// The exception currently being handled on this thread (the innermost caught one), or 0.
// Inside a terminate handler reached from a noexcept violation, this is the exception
// that escaped.
uintptr_t current_caught_exception() noexcept;

}  // namespace wasmpool::runtime
