// The pthread worker (x.worker.js) is CommonJS. Inside a "type": "module" package Node
// would load it as an ES module and it fails, so it is written as x.worker.cjs and every
// reference in the glue (new URL("x.worker.js", import.meta.url), locateFile("x.worker.js"))
// is rewritten. The marker records the new name.
import fs from 'node:fs';
import path from 'node:path';
import { PatchError } from '../ast.js';

export const name = 'pthread-worker-cjs';

export function apply(ctx) {
  const { glue } = ctx;
  if (!glue.pthread) return { applied: false, detail: 'not a -pthread build' };
  const from = glue.pthread.workerName;
  if (from.endsWith('.cjs')) {
    ctx.workerName = from;
    return { applied: false, detail: `already ${from}` };
  }
  const to = from.replace(/\.js$/, '.cjs');
  const source = path.join(ctx.inputDir, from);
  if (ctx.inputDir && !fs.existsSync(source)) {
    throw new PatchError(`cannot patch: the pthread worker file ${from} was not found next to the glue (${source})`,
      { missing: from });
  }
  for (const literal of glue.pthread.workerLiterals) {
    const quote = literal.raw[0] === "'" ? "'" : '"';
    ctx.s.overwrite(literal.start, literal.end, quote + to + quote);
  }
  ctx.workerName = to;
  if (ctx.inputDir) ctx.files.push({ kind: 'worker', from: source, name: to });
  return { applied: true, detail: `${from} -> ${to}` };
}
