// Finds the structures of Emscripten glue that the rewrites key on. Everything here is
// read-only: it returns AST nodes (with positions) and never edits. Two generations of
// the shell are understood (docs/PATCH.md, "Glue generations"):
//   legacy:    var Module = typeof X != "undefined" ? X : {};       (3.1.x up to ~3.1.40)
//   moduleArg: function (moduleArg = {}) { var Module = moduleArg;   (~3.1.44 and later)
// Closure-compiled glue (--closure 1) renames the locals and functions named here; it is
// refused with a message that says so.
import { PatchError, walk, isIdentifier, isString, memberName, moduleMember } from './ast.js';

// Exports the glue makes for the runtime itself. They are left exactly as built: not
// routed and not listed in Module.__wasmProxyExports. The allocator (_malloc, _free,
// _calloc, _realloc, _memalign) is NOT in this list: user code calls it through the Module
// to place data in the heap of the instance that will use it, so inside execute() it
// must reach the host's heap (see ThreadPoolManager.view()). The glue's own uses of
// _malloc go through its local variable and stay unrouted.
const RUNTIME_EXPORTS = [
  /^___/, /^__emscripten_/, /^__embind_/, /^_emscripten_/, /^_pthread_/, /^dynCall_/, /^_wasmpool_/,
  /^_(main|sbrk|setThrew|saveSetjmp|testSetjmp|setTempRet0|getTempRet0|fflush|memcpy|memset|memmove|htonl|htons|ntohs)$/,
];

export function isRoutableExportName(name) {
  return name.startsWith('_') && !RUNTIME_EXPORTS.some((re) => re.test(name));
}

const missing = (what, hint = '') =>
  new PatchError(`cannot patch: ${what} not found${hint ? ` (${hint})` : ''}`, { missing: what });

export const CLOSURE_HINT = 'this Emscripten glue looks Closure-compiled (--closure 1), which renames Module\'s ' +
  'local variables and the runtime functions the patch keys on; rebuild without --closure 1 ' +
  '(-O2, -O3 and -Oz without Closure keep those names and are supported)';

