// Child process: runs tensor ops through @tensorflow/tfjs-core with the WebAssembly backend
// from the package root given (its ES module build, which loads wasm-out/*.js), and prints
// `@@RESULT@@{json}`.
//   node tfjs.mjs <tfjs-backend-wasm root> <tfjs-core root> <routing: 0|1>
// On Node the backend uses wasm-out/tfjs-backend-wasm.js (tfjs turns multithreading off on
// Node); importing the backend also loads wasm-out/tfjs-backend-wasm-threaded-simd.js and
// the worker module next to it.
import { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

register(new URL('./tfjs-hooks.mjs', import.meta.url));
const [root, coreRoot, routing] = process.argv.slice(2);
const tf = await import(pathToFileURL(path.join(coreRoot, 'dist/tf-core.node.js')).href);
const wasm = await import(pathToFileURL(path.join(root, 'dist/index.js')).href);
wasm.setWasmPaths(`${path.join(root, 'dist')}/`);
await tf.setBackend('wasm');

const a = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
const b = tf.tensor2d([[0.5, -1], [2, 0.25], [-3, 4]]);
const image = tf.tensor4d(Array.from({ length: 32 }, (_, i) => (i % 7) - 3), [1, 4, 4, 2]);
const filter = tf.tensor4d([1, 0, -1, 2, 0.5, 1, -2, 0, 1, 1, 0, -1, 0.25, 2, 1, -1], [2, 2, 2, 2]);
const results = {
  backend: tf.getBackend(),
  matMul: await tf.matMul(a, b).array(),
  addScalar: await tf.add(a, 1.5).array(),
  softmax: await tf.softmax(tf.tensor1d([1, 2, 3, 4])).array(),
  conv2d: await tf.conv2d(image, filter, 1, 'same').array(),
  sum: await tf.sum(a, 1).array(),
};
if (routing === '1') {
  // The backend's module: its raw exports go through the router.
  const em = tf.backend().wasm;
  const calls = [];
  globalThis.__wasmProxy = {
    claims: (id) => id === em.__wasmProxyModuleId,
    call: (id, name, args) => { calls.push([id, name, args.length]); return 0; },
  };
  const routedBefore = calls.length;
  em._get_threads_count();
  results.routing = { id: em.__wasmProxyModuleId, routable: em.__wasmProxyExports.length, calls: calls.slice(routedBefore) };
  globalThis.__wasmProxy = undefined;
}
process.stdout.write(`@@RESULT@@${JSON.stringify(results)}\n`);
process.exit(0);
