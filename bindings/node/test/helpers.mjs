// What the tests share: the repository, the C command, the Python binding.
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BUILD = process.env.PRODREADY ? dirname(dirname(process.env.PRODREADY)) : join(ROOT, 'build');
export const C_CLI = join(BUILD, 'tools', 'prodready');
export const VECTORS = process.env.PRD_VECTORS_DIR ?? join(ROOT, '..', 'shared', 'vectors');

/** Run a command: {stdout (trimmed), stderr, code}. */
export function run(cmd, args, input = '') {
  const r = spawnSync(cmd, args, {
    input,
    env: { ...process.env, PYTHONPATH: join(ROOT, 'bindings', 'python'), PRODREADY_LIBRARY: join(BUILD, 'lib', 'libprodready.so.1') },
  });
  if (r.error) throw r.error;
  return { stdout: r.stdout.toString().replace(/\n$/, ''), stderr: r.stderr.toString(), code: r.status };
}

export const c = (args, input) => run(C_CLI, args, input);
export const python = (script, input) => run('/usr/bin/python3', ['-c', script], input);

/** scripts/pg-temp's database, or null (a failure under PRD_TEST_REQUIRE=1). */
export function pg(t) {
  const ci = process.env.PRD_PG_CONNINFO;
  if (!ci) {
    if (process.env.PRD_TEST_REQUIRE === '1') throw new Error('PRD_PG_CONNINFO is not set: run under scripts/pg-temp');
    t.skip('no PostgreSQL (run under scripts/pg-temp)');
    return null;
  }
  return ci;
}

export { execFileSync };
