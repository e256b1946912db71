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
  // Tells the pthread hooks that this glue's workers queue early messages (see below).
  ctx.prelude.push('var __wasmpoolWorkerQueuesEarlyRun = true;\n');
  return { applied: true, detail: `${from} -> ${to}` };
}

// Two edits of the worker file itself.
//
// 1. Messages that arrive while the worker is still loading the module wait for it. Stock
//    glue posts a thread's 'run' only after the worker answered 'loaded', which needs the
//    creating thread's event loop; a host blocked in a call (joining the std::thread it just
//    made) never gets there. With the queue, the pthread hooks can post 'run' right after
//    'load' and the thread starts without any help from the creating thread. Loading ends
//    when the glue posts 'loaded'; the queue is replayed a macrotask later, once worker.js
//    has stored the instance.
//
// 2. The worker prints its own last words ("worker.js onmessage() captured an uncaught
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
  s.append(EARLY_MESSAGE_QUEUE);
  return { code: s.toString(), applied: true };
}

const EARLY_MESSAGE_QUEUE = `
// wasm-threadpool-patch: messages that arrive while the module loads wait for it.
(function () {
  var handle = self.onmessage;
  var loading = false;
  var queue = [];
  self.onmessage = function (e) {
    if (loading) {
      queue.push(e);
      return;
    }
    if (e && e.data && e.data.cmd === 'load') loading = true;
    return handle.call(this, e);
  };
  var post = self.postMessage;
  self.postMessage = function (message) {
    var result = post.apply(this, arguments);
    if (loading && message && message.cmd === 'loaded') {
      setTimeout(function () {
        loading = false;
        var early = queue;
        queue = [];
        for (var i = 0; i < early.length; i++) self.onmessage(early[i]);
      }, 0);
    }
    return result;
  };
})();
`;
