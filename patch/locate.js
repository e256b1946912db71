// Finds the structures of Emscripten (3.1.x) glue that the rewrites key on. Everything
// here is read-only: it returns AST nodes (with positions) and never edits.
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

// The statement list Emscripten's shell puts everything in: the body of the MODULARIZE
// factory function, or the program itself for non-modularized glue. Keyed on
// `var Module = typeof X != "undefined" ? X : {};`.
function findModuleScope(ast) {
  let found = null;
  walk(ast, (node, parent) => {
    if (found) return false;
    if (node.type !== 'VariableDeclaration' || !parent) return;
    const body = parent.type === 'Program' || parent.type === 'BlockStatement' ? parent.body : null;
    if (!body) return;
    for (const decl of node.declarations) {
      if (!isIdentifier(decl.id, 'Module') || !decl.init || decl.init.type !== 'ConditionalExpression') continue;
      const test = decl.init.test;
      const isTypeofCheck = test.type === 'BinaryExpression' && test.left.type === 'UnaryExpression' &&
        test.left.operator === 'typeof';
      if (isTypeofCheck) {
        found = { body, owner: parent, moduleDecl: node };
        return false;
      }
    }
  });
  return found;
}

function topLevelFunctions(body) {
  const functions = new Map();
  for (const stmt of body) {
    if (stmt.type === 'FunctionDeclaration' && stmt.id) functions.set(stmt.id.name, stmt);
  }
  return functions;
}

function declaratorsOf(stmt) {
  return stmt.type === 'VariableDeclaration' ? stmt.declarations : [];
}

// `var _x = Module["_x"] = INIT;` (INIT: createExportWrapper("x") at -O0, or the lazy
// `function() { return (_x = Module["_x"] = Module["asm"]["x"]).apply(null, arguments) }`).
function findExportAssignments(body) {
  const exports = [];
  for (const stmt of body) {
    for (const decl of declaratorsOf(stmt)) {
      const init = decl.init;
      if (!isIdentifier(decl.id) || !init || init.type !== 'AssignmentExpression' || init.operator !== '=') continue;
      const name = moduleMember(init.left);
      if (name !== decl.id.name) continue;
      // The lazy pattern writes Module["_x"] again on first call; find that inner write.
      let inner = null;
      walk(init.right, (node) => {
        if (inner) return false;
        if (node.type === 'AssignmentExpression' && isIdentifier(node.left, name) &&
            node.right.type === 'AssignmentExpression' && moduleMember(node.right.left) === name) {
          inner = node.right;
          return false;
        }
      });
      exports.push({ stmt, decl, name, outer: init, inner, routable: isRoutableExportName(name) });
    }
  }
  return exports;
}

function findWasmFile(body) {
  const names = new Set();
  let urlStatement = null;
  let locateStatement = null;
  for (const stmt of body) {
    walk(stmt, (node) => {
      if (node.type === 'FunctionExpression' || node.type === 'FunctionDeclaration' ||
          node.type === 'ArrowFunctionExpression') return false;
      if (node.type !== 'AssignmentExpression' || !isIdentifier(node.left, 'wasmBinaryFile')) return;
      let lit = null;
      let viaUrl = false;
      walk(node.right, (n) => {
        if (isString(n) && /\.wasm$|^data:/.test(n.value) && !lit) lit = n;
        if (n.type === 'MetaProperty') viaUrl = true;
      });
      if (lit) names.add(lit.value);
      if (viaUrl) urlStatement = stmt;
      locateStatement = stmt;
    });
  }
  return { names: [...names], urlStatement, locateStatement };
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
  const workerLiterals = [];
  walk(pthread.object, (node) => {
    if (isString(node) && /\.worker\.c?js$/.test(node.value)) workerLiterals.push(node);
  });
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
  return { initMainThread: init, poolSize, workerLiterals, workersToLoad };
}

function findEmbind(functions) {
  const register = functions.get('__embind_register_function');
  if (!register) return null;
  const expose = functions.get('exposePublicSymbol');
  const replace = functions.get('replacePublicSymbol');
  if (!expose) throw missing('embind exposePublicSymbol()', '__embind_register_function is present');
  if (!replace) throw missing('embind replacePublicSymbol()', '__embind_register_function is present');
  const calls = { expose: [], replace: [] };
  walk(register.body, (node) => {
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
  walk(getCFunc.body, (node) => {
    if (!lookup && node.type === 'MemberExpression' && node.computed && isIdentifier(node.object, 'Module') &&
        node.property.type === 'BinaryExpression' && isString(node.property.left, '_')) lookup = node;
  });
  return lookup;
}

// createWasm(): `if (Module["instantiateWasm"]) { ... }`, the user instantiation hook.
function findInstantiateHook(functions) {
  const createWasm = functions.get('createWasm');
  if (!createWasm) return null;
  let hook = null;
  walk(createWasm.body, (node, parent) => {
    if (hook) return false;
    if (node.type === 'IfStatement' && moduleMember(node.test) === 'instantiateWasm' &&
        parent && parent.type === 'BlockStatement') hook = node;
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

export function locate(ast, sourceType) {
  if (hasIdentifier(ast, '__wasmpoolRoute')) {
    throw new PatchError('cannot patch: the glue already holds wasm-threadpool-patch rewrites but no marker line ' +
      '(was the first line removed?); patch the original Emscripten output instead', { missing: 'the patch marker line' });
  }
  const scope = findModuleScope(ast);
  if (!scope) {
    throw missing('the Emscripten Module declaration (var Module = typeof X != "undefined" ? X : {})',
      'not Emscripten glue, or closure-compiled (--closure 1) glue, which is not supported');
  }
  const { body } = scope;
  const moduleIndex = body.indexOf(scope.moduleDecl);
  const preJsAnchor = body.slice(moduleIndex + 1).find((stmt) =>
    declaratorsOf(stmt).some((d) => isIdentifier(d.id, 'moduleOverrides')));
  if (!preJsAnchor) throw missing('the pre-js position (var moduleOverrides after var Module)');

  const exports = findExportAssignments(body);
  if (!exports.length) throw missing('export assignments (var _name = Module["_name"] = ...)');

  const wasm = findWasmFile(body);
  if (!wasm.names.length) throw missing('the .wasm file name (wasmBinaryFile = "....wasm")');
  if (wasm.names.length > 1) {
    throw new PatchError(`cannot patch: several .wasm file names (${wasm.names.join(', ')})`, { missing: 'one .wasm file name' });
  }
  if (wasm.names[0].startsWith('data:')) {
    throw new PatchError('cannot patch: the .wasm is embedded as a data: URI (-sSINGLE_FILE), which is not supported',
      { missing: 'a separate .wasm file' });
  }

  const functions = topLevelFunctions(body);
  const es6 = findEs6(ast);
  const isEs6 = sourceType === 'module' && (!!es6.exportDefault || es6.importMeta);
  const pthreadObject = findPThread(body);
  let pthread = null;
  if (pthreadObject) {
    pthread = { ...pthreadObject, ...findPthreadStructures(ast, pthreadObject) };
    if (!pthread.initMainThread) throw missing('PThread.initMainThread', '-pthread glue');
    if (!pthread.workerLiterals.length) throw missing('the pthread worker file name ("....worker.js")', '-pthread glue');
    const workerNames = new Set(pthread.workerLiterals.map((l) => l.value));
    if (workerNames.size > 1) {
      throw new PatchError(`cannot patch: several worker file names (${[...workerNames].join(', ')})`,
        { missing: 'one worker file name' });
    }
    pthread.workerName = [...workerNames][0];
  }

  return {
    ast,
    sourceType,
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
  };
}
