// The pthread workers of ordinary instances (made by the user, e.g. on Node's main
// thread) of patched glue, listed per module by the pthread hooks' user side in a
// process-wide registry. Once a manager routes a module, those instances' calls inside
// execute() go to the host; what remains of them on this thread (prewarmed workers,
// threads their static initialisers started and that never end) must not keep the process
// alive after shutdown(), so their workers are unref'd, now and as they are made.
const REGISTRY = Symbol.for('wasm-threadpool.instance-workers.v1');

export function releaseInstanceWorkers(moduleId) {
  let registry = globalThis[REGISTRY];
  if (!registry) {
    registry = { routed: Object.create(null), workers: Object.create(null) };
    Object.defineProperty(globalThis, REGISTRY, { value: registry });
  }
  registry.routed[moduleId] = true;
  for (const worker of registry.workers[moduleId] ?? []) worker.unref();
  delete registry.workers[moduleId];
}
