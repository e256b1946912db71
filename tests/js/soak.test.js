// Crash/restart cycles in a child process started with --expose-gc, so memory is measured
// after full collections: every cycle crashes for real, no thread is left behind, and the
// RSS growth per cycle after a warm-up stays bounded. The bound here is loose: a leak of a
// host, its memory or its workers per cycle is megabytes. A warm restart leaves a
// generation's garbage in the host and pool isolates, which collect it once enough has
// added up (collect-garbage.cjs: a host reset in place every 32nd time), so RSS climbs for the first few hundred cycles and
// then holds (about 100 KiB per cycle measured from cycle 100 to 300, flat after 400);
// bench/js/soak.js measures the figure itself over 1000 cycles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEMO_GLUE_PATH } from './helpers.js';

const CYCLES = Number(process.env.WASMPOOL_SOAK_CYCLES ?? 300);
const WARMUP = Math.min(100, Math.floor(CYCLES / 3));
const MAX_GROWTH_PER_CYCLE = 256 * 1024;
const CHILD = fileURLToPath(new URL('./fixtures/soak-child.mjs', import.meta.url));

test(`${CYCLES} crash/restart cycles leave no thread behind and bounded memory`, (t) => {
  const child = spawnSync(process.execPath, ['--expose-gc', CHILD, DEMO_GLUE_PATH, String(CYCLES), String(WARMUP)], {
    encoding: 'utf8',
    timeout: 240_000,
  });
  assert.equal(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout.trim().split('\n').at(-1));
  t.diagnostic(`RSS growth after ${WARMUP} warm-up cycles: ${(result.growthPerCycle / 1024).toFixed(1)} KiB per cycle`);
  assert.equal(result.crashes, CYCLES, 'every cycle crashed for real');
  assert.equal(result.after, 2, 'the pool works after the last crash');
  assert.equal(result.threadsLeft, 0, 'no thread left behind');
  assert.ok(result.growthPerCycle < MAX_GROWTH_PER_CYCLE,
    `RSS grew ${(result.growthPerCycle / 1024).toFixed(1)} KiB per cycle (bound ${MAX_GROWTH_PER_CYCLE / 1024} KiB)`);
});
