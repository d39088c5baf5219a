import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, run } from './helpers.mjs';

test('index.d.ts type-checks a service written against it (tsc --noEmit)', () => {
  const dir = join(ROOT, 'bindings', 'node');
  const tsc = join(dir, 'node_modules', '.bin', 'tsc');
  assert.ok(existsSync(tsc), 'typescript is a test dependency: npm install in bindings/node');
  const r = run(tsc, ['-p', join(dir, 'test', 'tsconfig.json')]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  // And the check can fail: a wrong type is reported.
  const bad = run(tsc, ['--noEmit', '--strict', '--moduleResolution', 'node', '--module', 'es2022', '--target', 'es2022',
    '--types', 'node', join(dir, 'test', 'example_wrong.ts')]);
  assert.notEqual(bad.code, 0, 'tsc accepted a wrongly typed call');
  assert.match(bad.stdout, /example_wrong\.ts/);
});
