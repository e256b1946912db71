// The pthread worker (x.worker.js) is CommonJS. Inside a "type": "module" package Node
// would load it as an ES module and it fails, so it is written as x.worker.cjs and every
// reference in the glue (new URL("x.worker.js", import.meta.url), locateFile("x.worker.js"))
// is rewritten. The marker records the new name.
import fs from 'node:fs';
import path from 'node:path';
import MagicString from 'magic-string';
import { PatchError, parseGlue, walk, isIdentifier } from '../ast.js';

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

// The worker prints its own last words ("worker.js onmessage() captured an uncaught
// exception: ...") with threadPrintErr, straight to fd 2, bypassing the user's log sink.
// The pthread hooks define Module.__wasmpoolPrintErr (forwarding to main over the
// thread's port); threadPrintErr defers to it when present. Worker files without that
// function are copied unchanged.
export function rewriteWorkerSource(text) {
  let ast;
  try {
    ({ ast } = parseGlue(text));
  } catch {
    return { code: text, applied: false };
  }
  let body = null;
  walk(ast, (node) => {
    if (body) return false;
    if (node.type === 'FunctionDeclaration' && isIdentifier(node.id, 'threadPrintErr')) body = node.body;
  });
  if (!body || text.includes('__wasmpoolPrintErr')) return { code: text, applied: false };
  const s = new MagicString(text);
  s.appendLeft(body.start + 1,
    'if(typeof Module=="object"&&Module&&Module["__wasmpoolPrintErr"]){' +
      'Module["__wasmpoolPrintErr"](Array.prototype.slice.call(arguments).join(" "));return}');
  return { code: s.toString(), applied: true };
}
