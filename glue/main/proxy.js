// The single hook patched glue consults: globalThis.__wasmProxy.
//
// Every export of a patched module asks `__wasmProxy.claims(moduleId)` on each call; when
// it answers true the call goes to `__wasmProxy.call(moduleId, name, args)` (a Promise)
// instead of running locally. Whether a call is claimed depends only on the async
// context it was made from: execute() runs its callback inside an AsyncLocalStorage
// context holding a Route bound to one manager's host, so concurrent execute() calls
// never see each other's routing, and code outside any execute() runs on the local
// instance, as stock Emscripten would. A process-wide flag (the original design) would
// leak across awaits.
//
// The storage lives under a Symbol.for() key, so two copies of this package loaded in
// one process share one proxy instead of fighting over the global.
import { AsyncLocalStorage } from 'node:async_hooks';

const REGISTRY = Symbol.for('wasm-threadpool.proxy.v1');

/**
 * Where the calls of one execute() go: `call(name, args)` for module `moduleId`, until
 * the execute closes it. Routes nest: an execute() of another manager (another module)
 * inside this one still routes its own module, and this one's calls keep their route.
 */
export class Route {
  /** The manager that made it (execute() inside execute() of the same manager is refused). */
  owner;
  moduleId;
  /** The hang timeout for this route's calls, or undefined for the manager's default. */
  hangTimeoutMs;
  /** The host the route's first calls went to. */
  session = null;
  /** The HostSupervisor of the host the route occupies (its calls never go elsewhere). */
  supervisor = null;
  closed = false;
  #call;
  #parent;

  constructor({ owner, moduleId, hangTimeoutMs, call }) {
    this.owner = owner;
    this.moduleId = moduleId;
    this.hangTimeoutMs = hangTimeoutMs;
    this.#call = call;
  }

  call(name, args) {
    return this.#call(this, name, args);
  }

  get parent() {
    return this.#parent;
  }

  /** Runs fn with this route in force, inside whatever routes enclose the caller. */
  run(fn) {
    const { storage } = registry();
    this.#parent = storage.getStore();
    return storage.run(this, fn);
  }
}

function registry() {
  let reg = globalThis[REGISTRY];
  if (!reg) {
    const storage = new AsyncLocalStorage();
    const findRoute = (moduleId) => {
      for (let route = storage.getStore(); route; route = route.parent) {
        if (route.moduleId === moduleId) return route;
      }
      return undefined;
    };
    const proxy = Object.freeze({
      version: 1,
      claims(moduleId) {
        return findRoute(moduleId) !== undefined;
      },
      call(moduleId, name, args) {
        const route = findRoute(moduleId);
        if (!route) {
          return Promise.reject(Object.assign(new Error(`no execute() context routes module ${moduleId}`),
            { code: 'ERR_WASM_NOT_ROUTED' }));
        }
        return route.call(name, args);
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

/** Installs globalThis.__wasmProxy (idempotent). */
export function installProxy() {
  registry();
}

/** Walks the routes enclosing the current async context, innermost first. */
export function* enclosingRoutes() {
  for (let route = registry().storage.getStore(); route; route = route.parent) yield route;
}
