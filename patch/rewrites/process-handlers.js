// The glue installs process-wide handlers on Node:
//   process.on("uncaughtException", ex => { if (!(ex instanceof ExitStatus)) throw ex })
//   process.on("unhandledRejection", reason => { throw reason })
// They turn any error anywhere in the process into a crash, and each instance adds two
// more listeners. Patched glue does not install them: Node's defaults already report
// uncaught errors, and the host handles its own.
export const name = 'node-process-handlers';

export function apply(ctx) {
  const removed = [];
  for (const { stmt, event } of ctx.glue.processHandlers) {
    ctx.s.overwrite(stmt.start, stmt.end, `/* wasm-threadpool-patch: removed process.on(${JSON.stringify(event)}) */`);
    removed.push(event);
  }
  return { applied: removed.length > 0, detail: removed.length ? `removed ${removed.join(', ')} handler(s)` : 'none installed' };
}
