// The host lifecycle, without Emscripten: HostSupervisor driven through fake sessions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostSupervisor } from '../../../glue/main/supervisor.js';
import { WasmHangError, WasmPanicError, WasmShutdownError } from '../../../glue/main/errors.js';
import { FakeWorker, fakeFactory, flush } from './fake-session.js';

function supervise({ standby = false, idleTimeoutMs = 10_000, active = () => false } = {}) {
  const factory = fakeFactory();
  const events = { started: [], faults: [], idle: 0 };
  const supervisor = new HostSupervisor({
    createSession: factory.createSession,
    idleTimeoutMs,
    standby,
    notify: {
      started: (info) => events.started.push(info),
      fault: (error) => {
        if (error.code !== 'ERR_WASM_PANIC' && error.code !== 'ERR_WASM_HANG') return false;
        events.faults.push(error);
        return true;
      },
      idle: () => events.idle++,
      isActive: active,
    },
  });
  return { supervisor, sessions: factory.sessions, events };
}

// A supervisor whose first host is ready (and, with standby, its standby too).
async function withReadyHost(options = {}) {
  const made = supervise(options);
  const first = made.supervisor.acquire();
  await flush();
  made.sessions[0].becomeReady();
  await first;
  if (options.standby) {
    await flush();
    made.sessions[1].becomeReady();
  }
  return made;
}

const panic = () => new WasmPanicError({ thread: 0, kind: 'trap', message: 'unreachable' });

test('acquire() starts one host for concurrent callers and holds it while they wait', async () => {
  const { supervisor, sessions, events } = supervise();
  assert.equal(supervisor.state, 'none');
  const a = supervisor.acquire();
  const b = supervisor.acquire();
  await flush();
  assert.equal(supervisor.state, 'starting');
  assert.equal(sessions.length, 1);
  assert.ok(sessions[0].held, 'a caller waits: the host keeps the process alive');
  sessions[0].becomeReady();
  assert.equal(await a, sessions[0]);
  assert.equal(await b, sessions[0]);
  assert.equal(supervisor.state, 'ready');
  assert.deepEqual(events.started.map((e) => e.restart), [false]);
  assert.equal(await supervisor.acquire(), sessions[0], 'the ready host is reused');
});

test('a start failure rejects the callers, leaves no host, and the next acquire() tries again', async () => {
  const { supervisor, sessions, events } = supervise();
  const first = supervisor.acquire();
  await flush();
  sessions[0].failStart(new Error('glue not patched'));
  await assert.rejects(first, /glue not patched/);
  assert.equal(supervisor.state, 'none');
  assert.equal(events.faults.length, 0, 'a start failure is not a crash');
  assert.equal(sessions.length, 1, 'no restart loop after a start failure');
  const second = supervisor.acquire();
  await flush();
  sessions[1].becomeReady();
  assert.equal(await second, sessions[1]);
});

test('a crash of a ready host reports the fault and starts a replacement in the background', async () => {
  const { supervisor, sessions, events } = supervise();
  const first = supervisor.acquire();
  await flush();
  sessions[0].becomeReady();
  await first;
  sessions[0].crash(panic());
  assert.equal(events.faults.length, 1);
  assert.equal(supervisor.state, 'replacing');
  await flush();
  assert.equal(sessions.length, 2);
  assert.equal(sessions[1].background, true, 'nobody waits for it yet: it does not hold the process');
  assert.equal(sessions[1].held, false);
  const next = supervisor.acquire();
  assert.ok(sessions[1].held, 'now someone waits');
  sessions[1].becomeReady();
  assert.equal(await next, sessions[1]);
  assert.deepEqual(events.started.map((e) => e.restart), [false, true]);
});

test('standby: a second host is kept; a crash promotes it at once and a new standby starts', async () => {
  const { supervisor, sessions, events } = supervise({ standby: true });
  const first = supervisor.acquire();
  await flush();
  sessions[0].becomeReady();
  await first;
  await flush();
  assert.equal(sessions.length, 2, 'the standby was started');
  assert.equal(supervisor.standbyState, 'starting');
  sessions[1].becomeReady();
  assert.equal(supervisor.standbyState, 'ready');
  sessions[0].crash(new WasmHangError(500, 500));
  assert.equal(supervisor.current, sessions[1], 'promoted without waiting');
  await flush();
  assert.equal(events.started.at(-1).standby, true);
  assert.equal(sessions.length, 3, 'a new standby');
  assert.equal(supervisor.standbyStarts, 2);
});

test('recycle: the running host is replaced and its queued calls are re-sent to the new one', async () => {
  const { supervisor, sessions } = supervise({ active: () => true });
  const first = supervisor.acquire();
  await flush();
  sessions[0].becomeReady();
  await first;
  const queued = [{ name: 'f', reject: () => {} }];
  sessions[0].queued = queued;
  let resent = null;
  assert.equal(supervisor.recycle(sessions[0], (fresh, calls) => {
    resent = { fresh, calls };
  }), true);
  assert.equal(supervisor.state, 'replacing');
  await flush();
  sessions[1].becomeReady();
  await flush();
  assert.equal(resent.fresh, sessions[1]);
  assert.equal(resent.calls, queued);
  assert.equal(supervisor.recycle(sessions[0], () => {}), false, 'an old host is not recycled twice');
});

test('idle: the host is stopped after idleTimeoutMs with nothing active, not while a call is pending', async () => {
  let active = true;
  const { supervisor, sessions, events } = supervise({ idleTimeoutMs: 20, active: () => active });
  const first = supervisor.acquire();
  await flush();
  sessions[0].becomeReady();
  await first;
  supervisor.checkIdle();
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.equal(sessions[0].stopped, false, 'an execute is active');
  active = false;
  sessions[0].pendingCount = 1;
  supervisor.checkIdle();
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.equal(sessions[0].stopped, false, 'a call is pending');
  sessions[0].settle();
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.equal(sessions[0].stopped, true);
  assert.equal(events.idle, 1);
  assert.equal(supervisor.state, 'none');
});

