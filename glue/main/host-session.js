// The main-thread side of one host's life: the worker, the shared memory made for it, the
// MessageChannel of every pthread the host creates, the calls in flight, and the watchdog. A session ends
// exactly once: stopped on purpose (idle, shutdown) or failed (crash, hang, host exit).
// A fault (crash, hang, host exit) rejects the call the host was running, and the other
// pending calls of the same owner (their pointers refer to the dead memory); every other
// pending call never started, and is handed back to the supervisor with the failure, to
// be sent to the replacement unchanged. fail() on purpose (shutdown) rejects them all.
// Either way the worker is terminated, which takes the nested pthread workers with it,
// except after a crash that a warm restart can recover from: then the worker is handed to
// the next session (events.failed's last argument), which renews it (`reuse`): a new
// memory, new rings and channels, the same isolates (docs/ARCHITECTURE.md, "Warm restart").
//
// Output before results: every port that carries output (the host's output channel, one
// per pthread) is drained synchronously before a call settles, so what the call printed
// reaches the log sink first, whichever path its result took.
import { readCrashRecord, readProgress } from './crash-record.js';
import { cloneError } from './arguments.js';
import { WasmHangError, WasmHostStartError, WasmPanicError, WasmCallError, WasmPoolError } from './errors.js';
import { Watchdog } from './watchdog.js';
import { LOG_LEVELS, isHostMessage, isThreadMessage, toHost } from '../shared/protocol.cjs';
import { createWorker as createNodeWorker } from './worker-flags.js';
import { HostPreboot } from './host-preboot.js';
import { PendingCalls } from './pending-calls.js';
import { crashVerdict, hostDeathVerdict } from './crash-verdict.js';
import { DETECTORS } from './detectors.js';
import { CallRingClient, createCallRings } from '../shared/call-ring.cjs';
import { CancelRingWriter, createCancelRing } from '../shared/cancel-ring.cjs';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';

const HOST_URL = new URL('../host/host.cjs', import.meta.url);
// The host's own console goes through main's streams, but module output and logs come as
// messages so they can be routed to the user's log sink.
const HOST_WORKER_OPTIONS = Object.freeze({ stdout: false, stderr: false });

// How a pending call settles: settle(call, value) (#settle).
const resolveCall = (call, value) => call.resolve(value);
const rejectCall = (call, error) => call.reject(error);
const rejectWithHostError = (call, error) => call.reject(new WasmCallError({
  ...(call.job ? { jobUrl: call.job.url } : { exportName: call.name }), ...error }));

// Sorts answers collected flat (id, settle, value) by id: when an answer that came by message
// is among those from the ring (rare), so that none overtakes an earlier call's.
function sortAnswers(flat) {
  const answers = [];
  for (let i = 0; i < flat.length; i += 3) answers.push([flat[i], flat[i + 1], flat[i + 2]]);
  answers.sort((a, b) => a[0] - b[0]);
  flat.length = 0;
  for (const answer of answers) flat.push(...answer);
}

// The error for a call or job whose input cannot be sent to the host.
function cloneFailure(call, error) {
  return call.job ? new TypeError(`the input of the job ${call.job.url} cannot be sent to the pool host: ${error.message}`,
    { cause: error }) : cloneError(call.name, call.args, error);
}

/** Starts a host worker ahead of its session (host-preboot.js), as every host is started. */
export function prebootHost(createWorker = createNodeWorker) {
  return new HostPreboot(createWorker, HOST_URL, HOST_WORKER_OPTIONS);
}
// How long an orderly stop (exitThreadPool, then exit) may take before the host is
// terminated and the stop reported as a hang: a healthy pool joins its threads in
// milliseconds, so a host still there after this is stuck behind a spinning thread.
const STOP_DEADLINE_MS = 1000;
// How long a starting host may be silent before it counts as hung (the host itself gives
// its pool threads 10 s to start).
const START_SILENCE_MS = 10_000;
// How long a host-side "a pool thread died" waits for that thread's own, detailed notice.
// The notice normally wins by far; this only bounds the wait when it never comes, and must
// hold on a loaded machine.
const DEFERRED_CRASH_MS = 250;
// How long a renewed host may take to read 'renew' (its thread unwinds from the dead
// instance within a futex slice) before it is terminated and a new one started instead.
const RENEW_ACK_MS = 500;
// While calls are pending, how often main looks for wake-ups lost on the ring (a notified
// Atomics.waitAsync that never resolves: docs/ARCHITECTURE.md, "Wake-ups"). Answers seen
// unread at two looks in a row, with none written in between, were missed by main's wait:
// main reads them. Requests seen untaken at two looks while the host ran nothing were
// missed by the host's: main tells it (toHost.poll). Such a loss is rare
// (bench/js/ring-stress.js: one in hundreds of runs of 16,000 calls), but at the heartbeat's
// pace, where this net used to be, it held every call in flight for up to 250 ms; at this
// pace, 10-20 ms, for a timer that runs only while calls are pending.
const MISSED_WAKE_UP_MS = 10;

