// Child process: encodes one small image with @jsquash/avif from the package root given,
// and prints `@@RESULT@@{json}`.
//   node avif.mjs <package root> <routing: 0|1> <supplied: 0|1>
// publicApi: the package's own encode() after init(wasmModule) (on Node it picks the
//   single-threaded avif_enc.js; its README has Node users pass the compiled module);
// mt: the -pthread glue codec/enc/avif_enc_mt.js through the package's own
//   initEmscriptenModule() and the module's encode(), as encode.js does where threads
//   exist. navigator.hardwareConcurrency is the build's PTHREAD_POOL_SIZE: 0 here (Node 20
//   has no navigator; pthread workers of this build need a browser's `self`).
// mtSupplied: the same glue given the compiled module as Module.wasmModule and no
//   instantiateWasm (the patch's supplied-wasm-module; only asked of patched glue. This
//   build has no Node file reading at all: -sENVIRONMENT=web,worker).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [root, routing, supplied] = process.argv.slice(2);
const url = (rel) => pathToFileURL(path.join(root, rel)).href;
Object.defineProperty(globalThis, 'navigator', { value: { hardwareConcurrency: 0 }, configurable: true, writable: true });

function image() {
  const width = 24;
  const height = 16;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      data.set([(x * 11) & 255, (y * 16) & 255, ((x ^ y) * 9) & 255, 255], i);
    }
  }
  return { data, width, height, colorSpace: 'srgb' };
}

const digest = (buffer) => ({ bytes: buffer.byteLength, sha256: crypto.createHash('sha256').update(new Uint8Array(buffer)).digest('hex') });
const compile = (rel) => WebAssembly.compile(fs.readFileSync(path.join(root, rel)));

const results = {};
const encodeModule = await import(url('encode.js'));
await encodeModule.init(await compile('codec/enc/avif_enc.wasm'));
results.publicApi = digest(await encodeModule.default(image(), { quality: 40, speed: 8 }));

const { initEmscriptenModule } = await import(url('utils.js'));
const { defaultOptions } = await import(url('meta.js'));
const mtFactory = (await import(url('codec/enc/avif_enc_mt.js'))).default;
const encodeWith = (m) => {
  const { data, width, height } = image();
  return digest(m.encode(new Uint8Array(data.buffer), width, height, { ...defaultOptions, quality: 40, speed: 8 }));
};
const mt = await initEmscriptenModule(mtFactory, await compile('codec/enc/avif_enc_mt.wasm'));
results.mt = encodeWith(mt);
if (supplied === '1') results.mtSupplied = encodeWith(await mtFactory({ noInitialRun: true, wasmModule: await compile('codec/enc/avif_enc_mt.wasm') }));

if (routing === '1') {
  // A claiming proxy receives the embind call; one that does not claim leaves it local.
  const calls = [];
  globalThis.__wasmProxy = {
    claims: (id) => id === mt.__wasmProxyModuleId,
    call: (id, name, args) => { calls.push([id, name, args.length]); return `routed:${name}`; },
  };
  results.routing = { id: mt.__wasmProxyModuleId, exports: [...mt.__wasmProxyExports].sort(), routed: mt.encode(1, 2, 3, {}), calls };
  globalThis.__wasmProxy = { claims: () => false, call: () => { throw new Error('must not be called'); } };
  results.routing.unclaimed = encodeWith(mt);
}
process.stdout.write(`@@RESULT@@${JSON.stringify(results)}\n`);
process.exit(0);
