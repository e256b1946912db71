# add_wasm_threadpool_module(<target>
#     SOURCES <file>...                 your C++ sources (embind exports)
#     [OUTPUT_NAME <name>]              glue file name without extension (default: <target>)
#     [INITIAL_MEMORY <bytes>]          default 64 MiB; memory may grow up to 2 GiB
#     [LINK_OPTIONS <flag>...])         extra emcc link flags
#
# Builds an ES-module Emscripten glue (<name>.mjs, <name>.wasm, <name>.worker.js) with
# pthreads, embind, JS-based C++ exceptions, the pool and the runtime linked in, the
# pthread crash/log hooks added as a pre-js, readable wasm stack traces, and runs the
# glue patch after the link so the module can be hosted by ThreadPoolManager.
# Requires the Emscripten toolchain (emcmake cmake ...).
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

function(add_wasm_threadpool_module target)
  cmake_parse_arguments(ARG "" "OUTPUT_NAME;INITIAL_MEMORY" "SOURCES;LINK_OPTIONS" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "add_wasm_threadpool_module(${target}): SOURCES is required")
  endif()
  if(NOT ARG_OUTPUT_NAME)
    set(ARG_OUTPUT_NAME "${target}")
  endif()
  if(NOT ARG_INITIAL_MEMORY)
    set(ARG_INITIAL_MEMORY 67108864)
  endif()

  add_executable(${target} ${ARG_SOURCES} $<TARGET_OBJECTS:wasmpool_runtime>)
  target_link_libraries(${target} PRIVATE wasmpool)
  target_include_directories(${target} PRIVATE "${WASMPOOL_ROOT}/src")
  set_target_properties(${target} PROPERTIES OUTPUT_NAME "${ARG_OUTPUT_NAME}" SUFFIX ".mjs")
  target_compile_options(${target} PRIVATE -pthread -fexceptions)
  target_link_options(${target} PRIVATE
    -pthread
    -fexceptions
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
    "--pre-js=${WASMPOOL_ROOT}/glue/pthread-hooks.js"
    ${ARG_LINK_OPTIONS})
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${WASMPOOL_ROOT}/glue/pthread-hooks.js")
  # The patch only runs after a link: relink when the patch itself changes.
  file(GLOB _wasmpool_patch_sources "${WASMPOOL_ROOT}/patch/*.js" "${WASMPOOL_ROOT}/patch/rewrites/*.js")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${_wasmpool_patch_sources})

  # The patch rewrites the glue in place, atomically, and is idempotent.
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND "${WASMPOOL_NODE}" "${WASMPOOL_ROOT}/patch/cli.js" "$<TARGET_FILE:${target}>"
    COMMENT "Patching ${ARG_OUTPUT_NAME}.mjs for ThreadPoolManager"
    VERBATIM)
endfunction()
