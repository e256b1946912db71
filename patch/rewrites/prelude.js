// The routing runtime the other rewrites call: module id, the list of routable names,
// the per-call proxy check. Inserted at the pre-js position, right after the hooks, so it
// runs before any export or embind registration exists.
export const name = 'routing-prelude';

export function routingPrelude({ moduleId, exportNames }) {
  const lines = [
    '// wasm-threadpool-patch: routing runtime (docs/PATCH.md). Every routable export consults',
    '// globalThis.__wasmProxy on each call made through the Module object.',
    `var __wasmpoolModuleId = ${JSON.stringify(moduleId)};`,
    `var __wasmpoolExports = ${JSON.stringify(exportNames)};`,
    'Module["__wasmProxyModuleId"] = __wasmpoolModuleId;',
    'Module["__wasmProxyExports"] = __wasmpoolExports;',
    'var __wasmpoolIsNode = typeof process == "object" && typeof process.versions == "object" && typeof process.versions.node == "string";',
    'function __wasmpoolRoute(name, stock) {',
    '  function routed() {',
    '    var proxy = globalThis.__wasmProxy;',
    '    if (proxy != null && proxy.claims(__wasmpoolModuleId)) return proxy.call(__wasmpoolModuleId, name, Array.prototype.slice.call(arguments));',
    '    return stock.apply(this, arguments);',
    '  }',
    '  routed.__wasmpoolStock = stock;',
    '  return routed;',
    '}',
    'function __wasmpoolStockOf(f) {',
    '  return (f && f.__wasmpoolStock) || f;',
    '}',
  ];
  return lines.join('\n') + '\n';
}
