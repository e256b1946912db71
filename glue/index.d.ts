// Type declarations for the public JS API of wasm-threadpool.
import { EventEmitter } from 'node:events';

export interface LogEntry {
  /** 'trace' | 'debug' | 'info' | 'warn' | 'error' from wasmpool::log; 'stdout' | 'stderr' for printf/std::cout. */
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'stdout' | 'stderr';
  message: string;
  /** Pool worker index; -1 for the host thread, another pthread of the module, or module output. */
  thread: number;
  /** pthread id of the thread it came from, when known (0: the host thread or unknown). */
  pthread?: number;
  /** Date.now() when the thread sent it. */
  time: number;
  /** Index of the thread's MessagePort, when it came over one. */
  channel?: number;
}

export interface ThreadPoolManagerOptions {
  /**
   * Path or file: URL of the Emscripten glue. Patched: execute() routes its exports to the
   * host. Unpatched (Closure output included): instantiated in the host for run() jobs
   * (ctx.module). Left out: a host for run() jobs, which load their own packages.
   */
  module?: string | URL;
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
  /**
   * How a host is replaced after a crash. 'warm' (default): the crashed host's workers are
   * kept; with the wasmpool runtime the instance is kept too and its memory put back as it
   * was before the pool started (otherwise a new instance with a new memory), in a few
   * milliseconds; a worker whose thread does not come back is terminated and replaced.
   * 'cold': a new host worker, as after a hang. Jobs (run()) make a host cold-restarted.
   */
  restart?: 'warm' | 'cold';
  /** pthreads the module may have alive besides the pool's (std::thread, a library's pool); past it pthread_create fails with EAGAIN. 0..1024, default 64. */
  maxExtraThreads?: number;
  /**
   * Independent hosts, each with its own instance, memory and `threads` pool threads
   * (the thread budget is hosts x threads). 1..64, default 1.
   */
  hosts?: number;
  /**
   * execute()/run() calls one host takes at a time, each for its whole duration; the rest
   * wait on main. Default: Infinity with one host (executes share it, their calls queued
   * in the host), 4 with several (Piscina's concurrentTasksPerWorker). A host that has
   * answered none of its calls for 10 ms takes no more until it answers.
   */
  executesPerHost?: number;
  /**
   * How many execute()/run() calls may wait for a place on a host; past it they reject
   * with ERR_WASM_QUEUE_FULL. A number >= 0, Infinity (default), or 'auto' = (hosts x threads)^2.
   */
  maxQueue?: number | 'auto';
  /** Log sink for per-thread logs and module output; false drops them. Default: stdout/stderr. */
  log?: ((entry: LogEntry) => void) | false;
}

export interface ExecuteOptions {
  /** Aborting rejects the execute() and its pending calls with a WasmAbortError. */
  signal?: AbortSignal;
  /** Rejects the execute() and its pending calls with a WasmTimeoutError after this many ms. */
  timeoutMs?: number;
  /** The hang timeout for these calls instead of heartbeatTimeoutMs; Infinity or false: none. */
  hangTimeoutMs?: number | false;
}

export interface RunOptions extends ExecuteOptions {
  /** Objects in `input` to move to the host rather than copy (ArrayBuffers, MessagePorts). */
  transferList?: Transferable[];
}

/** What a job module's default export receives besides its input. */
export interface JobContext<M = any> {
  /** The host's instance of options.module: exports called synchronously, embind classes, _malloc; null without a module. */
  module: M | null;
  /** The instance's shared memory; null when there is none or the glue does not export it. */
  memory: WebAssembly.Memory | null;
}

/** The default export of a job module for ThreadPoolManager.run(). */
export type Job<I = unknown, R = unknown, M = any> = (input: I, context: JobContext<M>) => R | PromiseLike<R>;

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
  /** Restarts that renewed the crashed host's workers instead of starting new ones (options.restart 'warm'). */
  warmRestarts: number;
  /** Hosts replaced to stop a call whose execute() timed out or was aborted. */
  recycles: number;
  /** Standby hosts started (options.standby). */
  standbyStarts: number;
  /** Jobs run with run(). */
  runs: number;
  /** The standby host's state. */
  standby: 'none' | 'starting' | 'ready';
  active: number;
  pending: number;
  running: boolean;
  threads: number;
  lastStartMs?: number;
  callTimings: CallTimings;
  /** execute()/run() calls waiting for a place on a host (options.maxQueue). */
  queued: number;
  /** Each host's figures; the top-level ones are their sums (`running`: any host runs). */
  hosts: HostStats[];
}

export interface HostStats {
  state: 'none' | 'starting' | 'ready' | 'replacing' | 'shut-down';
  running: boolean;
  /** execute()/run() calls occupying this host. */
  active: number;
  /** Calls sent to it and not answered yet. */
  pending: number;
  starts: number;
  standby: 'none' | 'starting' | 'ready';
  standbyStarts: number;
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
  /**
   * Runs the default export of the ES module `job` (absolute path or file: URL) inside the
   * host, next to the module's instance; only `input` and the result cross.
   */
  run<R = unknown>(job: string | URL, input?: unknown, options?: RunOptions): Promise<R>;
  /** Starts the pool now rather than on the first execute(); resolves when the host takes calls and every pool thread runs. */
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
  on(event: 'start' | 'restart', listener: (info: { threads: number; startMs: number; standby?: boolean; host?: number; warm?: boolean }) => void): this;
  on(event: 'idle', listener: (info?: { host: number }) => void): this;
  once(event: 'log', listener: (entry: LogEntry) => void): this;
  once(event: 'crash', listener: (error: WasmPanicError | WasmHangError) => void): this;
  once(event: 'start' | 'restart', listener: (info: { threads: number; startMs: number; standby?: boolean; host?: number; warm?: boolean }) => void): this;
  once(event: 'idle', listener: (info?: { host: number }) => void): this;
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
  /** Pool worker index; -1 for the host thread or another pthread of the module. */
  readonly thread: number;
  /** The faulting pthread's id (0: the host thread, or unknown). */
  readonly pthread: number;
  readonly kind: PanicKind;
  readonly panicMessage: string;
  readonly wasmStack: string;
  /** With options.hosts > 1: the index of the host that failed. */
  readonly host?: number;
  readonly source: 'port' | 'host' | 'exit' | 'record';
}

export class WasmHangError extends WasmPoolError {
  readonly code: 'ERR_WASM_HANG';
  readonly silentMs: number;
  readonly timeoutMs: number;
  /** 'call': a pending call made no progress; 'stop': the host would not stop while idle. */
  readonly during: 'call' | 'stop';
  /** With options.hosts > 1: the index of the host that failed. */
  readonly host?: number;
}

export class WasmCallError extends WasmPoolError {
  /**
   * 'ERR_WASM_CPP_EXCEPTION', 'ERR_WASM_UNKNOWN_EXPORT', 'ERR_WASM_RESULT_NOT_CLONEABLE',
   * 'ERR_WASM_THREAD_LIMIT', 'ERR_WASM_JOB_NOT_A_FUNCTION' or 'ERR_WASM_CALL'.
   */
  readonly code: string;
  /** The export that failed; undefined for a job. */
  readonly exportName?: string;
  /** The job module that failed (run()); undefined for an export. */
  readonly jobUrl?: string;
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
