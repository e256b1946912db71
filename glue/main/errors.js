// Every error the manager produces. Each has a stable `code` so callers can branch on it
// without parsing messages; the classes let `instanceof` work too.

/** Base class of the errors the pool reports. */
export class WasmPoolError extends Error {
  constructor(message, { code, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.code = code ?? 'ERR_WASM_POOL';
  }
}

function threadLabel(thread, pthread) {
  if (thread !== undefined && thread !== null && thread >= 0) return `pool thread ${thread}`;
  if (pthread) return `thread 0x${(pthread >>> 0).toString(16)} (a pthread of the module, not a pool thread)`;
  if (thread === null) return 'a thread of the pool host';
  return 'the host thread';
}

/**
 * A pool thread (or the host thread) died: trap, abort(), out-of-bounds access, stack
 * overflow, std::terminate, an uncaught C++ exception, or a failed allocation.
 * Every call in flight when it happened rejects with this; the host is replaced.
 */
export class WasmPanicError extends WasmPoolError {
  constructor({ thread, pthread, kind, message, wasmStack, cause, source }) {
    super(`WebAssembly ${kind} in ${threadLabel(thread, pthread)}: ${message}`, { code: 'ERR_WASM_PANIC', cause });
    /** Pool worker index; -1 for any other thread (the host thread, or a pthread of the module's own). */
    this.thread = thread ?? -1;
    /** The faulting thread's pthread_self(), when it is a pthread (0: the host thread, or unknown). */
    this.pthread = pthread ?? 0;
    /** 'trap' | 'abort' | 'oob' | 'stack-overflow' | 'exception' | 'terminate' | 'out-of-memory' | 'host-exit' | 'unknown' */
    this.kind = kind;
    /** The fault's own message, as the thread saw it. */
    this.panicMessage = message;
    /** The wasm/JS stack of the faulting thread, with wasm function names. */
    this.wasmStack = wasmStack ?? '';
    /** How it was detected: 'port' (the thread's own notice), 'host', 'exit' or 'record'. */
    this.source = source;
  }
}

/**
 * The watchdog saw neither a heartbeat nor pool progress for the hang timeout in force
 * (options.heartbeatTimeoutMs, or the execute()'s hangTimeoutMs); or (`during: 'stop'`)
 * an idle or shutdown stop did not finish because a thread kept running.
 */
export class WasmHangError extends WasmPoolError {
  constructor(silentMs, timeoutMs, during = 'call') {
    super(
      during === 'stop'
        ? `The WebAssembly pool did not stop within ${timeoutMs} ms while no call was pending: a thread kept ` +
            'running (spinning or deadlocked); the host was terminated.'
        : `The WebAssembly pool made no progress and sent no heartbeat for ${silentMs} ms (the hang timeout in ` +
            `force is ${timeoutMs} ms); the host was terminated and will be restarted on the next call. Pool tasks ` +
            'count as progress when they finish; long serial code can call wasmpool::report_progress(), and code ' +
            'that can do neither (one very long task, threads of its own) can run with ' +
            'execute(fn, { hangTimeoutMs }) set higher, or to Infinity.',
      { code: 'ERR_WASM_HANG' },
    );
    this.silentMs = silentMs;
    this.timeoutMs = timeoutMs;
    /** 'call' (a call was pending) or 'stop' (the host would not stop). */
    this.during = during;
  }
}

/** An export (or a job) threw: a C++ exception carried to the caller, a binding error (wrong arguments), a JS error of the job. The pool stays up. */
export class WasmCallError extends WasmPoolError {
  constructor({ exportName, jobUrl, name, message, code, stack }) {
    super(`${jobUrl ? `the job ${jobUrl}` : `${exportName}()`} failed: ${message}`, { code: code ?? 'ERR_WASM_CALL' });
    /** The export that threw (undefined for a job). */
    this.exportName = exportName;
    /** The job module that threw (manager.run()), else undefined. */
    this.jobUrl = jobUrl;
    /** The original error's name in the host, e.g. 'BindingError' or 'std::runtime_error'. */
    this.originalName = name;
    this.originalMessage = message;
    if (stack) this.hostStack = stack;
  }
}

/** execute() ran past its timeoutMs. */
export class WasmTimeoutError extends WasmPoolError {
  constructor(timeoutMs) {
    super(`execute() did not finish within timeoutMs (${timeoutMs} ms)`, { code: 'ERR_WASM_TIMEOUT' });
    this.timeoutMs = timeoutMs;
  }
}

/** execute() was aborted through its AbortSignal. */
export class WasmAbortError extends WasmPoolError {
  constructor(reason) {
    super('execute() was aborted', { code: 'ABORT_ERR', cause: reason });
    this.name = 'AbortError';
  }
}

/** The manager was shut down: pending calls reject with this, later execute() calls too. */
export class WasmShutdownError extends WasmPoolError {
  constructor(message = 'The ThreadPoolManager was shut down; create a new manager to run more work') {
    super(message, { code: 'ERR_WASM_POOL_SHUT_DOWN' });
  }
}

/** The host could not be started: glue not patched, module not found, init failed. */
export class WasmHostStartError extends WasmPoolError {
  constructor(message, cause) {
    super(message, { code: 'ERR_WASM_HOST_START', cause });
  }
}
