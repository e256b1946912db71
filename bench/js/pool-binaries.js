// Where the C++ pool's benchmark programs live once `make bench-prereqs` has built them.
// Shared by pool-figures.js (which runs them) and the smoke test (which, knowing what is
// built, can insist on every row a built program must produce). No other imports, so the
// test can load it without starting anything.
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const NATIVE_DIR = `${root}build/native-bench/bench/native`;

/** The native pool_figures (JSON timings of our pool), or null when not built. */
export const nativeFigures = () => (existsSync(`${NATIVE_DIR}/pool_figures`) ? `${NATIVE_DIR}/pool_figures` : null);

/** pool_bench (Google Benchmark: serial vs our pool vs oneTBB), or null when not built. */
export const poolBench = () => (existsSync(`${NATIVE_DIR}/pool_bench`) ? `${NATIVE_DIR}/pool_bench` : null);

/** The Emscripten build of pool_figures, in whichever build/wasm* tree has it, or null. */
export function wasmFigures() {
  const explicit = process.env.WASMPOOL_BENCH_FIGURES_WASM;
  if (explicit) return existsSync(explicit) ? explicit : null;
  const build = `${root}build`;
  const trees = existsSync(build) ? readdirSync(build).filter((d) => d.startsWith('wasm')).sort() : [];
  for (const tree of trees) {
    const candidate = `${build}/${tree}/bench/native/pool_figures_wasm.js`;
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/**
 * The -fno-exceptions build of pool_figures (pool_figures_wasm_noexcept.js, fib only), or
 * null. It sits next to pool_figures_wasm.js: the target pool_figures_wasm builds both.
 */
export function wasmNoexceptFigures() {
  const program = wasmFigures()?.replace(/pool_figures_wasm\.js$/, 'pool_figures_wasm_noexcept.js');
  return program && existsSync(program) ? program : null;
}

/** Paths relative to the repository, for messages. */
export const relative = (path) => (path?.startsWith(root) ? path.slice(root.length) : path);
