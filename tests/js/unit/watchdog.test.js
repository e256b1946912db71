// The watchdog alone, with a progress source the test controls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Watchdog } from '../../../glue/main/watchdog.js';

function watch({ timeoutMs = 60, busy = true, progress = () => 0 } = {}) {
  const hangs = [];
  const dog = new Watchdog({
    timeoutMs: typeof timeoutMs === 'function' ? timeoutMs : () => timeoutMs,
    intervalMs: 10,
    readProgress: progress,
    isBusy: () => busy,
    onHang: (silentMs, limit) => hangs.push({ silentMs, limit }),
  });
  dog.start();
  return { dog, hangs };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('silence while busy is a hang after the timeout, reported once', async () => {
  const { hangs } = watch({ timeoutMs: 50 });
  await sleep(150);
  assert.equal(hangs.length, 1);
  assert.ok(hangs[0].silentMs >= 50);
  assert.equal(hangs[0].limit, 50);
});

test('progress keeps a busy call alive; so do alive() signs', async () => {
  let counter = 0;
  const { dog, hangs } = watch({ timeoutMs: 50, progress: () => counter });
  const ticker = setInterval(() => counter++, 15);
  await sleep(150);
  clearInterval(ticker);
  assert.equal(hangs.length, 0);
  const beat = setInterval(() => dog.alive(), 15);
  await sleep(150);
  clearInterval(beat);
  assert.equal(hangs.length, 0);
  dog.stop();
});

test('idle time is not silence', async () => {
  const { dog, hangs } = watch({ timeoutMs: 30, busy: false });
  await sleep(100);
  assert.equal(hangs.length, 0);
  dog.stop();
});

test('the timeout in force is read on every tick (a per-call timeout; Infinity: none)', async () => {
  let limit = Infinity;
  const { dog, hangs } = watch({ timeoutMs: () => limit });
  await sleep(100);
  assert.equal(hangs.length, 0);
  limit = 20;
  await sleep(60);
  assert.equal(hangs.length, 1);
  assert.equal(hangs[0].limit, 20);
  dog.stop();
});

test('a timeout shorter than the interval is checked at a quarter of it, not once per interval', async () => {
  const hangs = [];
  const dog = new Watchdog({ timeoutMs: () => 20, intervalMs: 1000, readProgress: () => 0, isBusy: () => true,
    onHang: (silentMs) => hangs.push(silentMs) });
  dog.start();
  await sleep(200);
  dog.stop();
  assert.equal(hangs.length, 1, 'declared well before the 1000 ms interval');
});

test('while calls are outstanding the watchdog keeps the process alive until it declares the hang', () => {
  // A child with nothing else to do: without a ref'd timer it would exit at once, silently.
  const script = `import { Watchdog } from ${JSON.stringify(new URL('../../../glue/main/watchdog.js', import.meta.url).href)};
    new Watchdog({ timeoutMs: () => 100, intervalMs: 1000, readProgress: () => 0, isBusy: () => true,
      onHang: () => process.stdout.write('hang') }).start();`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(child.stdout, 'hang');
  // Idle, it does not.
  const idle = spawnSync(process.execPath, ['--input-type=module', '-e', script.replace('isBusy: () => true', 'isBusy: () => false')],
    { encoding: 'utf8', timeout: 10_000 });
  assert.equal(idle.status, 0);
  assert.equal(idle.stdout, '');
});
