// npm packages built with other Emscripten releases, installed as devDependencies: whether
// the expected version is there, and copies of some of their files in a directory of the
// test's own, where the glue can be patched without touching node_modules.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const NODE_MODULES = path.join(ROOT, 'node_modules');

/** False when `name` is installed at `version`, else why not (a reason for `skip`). */
export function notInstalled(name, version) {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(NODE_MODULES, name, 'package.json'), 'utf8'));
    return pkg.version === version ? false : `${name} ${version} is not installed (found ${pkg.version}): run npm ci`;
  } catch {
    return `${name} ${version} is not installed: run npm ci`;
  }
}

/** Copies files of package `name` (paths relative to its root) into `dest`, flat; returns their new paths. */
export function copyPackageFiles(name, files, dest) {
  fs.mkdirSync(dest, { recursive: true });
  return files.map((file) => {
    const to = path.join(dest, path.basename(file));
    fs.copyFileSync(path.join(NODE_MODULES, name, file), to);
    return to;
  });
}
