// The shipped TypeScript declarations accept real usage and reject misuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('glue/index.d.ts type-checks tests/types/usage.ts with tsc --noEmit', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tests/types/tsconfig.json'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
});
