// The single hook patched glue consults: globalThis.__wasmProxy.
//
// Every export of a patched module asks `__wasmProxy.claims(moduleId)` on each call; when
// it answers true the call goes to `__wasmProxy.call(moduleId, name, args)` (a Promise)
// instead of running locally. Whether a call is claimed depends only on the async
// context it was made from: execute() runs its callback inside an AsyncLocalStorage
// context bound to one manager's host, so concurrent execute() calls never see each
// other's routing, and code outside any execute() runs on the local instance, as stock
// Emscripten would. A process-wide flag (the original design) would leak across awaits.
//
// The storage lives under a Symbol.for() key, so two copies of this package loaded in
// one process share one proxy instead of fighting over the global.
import { AsyncLocalStorage } from 'node:async_hooks';

const REGISTRY = Symbol.for('wasm-threadpool.proxy.v1');

function registry() {
  let reg = globalThis[REGISTRY];
  if (!reg) {
    const storage = new AsyncLocalStorage();
    const findRoute = (moduleId) => {
      for (let ctx = storage.getStore(); ctx; ctx = ctx.parent) {
        if (ctx.moduleId === moduleId) return ctx;
      }
      return undefined;
    };
    const proxy = Object.freeze({
      version: 1,
      claims(moduleId) {
        return findRoute(moduleId) !== undefined;
      },
      call(moduleId, name, args) {
        const ctx = findRoute(moduleId);
        if (!ctx) {
          return Promise.reject(Object.assign(new Error(`no execute() context routes module ${moduleId}`),
            { code: 'ERR_WASM_NOT_ROUTED' }));
        }
        return ctx.call(name, args);
      },
    });
    reg = { storage, proxy };
    Object.defineProperty(globalThis, REGISTRY, { value: reg });
  }
  if (globalThis.__wasmProxy !== reg.proxy) {
    Object.defineProperty(globalThis, '__wasmProxy', {
      value: reg.proxy,
      configurable: true,
      enumerable: false,
      writable: false,
    });
  }
  return reg;
}

/**
 * Runs fn with calls to `route.moduleId` routed to `route.call(name, args)`.
 * `route.parent` is set to the enclosing context so nested executes of other managers
 * (other modules) still route their own module.
 */
export function runRouted(route, fn) {
  const { storage } = registry();
  route.parent = storage.getStore();
  return storage.run(route, fn);
}

/** The innermost routing context of the current async context, if any. */
export function currentRoute() {
  return registry().storage.getStore();
}

/** Walks the enclosing contexts. */
export function* enclosingRoutes() {
  for (let ctx = currentRoute(); ctx; ctx = ctx.parent) yield ctx;
}
