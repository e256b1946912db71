// How the host loads patched glue (glue/host/glue-loader.cjs): CommonJS glue by require(),
// ES module glue whose marker allows it as a function body (no ES module loader), anything
// else by import(). The function body must behave as the module would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadGlueFactory } from '../../../glue/host/glue-loader.cjs';
import { SHIM_IMPORT } from '../../../patch/rewrites/esm-shims.js';

// A module with the module syntax of patched ES module glue. Its factory reports what the
// module saw; line 6 throws on request, so a stack trace says where.
const GLUE = [
  '// wasm-threadpool-patch v1 {"moduleId":"x"}',
  SHIM_IMPORT,
  'var require = __wasmpoolCreateRequire(import.meta.url);',
  'var topThis = this;',
  'var factory = function (fail) {',
  '  if (fail) throw new Error("thrown on line 6");',
  '  var strict = (function () { return this === undefined; })();',
  '  return { url: import.meta.url, strict, topThis, path: require("node:path").sep };',
  '};',
  'export default factory;',
  '',
].join('\n');

function withFile(name, text, fn) {
  const dir = mkdtempSync(path.join(tmpdir(), 'glue-loader-'));
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return Promise.resolve(fn(pathToFileURL(file).href, file)).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('ES module glue the marker allows runs as a function body, as the module would', () =>
  withFile('glue.mjs', GLUE, async (url, file) => {
    const script = await loadGlueFactory(url, { es6: true, asScript: true });
    const imported = await loadGlueFactory(url, null);
    assert.equal(script.loadedAs, 'script');
    assert.equal(imported.loadedAs, 'import');
    assert.deepEqual(script.factory(), imported.factory());
    assert.deepEqual(script.factory(), { url, strict: true, topThis: undefined, path: path.sep });
    // Evaluated once, as an import is: a second load gives the same factory.
    assert.equal((await loadGlueFactory(url, { es6: true, asScript: true })).factory, script.factory);
    // Lines keep their numbers: the stack points at the glue file's own line.
    const error = (() => { try { script.factory(true); } catch (e) { return e; } })();
    assert.match(error.stack.split('\n')[1], new RegExp(`${file.replace(/[.\\/]/g, '\\$&')}:6:`));
  }));

test('text that is not what the marker promised is imported as the module it is', () =>
  withFile('edited.mjs', GLUE.replace(SHIM_IMPORT, 'import { createRequire as __wasmpoolCreateRequire } from "node:module";'),
    async (url) => {
      const { factory, loadedAs } = await loadGlueFactory(url, { es6: true, asScript: true });
      assert.equal(loadedAs, 'import');
      assert.equal(factory().url, url);
    }));

test('CommonJS glue is required, and glue without a marker form is imported', async () => {
  await withFile('glue.cjs', 'module.exports = function factory() { return __filename; };\n', async (url, file) => {
    const { factory, loadedAs } = await loadGlueFactory(url, { es6: false, asScript: false });
    assert.equal(loadedAs, 'require');
    assert.equal(factory(), file);
    assert.equal((await loadGlueFactory(url, null)).loadedAs, 'import');
  });
});
