// Whether patched ES module glue may be evaluated as a function body (the marker's
// `asScript`): the host then loads it without Node's ES module loader, whose first use costs
// a worker ~4-5 ms of a cold start (glue/host/glue-loader.cjs does the evaluation).
//
// It may when the only module syntax in the patched text is what the host knows how to
// spell in a function body:
//   - the patch's own `import { createRequire as __wasmpoolCreateRequire } from "module";`
//     (esm-shims.js), given as a parameter;
//   - `import.meta.url`, given as a parameter, and no other use of import.meta;
//   - one `export default <name>;` on a line of its own, which becomes `return <name>;`.
// And nothing that means something else in a function: no import(), no top-level await, no
// top-level `arguments`. The host's replacements are textual, so the text must not spell
// `import.meta` anywhere else but in comments (-O0 glue has one), nor the import or the
// export line before the real ones.
import { walk } from './ast.js';
import * as acorn from 'acorn';
import { SHIM_IMPORT } from './rewrites/esm-shims.js';

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression']);

/** @param {string} text patched ES module glue, without its marker line */
export function evaluableAsScript(text) {
  let ast;
  const comments = [];
  try {
    ast = acorn.parse(text, { ecmaVersion: 'latest', sourceType: 'module', allowHashBang: true,
      onComment: (block, body, start, end) => comments.push([start, end]) });
  } catch {
    return false;
  }
  let ok = true;
  let importAt = -1;
  let imports = 0;
  const metaStarts = new Set();
  let exportAt = -1;
  let exportLine = null;
  walk(ast, (node, parent, ancestors) => {
    if (!ok) return false;
    switch (node.type) {
      case 'ImportDeclaration':
        imports++;
        importAt = node.start;
        ok = text.slice(node.start, node.end) === SHIM_IMPORT;
        break;
      case 'ExportDefaultDeclaration':
        exportAt = node.start;
        exportLine = text.slice(node.start, node.end);
        ok = parent.type === 'Program' && node.declaration.type === 'Identifier' && exportLine.endsWith(';');
        break;
      case 'ExportNamedDeclaration':
      case 'ExportAllDeclaration':
      case 'ImportExpression':
        ok = false;
        break;
      case 'MetaProperty':
        metaStarts.add(node.start);
        ok = node.meta.name === 'import' && parent.type === 'MemberExpression' && parent.object === node &&
          !parent.computed && parent.property.name === 'url';
        break;
      case 'AwaitExpression':
      case 'ForOfStatement':
        if (node.type === 'AwaitExpression' || node.await) ok = ancestors.some((a) => isFunction(a));
        break;
      case 'Identifier':
        if (node.name === 'arguments' && !isPropertyName(node, parent)) ok = ancestors.some((a) => FUNCTION_TYPES.has(a.type));
        break;
      default:
    }
    return ok;
  });
  if (!ok || imports !== 1 || exportLine === null) return false;
  // The host's textual replacements hit exactly these nodes (and comments).
  const inComment = (at) => comments.some(([start, end]) => at >= start && at < end);
  const exportLines = [...text.matchAll(new RegExp(`^${escape(exportLine)}$`, 'gm'))];
  return indexesOf(text, 'import.meta').every((at) => metaStarts.has(at) || inComment(at)) &&
    text.indexOf(SHIM_IMPORT) === importAt && exportLines.length === 1 && exportLines[0].index === exportAt &&
    indexesOf(text, 'export default').every((at) => at === exportAt || inComment(at));
}

function isFunction(node) {
  return FUNCTION_TYPES.has(node.type) || node.type === 'ArrowFunctionExpression';
}

// `x.arguments`, `{ arguments: ... }`: a name, not the variable.
function isPropertyName(node, parent) {
  if (parent.type === 'MemberExpression') return parent.property === node && !parent.computed;
  if (parent.type === 'Property' || parent.type === 'PropertyDefinition' || parent.type === 'MethodDefinition') {
    return parent.key === node && !parent.computed;
  }
  return false;
}

function indexesOf(text, what) {
  const found = [];
  for (let at = text.indexOf(what); at !== -1; at = text.indexOf(what, at + 1)) found.push(at);
  return found;
}

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
