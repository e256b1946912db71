// Where pthread workers come from, by glue generation:
//
// * x.worker.js (3.1.x up to 3.1.57, non-ES6 worker): CommonJS. Inside a "type": "module"
//   package Node would load it as an ES module and it fails, so it is written as
//   x.worker.cjs and every reference in the glue (new URL("x.worker.js", import.meta.url),
//   locateFile("x.worker.js")) is rewritten. The marker records the new name.
// * x.worker.mjs (EXPORT_ES6 glue of ~3.1.50..3.1.57): already an ES module; it keeps its
//   name and is rewritten in place (or copied with --out).
// * the glue itself (3.1.58 and later): workers are `new Worker(<this file>, { workerData:
//   "em-pthread", ... })`, so there is no file to copy or rename. ES6 glue names itself
//   with new URL("x.mjs", import.meta.url): when --out gives the output another name, that
//   literal follows it. The marker records the glue's name and workerIsGlue: true.
// * a "worker file" that is not a worker script (tfjs-backend-wasm ships x.worker.js as a
//   CommonJS module exporting the worker source as a string, and makes its workers from a
//   blob itself): left alone, names and file, since the package imports it by that name.
import fs from 'node:fs';
import path from 'node:path';
import MagicString from 'magic-string';
import { PatchError, parseGlue, walk, isIdentifier, isString, memberName } from '../ast.js';

export const name = 'pthread-worker-cjs';

// True when the file's own code (not a string inside it) installs a message handler:
// `self.onmessage = ...`, `onmessage = ...`, or parentPort.on("message", ...).
export function isWorkerScript(text) {
  let ast;
  try {
    ({ ast } = parseGlue(text));
  } catch {
    return false;
  }
  let found = false;
  walk(ast, (node) => {
    if (found) return false;
    if (node.type === 'AssignmentExpression' &&
        (isIdentifier(node.left, 'onmessage') || memberName(node.left) === 'onmessage')) found = true;
    if (node.type === 'CallExpression' && memberName(node.callee) === 'on' && isString(node.arguments[0], 'message')) found = true;
  });
  return found;
}

function applySelf(ctx) {
  const { glue } = ctx;
  const outputName = ctx.options.outputName || null;
  const selfName = glue.pthread.selfName;
  const details = ['the glue is its own pthread worker (no worker file)'];
  let applied = false;
  if (selfName && outputName && selfName !== outputName) {
    for (const literal of glue.pthread.selfLiterals) {
      const quote = literal.raw[0] === "'" ? "'" : '"';
      ctx.s.overwrite(literal.start, literal.end, quote + outputName + quote);
    }
    details.push(`new URL(${JSON.stringify(selfName)}, import.meta.url) -> ${JSON.stringify(outputName)}`);
    applied = true;
  }
  if (!glue.es6 && outputName && /\.js$/.test(outputName)) {
    details.push('CommonJS glue: inside a "type": "module" package name it .cjs');
  }
  ctx.workerName = outputName || selfName;
  ctx.workerIsGlue = true;
  return { applied, detail: details.join('; ') };
}

export function apply(ctx) {
  const { glue } = ctx;
  if (!glue.pthread) return { applied: false, detail: 'not a -pthread build' };
  if (glue.pthread.workerIsGlue) return applySelf(ctx);
  ctx.workerIsGlue = false;
  const from = glue.pthread.workerName;
  if (from.endsWith('.cjs')) {
    ctx.workerName = from;
    return { applied: false, detail: `already ${from}` };
  }
  const source = ctx.inputDir ? path.join(ctx.inputDir, from) : null;
  if (source && !fs.existsSync(source)) {
    throw new PatchError(`cannot patch: the pthread worker file ${from} was not found next to the glue (${source})`,
      { missing: from });
  }
  if (source && !isWorkerScript(fs.readFileSync(source, 'utf8'))) {
    ctx.workerName = from;
    return { applied: false, detail: `${from} is not a worker script (it installs no message handler; the package ` +
      'makes its workers otherwise): its name and contents are left as they are' };
  }
  const to = from.endsWith('.mjs') ? from : from.replace(/\.js$/, '.cjs');
  if (to !== from) {
    for (const literal of glue.pthread.workerLiterals) {
      const quote = literal.raw[0] === "'" ? "'" : '"';
      ctx.s.overwrite(literal.start, literal.end, quote + to + quote);
    }
  }
  ctx.workerName = to;
  if (source) ctx.files.push({ kind: 'worker', from: source, name: to });
  // Tells the pthread hooks that this glue's workers queue early messages (see below).
  ctx.prelude.push('var __wasmpoolWorkerQueuesEarlyRun = true;\n');
  return { applied: true, detail: to !== from ? `${from} -> ${to}` : `${from} (an ES module) rewritten under its own name` };
}

// Edits of the worker file itself (separate worker files only).
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
//
// 3. With { glueFrom, glueTo } (the glue was written under another name), an ES module
// worker's import("./glueFrom") follows it.
export function rewriteWorkerSource(text, { glueFrom = null, glueTo = null } = {}) {
  let ast;
  try {
    ({ ast } = parseGlue(text));
  } catch {
    return { code: text, applied: false };
  }
  const renames = [];
  if (glueFrom && glueTo && glueFrom !== glueTo) {
    walk(ast, (node) => {
      if (node.type === 'ImportExpression' && isString(node.source, `./${glueFrom}`)) renames.push(node.source);
    });
  }
  let body = null;
  walk(ast, (node) => {
    if (body) return false;
    if (node.type === 'FunctionDeclaration' && isIdentifier(node.id, 'threadPrintErr')) body = node.body;
  });
  if (!body || text.includes('__wasmpoolPrintErr')) return { code: text, applied: false };
  const s = new MagicString(text);
  for (const literal of renames) {
    const quote = literal.raw[0] === "'" ? "'" : '"';
    s.overwrite(literal.start, literal.end, `${quote}./${glueTo}${quote}`);
  }
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
