// Node 18+ has a global fetch(), so 3.1.6 glue tries fetch()/instantiateStreaming on the
// .wasm path, which fails ("Failed to parse URL"). Every `typeof fetch == "function"`
// guard also requires "not Node", so Node reads the file with readBinary. EXPORT_ES6 glue
// names the .wasm with `new URL("x.wasm", import.meta.url)`, a file:// URL that
// readBinary cannot open: on Node it is turned into a path right after it is computed.
export const name = 'node-wasm-loading';

export function apply(ctx) {
  const { s, glue, text } = ctx;
  const details = [];
  for (const check of glue.fetchChecks) {
    s.appendLeft(check.start, '(');
    s.appendRight(check.end, ' && !__wasmpoolIsNode)');
  }
  if (glue.fetchChecks.length) details.push(`${glue.fetchChecks.length} fetch() guard(s) exclude Node`);
  const stmt = glue.wasm.urlStatement;
  if (stmt) {
    const sep = /[;}]/.test(text[stmt.end - 1]) ? '\n' : ';\n';
    s.appendLeft(stmt.end, sep + 'if (__wasmpoolIsNode && typeof wasmBinaryFile == "string" && wasmBinaryFile.indexOf("file:") == 0) ' +
      'wasmBinaryFile = require("url").fileURLToPath(wasmBinaryFile);');
    details.push('file:// .wasm URL read as a path on Node');
  }
  return { applied: details.length > 0, detail: details.join('; ') || 'nothing to fix' };
}
