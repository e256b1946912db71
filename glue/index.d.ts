// Type declarations for the public JS API of wasm-threadpool.
import { EventEmitter } from 'node:events';

export interface LogEntry {
  /** 'trace' | 'debug' | 'info' | 'warn' | 'error' from wasmpool::log; 'stdout' | 'stderr' for printf/std::cout. */
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'stdout' | 'stderr';
  message: string;
  /** Pool worker index; -1 for the host thread or module output. */
  thread: number;
  /** Date.now() when the thread sent it. */
  time: number;
  /** Index of the pool thread's MessagePort, when it came over one. */
  channel?: number;
}

export interface ThreadPoolManagerOptions {
  /** Path or file: URL of the patched Emscripten glue (.mjs). */
  module: string | URL;
  /** Path or file: URL of the .wasm file; default: the one named in the glue's patch marker, next to it. */
  wasm?: string | URL;
  /** Pool threads, 1..64. Default: os.availableParallelism(). */
  threads?: number;
  /** How often the host sends a heartbeat. Default 250. */
  heartbeatIntervalMs?: number;
  /** Silence (no heartbeat, no pool progress) while calls are pending that counts as a hang. Default 5000. */
  heartbeatTimeoutMs?: number;
  /** Stop the host after this long without an active call; 0 = as soon as none is active. Default 1000. */
  idleTimeoutMs?: number;
  /**
   * 'fast' (default): crash notices from pool threads fail calls at once. 'heartbeat-only':
   * ignore them and rely on the watchdog, as the original design did (for benchmarks).
   */
  crashDetection?: 'fast' | 'heartbeat-only';
  /** Keep a second host started and idle, promoted at once when the first fails. Default false. */
  standby?: boolean;
  /** Log sink for per-thread logs and module output; false drops them. Default: stdout/stderr. */
  log?: ((entry: LogEntry) => void) | false;
}

export interface ExecuteOptions {
  /** Aborting rejects the execute() and its pending calls with a WasmAbortError. */
  signal?: AbortSignal;
  /** Rejects the execute() and its pending calls with a WasmTimeoutError after this many ms. */
  timeoutMs?: number;
}

export interface CallTimings {
  count: number;
  medianMs?: number;
  p99Ms?: number;
  maxMs?: number;
}

export interface ThreadPoolStats {
  executes: number;
  calls: number;
  completed: number;
  failed: number;
  crashes: number;
  hangs: number;
  starts: number;
  restarts: number;
  /** Hosts replaced to stop a call whose execute() timed out or was aborted. */
  recycles: number;
  /** Standby hosts started (options.standby). */
  standbyStarts: number;
  /** The standby host's state. */
  standby: 'none' | 'starting' | 'ready';
  active: number;
  pending: number;
  running: boolean;
  threads: number;
  lastStartMs?: number;
  callTimings: CallTimings;
}

type TypedArrayConstructor<T> = {
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): T;
  readonly BYTES_PER_ELEMENT: number;
};

export class ThreadPoolManager extends EventEmitter {
  constructor(options: ThreadPoolManagerOptions);
  readonly options: Readonly<Required<Omit<ThreadPoolManagerOptions, 'wasm' | 'log'>>> &
    Pick<ThreadPoolManagerOptions, 'wasm' | 'log'>;
  /** Runs fn; calls it makes into the patched module are routed to the pool host and return Promises. */
  execute<T>(fn: () => T | PromiseLike<T>, options?: ExecuteOptions): Promise<Awaited<T>>;
  /** Starts the pool now rather than on the first execute(); resolves when it is ready. */
  start(): Promise<void>;
  /** Stops the pool; pending calls reject with WasmShutdownError. */
  shutdown(): Promise<void>;
  stats(): ThreadPoolStats;
  /** The running host's shared memory, or null. */
  readonly memory: WebAssembly.Memory | null;
  /** A view of the running host's heap, without copying. */
  view<T>(type: TypedArrayConstructor<T>, byteOffset: number, length: number): T;

  on(event: 'log', listener: (entry: LogEntry) => void): this;
  on(event: 'crash', listener: (error: WasmPanicError | WasmHangError) => void): this;
  on(event: 'start' | 'restart', listener: (info: { threads: number; startMs: number; standby?: boolean }) => void): this;
  on(event: 'idle', listener: () => void): this;
  once(event: 'log', listener: (entry: LogEntry) => void): this;
  once(event: 'crash', listener: (error: WasmPanicError | WasmHangError) => void): this;
  once(event: 'start' | 'restart', listener: (info: { threads: number; startMs: number; standby?: boolean }) => void): this;
  once(event: 'idle', listener: () => void): this;
}

export class WasmPoolError extends Error {
  readonly code: string;
}

export type PanicKind =
  | 'trap'
  | 'abort'
  | 'oob'
  | 'stack-overflow'
  | 'exception'
  | 'terminate'
  | 'out-of-memory'
  | 'host-exit'
  | 'unknown';

export class WasmPanicError extends WasmPoolError {
  readonly code: 'ERR_WASM_PANIC';
  /** Pool worker index, or -1 for the host thread. */
  readonly thread: number;
  readonly kind: PanicKind;
  readonly panicMessage: string;
  readonly wasmStack: string;
  readonly source: 'port' | 'host' | 'exit' | 'record';
}

export class WasmHangError extends WasmPoolError {
  readonly code: 'ERR_WASM_HANG';
  readonly silentMs: number;
  readonly timeoutMs: number;
}

export class WasmCallError extends WasmPoolError {
  /** 'ERR_WASM_CPP_EXCEPTION', 'ERR_WASM_UNKNOWN_EXPORT', 'ERR_WASM_RESULT_NOT_CLONEABLE' or 'ERR_WASM_CALL'. */
  readonly code: string;
  readonly exportName: string;
  readonly originalName: string;
  readonly originalMessage: string;
  readonly hostStack?: string;
}

export class WasmTimeoutError extends WasmPoolError {
  readonly code: 'ERR_WASM_TIMEOUT';
  readonly timeoutMs: number;
}

export class WasmAbortError extends WasmPoolError {
  readonly code: 'ABORT_ERR';
  readonly name: 'AbortError';
}

export class WasmShutdownError extends WasmPoolError {
  readonly code: 'ERR_WASM_POOL_SHUT_DOWN';
}

export class WasmHostStartError extends WasmPoolError {
  readonly code: 'ERR_WASM_HOST_START';
}
