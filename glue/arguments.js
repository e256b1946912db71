// What may cross from main to the host as an export's argument.
//
// Structured clone copies data, not behaviour: an instance of a class arrives as a plain
// object without its prototype (methods and getters gone, so the export computes with the
// wrong thing), and an embind handle (new Module.Box()) names an object in main's own
// instance, which means nothing in the host's. Both are refused before anything is sent,
// with the path to the offending value. Functions and symbols cannot be cloned at all.
const CLONEABLE_CLASSES = [
  Array, Date, RegExp, Map, Set, Error, ArrayBuffer, DataView, Boolean, Number, String, BigInt,
  ...(typeof SharedArrayBuffer === 'function' ? [SharedArrayBuffer] : []),
  ...(typeof Blob === 'function' ? [Blob] : []),
];

function isEmbindHandle(value) {
  // embind's ClassHandle keeps its state in `$$` ({ ptr, ptrType, count, ... }).
  return Object.prototype.hasOwnProperty.call(value, '$$') && value.$$ !== null && typeof value.$$ === 'object';
}

function className(value) {
  const ctor = Object.getPrototypeOf(value)?.constructor;
  return typeof ctor === 'function' && ctor.name ? ctor.name : 'an anonymous class';
}

function isPlainOrCloneable(value) {
  const proto = Object.getPrototypeOf(value);
  if (proto === null || proto === Object.prototype) return true;
  if (ArrayBuffer.isView(value)) return true;
  return CLONEABLE_CLASSES.some((cls) => value instanceof cls && proto === cls.prototype) ||
    value instanceof Error;
}

// The first value under `value` that cannot cross, as { path, what }, or null.
function findProblem(value, path, seen) {
  const type = typeof value;
  if (type === 'function') return { path, what: `a function${value.name ? ` (${value.name})` : ''}` };
  if (type === 'symbol') return { path, what: 'a symbol' };
  if (value === null || type !== 'object') return null;
  if (seen.has(value)) return null;
  seen.add(value);
  if (isEmbindHandle(value)) {
    return { path, what: `an embind object (${value.$$.ptrType?.registeredClass?.name ?? className(value)}), which lives in this thread's instance only` };
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return null;
  if (!isPlainOrCloneable(value)) {
    return { path, what: `an instance of ${className(value)}; a copy would lose its prototype and methods` };
  }
  if (value instanceof Map) {
    for (const [key, item] of value) {
      const problem = findProblem(key, `${path} (a Map key)`, seen) ?? findProblem(item, `${path}.get(${String(key)})`, seen);
      if (problem) return problem;
    }
    return null;
  }
  if (value instanceof Set) {
    for (const item of value) {
      const problem = findProblem(item, `${path} (a Set member)`, seen);
      if (problem) return problem;
    }
    return null;
  }
  for (const key of Object.keys(value)) {
    const problem = findProblem(value[key], Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, seen);
    if (problem) return problem;
  }
  return null;
}

/** A TypeError naming the export and the argument that cannot be sent, or null. */
export function checkArguments(name, args) {
  for (let i = 0; i < args.length; i++) {
    const problem = findProblem(args[i], `argument ${i + 1}`, new Set());
    if (problem) {
      return new TypeError(
        `${problem.path} of ${name}() cannot be sent to the pool host: it is ${problem.what}. Pass numbers, ` +
          'strings, plain objects, arrays or typed arrays, or an address in the shared heap.',
      );
    }
  }
  return null;
}

/** The TypeError for arguments postMessage refused for a reason checkArguments missed. */
export function cloneError(name, args, error) {
  for (let i = 0; i < args.length; i++) {
    try {
      structuredClone(args[i]);
    } catch (inner) {
      return new TypeError(`argument ${i + 1} of ${name}() cannot be sent to the pool host: ${inner.message}`, { cause: inner });
    }
  }
  return new TypeError(`the arguments of ${name}() cannot be sent to the pool host: ${error.message}`, { cause: error });
}
