// Runs helpers/run-glue.mjs in a child process and splits its output.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNNER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'run-glue.mjs');

export function runGlue(gluePath, variant, mode, scenario, { timeoutMs = 30000 } = {}) {
  const features = JSON.stringify({ embind: variant.embind, threads: !!variant.threads, wasm: 'calls.wasm' });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, gluePath, variant.kind, mode, scenario, features],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout.split('\n');
      const resultLine = lines.find((l) => l.startsWith('@@RESULT@@'));
      if (code !== 0 || !resultLine) {
        reject(new Error(`${mode} ${variant.name} ${scenario}: exit ${code}${signal ? ` (${signal})` : ''}\n${stdout}\n${stderr}`));
        return;
      }
      resolve({
        results: JSON.parse(resultLine.slice('@@RESULT@@'.length)),
        printed: lines.filter((l) => l && !l.startsWith('@@RESULT@@')),
        stderr,
      });
    });
  });
}
