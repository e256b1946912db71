// Parsing and walking the glue. acorn gives positions; magic-string (in index.js) edits
// by those positions, so every rewrite is a precise edit of the stock text.
import * as acorn from 'acorn';

export class PatchError extends Error {
  constructor(message, details = {}) {
    super(message);
    this.name = 'PatchError';
    Object.assign(this, details);
  }
}

// Parse as an ES module first (EXPORT_ES6 glue), then as a script (CommonJS / plain glue).
export function parseGlue(text) {
  const options = { ecmaVersion: 'latest', allowHashBang: true, allowReturnOutsideFunction: false };
  let result;
  try {
    result = { ast: acorn.parse(text, { ...options, sourceType: 'module' }), sourceType: 'module' };
  } catch (moduleError) {
    try {
      result = { ast: acorn.parse(text, { ...options, sourceType: 'script' }), sourceType: 'script' };
    } catch (scriptError) {
      throw new PatchError(`not JavaScript: ${scriptError.message}`, { missing: 'parsable JavaScript' });
    }
  }
  // The text rides along (not enumerable, so walk() never sees it) for wording refusals.
  Object.defineProperty(result.ast, 'sourceText', { value: text });
  return result;
}

// Depth-first walk over every node, calling visit(node, parent, ancestors). Return false
// from visit to skip the node's children.
export function walk(root, visit) {
  const ancestors = [];
  const step = (node, parent) => {
    if (visit(node, parent, ancestors) === false) return;
    ancestors.push(node);
    for (const key of Object.keys(node)) {
      if (key === 'type' || key === 'start' || key === 'end') continue;
      const value = node[key];
      if (Array.isArray(value)) {
        for (const child of value) if (child && typeof child.type === 'string') step(child, node);
      } else if (value && typeof value.type === 'string') {
        step(value, node);
      }
    }
    ancestors.pop();
  };
  step(root, null);
}

export function isIdentifier(node, name) {
  return !!node && node.type === 'Identifier' && (name === undefined || node.name === name);
}

export function isString(node, value) {
  return !!node && node.type === 'Literal' && typeof node.value === 'string' &&
    (value === undefined || node.value === value);
}

// `object.prop` or `object["prop"]`; returns the property name or null.
export function memberName(node) {
  if (!node || node.type !== 'MemberExpression') return null;
  if (!node.computed && node.property.type === 'Identifier') return node.property.name;
  if (node.computed && isString(node.property)) return node.property.value;
  return null;
}

// `Module["x"]` / `Module.x` with a static name; returns the name or null.
export function moduleMember(node, moduleName = 'Module') {
  if (!node || node.type !== 'MemberExpression' || !isIdentifier(node.object, moduleName)) return null;
  return memberName(node);
}

// Identifier nodes in `root` that reference `name` as a variable (not as a property key
// or a non-computed member property).
export function referencesTo(root, name) {
  const found = [];
  walk(root, (node, parent) => {
    if (node.type !== 'Identifier' || node.name !== name) return;
    if (parent && parent.type === 'MemberExpression' && parent.property === node && !parent.computed) return;
    if (parent && parent.type === 'Property' && parent.key === node && !parent.computed && !parent.shorthand) return;
    if (parent && parent.type === 'MethodDefinition' && parent.key === node && !parent.computed) return;
    found.push(node);
  });
  return found;
}