test('shutdown: pending calls fail, idle hosts stop, every host is awaited, later acquire() is refused', async () => {
  const { supervisor, sessions } = supervise({ standby: true });
  const first = supervisor.acquire();
  await flush();
  sessions[0].becomeReady();
  await first;
  await flush();
  sessions[0].pendingCount = 2;
  const error = new WasmShutdownError('shut down while pending');
  await supervisor.shutdown(error);
  assert.equal(sessions[0].failure, error);
  assert.equal(sessions[1].stopped, true, 'the standby stopped too');
  assert.equal(supervisor.state, 'shut-down');
  await assert.rejects(supervisor.acquire(), WasmShutdownError);
});

test('a stop that overran is reported as a fault', async () => {
  const { supervisor, sessions, events } = supervise();
  const first = supervisor.acquire();
  await flush();
  sessions[0].becomeReady();
  await first;
  sessions[0].stuckStop(new WasmHangError(1000, 1000, 'stop'));
  assert.equal(events.faults.length, 1);
  assert.equal(events.faults[0].during, 'stop');
});

function superviseWithResend(options) {
  const resent = [];
  const factory = fakeFactory();
  const events = { faults: [] };
  const supervisor = new HostSupervisor({
    createSession: factory.createSession,
    idleTimeoutMs: 10_000,
    standby: false,
    ...options,
    notify: {
      started: () => {},
      fault: (error) => {
        if (error.code !== 'ERR_WASM_PANIC' && error.code !== 'ERR_WASM_HANG') return false;
        events.faults.push(error);
        return true;
      },
      idle: () => {},
      isActive: () => true,
    },
    resend: (fresh, calls) => resent.push({ fresh, calls }),
  });
  return { supervisor, sessions: factory.sessions, events, resent };
}

test('a fault hands the calls that had not started to the replacement, once it is ready', async () => {
  const { supervisor, sessions, resent } = superviseWithResend();
  const first = supervisor.acquire();
  await flush();
  sessions[0].becomeReady();
  await first;
  const handedBack = [{ name: 'add', reject: () => assert.fail('not rejected') }];
  sessions[0].crash(panic(), handedBack);
  assert.equal(supervisor.state, 'replacing');
  await flush();
  assert.equal(sessions.length, 2, 'the replacement was started');
  assert.ok(sessions[1].held, 'calls wait for it: it keeps the process alive');
  assert.equal(resent.length, 0, 'nothing is sent before the replacement is ready');
  sessions[1].becomeReady();
  await flush();
  assert.equal(resent.length, 1);
  assert.equal(resent[0].fresh, sessions[1]);
  assert.equal(resent[0].calls, handedBack);
  assert.equal(supervisor.current, sessions[1]);
});

test('calls handed back by a fault are rejected when the replacement fails to start or the pool shuts down', async () => {
  const { supervisor, sessions } = superviseWithResend();
  const first = supervisor.acquire();
  await flush();
  sessions[0].becomeReady();
  await first;
  const rejected = [];
  sessions[0].crash(panic(), [{ name: 'a', reject: (e) => rejected.push(e) }]);
  await flush();
  sessions[1].failStart(new Error('no memory for a new host'));
  await flush();
  assert.deepEqual(rejected.map((e) => e.message), ['no memory for a new host']);
  // A shutdown before the replacement was started: the handed-back calls are refused.
  const second = supervisor.acquire();
  await flush();
  sessions[2].becomeReady();
  await second;
  sessions[2].crash(panic(), [{ name: 'b', reject: (e) => rejected.push(e) }]);
  await supervisor.shutdown(new WasmShutdownError());
  await flush();
  assert.equal(rejected.length, 2);
  assert.ok(rejected[1] instanceof WasmShutdownError);
  assert.equal(sessions.length, 3, 'no replacement after shutdown');
});

test('warm restart: the worker a crashed host hands over goes to its replacement, or to the next standby', async () => {
  const { sessions, events } = await withReadyHost();
  const worker = new FakeWorker();
  sessions[0].crash(panic(), [], worker);
  await flush();
  assert.equal(sessions[1].reuse, worker, 'the replacement renews it');
  assert.equal(worker.terminated, false);
  sessions[1].becomeReady();
  await flush();
  assert.equal(events.started.at(-1).restart, true);

  const standby = await withReadyHost({ standby: true });
  const handed = new FakeWorker();
  standby.sessions[0].crash(panic(), [], handed);
  assert.equal(standby.supervisor.current, standby.sessions[1], 'the standby is promoted');
  await flush();
  assert.equal(standby.sessions[2].reuse, handed, 'the new standby renews the crashed worker');
});

test('warm restart: a handed-over worker nobody renews is terminated (shutdown, or a failure that is not a fault)', async () => {
  // A standby that crashes before it is needed hands its worker over; nothing is started
  // until the next promotion, so it is kept, and shutdown() ends it.
  const { supervisor, sessions } = await withReadyHost({ standby: true });
  const kept = new FakeWorker();
  sessions[1].crash(panic(), [], kept);
  await flush();
  assert.equal(kept.terminated, false);
  await supervisor.shutdown(new WasmShutdownError());
  assert.equal(kept.terminated, true);

  // A session that ends with an error the manager does not count as a fault (shutting down).
  const other = await withReadyHost();
  const worker = new FakeWorker();
  other.sessions[0].crash(new WasmShutdownError(), [], worker);
  assert.equal(worker.terminated, true);
});
