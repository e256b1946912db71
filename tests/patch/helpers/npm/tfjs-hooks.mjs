// Module hooks that let Node load the ES module build of @tensorflow packages (dist/*.js:
// ES syntax in packages without "type": "module", with extensionless relative imports).
// Their Node builds (dist/*.node.js) inline the Emscripten glue; the ES module build
// imports it from wasm-out/, so that is the build that runs the glue under test.
import fs from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ESM_DIST = /\/node_modules\/@tensorflow\/[^/]+\/dist\/(?!.*\.node\.js$)/;

function file(candidate) {
  try {
    return fs.statSync(candidate).isFile();
  } catch {
    return false;
  }
}

export async function resolve(specifier, context, next) {
  if (context.parentURL && ESM_DIST.test(context.parentURL)) {
    if (specifier.startsWith('.')) {
      const base = fileURLToPath(new URL(specifier, context.parentURL));
      for (const candidate of [base, `${base}.js`, `${base}/index.js`]) {
        if (file(candidate)) return { url: pathToFileURL(candidate).href, shortCircuit: true };
      }
    } else if (/^@tensorflow\/[^/]+\/dist\/[\w/]+$/.test(specifier)) {
      return next(`${specifier}.js`, context);
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (ESM_DIST.test(url) && url.endsWith('.js')) {
    const result = await next(url, { ...context, format: 'module' });
    return { ...result, format: 'module', shortCircuit: true };
  }
  return next(url, context);
}
