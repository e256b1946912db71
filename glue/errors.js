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

/**
 * A pool thread (or the host thread) died: trap, abort(), out-of-bounds access, stack
 * overflow, std::terminate, an uncaught C++ exception, or a failed allocation.
 * Every call in flight when it happened rejects with this; the host is replaced.
 */
export class WasmPanicError extends WasmPoolError {
  constructor({ thread, kind, message, wasmStack, cause, source }) {
    const where = thread === undefined || thread < 0 ? 'the host thread' : `pool thread ${thread}`;
    super(`WebAssembly ${kind} in ${where}: ${message}`, { code: 'ERR_WASM_PANIC', cause });
    /** Pool worker index, or -1 for the host thread. */
    this.thread = thread ?? -1;
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

/** The watchdog saw neither a heartbeat nor pool progress for heartbeatTimeoutMs. */
export class WasmHangError extends WasmPoolError {
  constructor(silentMs, timeoutMs) {
    super(
      `The WebAssembly pool made no progress and sent no heartbeat for ${silentMs} ms ` +
        `(heartbeatTimeoutMs is ${timeoutMs}); the host was terminated and will be restarted ` +
        `on the next call. Long serial code can call wasmpool::report_progress() to show it is alive.`,
      { code: 'ERR_WASM_HANG' },
    );
    this.silentMs = silentMs;
    this.timeoutMs = timeoutMs;
  }
}

/** An export threw: a C++ exception carried to the caller, or a binding error (wrong arguments). The pool stays up. */
export class WasmCallError extends WasmPoolError {
  constructor({ exportName, name, message, code, stack }) {
    super(`${exportName}() failed: ${message}`, { code: code ?? 'ERR_WASM_CALL' });
    this.exportName = exportName;
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
