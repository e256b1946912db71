// Runs a helper script in a child process and splits its output: the one line that starts
// with @@RESULT@@ (JSON), the other lines it printed, and its stderr.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HELPERS = path.dirname(fileURLToPath(import.meta.url));
const RESULT = '@@RESULT@@';

/** Runs helpers/<script> with `args`; rejects (with its output) on a non-zero exit or no result. */
export function runHelper(script, args, { timeoutMs = 30000, label = `${script} ${args.join(' ')}` } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(HELPERS, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout.split('\n');
      const resultLine = lines.find((l) => l.startsWith(RESULT));
      if (code !== 0 || !resultLine) {
        reject(new Error(`${label}: exit ${code}${signal ? ` (${signal})` : ''}\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`));
        return;
      }
      resolve({
        results: JSON.parse(resultLine.slice(RESULT.length)),
        printed: lines.filter((l) => l && !l.startsWith(RESULT)),
        stderr,
      });
    });
  });
}

/** Runs helpers/run-glue.mjs on one glue variant and scenario. */
export function runGlue(gluePath, variant, mode, scenario, { timeoutMs = 30000 } = {}) {
  const features = JSON.stringify({ embind: variant.embind, threads: !!variant.threads, wasm: 'calls.wasm' });
  return runHelper('run-glue.mjs', [gluePath, variant.kind, mode, scenario, features],
    { timeoutMs, label: `${mode} ${variant.name} ${scenario}` });
}