// Strings that Emscripten's runtime puts in its glue and Closure leaves alone. Only used to
// word a refusal: a file with several of them is Emscripten output, whatever else failed.
const EMSCRIPTEN_TELLS = [
  /data:application\/octet-stream;base64,/, /\binstantiateWasm\b/, /wasm-instantiate/, /\bem-pthread\b/,
  /both async and sync fetching of the wasm failed/, /Build with -s ?ASSERTIONS/, /\bcalledRun\b/,
  /\bmonitorRunDependencies\b/, /\blocateFile\b/, /\.wasm["'`]/, /\bmoduleArg\b/,
  /typeof Module\s*[!=]==?\s*["']undefined["']|["']undefined["']\s*[!=]==?\s*typeof Module\b/,
  /\.asm\.\w+\)\.apply\(null,\s*arguments\)/,
];

export function looksLikeEmscripten(text) {
  return EMSCRIPTEN_TELLS.filter((re) => re.test(text)).length >= 2;
}

// Names every non-Closure shell declares in its scope; Closure renames all of them.
const RUNTIME_NAMES = ['createWasm', 'locateFile', 'abort', 'run', 'preRun', 'addRunDependency', 'removeRunDependency'];

// The statement list Emscripten's shell puts everything in: the body of the MODULARIZE
// factory function, or the program itself for non-modularized glue. Keyed on
//   var Module = typeof X != "undefined" ? X : {};     (legacy shell)
//   var Module = moduleArg;                              (moduleArg: a parameter of the
//                                                         enclosing factory function)
function paramNames(fn) {
  const names = [];
  for (const param of fn.params) {
    const id = param.type === 'AssignmentPattern' ? param.left : param;
    if (isIdentifier(id)) names.push(id.name);
  }
  return names;
}

function findModuleScope(ast) {
  let found = null;
  walk(ast, (node, parent, ancestors) => {
    if (found) return false;
    if (node.type !== 'VariableDeclaration' || !parent) return;
    const body = parent.type === 'Program' || parent.type === 'BlockStatement' ? parent.body : null;
    if (!body) return;
    for (const decl of node.declarations) {
      if (!isIdentifier(decl.id, 'Module') || !decl.init) continue;
      const init = decl.init;
      if (init.type === 'ConditionalExpression') {
        const test = init.test;
        if (test.type === 'BinaryExpression' && test.left.type === 'UnaryExpression' && test.left.operator === 'typeof') {
          found = { body, owner: parent, moduleDecl: node, generation: 'legacy' };
          return false;
        }
      } else if (isIdentifier(init) && parent.type === 'BlockStatement') {
        const fn = ancestors[ancestors.length - 2];
        if (fn && /Function/.test(fn.type) && fn.body === parent && paramNames(fn).includes(init.name)) {
          found = { body, owner: parent, moduleDecl: node, generation: 'moduleArg', factory: fn, moduleArg: init.name };
          return false;
        }
      }
    }
  });
  return found;
}

// Functions declared in the scope: `function f() {}`, and `var f = function () {}` /
// `var f = () => {}` (the shell writes most of its library functions as arrows since
// ~3.1.30). Values: { name, fn, stmt, decl } (decl: the declarator of the var forms).
function topLevelFunctions(body) {
  const functions = new Map();
  for (const stmt of body) {
    if (stmt.type === 'FunctionDeclaration' && stmt.id) {
      functions.set(stmt.id.name, { name: stmt.id.name, fn: stmt, stmt, decl: null });
    } else if (stmt.type === 'VariableDeclaration') {
      for (const decl of stmt.declarations) {
        if (isIdentifier(decl.id) && decl.init && /^(FunctionExpression|ArrowFunctionExpression)$/.test(decl.init.type) &&
            !functions.has(decl.id.name)) {
          functions.set(decl.id.name, { name: decl.id.name, fn: decl.init, stmt, decl });
        }
      }
    }
  }
  return functions;
}

function declaresAny(body, names) {
  for (const stmt of body) {
    if (stmt.type === 'FunctionDeclaration' && stmt.id && names.includes(stmt.id.name)) return true;
    for (const decl of declaratorsOf(stmt)) if (isIdentifier(decl.id) && names.includes(decl.id.name)) return true;
  }
  return false;
}

function declaratorsOf(stmt) {
  return stmt.type === 'VariableDeclaration' ? stmt.declarations : [];
}

// The lazy pattern writes Module["_x"] again on first call:
//   function () { return (_x = Module["_x"] = Module["asm"]["x"]).apply(null, arguments) }   (legacy)
//   (a0) => (_x = Module["_x"] = wasmExports["x"])(a0)                                      (moduleArg)
function innerModuleWrite(root, name) {
  let inner = null;
  walk(root, (node) => {
    if (inner) return false;
    if (node.type === 'AssignmentExpression' && isIdentifier(node.left, name) &&
        node.right.type === 'AssignmentExpression' && moduleMember(node.right.left) === name) {
      inner = node.right;
      return false;
    }
  });
  return inner;
}

// Export assignments, each `{ stmt, name, outer, inner, routable }` where `outer` is the
// `Module["_x"] = VALUE` assignment the stock glue makes:
//   var _x = Module["_x"] = INIT;        INIT: createExportWrapper("x"[, n]) (ASSERTIONS), a
//                                        lazy thunk (above), or makeInvalidEarlyAccess("_x")
//   _x = Module["_x"] = wasmExports["x"];   inside function assignWasmExports(wasmExports)
//                                        (Emscripten 4.0.10 and later: no JS thunks)
function findExportAssignments(body, functions) {
  const exports = [];
  const seen = new Set();
  const add = (stmt, name, outer) => {
    exports.push({ stmt, name, outer, inner: innerModuleWrite(outer.right, name), routable: isRoutableExportName(name) });
    seen.add(name);
  };
  const chain = (stmt, target, value) => {
    if (!isIdentifier(target) || !value || value.type !== 'AssignmentExpression' || value.operator !== '=') return;
    if (moduleMember(value.left) === target.name) add(stmt, target.name, value);
  };
  const scan = (statements) => {
    for (const stmt of statements) {
      for (const decl of declaratorsOf(stmt)) chain(stmt, decl.id, decl.init);
      if (stmt.type === 'ExpressionStatement' && stmt.expression.type === 'AssignmentExpression' &&
          stmt.expression.operator === '=') chain(stmt, stmt.expression.left, stmt.expression.right);
    }
  };
  scan(body);
  const assign = functions.get('assignWasmExports');
  if (assign && assign.fn.body.type === 'BlockStatement') scan(assign.fn.body.body);
  return { exports, names: seen };
}

// The .wasm file name. Legacy and ~3.1.5x shells assign it in the scope:
//   wasmBinaryFile = "x.wasm";  /  wasmBinaryFile = new URL("x.wasm", import.meta.url).href;
// later shells return it from `function findWasmBinary() { ... "x.wasm" ... }`.
function findWasmFile(body, functions) {
  const names = new Set();
  let urlStatement = null;
  let locateStatement = null;
  const collect = (value) => {
    let lit = null;
    let viaUrl = false;
    walk(value, (n) => {
      if (isString(n) && /\.wasm$|^data:/.test(n.value) && !lit) lit = n;
      if (n.type === 'MetaProperty') viaUrl = true;
    });
    if (lit) names.add(lit.value);
    return viaUrl;
  };
  for (const stmt of body) {
    walk(stmt, (node) => {
      if (node.type === 'FunctionExpression' || node.type === 'FunctionDeclaration' ||
          node.type === 'ArrowFunctionExpression') return false;
      let value = null;
      if (node.type === 'AssignmentExpression' && isIdentifier(node.left, 'wasmBinaryFile')) value = node.right;
      else if (node.type === 'VariableDeclarator' && isIdentifier(node.id, 'wasmBinaryFile') && node.init) value = node.init;
      if (!value) return;
      if (collect(value)) urlStatement = stmt;
      locateStatement = stmt;
    });
  }
  const finder = functions.get('findWasmBinary');
  if (finder) collect(finder.fn.body);
  return { names: [...names], urlStatement, locateStatement, finder: finder ? finder.fn : null };
}

function findPThread(body) {
  for (const stmt of body) {
    for (const decl of declaratorsOf(stmt)) {
      if (isIdentifier(decl.id, 'PThread') && decl.init && decl.init.type === 'ObjectExpression') {
        return { stmt, object: decl.init };
      }
    }
  }
  return null;
}

function propertyFunction(object, key) {
  for (const prop of object.properties) {
    if (prop.type !== 'Property') continue;
    const name = prop.key.type === 'Identifier' ? prop.key.name : isString(prop.key) ? prop.key.value : null;
    if (name === key && (prop.value.type === 'FunctionExpression' || prop.value.type === 'ArrowFunctionExpression')) {
      return prop.value;
    }
  }
  return null;
}

function findPthreadStructures(ast, pthread) {
  const init = propertyFunction(pthread.object, 'initMainThread');
  let poolSize = null;
  if (init) {
    walk(init.body, (node) => {
      if (node.type === 'VariableDeclarator' && isIdentifier(node.id, 'pthreadPoolSize') && node.init) poolSize = node;
    });
  }
  // How workers are made (PThread.allocateUnusedWorker):
  //   new Worker(locateFile("x.worker.js")) / new URL("x.worker.mjs", import.meta.url)
  //       a separate worker file (3.1.x up to 3.1.57);
  //   new Worker(_scriptName, { workerData: "em-pthread", name: "em-pthread" }) or
  //   new Worker(new URL("x.mjs", import.meta.url), { type: "module", ... "em-pthread" })
  //       the glue file itself is the worker (3.1.58 and later).
  const workerLiterals = [];
  const selfLiterals = [];
  let emPthread = false;
  walk(pthread.object, (node) => {
    if (isString(node) && /\.worker\.[cm]?js$/.test(node.value)) workerLiterals.push(node);
    if (isString(node) && /^em-pthread/.test(node.value)) emPthread = true;
    if (node.type === 'NewExpression' && isIdentifier(node.callee, 'Worker')) {
      walk(node.arguments[0] || node, (n) => {
        if (n.type === 'NewExpression' && isIdentifier(n.callee, 'URL') && isString(n.arguments[0]) &&
            n.arguments[1] && n.arguments[1].type === 'MemberExpression' && n.arguments[1].object.type === 'MetaProperty' &&
            !/\.worker\.[cm]?js$/.test(n.arguments[0].value)) selfLiterals.push(n.arguments[0]);
      });
    }
  });
  const workerIsGlue = !workerLiterals.length && emPthread;
  // ~3.1.50 and later wait for the prewarmed workers with a promise
  //   loadWasmModuleToAllWorkers(onMaybeReady) { ... Promise.all(PThread.unusedWorkers.map(...)) ... }
  // which settles at once for an empty pool; the legacy wait is numWorkersToLoad (below).
  const allWorkersLoader = propertyFunction(pthread.object, 'loadWasmModuleToAllWorkers');
  let loaderUsesPromiseAll = false;
  if (allWorkersLoader) {
    walk(allWorkersLoader.body, (n) => {
      if (n.type === 'MemberExpression' && isIdentifier(n.object, 'Promise') && memberName(n) === 'all') loaderUsesPromiseAll = true;
    });
  }
  const toWorker = propertyFunction(pthread.object, 'loadWasmModuleToWorker');
  const loadsWorkerWithPromise = !!toWorker && toWorker.type === 'ArrowFunctionExpression' &&
    toWorker.body.type === 'NewExpression' && isIdentifier(toWorker.body.callee, 'Promise');
  // createWasm()'s receiveInstance: `var numWorkersToLoad = PThread.unusedWorkers.length;`
  // followed by a forEach whose callbacks removeRunDependency("wasm-instantiate").
  let workersToLoad = null;
  walk(ast, (node, parent, ancestors) => {
    if (workersToLoad || node.type !== 'VariableDeclaration') return;
    if (!node.declarations.some((d) => isIdentifier(d.id, 'numWorkersToLoad'))) return;
    if (!parent || (parent.type !== 'BlockStatement' && parent.type !== 'Program')) return;
    const fn = [...ancestors].reverse().find((a) => /Function/.test(a.type));
    let dependency = null;
    walk(fn || parent, (n) => {
      if (!dependency && n.type === 'CallExpression' && isIdentifier(n.callee, 'removeRunDependency') &&
          isString(n.arguments[0])) dependency = n.arguments[0];
    });
    if (dependency) workersToLoad = { stmt: node, dependency };
  });
  return {
    initMainThread: init, poolSize, workerLiterals, workersToLoad, workerIsGlue, selfLiterals,
    allWorkersLoader, loaderUsesPromiseAll, loadsWorkerWithPromise,
  };
}

function findEmbind(functions) {
  const register = functions.get('__embind_register_function');
  if (!register) return null;
  const expose = functions.get('exposePublicSymbol');
  const replace = functions.get('replacePublicSymbol');
  if (!expose) throw missing('embind exposePublicSymbol()', '__embind_register_function is present');
  if (!replace) throw missing('embind replacePublicSymbol()', '__embind_register_function is present');
  const calls = { expose: [], replace: [] };
  walk(register.fn.body, (node) => {
    if (node.type !== 'CallExpression') return;
    if (isIdentifier(node.callee, 'exposePublicSymbol')) calls.expose.push(node.callee);
    if (isIdentifier(node.callee, 'replacePublicSymbol')) calls.replace.push(node.callee);
  });
  if (!calls.expose.length) throw missing('the exposePublicSymbol() call in __embind_register_function');
  return { register, expose, replace, calls };
}

// `typeof fetch == "function"` (the guards of the .wasm fetch and instantiateStreaming).
function findFetchChecks(ast) {
  const checks = [];
  walk(ast, (node) => {
    if (node.type === 'BinaryExpression' && (node.operator === '==' || node.operator === '===') &&
        node.left.type === 'UnaryExpression' && node.left.operator === 'typeof' &&
        isIdentifier(node.left.argument, 'fetch') && isString(node.right, 'function')) checks.push(node);
  });
  return checks;
}

// process.on("uncaughtException" | "unhandledRejection", ...) as a statement.
function findProcessHandlers(ast) {
  const handlers = [];
  walk(ast, (node, parent) => {
    if (node.type !== 'ExpressionStatement' || node.expression.type !== 'CallExpression') return;
    const call = node.expression;
    if (call.callee.type !== 'MemberExpression' || !isIdentifier(call.callee.object, 'process') ||
        memberName(call.callee) !== 'on') return;
    const event = call.arguments[0];
    if (!isString(event) || !/^(uncaughtException|unhandledRejection)$/.test(event.value)) return;
    if (!parent || (parent.type !== 'BlockStatement' && parent.type !== 'Program')) return;
    handlers.push({ stmt: node, event: event.value });
  });
  return handlers;
}

// ccall/cwrap look exports up with `Module["_" + ident]` in getCFunc().
function findCFuncLookup(functions) {
  const getCFunc = functions.get('getCFunc');
  if (!getCFunc) return null;
  let lookup = null;
  walk(getCFunc.fn.body, (node) => {
    if (!lookup && node.type === 'MemberExpression' && node.computed && isIdentifier(node.object, 'Module') &&
        node.property.type === 'BinaryExpression' && isString(node.property.left, '_')) lookup = node;
  });
  return lookup;
}

// createWasm(): where it reads the user instantiation hook. The supplied-module code goes
// right before that statement:
//   if (Module["instantiateWasm"]) { ... }                          (up to 6.0.1)
//   var instantiateWasm = Module["instantiateWasm"]; if (...) ...   (6.0.2 and later)
function findInstantiateHook(functions) {
  const createWasm = functions.get('createWasm');
  if (!createWasm) return null;
  let hook = null;
  walk(createWasm.fn.body, (node, parent) => {
    if (hook) return false;
    if (!parent || parent.type !== 'BlockStatement') return;
    if (node.type === 'IfStatement' && moduleMember(node.test) === 'instantiateWasm') hook = node;
    if (node.type === 'VariableDeclaration' && node.declarations.some((d) => moduleMember(d.init) === 'instantiateWasm')) hook = node;
  });
  return hook;
}

function hasIdentifier(ast, name) {
  let found = false;
  walk(ast, (node) => {
    if (found) return false;
    if (node.type === 'Identifier' && node.name === name) found = true;
  });
  return found;
}

function findEs6(ast) {
  let exportDefault = null;
  let importMeta = false;
  for (const stmt of ast.body) if (stmt.type === 'ExportDefaultDeclaration') exportDefault = stmt;
  walk(ast, (node) => {
    if (node.type === 'MetaProperty' && node.meta.name === 'import') importMeta = true;
  });
  return { exportDefault, importMeta };
}

export function locate(ast, sourceType, text = ast.sourceText || '') {
  if (hasIdentifier(ast, '__wasmpoolRoute')) {
    throw new PatchError('cannot patch: the glue already holds wasm-threadpool-patch rewrites but no marker line ' +
      '(was the first line removed?); patch the original Emscripten output instead', { missing: 'the patch marker line' });
  }
  const emscripten = looksLikeEmscripten(text);
  const scope = findModuleScope(ast);
  if (!scope) {
    const what = 'the Emscripten Module declaration (var Module = moduleArg, or var Module = typeof X != "undefined" ? X : {})';
    if (emscripten) throw missing(what, CLOSURE_HINT);
    throw missing(what, 'the file is not recognised as the JavaScript that emcc writes; patch the .js/.mjs emcc produced');
  }
  const { body } = scope;
  // Closure keeps `var Module = moduleArg` in recent glue but renames every runtime
  // function; then each refusal below says so.
  const closure = !declaresAny(body, RUNTIME_NAMES);
  const need = (what, hint = '') => missing(what, closure ? CLOSURE_HINT : hint);

  const moduleIndex = body.indexOf(scope.moduleDecl);
  const after = body.slice(moduleIndex + 1);
  // The pre-js position: `var moduleOverrides = ...` (until 4.0.6); from 4.0.7 the shell
  // has no moduleOverrides and --pre-js code lands right before `var arguments_ = []`
  // (later `var programArgs = []`), the statement moduleOverrides used to precede.
  const preJsAnchor = after.find((stmt) => declaratorsOf(stmt).some((d) => isIdentifier(d.id, 'moduleOverrides'))) ||
    (scope.generation === 'moduleArg' ? after.find((stmt) =>
      declaratorsOf(stmt).some((d) => isIdentifier(d.id) && /^(arguments_|programArgs)$/.test(d.id.name))) : null);
  if (!preJsAnchor) throw need('the pre-js position (var moduleOverrides, or var arguments_/programArgs, after var Module)');

  const functions = topLevelFunctions(body);
  const { exports } = findExportAssignments(body, functions);
  if (!exports.length) {
    throw need('export assignments (var _name = Module["_name"] = ..., or _name = Module["_name"] = wasmExports[...] ' +
      'in assignWasmExports)', 'built with -sDECLARE_ASM_MODULE_EXPORTS=0 or MINIMAL_RUNTIME?');
  }

  const wasm = findWasmFile(body, functions);
  if (!wasm.names.length) throw need('the .wasm file name (wasmBinaryFile = "....wasm", or findWasmBinary())');
  if (wasm.names.length > 1) {
    throw new PatchError(`cannot patch: several .wasm file names (${wasm.names.join(', ')})`, { missing: 'one .wasm file name' });
  }
  if (wasm.names[0].startsWith('data:')) {
    throw new PatchError('cannot patch: the .wasm is embedded as a data: URI (-sSINGLE_FILE), which is not supported',
      { missing: 'a separate .wasm file' });
  }

  const es6 = findEs6(ast);
  const isEs6 = sourceType === 'module' && (!!es6.exportDefault || es6.importMeta);
  const pthreadObject = findPThread(body);
  let pthread = null;
  if (pthreadObject) {
    pthread = { ...pthreadObject, ...findPthreadStructures(ast, pthreadObject) };
    if (!pthread.initMainThread) throw need('PThread.initMainThread', '-pthread glue');
    if (!pthread.workerLiterals.length && !pthread.workerIsGlue) {
      throw need('how pthread workers are made (a "....worker.js" file name, or the glue itself as the worker: ' +
        'new Worker(..., { workerData: "em-pthread" }))', '-pthread glue');
    }
    const workerNames = new Set(pthread.workerLiterals.map((l) => l.value));
    if (workerNames.size > 1) {
      throw new PatchError(`cannot patch: several worker file names (${[...workerNames].join(', ')})`,
        { missing: 'one worker file name' });
    }
    pthread.workerName = pthread.workerIsGlue ? null : [...workerNames][0];
    const selfNames = new Set(pthread.selfLiterals.map((l) => l.value));
    if (selfNames.size > 1) {
      throw new PatchError(`cannot patch: the glue names itself as the worker under several names (${[...selfNames].join(', ')})`,
        { missing: 'one worker script name' });
    }
    pthread.selfName = selfNames.size ? [...selfNames][0] : null;
  }

  return {
    ast,
    sourceType,
    generation: scope.generation,
    es6: isEs6,
    exportDefault: es6.exportDefault,
    scope,
    preJsAnchor,
    exports,
    wasm,
    wasmName: wasm.names[0],
    functions,
    embind: findEmbind(functions),
    pthread,
    fetchChecks: findFetchChecks(ast),
    processHandlers: findProcessHandlers(ast),
    cfuncLookup: findCFuncLookup(functions),
    instantiateHook: findInstantiateHook(functions),
    hooksPresent: hasIdentifier(ast, '__wasmpoolHooks'),
    closure,
  };
}
