// Routes embind free functions. __embind_register_function installs them with
// exposePublicSymbol() and replacePublicSymbol() (overload tables included). The patch
// adds copies of those two functions that keep the stock logic but store into a shadow
// object (__wasmpoolEmbindFunctions) instead of Module, and points
// __embind_register_function at the copies. Module[name] then holds one router per name
// that forwards to the shadow's current entry (placeholder, invoker or overload
// dispatcher), and the name is added to Module.__wasmProxyExports when registered.
// Classes, enums and constants keep the stock functions and are not routed.
import { referencesTo } from '../ast.js';

export const name = 'embind';

// A copy of the stock function (`function f(...) {}` or `var f = (...) => {}`) under
// another name, with every reference to Module pointing at the shadow object.
function cloneWithShadow(text, entry, newName) {
  const { fn } = entry;
  const edits = referencesTo(fn.body, 'Module')
    .map((id) => ({ start: id.start, end: id.end, text: '__wasmpoolEmbindFunctions' }))
    .sort((a, b) => a.start - b.start);
  let out;
  let cursor;
  let close = '';
  if (fn.type === 'FunctionDeclaration') {
    out = `function ${newName}`;
    cursor = fn.id.end;
  } else {
    out = `var ${newName} = `;
    cursor = fn.start;
    close = ';';
  }
  for (const edit of edits) {
    out += text.slice(cursor, edit.start) + edit.text;
    cursor = edit.end;
  }
  return out + text.slice(cursor, fn.end) + close;
}

const SUPPORT = `var __wasmpoolEmbindFunctions = {};
function __wasmpoolPublish(name) {
  var current = Module[name];
  if (current && current.__wasmpoolEmbindName === name) return;
  var router = __wasmpoolRoute(name, function () { return __wasmpoolEmbindFunctions[name].apply(this, arguments); });
  router.__wasmpoolEmbindName = name;
  ["overloadTable", "numArguments", "argCount"].forEach(function (key) {
    Object.defineProperty(router, key, { configurable: true, enumerable: true, get: function () { return __wasmpoolEmbindFunctions[name][key]; } });
  });
  Module[name] = router;
  if (__wasmpoolExports.indexOf(name) < 0) __wasmpoolExports.push(name);
}
function __wasmpoolExposeFunction(name) {
  var result = __wasmpoolStockExposePublicSymbol.apply(this, arguments);
  __wasmpoolPublish(name);
  return result;
}
function __wasmpoolReplaceFunction(name) {
  var result = __wasmpoolStockReplacePublicSymbol.apply(this, arguments);
  __wasmpoolPublish(name);
  return result;
}
`;

export function apply(ctx) {
  const { s, glue, text } = ctx;
  const embind = glue.embind;
  if (!embind) return { applied: false, detail: 'no embind free functions (__embind_register_function absent)' };
  const clones = [
    cloneWithShadow(text, embind.expose, '__wasmpoolStockExposePublicSymbol'),
    cloneWithShadow(text, embind.replace, '__wasmpoolStockReplacePublicSymbol'),
  ];
  // After the later of the two statements (a `var` form ends at its statement, not its function).
  const last = embind.expose.stmt.end > embind.replace.stmt.end ? embind.expose.stmt : embind.replace.stmt;
  s.appendLeft(last.end, '\n// wasm-threadpool-patch: embind free functions are kept in a shadow object and routed\n' +
    clones.join('\n') + '\n');
  for (const id of embind.calls.expose) s.overwrite(id.start, id.end, '__wasmpoolExposeFunction');
  for (const id of embind.calls.replace) s.overwrite(id.start, id.end, '__wasmpoolReplaceFunction');
  ctx.prelude.push(SUPPORT);
  return { applied: true, detail: 'routed via exposePublicSymbol/replacePublicSymbol in __embind_register_function' };
}