// A crashed host's worker, handed to the supervisor for the next session to renew, with the
// memory its instance used (the host may reset that memory in place). The supervisor only
// keeps it, or terminates it when nobody renews it.
class HandedOverHost {
  constructor(worker, memory) {
    this.worker = worker;
    this.memory = memory;
  }

  terminate() {
    return this.worker.terminate();
  }
}

export class HostSession {
  /** 'starting' | 'ready' | 'stopping' | 'stopped' | 'failed' */
  state = 'starting';
  /** The error that ended the session, when it failed. */
  failure = null;
  memory;
  threads;
  startMs = undefined;
  #worker;
  #ports = [];
  #pending;
  #nextId = 0;
  #runtime = null;
  #watchdog;
  #events;
  #ready;
  #exited;

  /**
   * @param {object} o
   * @param {{module: WebAssembly.Module, memoryLimits: {initial:number, maximum?:number}, glueUrl: string}} o.loaded
   * @param {number} o.threads
   * @param {number} o.maxExtraThreads pthreads the module may run besides the pool's
   * @param {number} o.heartbeatIntervalMs
   * @param {number} o.heartbeatTimeoutMs
   * @param {{log: Function, output: Function, failed: Function, settled: Function, stuck: Function, answered?: Function,
   *   counted?: (ok: boolean) => void}} o.events `counted`: each call's and job's outcome, once (stats)
   * @param {(url: URL, options: object) => import('node:worker_threads').Worker} [o.createWorker] starts the
   *   host worker (worker-flags.js's, under the process's Node flags); a fake one in unit tests
   * @param {HostPreboot | null} [o.preboot] a host worker already booting (prebootHost()), to use
   */
  constructor({ loaded, threads, maxExtraThreads, heartbeatIntervalMs, heartbeatTimeoutMs, detectors = new Set(DETECTORS),
    background = false, events, createWorker = createNodeWorker, reuse = null, restart = 'warm', preboot = null }) {
    this.threads = threads;
    this.#detectors = detectors;
    this.#events = events;
    this.#pending = new PendingCalls(events.counted);
    this.#heartbeatTimeoutMs = heartbeatTimeoutMs;
    this.#background = background;
    this.#createWorker = createWorker;
    this.#renewable = restart === 'warm' && loaded.patched;
    this.#hostData = {
      glueUrl: loaded.glueUrl,
      patched: loaded.patched,
      wasmUrl: loaded.wasmUrl,
      workerIsGlue: loaded.workerIsGlue === true,
      glueForm: loaded.glueForm ?? null,
      module: loaded.module,
      threads,
      threadLimit: threads + maxExtraThreads,
      heartbeatIntervalMs,
      // A renewed host that cannot reset its memory makes a new one like main's.
      memoryLimits: loaded.memoryLimits,
    };
    this.#memoryLimits = loaded.memoryLimits;
    this.#exited = new Promise((resolve) => {
      this.#exitedResolve = resolve;
    });
    if (reuse) this.#renew(reuse);
    else this.#startWorker(preboot);
    this.#watchdog = new Watchdog({
      timeoutMs: () => this.#hangTimeoutNow(),
      intervalMs: heartbeatIntervalMs,
      readProgress: () => readProgress(this.memory, this.#runtime?.progress),
      isBusy: () => this.#pending.size > 0 || this.state === 'starting',
      onHang: (silentMs, timeoutMs) => this.#fault(new WasmHangError(silentMs, timeoutMs)),
    });
    if (this.#detectors.has('watchdog')) this.#watchdog.start();
    this.#ready = new Promise((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    // A start failure also rejects ready(); nobody may be awaiting it yet.
    this.#ready.catch(() => {});
    this.#poolRunning = new Promise((resolve, reject) => {
      this.#poolRunningResolve = resolve;
      this.#poolRunningReject = reject;
    });
    this.#poolRunning.catch(() => {});
  }

  #background;
  #createWorker;
  #hostData;
  #memoryLimits;
  #exitedResolve;
  // This session's listeners on the worker, removed when the worker is handed over.
  #listeners = null;
  // Whether a crash may hand the worker to the next session (restart: 'warm', patched
  // glue, and no job ever ran here: a job's modules may hold on to the dead instance).
  #renewable;
  // While a handed-over worker has not yet read 'renew': the timer that gives up on it.
  #renewTimer = null;
  /** Whether this session renewed a worker handed over by the one before it. */
  warm = false;

  // What one host generation has of its own: the rings, the request port and the output
  // channel, whose far ends go to the host; and the memory (patched glue), which a renew
  // leaves to the host (its 'ready' says which memory its instance has).
  #openGeneration(memory = this.#newMemory()) {
    this.memory = memory;
    const cancelRing = createCancelRing();
    this.#cancelRing = new CancelRingWriter(cancelRing);
    const callRings = createCallRings();
    this.#ring = new CallRingClient(callRings);
    // Requests the ring cannot carry (call-ring.cjs); main never listens on its end.
    const requests = new MessageChannel();
    this.#requestPort = requests.port1;
    this.#requestPort.unref();
    const output = new MessageChannel();
    this.#outputPort = output.port1;
    this.#outputPort.on('message', (message) => this.#onHostMessage(message));
    this.#outputPort.unref();
    return {
      generation: { cancelRing, callRings, requestPort: requests.port2, outputPort: output.port2 },
      transferList: [requests.port2, output.port2],
    };
  }

  // Patched glue gets its memory from main, so main can read the crash record and the
  // progress counters even after the host is gone; other glue makes its own.
  #newMemory() {
    if (!this.#hostData.patched) return null;
    return new WebAssembly.Memory({ initial: this.#memoryLimits.initial, maximum: this.#memoryLimits.maximum, shared: true });
  }

  // `preboot`: a host worker already booting (a manager's first start), given its start
  // data now; otherwise, or if it died meanwhile, a new worker.
  #startWorker(preboot = null) {
    const { generation, transferList } = this.#openGeneration();
    const data = { ...this.#hostData, ...generation, memory: this.memory };
    this.#attach(preboot?.take(data, transferList) ??
      this.#createWorker(HOST_URL, { workerData: data, transferList, ...HOST_WORKER_OPTIONS }));
  }

  // A worker whose instance died of a crash, handed over by the session before: it makes a
  // new generation in the same isolates. Until it said it read 'renew', what comes on its
  // parent port is the old generation's, and is ignored; if it does not say so in time
  // (its thread is stuck in the dead instance), it is terminated and a new host started.
  // Until 'ready', this session's memory is the dead generation's (nothing reads it then).
  #renew({ worker, memory }) {
    this.warm = true;
    const { generation, transferList } = this.#openGeneration(memory);
    this.#attach(worker);
    worker.postMessage(toHost.renew(generation), transferList);
    this.#renewTimer = setTimeout(() => this.#renewFailed(), RENEW_ACK_MS);
    this.#renewTimer.unref();
  }

  // A handed-over worker that died, failed to renew, or one of whose threads died, before
  // its new generation was ready: a new host instead, the calls waiting for this one
  // unharmed. False when this is not a renew in progress.
  #renewDied() {
    if (!this.warm || this.state !== 'starting') return false;
    this.#renewFailed();
    return true;
  }

  #renewFailed() {
    clearTimeout(this.#renewTimer);
    this.#renewTimer = null;
    if (this.state !== 'starting') return;
    this.warm = false;
    const worker = this.#detach();
    worker.terminate();
    this.#closeGenerationPorts();
    this.#startWorker();
    if (this.#held) this.#worker.ref();
  }

  #attach(worker) {
    this.#worker = worker;
    // A host started in the background (a replacement after a crash) must not keep the
    // process alive; hold() refs it as soon as someone waits for it.
    if (this.#background) worker.unref();
    this.#listeners = {
      message: (message) => {
        if (this.#renewTimer) {
          if (message?.type === 'renewing') {
            clearTimeout(this.#renewTimer);
            this.#renewTimer = null;
          }
          return;
        }
        this.#onHostMessage(message);
      },
      error: (error) => this.#onHostError(error),
      exit: (code) => {
        this.#onHostExit(code);
        this.#exitedResolve(code);
      },
    };
    for (const [event, listener] of Object.entries(this.#listeners)) worker.on(event, listener);
  }

  // Takes this session's listeners off the worker: it is someone else's from now on.
  #detach() {
    const worker = this.#worker;
    for (const [event, listener] of Object.entries(this.#listeners)) worker.off(event, listener);
    return worker;
  }

  #readyResolve;
  #readyReject;
  #outputPort;
  #deferredCrash = null;
  // How many calls the last answers settled at once (1: a caller making one call at a time).
  #lastBatch = 0;
  // An answer read from the ring, to settle in id order with those that came by message.
  #collectAnswer = (id, value) => this.#collect(id, resolveCall, value);
  #answeredAt = 0; // when the host last answered, or went from no call pending to one
  #missedWakeUpTimer = null; // runs while calls are pending (MISSED_WAKE_UP_MS)
  #unreadMark = -1; // the answer ring's head at the last look, when answers were unread
  #untakenMark = -1; // the request ring's tail at the last look, when requests were untaken
  #pokedAt = -1; // the tail when main last told the host to poll (once per stall)
  #cancelRing;
  #ring;
  #requestPort;
  // Requests that found the ring full (or a backlog before them), in order (#place).
  #backlog = [];
  // While #takeAnswers runs: the answers found, settled at its end in id order (calls sent
  // from what settles there must not spin meanwhile). Flat, three slots per answer (id,
  // settle, value): no object per answer (at 64 calls in flight these were a tenth of what
  // main allocated per call). #collectedInOrder: whether the ids came in ascending order,
  // as the ring gives them; only an answer by message among them needs a sort.
  #collected = null;
  #collectedInOrder = true;
  #heartbeatTimeoutMs;
  #hostPthread = 0;
  // Which evidence of a death this session acts on (detectors.js).
  #detectors;
  // Set when the host reported a death that this session does not act on (heartbeat-only):
  // from then on the host counts as silent, as one stuck waiting for the dead thread would.
  #hostSilenced = false;

  /**
   * Resolves once the host takes calls (its pool's threads may still be starting); rejects
   * with the error that ended the session.
   */
  ready() {
    return this.#ready;
  }

  /**
   * Resolves once every pool thread runs as well (manager.start() waits for this); keeps
   * the process alive until then, since someone waits for it.
   */
  poolRunning() {
    if (this.state === 'ready' && !this.#poolStarted) this.#worker.ref();
    return this.#poolRunning;
  }

  #poolRunning;
  #poolRunningResolve;
  #poolRunningReject;

  /** Keeps the process alive until the host is ready: someone is waiting for it. */
  hold() {
    this.#held = true;
    if (this.state === 'starting') this.#worker.ref();
  }

  #held = false;

  /** Whether the host ever became ready (a start failure is not a crash worth a restart). */
  get wasReady() {
    return this.startMs !== undefined;
  }

  get pendingCount() {
    return this.#pending.size;
  }

  /**
   * How long the host has answered none of the calls pending on it (0 when none is): a host
   * silent for long runs a long call, or hangs, and the dispatcher queues no more work
   * behind it.
   */
  get silentMs() {
    return this.#pending.size === 0 ? 0 : performance.now() - this.#answeredAt;
  }

  /**
   * Forwards one export call. A failure is always a rejection: an argument that cannot be
   * structured-cloned rejects with a TypeError, and nothing is sent.
   * @param {{hangTimeoutMs?: number}} [limits] the hang timeout while this call runs
   *   (Infinity: none); the session's heartbeatTimeoutMs by default
   */
  call(name, args, owner, limits = {}) {
    return this.#send({ name, args, owner, hangTimeoutMs: limits.hangTimeoutMs });
  }

  /** Runs the job module `url` in the host with `input` (manager.run()). */
  runJob(url, input, owner, { hangTimeoutMs, transferList } = {}) {
    return this.#send({ name: `the job ${url}`, job: { url, input }, owner, hangTimeoutMs }, transferList);
  }

  // A call that fits in the ring goes out with nothing made for it but its PendingCall and
  // promise; the request record the other ways need is made only when one is taken.
  #send(call, transferList) {
    if (this.state !== 'ready') {
      this.#events.counted?.(false);
      return Promise.reject(this.failure ?? new WasmPoolError(`the pool host is ${this.state}`, { code: 'ERR_WASM_HOST_GONE' }));
    }
    const id = ++this.#nextId;
    const idle = this.#pending.size === 0;
    // Into the call ring when it fits; by message (its place marked in the ring) otherwise.
    // Behind a backlog, everything waits its turn; what goes by message is posted now all
    // the same (a job's moved input moves now, and a clone failure rejects now).
    try {
      const byMessage = call.job !== undefined || transferList?.length > 0;
      if (this.#backlog.length > 0) {
        const request = { id, call, transferList, posted: false };
        if (byMessage) this.#post(request);
        this.#backlog.push(request);
      } else {
        const sent = byMessage ? 'message' : this.#ring.sendCall(id, call.name, call.args);
        if (sent !== 'sent') {
          const request = { id, call, transferList, posted: false };
          if (this.#place(request, sent) === 'full') this.#backlog.push(request);
        }
      }
    } catch (error) {
      this.#events.counted?.(false);
      return Promise.reject(cloneFailure(call, error));
    }
    // Moved input cannot be sent again: such a job is not handed back after a fault.
    if (transferList?.length) call.transferred = true;
    if (call.job) this.#renewable = false;
    const settled = this.#pending.add(id, call);
    if (idle) {
      this.#answeredAt = performance.now();
      this.#worker.ref();
      this.#watchdog.alive(); // now busy: the watchdog checks at the pace of this call's timeout
      this.#watchForMissedWakeUps();
    }
    // One call at a time: its answer usually comes within microseconds (call-ring.cjs). A
    // caller whose last answers came several at once has calls in flight: the first call
    // of its next burst finds nothing pending, but spinning for its answer would only hold
    // back the calls still to come in this turn.
    if (idle && this.#lastBatch <= 1 && this.#collected === null && this.#ring.spinForAnswer()) this.#takeAnswers();
    else this.#awaitAnswers();
    return settled;
  }

  #watchForMissedWakeUps() {
    if (this.#missedWakeUpTimer) return;
    this.#unreadMark = -1;
    this.#untakenMark = -1;
    this.#missedWakeUpTimer = setInterval(() => this.#lookForMissedWakeUps(), MISSED_WAKE_UP_MS);
    this.#missedWakeUpTimer.unref();
  }

  #stopWatchingForMissedWakeUps() {
    clearInterval(this.#missedWakeUpTimer);
    this.#missedWakeUpTimer = null;
  }

  #lookForMissedWakeUps() {
    if (this.#pending.size === 0 || (this.state !== 'ready' && this.state !== 'stopping')) {
      this.#stopWatchingForMissedWakeUps();
      return;
    }
    this.#lookForUntakenRequests();
    // Not while a read is under way (it takes them), nor when nothing is unread.
    if (this.#collected !== null || !this.#ring.answersWaiting) {
      this.#unreadMark = -1;
      return;
    }
    const mark = this.#ring.answersMark();
    if (mark !== this.#unreadMark) {
      this.#unreadMark = mark; // unread now; missed if still so at the next look
      return;
    }
    this.#unreadMark = -1;
    this.#ring.abandonWait();
    this.#takeAnswers();
  }

  // A host running a call or a job takes no requests meanwhile, rightly; one running
  // nothing takes them within a millisecond of its wake-up.
  #lookForUntakenRequests() {
    if (!this.#ring.requestsWaiting || this.#ring.running() !== 0) {
      this.#untakenMark = -1;
      return;
    }
    const mark = this.#ring.requestsMark();
    if (mark !== this.#untakenMark) {
      this.#untakenMark = mark;
      return;
    }
    if (this.#pokedAt === mark) return;
    this.#pokedAt = mark;
    this.#worker.postMessage(toHost.poll());
  }

  #awaitAnswers() {
    this.#ring.waitForAnswers()?.then(() => {
      if (this.state === 'ready' || this.state === 'stopping') this.#takeAnswers();
    });
  }

  // Settles every call answered so far, in the order the host ran them (id order), after
  // the output channel and the threads' ports were drained: output before results. Answers
  // come two ways, the answer ring and messages on the output channel (errors, large
  // results); both are collected first and settled together, so a call answered by
  // message never overtakes an earlier one answered in the ring. Re-entered when what is
  // drained ends the session (a crash notice): the inner call settles everything
  // collected so far before the session hands its other calls back.
  #takeAnswers(firstId = 0, firstSettle = null, firstValue = undefined) {
    if (this.#hostSilenced) return;
    const outer = this.#collected === null;
    if (outer) {
      this.#collected = [];
      this.#collectedInOrder = true;
    }
    if (firstSettle) this.#collect(firstId, firstSettle, firstValue);
    let answered = 0;
    try {
      // The mark first, then the ports, then the answers up to the mark (answersMark());
      // again while answers came meanwhile.
      for (let mark = this.#ring.answersMark(), last = null; mark !== last; last = mark, mark = this.#ring.answersMark()) {
        this.#drainOutput();
        this.#ring.takeAnswers(this.#collectAnswer, mark);
      }
      const batch = this.#collected;
      this.#collected = [];
      if (!this.#collectedInOrder) sortAnswers(batch);
      this.#collectedInOrder = true;
      answered = batch.length / 3;
      for (let i = 0; i < batch.length; i += 3) this.#settle(batch[i], batch[i + 1], batch[i + 2]);
    } finally {
      if (outer) this.#collected = null;
    }
    if (answered > 0) {
      this.#answeredAt = performance.now();
      this.#lastBatch = answered;
      this.#watchdog.alive();
      this.#flushBacklog();
      this.#events.answered?.(); // a host silent until now may take queued work again
    }
    if (outer && this.#pending.size > 0 && (this.state === 'ready' || this.state === 'stopping')) this.#awaitAnswers();
  }

  #collect(id, settle, value) {
    const collected = this.#collected;
    if (collected.length > 0 && collected[collected.length - 3] > id) this.#collectedInOrder = false;
    collected.push(id, settle, value);
  }

  // Puts a request into the call ring, or posts it on the request port and marks its place
  // in the ring; 'full' when the ring has no room for it now. Throws what postMessage
  // throws for what cannot be cloned.
  // `refused`: what the ring said to this request a moment ago (#send), not asked again.
  #place(request, refused = undefined) {
    if (!request.posted) {
      const { id, call, transferList } = request;
      const sent = call.job || transferList?.length ? 'message' : refused ?? this.#ring.sendCall(id, call.name, call.args);
      if (sent !== 'message') return sent;
      this.#post(request);
    }
    return this.#ring.sendByPort(request.id) ? 'sent' : 'full';
  }

  #post(request) {
    const { id, call } = request;
    this.#requestPort.postMessage(call.job ? toHost.job(id, call.job.url, call.job.input) : toHost.call(id, call.name, call.args),
      request.transferList);
    request.posted = true;
  }

  // The ring had no room: the host has taken requests since (it answered some).
  #flushBacklog() {
    while (this.#backlog.length > 0) {
      const request = this.#backlog[0];
      let sent;
      try {
        sent = this.#place(request);
      } catch (error) {
        sent = 'failed';
        this.#settle(request.id, rejectCall, cloneFailure(request.call, error));
      }
      if (sent === 'full') return;
      this.#backlog.shift();
    }
  }

  // The host runs calls in order, so the oldest pending call is the one running now. A
  // start is not a call: it loads files and boots workers, which a loaded machine can slow
  // down well past a short heartbeat timeout, so it gets at least START_SILENCE_MS.
  #hangTimeoutNow() {
    if (this.state === 'starting') return Math.max(this.#heartbeatTimeoutMs, START_SILENCE_MS);
    // Until every pool thread runs, a call that uses the pool waits for them with the host
    // blocked (no heartbeat) and no task finished (no progress): the start's allowance
    // still applies. Main reads the threads' count in shared memory itself: the host's
    // 'pool-running' waits for its event loop, which such a call blocks.
    const timeout = this.#pending.hangTimeoutMs(this.#heartbeatTimeoutMs);
    return this.#poolHasStarted() ? timeout : Math.max(timeout, START_SILENCE_MS);
  }

  #poolStarted = false;

  #poolHasStarted() {
    const address = this.#runtime?.startedWorkers;
    if (!this.#poolStarted && this.memory && typeof address === 'number') {
      this.#poolStarted = Atomics.load(new Int32Array(this.memory.buffer, address, 1), 0) >= this.threads;
    }
    return this.#poolStarted;
  }

  /**
   * Rejects (and forgets) the calls `owner` still waits for. Returns whether one of them
   * is the call the host is running now: the host answers in order, so the oldest
   * unanswered call is the running one. That call cannot be interrupted; only replacing
   * the host stops it (see detachQueued()).
   */
  abandon(owner, error) {
    const running = this.#pending.abandon(owner, error, (id) => this.#cancelQueued(id));
    this.#afterSettle();
    return running;
  }

  #cancelQueued(id) {
    this.#cancelRing.cancel(id);
  }

  /**
   * Ends the session to stop the call it is running, handing back the calls queued behind
   * it: they never started, so they can be sent to a fresh host unchanged.
   */
  detachQueued() {
    const queued = this.#pending.takeAll();
    this.state = 'stopped';
    this.#watchdog.stop();
    this.#worker.terminate();
    this.#closePorts();
    return queued;
  }

  /** A view of the host's heap: main reads and writes it directly, no copy. */
  view(Type, byteOffset, length) {
    return new Type(this.memory.buffer, byteOffset, length);
  }

  /**
   * Ends the session on purpose: exitThreadPool() in the host, then the worker exits.
   * `keepAlive` holds the process open until then (an awaited shutdown()); an idle stop
   * does not, so an idle pool never delays the process's exit. A host that has not exited
   * STOP_DEADLINE_MS later is stuck (a pool thread spinning while nobody waited for it):
   * it is terminated and reported through events.stuck as a WasmHangError. Resolves once
   * the worker and every thread nested in it are gone.
   */
  stop({ keepAlive = false } = {}) {
    if (this.state === 'stopped' || this.state === 'failed') return this.#exited;
    // One stop at a time: a second caller (shutdown() during an idle stop) waits for the
    // first, with its deadline, and only decides whether the process waits for it too.
    if (this.#stopping) {
      if (keepAlive) {
        this.#worker.ref();
        this.#stopTimer?.ref();
      }
      return this.#stopping;
    }
    this.#stopping = this.#stop(keepAlive);
    return this.#stopping;
  }

  #stopping = null;
  #stopTimer = null;

  async #stop(keepAlive) {
    const wasStarting = this.state === 'starting';
    this.state = 'stopping';
    this.#watchdog.stop();
    if (wasStarting) {
      this.#readyReject(new WasmHostStartError('the pool was shut down while it was starting'));
      this.#poolRunningReject(new WasmHostStartError('the pool was shut down while it was starting'));
      await this.#worker.terminate();
    } else {
      if (keepAlive) this.#worker.ref();
      this.#worker.postMessage(toHost.terminate());
      // A pool whose threads are still starting is joined once they have: the start's
      // allowance, not a stop's.
      const deadline = this.#poolHasStarted() ? Math.min(STOP_DEADLINE_MS, this.#heartbeatTimeoutMs) : START_SILENCE_MS;
      this.#stopTimer = setTimeout(() => {
        this.#worker.terminate();
        this.#events.stuck?.(this, new WasmHangError(deadline, deadline, 'stop'));
      }, deadline);
      if (!keepAlive) this.#stopTimer.unref();
      await this.#exited;
      clearTimeout(this.#stopTimer);
    }
    this.state = 'stopped';
    this.#closePorts();
  }

  /** Ends the session on purpose (shutdown): every call in flight rejects with `error`. */
  fail(error) {
    this.#end(error, false);
  }

  // Ends the session because of a fault (crash, hang, host exit): only the call that was
  // running, and its owner's other calls, reject; the rest never started and are handed
  // back through events.failed.
  // `renewable`: a crash the host thread comes back from (not a hang, not the worker's own
  // death), so the worker can be handed to the next session instead of terminated.
  #fault(error, renewable = false) {
    this.#end(error, true, renewable);
  }

  #end(error, handBack, renewable = false) {
    if (this.state === 'failed' || this.state === 'stopped') return;
    const wasStarting = this.state === 'starting';
    this.state = 'failed';
    this.failure = error;
    this.#watchdog.stop();
    this.#stopWatchingForMissedWakeUps();
    if (this.#renewTimer) clearTimeout(this.#renewTimer);
    // The host marks the call it runs in shared memory and leaves the mark when the
    // instance dies in it: a call still in the ring, or queued in the host, is not it.
    const runningId = this.#ring.running();
    let handedOver = null;
    if (renewable && handBack && this.#renewable && !wasStarting) {
      handedOver = new HandedOverHost(this.#detach(), this.memory);
      // Kept alive by whoever renews it, not by this session's pending calls.
      handedOver.worker.unref();
      this.#exitedResolve(null);
    } else {
      this.#worker.terminate();
    }
    // Calls that finished before the end are answered, not re-run: their answers are in the
    // ring (main's memory) or on the output channel.
    if (!wasStarting) this.#takeAnswers();
    this.#backlog.length = 0;
    this.#closePorts();
    if (wasStarting) this.#readyReject(error);
    this.#poolRunningReject(error);
    const queued = this.#pending.endWith(error, { handBack, runningId });
    this.#events.failed(this, error, queued, handedOver);
  }

  /** Waits until the worker (and its pthread workers) are gone. */
  exited() {
    return this.#exited;
  }

  // The host is gone or going: its ports close, and main's wait on the call ring is
  // released (the calls still pending are settled by whatever ended the session).
  #closePorts() {
    for (const { port } of this.#ports) port.close();
    this.#closeGenerationPorts();
  }

  #closeGenerationPorts() {
    this.#outputPort.close();
    this.#requestPort.close();
    this.#ring.release();
  }

  // Takes every message already sent on the output channel and the threads' channels and
  // acts on it now, in order per port: output a call produced before it returned was
  // posted before its result, but on other ports, which Node delivers in no set order.
  #drainOutput() {
    for (let m = receiveMessageOnPort(this.#outputPort); m; m = receiveMessageOnPort(this.#outputPort)) {
      this.#onHostMessage(m.message);
    }
    this.#drainThreadPorts();
  }

  #drainThreadPorts() {
    for (const { channel, port } of this.#ports) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) this.#onThreadMessage(channel, m.message);
    }
  }

  #afterSettle() {
    if (this.#pending.size === 0) {
      this.#worker.unref();
      this.#events.settled(this);
    }
  }

  // Settles call `id` with settle(call, value) (the output before it was drained by
  // #takeAnswers).
  #settle(id, settle, value) {
    const call = this.#pending.take(id);
    if (!call) return; // abandoned by an aborted or timed-out execute(), or ended with the session
    this.#events.timing?.(performance.now() - call.sentAt);
    settle(call, value);
    this.#afterSettle();
  }

  #onHostMessage(message) {
    if (this.#hostSilenced) return;
    if (!isHostMessage(message)) return this.#malformed('the host', message);
    this.#watchdog.alive();
    switch (message.type) {
      case 'heartbeat':
        // Evidence of life only (the watchdog, above). Answers main's wait missed are found
        // by #lookForMissedWakeUps, which runs whenever calls are pending.
        break;
      case 'result':
        this.#takeAnswers(message.id, resolveCall, message.value);
        break;
      case 'error':
        this.#takeAnswers(message.id, rejectWithHostError, message.error);
        break;
      case 'ready':
        if (message.memory) this.memory = message.memory;
        this.#runtime = message.runtime;
        this.#hostPthread = message.hostPthread;
        this.startMs = message.startMs;
        if (this.state === 'starting') {
          this.state = 'ready';
          // Someone waiting for the pool's threads (manager.start()) is kept waiting with
          // the process alive until they run.
          if (message.poolRunning) {
            this.#poolStarted = true;
            this.#worker.unref();
            this.#poolRunningResolve();
          }
          this.#readyResolve();
        }
        break;
      case 'pool-running':
        this.#poolStarted = true;
        if (this.state === 'ready') this.#worker.unref();
        this.#poolRunningResolve();
        break;
      case 'start-failed': {
        // A renewed host that could not make its new instance: a new host, then.
        if (this.#renewDied()) break;
        const error = new WasmHostStartError(`the pool host failed to start: ${message.error.message}`,
          Object.assign(new Error(message.error.message), message.error));
        // After 'ready', its pool's threads did not all start: a fault, whose calls not yet
        // running go to the replacement.
        if (this.state === 'ready') this.#fault(error);
        else this.fail(error);
        break;
      }
      case 'crash':
        if (this.#detectors.has('host-report')) this.#crashed({ ...message, source: 'host' });
        else this.#hostSilenced = true;
        break;
      case 'stdout':
      case 'stderr':
        this.#events.output(message.type, message.text);
        break;
      case 'log-host':
        this.#events.log({ ...message.entry, level: LOG_LEVELS[message.entry.level] ?? String(message.entry.level) });
        break;
      case 'thread-port':
        this.#addThreadPort(message.channel, message.port);
        break;
      case 'thread-limit':
        this.#events.log({ level: 'warn', thread: -1, time: Date.now(),
          message: `the host refused to start a thread: ${message.live} threads are alive and the limit is ` +
            `${message.limit} (the pool's threads plus options.maxExtraThreads); pthread_create returned EAGAIN` });
        break;
      default:
        break;
    }
  }

  // Every pthread worker the host creates (pool threads, threads the module starts itself)
  // comes with its own channel; the host hands main one end as the worker is made.
  #addThreadPort(channel, port) {
    if (this.state === 'stopped' || this.state === 'failed') {
      port.close();
      return;
    }
    port.on('message', (message) => this.#onThreadMessage(channel, message));
    port.unref();
    this.#ports.push({ channel, port });
  }

  // A message that does not match protocol.cjs is a bug on the other side: said, not acted on.
  #malformed(from, message) {
    this.#events.log({ level: 'warn', thread: -1, time: Date.now(),
      message: `wasm-threadpool: ignored a malformed message from ${from}: ${JSON.stringify(message)?.slice(0, 200)}` });
  }

  #onThreadMessage(channel, message) {
    if (!isThreadMessage(message)) return this.#malformed(`thread channel ${channel}`, message);
    switch (message.type) {
      case 'crash':
        if (this.#detectors.has('thread-ports')) this.#crashed({ ...message, source: 'port' });
        break;
      case 'output':
        this.#events.output(message.stream, message.text, message.thread, message.pthread);
        break;
      case 'log':
        this.#watchdog.alive();
        this.#events.log({ ...message, level: LOG_LEVELS[message.level] ?? String(message.level) });
        break;
      default:
        break;
    }
  }

  #crashed({ thread, pthread, kind, message, stack, source, deferred, exiting }) {
    if (deferred) {
      // The host only knows that some thread died; that thread's own notice is on its
      // way over its port (or already in the crash record). Give it a moment to win.
      if (this.#deferredCrash) return;
      this.#deferredCrash = setTimeout(() => this.#crashed({ thread, pthread, kind, message, stack, source }),
        DEFERRED_CRASH_MS);
      this.#deferredCrash.unref();
      return;
    }
    if (source === 'host') {
      // A thread that died posted its own notice before the host could learn of it (from
      // the worker's 'error' event, or its crash flag), but on another port, and Node
      // delivers ports in no set order: the thread's notice, which knows more, wins.
      this.#drainThreadPorts();
      if (this.state === 'failed' || this.state === 'stopped') return;
    }
    if (this.#deferredCrash) clearTimeout(this.#deferredCrash);
    // While a renewed host makes its new generation: whatever died, a new host instead.
    if (this.#renewDied()) return;
    this.#fault(new WasmPanicError(crashVerdict({ notice: { thread, pthread, kind, message, stack, source },
      record: this.#crashRecord(), hostPthread: this.#hostPthread })), exiting !== true);
  }

  // The worker itself died (an uncaught error) or exited: a crash of the host, unless
  // a thread already told how it died.
  #hostDied(message, cause) {
    this.#fault(new WasmPanicError(hostDeathVerdict({ message, cause, record: this.#crashRecord(),
      hostPthread: this.#hostPthread })));
  }

  // Readable after the host and all its threads are gone: main keeps the memory.
  #crashRecord() {
    return readCrashRecord(this.memory, this.#runtime?.crashRecord);
  }

  #onHostError(error) {
    if (this.#renewDied()) return;
    if (!this.#detectors.has('worker-exit')) return;
    this.#hostDied(`the pool host died: ${error?.message ?? error}`, error);
  }

  #onHostExit(code) {
    if (this.#renewDied()) return;
    if (!this.#detectors.has('worker-exit')) return;
    if (this.state === 'stopping' || this.state === 'stopped' || this.state === 'failed') return;
    this.#hostDied(`the pool host exited unexpectedly with code ${code}`);
  }
}
