// The first line of patched glue: `// wasm-threadpool-patch v1 {json}`. The runtime reads
// it (readPatchMarker) to learn the module id and the file names; the patch reads it to
// stay idempotent.
import { createHash } from 'node:crypto';

export const MARKER_PREFIX = '// wasm-threadpool-patch v1 ';
const MARKER_KEYS = ['moduleId', 'wasm', 'worker', 'es6', 'pthreads'];
// Written only when set: workerIsGlue (-pthread glue only) is true when the glue file is
// itself the pthread worker script (Emscripten 3.1.58+), and then `worker` is its name;
// asScript (-pthread ES module glue only) is true when the host may evaluate the glue as a
// function body instead of importing it (as-script.js).
const OPTIONAL_KEYS = ['workerIsGlue', 'asScript'];

export function formatPatchMarker(marker) {
  const ordered = {};
  for (const key of MARKER_KEYS) ordered[key] = marker[key] === undefined ? null : marker[key];
  for (const key of OPTIONAL_KEYS) if (marker[key] !== undefined) ordered[key] = marker[key];
  return MARKER_PREFIX + JSON.stringify(ordered);
}

// Returns the marker object of patched glue text (or of its first line), or null.
export function readPatchMarker(text) {
  if (typeof text !== 'string') {
    if (text && typeof text.toString === 'function') text = text.toString('utf8');
    else return null;
  }
  const firstLine = text.slice(0, Math.max(0, text.indexOf('\n') + 1) || text.length).replace(/\r?\n$/, '');
  if (!firstLine.startsWith(MARKER_PREFIX)) return null;
  try {
    const value = JSON.parse(firstLine.slice(MARKER_PREFIX.length));
    if (!value || typeof value !== 'object' || typeof value.moduleId !== 'string') return null;
    return value;
  } catch {
    return null;
  }
}

// The id patched glue records for its .wasm: main checks that the binary next to the glue
// is the one it was patched for. The runtime reads it from here, never from patch/index.js
// (which loads acorn and magic-string).
export function moduleIdOf(wasmBytes) {
  return createHash('sha256').update(wasmBytes).digest('hex').slice(0, 16);
}
