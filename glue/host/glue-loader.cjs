// Loads the glue's module factory into the host without starting Node's ES module loader
// when it can: that loader's first use costs a worker ~4-5 ms (its own modules, compiled on
// first use), and on a cold start the host thread's time is what every first call waits for.
// The host's own files are CommonJS for the same reason.
//
//   - CommonJS glue (patched without -sEXPORT_ES6): require().
//   - ES module glue whose patch marker says `asScript` (patch/as-script.js checked,
//     on the patched text, that its only module syntax is the patch's own createRequire
//     import, `import.meta.url` and one `export default <name>;`): its text is compiled as a
//     function body in strict mode, as a module is, with those three spelled as a parameter,
//     a parameter and a `return`. Lines keep their numbers, so stack traces and the source
//     map still point at the file.
//   - Anything else (unpatched glue, markers from before `asScript`): import().
'use strict';

const { readFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { fileURLToPath } = require('node:url');

// The patch's first shim line (patch/rewrites/esm-shims.js), the only import it allows.
const SHIM_IMPORT = 'import { createRequire as __wasmpoolCreateRequire } from "module";';
const EXPORT_DEFAULT = /^export default ([A-Za-z_$][\w$]*);$/m;
// Evaluated once per file, as import() and require() do: a renew that instantiates the glue
// again reuses its factory.
const evaluated = new Map();

/**
 * The factory (the default export of ES module glue, module.exports of CommonJS glue), and
 * how it was loaded: 'require', 'script' or 'import'.
 * @param {string} glueUrl a file: URL
 * @param {{ es6: boolean, asScript: boolean } | null} form from the patch marker (patched
 *   glue), or null (unpatched glue: import() decides)
 * @returns {Promise<{ factory: unknown, loadedAs: 'require' | 'script' | 'import' }>}
 */
async function loadGlueFactory(glueUrl, form) {
  if (form && !form.es6) return { factory: require(fileURLToPath(glueUrl)), loadedAs: 'require' };
  if (form?.asScript) {
    if (!evaluated.has(glueUrl)) evaluated.set(glueUrl, evaluateAsScript(glueUrl));
    const factory = evaluated.get(glueUrl);
    if (factory !== undefined) return { factory, loadedAs: 'script' };
  }
  return { factory: (await import(glueUrl)).default, loadedAs: 'import' };
}

// Undefined when the text is not what the marker promised (edited after the patch): the
// caller imports it as the module it is.
function evaluateAsScript(glueUrl) {
  const file = fileURLToPath(glueUrl);
  const text = readFileSync(file, 'utf8');
  const exported = EXPORT_DEFAULT.exec(text);
  if (!text.includes(SHIM_IMPORT) || !exported) return undefined;
  // `"use strict";` goes on the marker's line, which is a comment: no line moves.
  const body = '"use strict";' + text
    .replace(SHIM_IMPORT, '')
    .replaceAll('import.meta.url', '__wasmpoolImportMetaUrl')
    .replace(EXPORT_DEFAULT, 'return $1;');
  let run;
  try {
    run = require('node:vm').compileFunction(body, ['__wasmpoolCreateRequire', '__wasmpoolImportMetaUrl'],
      { filename: file });
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
  return run(createRequire, glueUrl);
}

module.exports = { loadGlueFactory };
