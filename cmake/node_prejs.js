// --pre-js for the Node programs of wasmpool_node_program() (NodeProgram.cmake). Emscripten 3.1.6's glue loads the .wasm with fetch()
// whenever fetch exists, and Node 18+'s fetch cannot load a file path ("Failed to parse
// URL"). The glue is a CommonJS module here, so this hoisted `var` shadows the global fetch
// inside it only, and the glue falls back to reading the file with fs.
var fetch = undefined;
