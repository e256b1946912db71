// EXPORT_ES6 glue of 3.1.6 still uses `require`, `__dirname` and `__filename` on Node
// (and its -O0 builds assert `typeof require == "function"`). They do not exist in an ES
// module, so the patch declares module-scoped equivalents at the top of the file. Pthread
// workers import this same file, so they get the same shims.
export const name = 'esm-node-shims';

// The one import statement of patched glue (the host spells it as a parameter when it
// evaluates the glue as a function body: as-script.js, glue/host/glue-loader.cjs).
export const SHIM_IMPORT = 'import { createRequire as __wasmpoolCreateRequire } from "module";';

export const SHIMS = [
  SHIM_IMPORT,
  'var require = __wasmpoolCreateRequire(import.meta.url);',
  'var __filename = require("url").fileURLToPath(import.meta.url);',
  'var __dirname = require("path").dirname(__filename);',
].join('\n') + '\n';

export function apply(ctx) {
  if (!ctx.glue.es6) return { applied: false, detail: 'not EXPORT_ES6 glue' };
  ctx.top.push(SHIMS);
  return { applied: true, detail: 'require/__dirname/__filename from import.meta.url' };
}
