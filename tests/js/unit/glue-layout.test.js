// glue/ is laid out by where its code runs, and this test holds the rule (docs/ARCHITECTURE.md,
// "Files"):
//   main/     Node's main thread: the manager and everything it owns;
//   host/     the host worker;
//   pthread/  every thread the host starts (the bootstrap) and the hooks pasted into glue;
//   shared/   what both sides of a channel or a shared memory read (protocol, call rings,
//             cancel ring, fault kinds, global names, output capture).
// A folder may import only itself, shared/ and the node: builtins; main/ may also
// read the patch marker (patch/marker.js). Nothing the runtime loads may import the patch's
// rewriter or its dependencies (acorn, magic-string): they are for the build, not for Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const GLUE = fileURLToPath(new URL('../../../glue/', import.meta.url));
const ROOT = path.resolve(GLUE, '..');
const MARKER = path.join(ROOT, 'patch', 'marker.js');
const ALLOWED = {
  main: ['main', 'shared', MARKER],
  host: ['host', 'shared'],
  pthread: ['pthread', 'shared'],
  shared: ['shared'],
};

// The worker scripts a folder starts (new URL('...', import.meta.url) in an ES module,
// path.join(__dirname, '...') in CommonJS): the code runs in another thread, so it is no
// import; only these starts exist.
const STARTS = {
  main: [path.join(GLUE, 'host', 'host.cjs')],
  host: [path.join(GLUE, 'pthread', 'worker-bootstrap.cjs')],
};

// Static imports, dynamic import() and require() of literal specifiers: what the host and a
// supervised worker's bootstrap load is CommonJS (so neither starts Node's ES module
// loader), and main's ES modules import it.
function specifiers(text) {
  const found = [];
  for (const pattern of [/\bfrom\s+'([^']+)'/g, /\bimport\(\s*'([^']+)'\s*\)/g, /\brequire\(\s*'([^']+)'\s*\)/g,
    /\bcreateRequire\(import\.meta\.url\)\(\s*'([^']+)'\s*\)/g]) {
    for (const match of text.matchAll(pattern)) found.push(match[1]);
  }
  return found;
}

function starts(text) {
  return [/new URL\(\s*'([^']+)',\s*import\.meta\.url\)/g, /path\.join\(__dirname,\s*'([^']+)'\)/g]
    .flatMap((pattern) => [...text.matchAll(pattern)].map((match) => match[1]));
}

function allowed(file, folder, spec) {
  if (spec.startsWith('node:')) return true;
  if (!spec.startsWith('.')) return false; // a package: none is allowed in the runtime
  const target = path.resolve(path.dirname(file), spec);
  return ALLOWED[folder].some((rule) => (path.isAbsolute(rule) ? target === rule : target.startsWith(path.join(GLUE, rule) + path.sep)));
}

test('glue/ has only its entry point at the top; every other file is in the folder of where it runs', () => {
  const top = readdirSync(GLUE, { withFileTypes: true });
  assert.deepEqual(top.filter((e) => e.isFile()).map((e) => e.name).sort(), ['index.d.ts', 'index.js']);
  assert.deepEqual(top.filter((e) => e.isDirectory()).map((e) => e.name).sort(), Object.keys(ALLOWED).sort());
});

test('each folder imports only what its rule allows', () => {
  const broken = [];
  for (const folder of Object.keys(ALLOWED)) {
    for (const name of readdirSync(path.join(GLUE, folder))) {
      const file = path.join(GLUE, folder, name);
      const text = readFileSync(file, 'utf8');
      for (const spec of specifiers(text)) {
        if (!allowed(file, folder, spec)) broken.push(`${folder}/${name} imports ${spec}`);
      }
      for (const spec of starts(text)) {
        if (!(STARTS[folder] ?? []).includes(path.resolve(path.dirname(file), spec))) broken.push(`${folder}/${name} starts ${spec}`);
      }
    }
  }
  assert.deepEqual(broken, []);
  // And the marker itself loads nothing of the rewriter: with the rule above (no package
  // imports at all), the runtime never loads acorn or magic-string.
  assert.deepEqual(specifiers(readFileSync(MARKER, 'utf8')).filter((spec) => !spec.startsWith('node:')), []);
});
