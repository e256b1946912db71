// Routes raw exports: `var _x = Module["_x"] = INIT;` becomes
//   var _x = INIT';                       (INIT' no longer writes Module["_x"] lazily)
//   Module["_x"] = __wasmpoolRoute("_x", function () { return _x.apply(this, arguments); });
// so the glue's own calls through the local `_x` stay unrouted, while calls through the
// Module object consult the proxy on every call. Recent glue assigns in
// assignWasmExports(): `_x = Module["_x"] = wasmExports["x"];` is edited the same way
// (the router is installed there, right after the local gets the export).
export const name = 'raw-exports';

export function apply(ctx) {
  const { s, glue } = ctx;
  const routed = [];
  const byStatement = new Map();
  for (const entry of glue.exports) {
    if (!entry.routable) continue;
    s.remove(entry.outer.start, entry.outer.right.start);
    if (entry.inner) s.remove(entry.inner.start, entry.inner.right.start);
    const list = byStatement.get(entry.stmt) || [];
    list.push(entry.name);
    byStatement.set(entry.stmt, list);
    if (!routed.includes(entry.name)) routed.push(entry.name);
  }
  for (const [stmt, names] of byStatement) {
    const endsWithSemicolon = ctx.text[stmt.end - 1] === ';';
    const code = names.map((n) =>
      `Module[${JSON.stringify(n)}] = __wasmpoolRoute(${JSON.stringify(n)}, function () { return ${n}.apply(this, arguments); });`);
    s.appendLeft(stmt.end, (endsWithSemicolon ? '' : ';') + code.join(''));
  }
  ctx.exportNames.push(...routed);
  return { applied: routed.length > 0, detail: routed.length ? `routed ${routed.join(', ')}` : 'no routable raw exports', names: routed };
}
