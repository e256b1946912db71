#!/usr/bin/env node
// The demo: a Mandelbrot set rendered in parallel tiles by the C++ work-stealing pool,
// hosted off the main thread by ThreadPoolManager, written to a PNG. It compares the run
// with a 1-thread pool, and can make a pool thread crash or hang mid-render to show that
// the process survives and the next call gets a fresh pool.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PNG } from 'pngjs';
import { ThreadPoolManager } from '../glue/index.js';

const GLUE = new URL('../build/wasm/src/demo/demo.mjs', import.meta.url);
const FAULTS = ['trap', 'abort', 'oob', 'stack-overflow', 'exception', 'terminate', 'uncaught', 'oom'];

const HELP = `Usage: npm run node -- [options]

Renders a Mandelbrot set in parallel tiles on the wasm pool and writes a PNG.

Options:
  --threads N        pool threads (default: ${availableParallelism()}, this machine's parallelism)
  --size WxH         image size in pixels (default: 1600x1000)
  --iterations N     maximum iterations per pixel (default: 600)
  --out FILE         PNG to write (default: demo/out/mandelbrot.png)
  --log              print the per-thread log lines the pool threads send
  --panic[=KIND]     make a pool thread fault mid-render, show the error, then render
                     again on a fresh pool. KIND: ${FAULTS.join(', ')} (default: trap)
  --hang             make a pool thread spin forever mid-render; the watchdog catches it
  --no-baseline      skip the 1-thread comparison run
  -h, --help         show this help
`;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      threads: { type: 'string' },
      size: { type: 'string', default: '1600x1000' },
      iterations: { type: 'string', default: '600' },
      out: { type: 'string', default: 'demo/out/mandelbrot.png' },
      log: { type: 'boolean', default: false },
      panic: { type: 'string' },
      hang: { type: 'boolean', default: false },
      'no-baseline': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  return values;
}

// parseArgs needs a value for string options; a bare `--panic` means the default kind.
function normaliseArgv(argv) {
  return argv.map((arg) => (arg === '--panic' ? '--panic=trap' : arg));
}

function positiveInt(name, text, max) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new RangeError(`--${name} must be an integer from 1 to ${max}, got ${text}`);
  return n;
}

function parseSize(text) {
  const match = /^(\d+)x(\d+)$/.exec(text);
  if (!match) throw new RangeError(`--size must look like 1600x1000, got ${text}`);
  return [positiveInt('size', match[1], 16384), positiveInt('size', match[2], 16384)];
}

const TILE = 32;

