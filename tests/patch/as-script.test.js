// The patch's check that ES module glue may be evaluated as a function body (the marker's
// asScript; patch/as-script.js): what it lets through and what it refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluableAsScript } from '../../patch/as-script.js';
import { SHIM_IMPORT } from '../../patch/rewrites/esm-shims.js';

// The shape of patched 3.1.6 ES module glue, reduced to its module syntax.
const glue = (body, exported = 'export default factory;') => [
  SHIM_IMPORT,
  'var require = __wasmpoolCreateRequire(import.meta.url);',
  'var factory = (() => {',
  '  var _scriptDir = import.meta.url;',
  `  return function(Module) { ${body} return arguments.length; };`,
  '})();',
  exported,
  '',
].join('\n');

test('patched glue whose only module syntax is the shim, import.meta.url and one default export', () => {
  assert.equal(evaluableAsScript(glue('')), true);
  assert.equal(evaluableAsScript(glue('async function f() { await g(); for await (const x of y) {} }')), true);
  assert.equal(evaluableAsScript(glue('Module.arguments = Module["arguments"]; var o = { arguments: 1 };')), true);
  // -O0 glue names import.meta.url in a comment; the host's replacement there is harmless.
  assert.equal(evaluableAsScript(glue('// the `new URL(..., import.meta.url)` pattern\n /* export default x; */')), true);
});

test('anything that means something else in a function body is refused', () => {
  const refused = {
    'no shim import': glue('').replace(SHIM_IMPORT, ''),
    'another import': `import fs from "fs";\n${glue('')}`,
    'a named export': glue('', 'export { factory };'),
    'a second default shape': glue('', 'export default function () {}'),
    'dynamic import()': glue('import("node:module");'),
    'top-level await': `${glue('')}await 0;\n`,
    'top-level for await': `${glue('')}for await (const x of []) {}\n`,
    'import.meta other than .url': glue('var r = import.meta.resolve;'),
    'import.meta.url spelled in a string': glue('var s = "import.meta.url";'),
    'the export line inside a comment': glue('/*\nexport default factory;\n*/'),
    'top-level arguments': `${glue('')}var a = arguments;\n`,
    'not JavaScript': glue('var = ;'),
  };
  for (const [what, text] of Object.entries(refused)) assert.equal(evaluableAsScript(text), false, what);
});
