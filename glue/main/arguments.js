// What may cross from main to the host as an export's argument.
//
// Structured clone copies data, not behaviour: an instance of a class arrives as a plain
// object without its prototype (methods and getters gone, so the export computes with the
// wrong thing), and an embind handle (new Module.Box()) names an object in main's own
// instance, which means nothing in the host's. Both are refused before anything is sent,
// with the path to the offending value. Functions and symbols cannot be cloned at all.
//
// "Cloneable" below means that the copy keeps the prototype: structured clone keeps the
// built-in classes listed here, and nothing derived from them. A subclass instance (an
// Error subclass, a Float64Array subclass with methods) arrives as an instance of the
// built-in class, so it is refused like any other class instance. The exceptions are kept
// error types (Error and the six native kinds; any other error, AggregateError and
// DOMException included, arrives as a plain Error or an empty object) and Node's Buffer,
// whose copy is the Uint8Array of its bytes, which is what an export takes.
const TYPED_ARRAYS = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array,
  Float64Array, BigInt64Array, BigUint64Array,
];
const KEPT_ERRORS = [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError];
const CLONEABLE_PROTOTYPES = new Set([
  Array, Date, RegExp, Map, Set, ArrayBuffer, DataView, Boolean, Number, String, BigInt,
  ...KEPT_ERRORS, ...TYPED_ARRAYS,
  ...(typeof SharedArrayBuffer === 'function' ? [SharedArrayBuffer] : []),
  ...(typeof Blob === 'function' ? [Blob] : []),
  ...(typeof Buffer === 'function' ? [Buffer] : []),
].map((cls) => cls.prototype));

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
  return proto === null || proto === Object.prototype || CLONEABLE_PROTOTYPES.has(proto);
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
  if (!isPlainOrCloneable(value)) {
    return { path, what: `an instance of ${className(value)}; a copy would lose its prototype and methods` };
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return null;
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
    const value = args[i];
    // Numbers, strings, booleans, bigints, null, undefined: nothing to look into.
    if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')) continue;
    const problem = findProblem(value, `argument ${i + 1}`, new Set());
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
