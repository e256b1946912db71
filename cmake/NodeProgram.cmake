# wasmpool_node_program(<target>): an Emscripten executable that Node runs as a program
# (the wasm test and benchmark binaries): main() on a pthread (PROXY_TO_PTHREAD) so Node's
# main thread stays free to start workers, the process exits with main's status, memory can
# grow, and the build folder is marked CommonJS (the repository's package.json says
# "type": "module", and this classic glue and its .worker.js are CommonJS).
function(wasmpool_node_program target)
  file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/package.json" "{ \"type\": \"commonjs\" }\n")
  set_target_properties(${target} PROPERTIES SUFFIX ".js")
  target_link_libraries(${target} PRIVATE wasmpool)
  target_link_options(${target} PRIVATE
    -pthread
    -fexceptions
    -sPROXY_TO_PTHREAD
    -sEXIT_RUNTIME=1
    -sALLOW_MEMORY_GROWTH=1
    -sMAXIMUM_MEMORY=2147483648
    -Wno-pthreads-mem-growth
    "--pre-js=${PROJECT_SOURCE_DIR}/cmake/node_prejs.js")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${PROJECT_SOURCE_DIR}/cmake/node_prejs.js")
endfunction()