function progressBar(label, fraction) {
  const width = 30;
  const filled = Math.round(fraction * width);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`;
}

/** Renders once on `manager`, drawing a progress bar fed by the pool threads. */
async function render(manager, demo, { width, height, iterations, log, fault = '', label }) {
  const tiles = Math.ceil(width / TILE) * Math.ceil(height / TILE);
  const interactive = process.stderr.isTTY;
  return manager.execute(async () => {
    // The tile counter lives in the host's heap; main reads it while the render runs.
    const counterAddress = await demo.renderProgressAddress();
    let shown = -1;
    const timer = setInterval(() => {
      const done = manager.memory ? manager.view(Uint32Array, counterAddress, 1)[0] : 0;
      // A terminal gets a live bar; a log gets a line per quarter.
      const step = interactive ? Math.floor((done / tiles) * 100) : Math.floor((done / tiles) * 4);
      if (step <= shown || done >= tiles) return;
      shown = step;
      if (interactive) process.stderr.write(`\r${progressBar(label, done / tiles)}`);
      else process.stderr.write(`${progressBar(label, done / tiles)}\n`);
    }, 20);
    const started = performance.now();
    try {
      const pixels = await demo.renderMandelbrot(width, height, iterations, TILE, log, fault);
      const ms = performance.now() - started;
      clearInterval(timer);
      process.stderr.write(`${interactive ? '\r' : ''}${progressBar(label, 1)} in ${ms.toFixed(0)} ms\n`);
      return { pixels, ms };
    } finally {
      clearInterval(timer);
    }
  });
}

// "at ns::f<int, ...>(std::string const&) (wasm://...)" -> "ns::f<…>(…)": C++ names with
// their template and parameter lists are too long for a terminal line.
function shortFrame(line) {
  let name = line.trim().replace(/^at /, '').replace(/ \(wasm:\/\/.*\)$/, '');
  for (let previous = ''; previous !== name; ) {
    previous = name;
    name = name.replace(/<[^<>]*>/g, '<…>').replace(/\([^()]*\)/g, '(…)');
  }
  return name.length > 110 ? `${name.slice(0, 109)}…` : name;
}

function writePng(path, width, height, pixels) {
  const png = new PNG({ width, height });
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, PNG.sync.write(png));
}

async function main() {
  let options;
  try {
    options = parseOptions(normaliseArgv(process.argv.slice(2)));
  } catch (error) {
    process.stderr.write(`${error.message}\n\n${HELP}`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    process.stdout.write(HELP);
    return;
  }
  const threads = options.threads === undefined ? availableParallelism() : positiveInt('threads', options.threads, 64);
  const [width, height] = parseSize(options.size);
  const iterations = positiveInt('iterations', options.iterations, 100000);
  if (options.panic !== undefined && !FAULTS.includes(options.panic)) {
    throw new RangeError(`--panic must be one of ${FAULTS.join(', ')}, got ${options.panic}`);
  }

  const createDemo = (await import(GLUE.href)).default;
  const demo = await createDemo(); // an ordinary instance; execute() routes its calls
  const logSink = options.log
    ? (entry) => {
        if (entry.level === 'stdout' || entry.level === 'stderr') return;
        const who = entry.thread >= 0 ? `thread ${entry.thread}` : 'host';
        process.stderr.write(`  [${new Date(entry.time).toISOString().slice(11, 23)} ${who} ${entry.level}] ${entry.message}\n`);
      }
    : false;
  const manager = new ThreadPoolManager({
    module: GLUE,
    threads,
    heartbeatTimeoutMs: 1000,
    heartbeatIntervalMs: 100,
    log: logSink,
  });
  manager.on('restart', ({ startMs }) => console.log(`  (fresh pool started in ${startMs.toFixed(0)} ms)`));

  console.log(`wasm-threadpool demo: ${width}x${height} Mandelbrot, ${iterations} iterations, ${threads} pool threads`);

  if (options.panic !== undefined || options.hang) {
    const fault = options.hang ? 'hang' : options.panic;
    console.log(`\nRendering with a pool thread set to ${options.hang ? 'hang' : `fault (${fault})`} mid-render...`);
    const started = performance.now();
    try {
      await render(manager, demo, { width, height, iterations, log: options.log, fault, label: 'faulty  ' });
      console.log('  unexpectedly succeeded');
    } catch (error) {
      const ms = performance.now() - started;
      console.log(`  rejected after ${ms.toFixed(0)} ms with ${error.name} [${error.code}]:`);
      console.log(`    ${error.message}`);
      if (error.wasmStack) {
        const frames = error.wasmStack.split('\n').filter((l) => l.includes('wasm-function')).slice(0, 4);
        if (frames.length) console.log(`    wasm stack (innermost first):\n${frames.map((f) => `      ${shortFrame(f)}`).join('\n')}`);
      }
    }
    console.log('\nThe process is still running; rendering again on a fresh pool...');
  }

  let baseline = null;
  if (!options['no-baseline'] && threads > 1) {
    const single = new ThreadPoolManager({ module: GLUE, threads: 1, log: false });
    baseline = await render(single, demo, { width, height, iterations, log: false, label: '1 thread' });
    await single.shutdown();
  }
  const result = await render(manager, demo, { width, height, iterations, log: options.log, label: `${threads} thread${threads > 1 ? 's' : ''}` });
  const out = resolve(options.out);
  writePng(out, width, height, result.pixels);
  await manager.shutdown();

  console.log(`\nWrote ${relative(process.cwd(), out)} (${width}x${height})`);
  console.log(`  ${threads} thread${threads > 1 ? 's' : ''}: ${result.ms.toFixed(0)} ms`);
  if (baseline) {
    console.log(`  1 thread: ${baseline.ms.toFixed(0)} ms`);
    console.log(`  speedup: ${(baseline.ms / result.ms).toFixed(2)}x on ${threads} threads`);
  }
  const stats = manager.stats();
  console.log(`  pool: ${stats.starts} start(s), ${stats.crashes} crash(es), ${stats.hangs} hang(s) survived`);
}

main().catch((error) => {
  process.stderr.write(`demo failed: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
