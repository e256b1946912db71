# add_wasm_threadpool_module(<target>
#     SOURCES <file>...                 your C++ sources (embind exports)
#     [OUTPUT_NAME <name>]              glue file name without extension (default: <target>)
#     [INITIAL_MEMORY <bytes>]          default 64 MiB; memory may grow up to 2 GiB
#     [EXCEPTIONS ON|OFF]               C++ exceptions (default ON); see below
#     [LINK_OPTIONS <flag>...])         extra emcc link flags
#
# Builds an ES-module Emscripten glue (<name>.mjs, <name>.wasm, <name>.worker.js) with
# pthreads, embind, JS-based C++ exceptions, the pool and the runtime linked in, the
# pthread crash/log hooks added as a pre-js, readable wasm stack traces, and runs the
# glue patch after the link so the module can be hosted by ThreadPoolManager.
# Requires the Emscripten toolchain (emcmake cmake ...).
#
# EXCEPTIONS OFF compiles and links the module, the pool and the runtime with
# -fno-exceptions (the pool and runtime as their own variants, wasmpool_noexcept and
# wasmpool_runtime_noexcept, created on first use). With Emscripten 3.1.6 and pthreads the
# only working exception mode is the JS-based one (-fexceptions), which sends every call
# made inside a try block through a JavaScript invoke_* trampoline; each join has such a
# call, so fork-join heavy code runs several times faster without exceptions. The price:
# a C++ exception can no longer reach the caller. Your sources must not use try/catch/throw
# (they do not compile), the standard library aborts where it would throw (bad_alloc,
# out_of_range, ...), and an error the pool would throw or rethrow (cancelled_error,
# invalid arguments) aborts with its message: the host reports a WasmPanicError of kind
# 'abort' and restarts, instead of rejecting the call with the exception's what().
# docs/POOL.md, "Exceptions off".
#
# Other projects: add_subdirectory() or include() this repository's CMakeLists.txt
# (it defines the wasmpool library and this function), then call the function.

if(NOT EMSCRIPTEN)
  message(FATAL_ERROR "WasmThreadpool.cmake needs the Emscripten toolchain: configure with emcmake cmake")
endif()

set(WASMPOOL_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." CACHE INTERNAL "wasm-threadpool source root")
find_program(WASMPOOL_NODE node REQUIRED)

# The JS-facing runtime: crash records, per-thread logging and the embind lifecycle
# exports. An OBJECT library so the linker keeps its static embind registrations.
if(NOT TARGET wasmpool_runtime)
  add_library(wasmpool_runtime OBJECT
    "${WASMPOOL_ROOT}/src/runtime/crash_record.cpp"
    "${WASMPOOL_ROOT}/src/runtime/exception_text.cpp"
    "${WASMPOOL_ROOT}/src/runtime/thread_log.cpp"
    "${WASMPOOL_ROOT}/src/runtime/lifecycle_bindings.cpp")
  target_link_libraries(wasmpool_runtime PUBLIC wasmpool)
  target_include_directories(wasmpool_runtime PUBLIC "${WASMPOOL_ROOT}/src")
endif()

# The runtime compiled with -fno-exceptions, for modules built with EXCEPTIONS OFF.
function(_wasmpool_runtime_noexcept)
  if(TARGET wasmpool_runtime_noexcept)
    return()
  endif()
  get_target_property(_sources wasmpool_runtime SOURCES)
  add_library(wasmpool_runtime_noexcept OBJECT EXCLUDE_FROM_ALL ${_sources})
  target_link_libraries(wasmpool_runtime_noexcept PUBLIC wasmpool_noexcept)
  target_include_directories(wasmpool_runtime_noexcept PUBLIC "${WASMPOOL_ROOT}/src")
endfunction()

function(add_wasm_threadpool_module target)
  cmake_parse_arguments(ARG "" "OUTPUT_NAME;INITIAL_MEMORY;EXCEPTIONS" "SOURCES;LINK_OPTIONS" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "add_wasm_threadpool_module(${target}): SOURCES is required")
  endif()
  if(NOT ARG_OUTPUT_NAME)
    set(ARG_OUTPUT_NAME "${target}")
  endif()
  if(NOT ARG_INITIAL_MEMORY)
    set(ARG_INITIAL_MEMORY 67108864)
  endif()

  if(NOT DEFINED ARG_EXCEPTIONS OR ARG_EXCEPTIONS)
    set(_pool wasmpool)
    set(_runtime wasmpool_runtime)
    set(_exceptions -fexceptions)
  else()
    _wasmpool_runtime_noexcept()
    set(_pool wasmpool_noexcept)
    set(_runtime wasmpool_runtime_noexcept)
    set(_exceptions -fno-exceptions)
  endif()

  add_executable(${target} ${ARG_SOURCES} $<TARGET_OBJECTS:${_runtime}>)
  target_link_libraries(${target} PRIVATE ${_pool})
  target_include_directories(${target} PRIVATE "${WASMPOOL_ROOT}/src")
  set_target_properties(${target} PROPERTIES OUTPUT_NAME "${ARG_OUTPUT_NAME}" SUFFIX ".mjs")
  target_compile_options(${target} PRIVATE -pthread ${_exceptions})
  target_link_options(${target} PRIVATE
    -pthread
    ${_exceptions}
    --bind
    --profiling-funcs
    -sMODULARIZE=1
    -sEXPORT_ES6=1
    -sEXPORT_NAME=${ARG_OUTPUT_NAME}
    -sINITIAL_MEMORY=${ARG_INITIAL_MEMORY}
    -sALLOW_MEMORY_GROWTH=1
    -sMAXIMUM_MEMORY=2147483648
    -sSTACK_OVERFLOW_CHECK=2
    # No prewarmed workers: an instance on Node's main thread starts no thread (stock
    # behaviour of a build without -sPTHREAD_POOL_SIZE); the host prewarms its pool's
    # workers itself, through the pthread hooks.
    -Wno-pthreads-mem-growth
    -sEXPORTED_FUNCTIONS=_malloc,_free
    "--pre-js=${WASMPOOL_ROOT}/glue/pthread/pthread-hooks.js"
    ${ARG_LINK_OPTIONS})
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${WASMPOOL_ROOT}/glue/pthread/pthread-hooks.js")
  # The patch only runs after a link: relink when the patch itself changes.
  file(GLOB _wasmpool_patch_sources "${WASMPOOL_ROOT}/patch/*.js" "${WASMPOOL_ROOT}/patch/rewrites/*.js")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${_wasmpool_patch_sources})

  # The patch rewrites the glue in place, atomically, and is idempotent.
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND "${WASMPOOL_NODE}" "${WASMPOOL_ROOT}/patch/cli.js" "$<TARGET_FILE:${target}>"
    COMMENT "Patching ${ARG_OUTPUT_NAME}.mjs for ThreadPoolManager"
    VERBATIM)
endfunction()
