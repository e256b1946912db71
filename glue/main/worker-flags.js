// Starting a worker under whatever flags the main process was started with.
//
// By default a Worker inherits process.execArgv, and Node applies the per-process flags
// (--max-old-space-size, --expose-gc, ...) itself. Two kinds of flag break that:
//   - flags about the main script (--input-type, -e/--eval, -p/--print): an ES-module
//     worker refuses to start under --input-type; they are dropped;
//   - once an explicit execArgv is passed, Node refuses per-process and V8 flags in it
//     (ERR_WORKER_INVALID_EXEC_ARGV, which names them). They are dropped too: V8 flags are
//     process-wide and already apply to every isolate.
// The heap limit (--max-old-space-size, on the command line or in NODE_OPTIONS) is such a
// V8 flag: it bounds the worker's heap whatever its execArgv, and overrides any
// resourceLimits. The worker is also given it as resourceLimits.maxOldGenerationSizeMb,
// always, so that worker_threads.resourceLimits in it says the limit in force (Node
// otherwise reports its default there, 4 GiB on 64-bit).
import { Worker } from 'node:worker_threads';

const MAIN_SCRIPT_FLAGS = new Set(['--input-type', '-e', '--eval', '-p', '--print']);
const TAKES_VALUE = new Set(['--input-type', '-e', '--eval', '-p', '--print']);

function flagName(arg) {
  const eq = arg.indexOf('=');
  return eq < 0 ? arg : arg.slice(0, eq);
}

/** process.execArgv without the flags about the main script; null when none was there. */
export function withoutMainScriptFlags(execArgv) {
  const kept = [];
  let dropped = false;
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i];
    const name = flagName(arg);
    if (!MAIN_SCRIPT_FLAGS.has(name)) {
      kept.push(arg);
      continue;
    }
    dropped = true;
    if (TAKES_VALUE.has(name) && !arg.includes('=')) i++; // its value is the next argument
  }
  return dropped ? kept : null;
}

/** The flags an ERR_WORKER_INVALID_EXEC_ARGV message names ("...flags: --a=1, --b"). */
export function invalidFlagsOf(error) {
  const match = /flags:\s*(.*)$/s.exec(String(error?.message ?? ''));
  return match ? match[1].split(',').map((flag) => flag.trim()).filter(Boolean) : [];
}

// The last --max-old-space-size=N among `flags` (the last one is the one V8 keeps).
function heapLimitOf(flags) {
  let limit;
  for (const flag of flags) {
    const match = /^--max[-_]old[-_]space[-_]size=(\d+)$/.exec(flag);
    if (match) limit = Number(match[1]);
  }
  return limit;
}

/**
 * The heap limit (MiB) the process runs under from its flags: NODE_OPTIONS first, then the
 * command line, which wins. undefined when neither sets one.
 */
export function heapLimitFlag(execArgv = process.execArgv, nodeOptions = process.env.NODE_OPTIONS) {
  const fromEnv = String(nodeOptions ?? '').split(/\s+/).filter(Boolean);
  return heapLimitOf([...fromEnv, ...execArgv]);
}

/**
 * new Worker(url, options) that starts under any flags of this process. Inherits
 * execArgv when it can; otherwise passes the flags a worker accepts. The heap limit flag,
 * if any, is the worker's resourceLimits.maxOldGenerationSizeMb unless options set one.
 */
export function createWorker(url, options = {}, execArgv = process.execArgv, nodeOptions = process.env.NODE_OPTIONS) {
  let argv = withoutMainScriptFlags(execArgv);
  let resourceLimits = options.resourceLimits;
  const heap = heapLimitFlag(execArgv, nodeOptions);
  if (heap !== undefined && resourceLimits?.maxOldGenerationSizeMb === undefined) {
    resourceLimits = { ...resourceLimits, maxOldGenerationSizeMb: heap };
  }
  for (let attempt = 0; ; attempt++) {
    try {
      return new Worker(url, { ...options, ...(argv ? { execArgv: argv } : {}), ...(resourceLimits ? { resourceLimits } : {}) });
    } catch (error) {
      const invalid = error?.code === 'ERR_WORKER_INVALID_EXEC_ARGV' ? invalidFlagsOf(error) : [];
      if (!argv || invalid.length === 0 || attempt > 2) throw error;
      const refused = new Set(invalid);
      argv = argv.filter((arg) => !refused.has(arg));
    }
  }
}
